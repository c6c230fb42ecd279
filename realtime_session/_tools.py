"""Running the application's tools when the model asks for them."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, final

import anyio
import anyio.abc

from . import public

if TYPE_CHECKING:
    import structlog.typing

    from ._commands import ProviderCommands
    from .events import JsonValue

Tool = Callable[..., Awaitable[Any]]
"""An async callable run as ``await tool(**arguments)``; its result is submitted unchanged."""


# A submission is a short provider write; it is not cut off by the session
# closing (the tool's answer is worth delivering), but it is bounded.
_SUBMIT_TIMEOUT_S: Final = 5.0


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
        self._tools = dict(tools)
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
        call_id = call.call_id
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
            error: str | None = None
            with anyio.move_on_after(self._timeout_s) as deadline:
                try:
                    result = await tool(**arguments)
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if deadline.cancelled_caught:
                elapsed_ms = math.floor((anyio.current_time() - started) * 1000)
                self._log.warning("tool_call_timed_out", call_id=call_id, tool=tool_name)
                message = f"tool {tool_name!r} timed out after {elapsed_ms} ms"
                await self._submit(call, self._commands.submit_tool_error, message)
                self._finish(call, public.ToolCallTimedOut(call_id=call_id, elapsed_ms=elapsed_ms))
                return
            if error is not None:
                self._log.info("tool_call_failed", call_id=call_id, tool=tool_name, error=error)
                await self._fail(call, error)
                return
            submitted = await self._submit(call, self._commands.submit_tool_result, result)
            if submitted is not None:
                failure = f"could not submit result: {submitted}"
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
        """Send the call's answer; return why it failed, or ``None``."""
        if not self._current(call):
            return None
        call.submitting = True
        try:
            with anyio.fail_after(_SUBMIT_TIMEOUT_S, shield=True):
                await submit(call.call_id, payload)
        except Exception as exc:
            self._log.warning("tool_answer_not_submitted", call_id=call.call_id, error=repr(exc))
            return str(exc) or type(exc).__name__
        finally:
            call.submitting = False
        return None
