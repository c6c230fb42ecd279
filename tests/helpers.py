"""Builders and fakes shared by the session tests."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.abc
import attrs

from realtime_session import RealtimeSession, SessionConfig, Subscription, public
from realtime_session import events as ev

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Sequence

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

T = TypeVar("T")

CHUNK_20MS = 960  # bytes of 20 ms of 24 kHz mono PCM16


def audio(
    response_id: str | None, item_id: str | None, tag: int = 0, ms: int = 20
) -> ev.OutputAudioChunk:
    """An audio chunk whose payload identifies it (``tag``) and lasts ``ms``."""
    size = ms * 48
    return ev.OutputAudioChunk(
        chunk=ev.RealtimeAudioChunk(data=bytes([tag % 256]) * size),
        response_id=response_id,
        item_id=item_id,
    )


def spoken(
    response_id: str, item_id: str, delta: str, n: int, previous: str | None = None
) -> ev.OutputAudioTranscriptDeltaForItem:
    return ev.OutputAudioTranscriptDeltaForItem(
        response_id=response_id,
        delta_id=f"{item_id}-d{n}",
        item_id=item_id,
        previous_item_id=previous,
        delta=delta,
    )


def text(
    response_id: str, item_id: str, delta: str, n: int, previous: str | None = None
) -> ev.OutputTextDeltaForItem:
    return ev.OutputTextDeltaForItem(
        response_id=response_id,
        delta_id=f"{item_id}-d{n}",
        item_id=item_id,
        previous_item_id=previous,
        delta=delta,
    )


def chunk_tag(event: public.RealtimeEvent) -> int:
    assert isinstance(event, public.OutputAudioChunk)
    return event.chunk.data[0]


@attrs.define
class RecordingCommands:
    """Provider commands that record every call, optionally failing some verbs."""

    supports_truncation: bool = True
    failing: frozenset[str] = frozenset()
    submit_delay_s: float = 0.0
    calls: list[tuple[str, tuple[object, ...]]] = attrs.Factory(list)

    def _call(self, verb: str, *args: object) -> None:
        self.calls.append((verb, args))
        if verb in self.failing:
            raise ConnectionError(f"{verb} failed")

    def named(self, verb: str) -> list[tuple[object, ...]]:
        return [args for name, args in self.calls if name == verb]

    def submitted_errors(self) -> dict[object, object]:
        """``submit_tool_error`` calls as ``{call_id: error}``."""
        return {args[0]: args[1] for args in self.named("submit_tool_error")}

    async def send_input(self, chunk: ev.RealtimeInputChunk) -> None:
        self._call("send_input", chunk)

    async def commit_turn(self) -> None:
        self._call("commit_turn")

    async def interrupt(self) -> None:
        self._call("interrupt")

    async def truncate_assistant_output(
        self, item_id: str, content_index: int, audio_played_ms: int
    ) -> None:
        self._call("truncate_assistant_output", item_id, content_index, audio_played_ms)

    async def submit_tool_result(self, call_id: str, output: ev.JsonValue) -> None:
        if self.submit_delay_s:
            await anyio.sleep(self.submit_delay_s)
        self._call("submit_tool_result", call_id, output)

    async def submit_tool_error(self, call_id: str, error: str) -> None:
        self._call("submit_tool_error", call_id, error)

    async def aclose(self) -> None:
        self._call("aclose")


def provider_stream(
    size: int = 1024,
) -> tuple[
    MemoryObjectSendStream[ev.RealtimeSessionEvent],
    MemoryObjectReceiveStream[ev.RealtimeSessionEvent],
]:
    return anyio.create_memory_object_stream[ev.RealtimeSessionEvent](size)


async def collect(subscription: Subscription) -> list[public.RealtimeEvent]:
    return [event async for event in subscription]


async def replay(
    events: Sequence[ev.RealtimeSessionEvent], config: SessionConfig = SessionConfig()
) -> tuple[RealtimeSession, list[public.RealtimeEvent]]:
    """Run ``events`` through a new session; return what a subscriber reading only at the end saw."""
    send, receive = provider_stream(len(events) + 1)
    async with RealtimeSession(receive, config=config) as session:
        subscription = session.events()
        with send:
            for event in events:
                send.send_nowait(event)
        with anyio.fail_after(10):
            # A stalled subscriber: it reads only after the provider closed.
            await session.wait_closed()
            seen = await collect(subscription)
    return session, seen


@asynccontextmanager
async def feeding(
    events: Iterable[ev.RealtimeSessionEvent],
    send: anyio.abc.ObjectSendStream[ev.RealtimeSessionEvent],
) -> AsyncIterator[None]:
    """Feed ``events`` with awaited sends from a task, closing the stream after them."""

    async def feed() -> None:
        async with send:
            for event in events:
                await send.send(event)

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(feed)
        yield


def of_type(events: Iterable[object], cls: type[T]) -> list[T]:
    return [event for event in events if isinstance(event, cls)]


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``predicate`` until it holds: for state that offers no event to wait on."""
    with anyio.fail_after(timeout_s):
        while not predicate():  # noqa: ASYNC110
            await anyio.sleep(0.001)
