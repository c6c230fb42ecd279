"""A provider that plays a script: for tests, demos and benchmarks.

:class:`ScriptedProvider` feeds a list of provider events, or a recorded
trace, into a memory object stream (a session's input), optionally paced at
the trace's own timing or a multiple of it, and records every command it
receives. A trace is read with :func:`load_trace` (the command line reads
traces the same way).
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, final

import anyio
import anyio.lowlevel
import attrs

from .. import events as ev
from ._trace import TRACE_FORMATS as TRACE_FORMATS
from ._trace import TimedEvent as TimedEvent
from ._trace import TraceFormat as TraceFormat
from ._trace import TraceRecord as TraceRecord
from ._trace import detect_trace_format as detect_trace_format
from ._trace import load_trace as load_trace
from ._trace import open_trace
from ._trace import read_trace as read_trace

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = (
    "ReceivedCommand",
    "ScriptedProvider",
    "TimedEvent",
    "TraceFormat",
    "TRACE_FORMATS",
    "TraceRecord",
    "detect_trace_format",
    "load_trace",
    "read_trace",
)


@final
@attrs.frozen(kw_only=True)
class ReceivedCommand:
    """One command a :class:`ScriptedProvider` received: the verb and its arguments by name.

    ``ReceivedCommand(name="truncate_assistant_output", args={"item_id": "a",
    "content_index": 0, "audio_played_ms": 800})``.
    """

    name: str
    args: Mapping[str, Any] = attrs.field(factory=dict)


@final
class ScriptedProvider:
    """Plays a script of provider events into a stream and records the commands it gets.

    ``script`` is a sequence of events (``RealtimeSessionEvent`` or
    :class:`TimedEvent`) or the path of a trace (see :func:`load_trace`;
    ``format`` as there). With ``speed=None`` events are delivered as fast as
    the reader takes them; with a speed, each timed event is delivered at
    ``t / speed`` seconds after the start (``1.0`` is real time, ``2.0`` twice
    as fast), an untimed one right after its predecessor.

    Typical use::

        provider = ScriptedProvider("tests/fixtures/openai_voice_turn.jsonl")
        async with provider.run() as events:
            async with RealtimeSession(events, commands=provider) as session:
                ...
        assert provider.commands_named("truncate_assistant_output") == [...]

    :meth:`run` starts the feeder in a task group it owns and yields the
    receive stream; the stream ends after the last event (the session then
    closes as ``provider_closed``), unless ``hold_open`` keeps it open until the
    context exits. :meth:`feed` is the same feeder for a task group of your own.

    The provider implements the session's command verbs: each call is
    appended to :attr:`commands_received` as a :class:`ReceivedCommand`. A
    verb named in ``failures`` is recorded and then raises that exception, to
    exercise error paths. After :meth:`aclose` the verbs raise
    ``anyio.ClosedResourceError``.

    ``supports_truncation`` says whether the provider it stands in for can
    truncate its audio, which decides how a session settles a barge-in: it
    sends a truncation and waits for the provider's confirmation, or cuts its
    own transcript. By default it is what the trace's provider does: ``False``
    for a Gemini Live trace (Gemini cannot truncate and sends no confirmation),
    ``True`` otherwise.
    """

    def __init__(
        self,
        script: Iterable[ev.RealtimeSessionEvent | TimedEvent] | str | os.PathLike[str],
        *,
        format: TraceFormat | None = None,
        speed: float | None = None,
        buffer: int = 256,
        hold_open: bool = False,
        supports_truncation: bool | None = None,
        failures: Mapping[str, BaseException] | None = None,
    ) -> None:
        if speed is not None and (not math.isfinite(speed) or speed <= 0):
            raise ValueError(f"speed must be a positive number or None, got {speed}")
        if buffer < 0:
            raise ValueError(f"buffer must not be negative, got {buffer}")
        trace_format: TraceFormat | None = None
        if isinstance(script, str | os.PathLike):
            trace = open_trace(script, format)
            trace_format = trace.format
            self.events: tuple[TimedEvent, ...] = tuple(trace.events)
        else:
            self.events = tuple(
                item if isinstance(item, TimedEvent) else TimedEvent(event=item) for item in script
            )
        self.speed = speed
        self.buffer = buffer
        self.hold_open = hold_open
        if supports_truncation is None:
            supports_truncation = trace_format != "gemini"
        self.supports_truncation: bool = supports_truncation
        self._failures = dict(failures or {})
        self.commands_received: list[ReceivedCommand] = []
        self._closed = False

    # -- the event side -------------------------------------------------------------

    async def feed(self, send: MemoryObjectSendStream[ev.RealtimeSessionEvent]) -> None:
        """Deliver the script to ``send`` at the configured pace, then close it.

        With ``hold_open`` the stream is closed only when this is cancelled. If
        the reader closes its end early, feeding stops quietly.
        """
        async with send:
            start = anyio.current_time()
            try:
                for item in self.events:
                    if self.speed is not None and item.t is not None:
                        await anyio.sleep_until(start + item.t / self.speed)
                    try:
                        send.send_nowait(item.event)
                    except anyio.WouldBlock:
                        await send.send(item.event)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return
            if self.hold_open:
                await anyio.sleep_forever()

    @asynccontextmanager
    async def run(self) -> AsyncIterator[MemoryObjectReceiveStream[ev.RealtimeSessionEvent]]:
        """Feed the script in a task group owned by this context; yield the receive stream.

        Leaving the context stops the feeder and closes the stream. An exception
        from the body propagates unchanged.
        """
        send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](self.buffer)
        body_exc: BaseException | None = None
        with receive:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self.feed, send)
                try:
                    yield receive
                except BaseException as exc:
                    # Re-raised below, outside the task group, so that it is not wrapped.
                    body_exc = exc
                finally:
                    tg.cancel_scope.cancel()
        if body_exc is not None:
            raise body_exc

    # -- the command side ------------------------------------------------------------

    def commands_named(self, name: str) -> list[Mapping[str, Any]]:
        """The arguments of every received command called ``name``, in order."""
        return [command.args for command in self.commands_received if command.name == name]

    async def _record(self, name: str, **args: Any) -> None:
        if self._closed:
            raise anyio.ClosedResourceError
        self.commands_received.append(ReceivedCommand(name=name, args=args))
        failure = self._failures.get(name)
        if failure is not None:
            raise failure
        # A real provider's send is a checkpoint; the script behaves alike.
        await anyio.lowlevel.checkpoint()

    async def send_input(self, chunk: ev.RealtimeInputChunk) -> None:
        """Record ``send_input(chunk=...)``."""
        await self._record("send_input", chunk=chunk)

    async def commit_turn(self) -> None:
        """Record ``commit_turn()``."""
        await self._record("commit_turn")

    async def interrupt(self) -> None:
        """Record ``interrupt()``."""
        await self._record("interrupt")

    async def truncate_assistant_output(
        self, item_id: str, content_index: int, audio_played_ms: int
    ) -> None:
        """Record ``truncate_assistant_output(item_id=..., content_index=..., audio_played_ms=...)``."""
        await self._record(
            "truncate_assistant_output",
            item_id=item_id,
            content_index=content_index,
            audio_played_ms=audio_played_ms,
        )

    async def submit_tool_result(self, call_id: str, output: ev.JsonValue) -> None:
        """Record ``submit_tool_result(call_id=..., output=...)``."""
        await self._record("submit_tool_result", call_id=call_id, output=output)

    async def submit_tool_error(self, call_id: str, error: str) -> None:
        """Record ``submit_tool_error(call_id=..., error=...)``."""
        await self._record("submit_tool_error", call_id=call_id, error=error)

    async def aclose(self) -> None:
        """Record ``aclose()`` once; later verbs raise ``anyio.ClosedResourceError``."""
        if self._closed:
            return
        try:
            await self._record("aclose")
        finally:
            self._closed = True
