"""Running the application's tools when the model asks for them.

Every call gets exactly one answer submitted to the provider (its result, or an
error) and exactly one published outcome, whatever the tool does: return a
value JSON cannot carry, raise, raise a cancellation of its own, block, or run
past its timeout. Two exceptions, both because the provider no longer listens:
a call the provider withdrew, and a call still running when the session closes.

What the model and subscribers are told about a failure is text the session
chose: the type of the exception, never its message (which routinely carries
the call's arguments), unless the tool raised :class:`~realtime_session.ToolError`,
whose message is meant for display. Logs follow the same rule, and carry the
tool's traceback without the values in its frames.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
import traceback
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, final

import anyio
import anyio.abc
import anyio.lowlevel
import anyio.to_thread

from . import public
from ._errors import ToolError
from .codec import DecodeError, check_json_value

if TYPE_CHECKING:
    import structlog.typing

    from ._commands import ProviderCommands
    from .events import JsonValue

Tool = Callable[..., Any]
"""A tool: a function called as ``tool(**arguments)`` with the call's arguments.

An ``async`` function is awaited in the session's task group; a plain function
runs in a worker thread, so that it cannot block the session. Its result must
be a JSON value (``None``, bool, str, int, finite float, and lists and
string-keyed dicts of those); it is submitted to the provider unchanged.
"""

# A submission is a short provider write; it is not cut off by the session
# closing (the tool's answer is worth delivering), but it is bounded.
_SUBMIT_TIMEOUT_S: Final = 5.0

_AsyncTool = Callable[..., Awaitable[Any]]


@final
class _ToolCall:
    __slots__ = ("call_id", "scope", "submitting")

    def __init__(self, call_id: str) -> None:
        self.call_id = call_id
        self.scope = anyio.CancelScope()
        # Set once the tool has returned (or failed) and its answer is being sent.
        self.submitting = False


@final
class ToolRunner:
    """Runs tool calls as tasks of the session's task group, one outcome each.

    Every call ends in exactly one published outcome: ``ToolCallCompleted``,
    ``ToolCallFailed``, ``ToolCallTimedOut``, or the ``ToolCallCancelled`` the
    session publishes when the provider withdraws the call. Results and errors
    are submitted through the provider commands, except for a withdrawn call
    (the provider no longer wants an answer).

    When the session closes, calls whose tool is still running are cancelled and
    reported as failed; calls whose answer is already being submitted are given
    the chance to finish (see :meth:`settle`), so their outcome says what
    actually happened.

    :raises TypeError: at construction, for a tool that is not callable.
    """

    def __init__(
        self,
        tools: Mapping[str, Tool],
        *,
        commands: ProviderCommands,
        timeout_s: float,
        publish: Callable[[public.RealtimeEvent], None],
        log: structlog.typing.FilteringBoundLogger,
    ) -> None:
        self._tools = {name: _awaitable(name, tool) for name, tool in tools.items()}
        self._commands = commands
        self._timeout_s = timeout_s
        self._publish = publish
        self._log = log
        self._running: dict[str, _ToolCall] = {}
        self._seen: set[str] = set()
        self._settled: anyio.Event | None = None
        self.calls = 0

    def start(
        self,
        task_group: anyio.abc.TaskGroup,
        call_id: str,
        tool_name: str,
        arguments: JsonValue,
    ) -> None:
        """Start a call. A call id seen before (a replayed request) is ignored."""
        if call_id in self._seen:
            self._log.info("tool_call_duplicate_ignored", call_id=call_id, tool=tool_name)
            return
        self._seen.add(call_id)
        self.calls += 1
        call = _ToolCall(call_id)
        self._running[call_id] = call
        task_group.start_soon(self._run, call, tool_name, arguments, name=f"tool {tool_name}")

    def cancel(self, call_id: str) -> bool:
        """The provider withdrew the call: stop it without submitting anything more.

        Returns whether the withdrawal is the call's outcome: ``False`` when the
        call already had one (the provider withdrew it after the answer was
        sent), so that every call still ends in exactly one outcome.
        """
        call = self._running.pop(call_id, None)
        if call is not None:
            call.scope.cancel()
            self._log.info("tool_call_cancelled", call_id=call_id)
            self._check_settled()
            return True
        if call_id in self._seen:
            self._log.info("tool_call_cancelled_after_its_outcome", call_id=call_id)
            return False
        return True

    async def settle(self) -> None:
        """Wait until no call is in the middle of submitting its answer."""
        while any(call.submitting for call in self._running.values()):
            settled = self._settled = anyio.Event()
            await settled.wait()

    def close(self) -> None:
        """Cancel every call still open and report each as failed."""
        open_calls = list(self._running.values())
        self._running.clear()
        for call in open_calls:
            call.scope.cancel()
            error = (
                "session closed while the result was being submitted"
                if call.submitting
                else "session closed"
            )
            self._publish(public.ToolCallFailed(call_id=call.call_id, error=error))
        self._check_settled()

    def _check_settled(self) -> None:
        settled = self._settled
        if settled is not None and not any(c.submitting for c in self._running.values()):
            self._settled = None
            settled.set()

    def _finish(self, call: _ToolCall, outcome: public.RealtimeEvent) -> None:
        # A call withdrawn by the provider or reported by close() has left
        # _running: its outcome was already published.
        if self._current(call):
            del self._running[call.call_id]
            self._publish(outcome)
        self._check_settled()

    def _current(self, call: _ToolCall) -> bool:
        # False once the call was withdrawn or reported by close(): from then on
        # nothing more is submitted for it, even if its tool finished anyway.
        return self._running.get(call.call_id) is call

    async def _run(self, call: _ToolCall, tool_name: str, arguments: JsonValue) -> None:
        if not self._current(call):
            return  # withdrawn or closed before the task even started
        with call.scope:
            tool = self._tools.get(tool_name)
            if tool is None:
                await self._fail(call, f"unknown tool {tool_name!r}")
                return
            if not isinstance(arguments, dict):
                kind = type(arguments).__name__
                await self._fail(call, f"tool arguments must be a JSON object, got {kind}")
                return
            started = anyio.current_time()
            result: Any = None
            raised: BaseException | None = None
            with anyio.move_on_after(self._timeout_s) as deadline:
                try:
                    result = await tool(**arguments)
                except Exception as exc:
                    raised = exc
                except BaseException as exc:
                    if not _is_cancellation(exc):
                        raise
                    # A real cancellation (the timeout, a withdrawal, the session
                    # closing) is raised again here; any other is the tool's own.
                    await anyio.lowlevel.checkpoint_if_cancelled()
                    _forget_cancellation_requests()
                    raised = exc
            await self._answer(call, tool_name, started, deadline, result, raised)

    async def _answer(
        self,
        call: _ToolCall,
        tool_name: str,
        started: float,
        deadline: anyio.CancelScope,
        result: Any,
        raised: BaseException | None,
    ) -> None:
        call_id = call.call_id
        if deadline.cancelled_caught:
            elapsed_ms = math.floor((anyio.current_time() - started) * 1000)
            self._log.warning("tool_call_timed_out", call_id=call_id, tool=tool_name)
            message = f"tool {tool_name!r} timed out after {elapsed_ms} ms"
            await self._submit(call, self._commands.submit_tool_error, message)
            self._finish(call, public.ToolCallTimedOut(call_id=call_id, elapsed_ms=elapsed_ms))
            return
        if raised is not None:
            shown = isinstance(raised, ToolError)
            message = str(raised) if shown else f"tool {tool_name!r} raised {_type_name(raised)}"
            self._log.warning(
                "tool_call_failed",
                call_id=call_id,
                tool=tool_name,
                error_type=_type_name(raised),
                exc_info=_ToolTraceback.of(raised, tool_name, message if shown else None),
            )
            await self._fail(call, message)
            return
        try:
            check_json_value(result)
        except DecodeError as error:
            # The reason names types, never values; the path (which may spell out
            # keys of the result) is left out.
            self._log.warning(
                "tool_result_not_json", call_id=call_id, tool=tool_name, reason=error.reason
            )
            await self._fail(
                call, f"tool {tool_name!r} returned a value JSON cannot carry: {error.reason}"
            )
            return
        not_sent = await self._submit(call, self._commands.submit_tool_result, result)
        if not_sent is not None:
            failure = f"could not submit result: {not_sent}"
            self._finish(call, public.ToolCallFailed(call_id=call_id, error=failure))
            return
        self._finish(call, public.ToolCallCompleted(call_id=call_id))

    async def _fail(self, call: _ToolCall, error: str) -> None:
        await self._submit(call, self._commands.submit_tool_error, error)
        self._finish(call, public.ToolCallFailed(call_id=call.call_id, error=error))

    async def _submit(
        self,
        call: _ToolCall,
        submit: Callable[[str, Any], Awaitable[None]],
        payload: Any,
    ) -> str | None:
        """Send the call's answer; return why it failed (the exception's type), or ``None``."""
        if not self._current(call):
            return None
        call.submitting = True
        try:
            with anyio.fail_after(_SUBMIT_TIMEOUT_S, shield=True):
                await submit(call.call_id, payload)
        except Exception as exc:
            self._log.warning(
                "tool_answer_not_submitted",
                call_id=call.call_id,
                error_type=_type_name(exc),
                exc_info=_ToolTraceback.of(exc, None, str(exc)),
            )
            return _type_name(exc)
        finally:
            call.submitting = False
        return None


def _awaitable(name: str, tool: Tool) -> _AsyncTool:
    """``tool`` as an async callable: itself, or a plain function run in a worker thread."""
    if not callable(tool):
        raise TypeError(f"tool {name!r} must be callable, got {type(tool).__name__}")
    if inspect.iscoroutinefunction(tool) or inspect.iscoroutinefunction(
        getattr(tool, "__call__", None)  # noqa: B004 -- an object with an async __call__
    ):
        async_tool: _AsyncTool = tool
        return async_tool

    async def in_worker_thread(**arguments: Any) -> Any:
        # A thread cannot be cancelled: on a timeout or at close the session
        # stops waiting for it (and answers), and the thread runs to its end.
        result = await anyio.to_thread.run_sync(
            functools.partial(tool, **arguments), abandon_on_cancel=True
        )
        # A plain function that returns an awaitable (a lambda around an async
        # function) has its awaitable awaited here, on the event loop.
        return await result if inspect.isawaitable(result) else result

    return in_worker_thread


def _is_cancellation(exc: BaseException) -> bool:
    # asyncio's CancelledError is a cancellation a tool may raise on either backend.
    return isinstance(exc, anyio.get_cancelled_exc_class() | asyncio.CancelledError)


def _forget_cancellation_requests() -> None:
    """Drop cancellation requests a tool made on its own asyncio task.

    asyncio counts ``Task.cancel()`` calls, and a task with requests pending
    misjudges the timeouts that follow; the call's answer is still to be sent
    from this task. Nothing to do on trio, where only cancel scopes cancel.
    """
    try:
        task = asyncio.current_task()
    except RuntimeError:
        return  # not running on asyncio
    if task is not None:
        while task.cancelling():
            task.uncancel()


def _type_name(exc: BaseException) -> str:
    return type(exc).__qualname__


@final
class _ToolTraceback(Exception):
    """What the logs get of a tool's exception: its type and its traceback, as text.

    Not the exception itself: its message may carry the call's arguments, and
    its frames hold them as local variables, which log renderers that show
    locals (structlog's rich and dict tracebacks do by default) would print.
    The traceback is kept as the frames' file, line, function and source line.
    """

    @classmethod
    def of(cls, exc: BaseException, tool_name: str | None, message: str | None) -> _ToolTraceback:
        where = f" in tool {tool_name!r}" if tool_name is not None else ""
        said = f": {message}" if message is not None else " (message withheld)"
        frames = traceback.extract_tb(exc.__traceback__)
        return cls(
            f"{_type_name(exc)}{where}{said}\n"
            "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames))
        )
