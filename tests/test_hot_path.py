"""The one-event-at-a-time path: what it costs per event stays flat, and readers keep anyio's contract.

A live provider delivers events one at a time. Per event the session must not
make a cancel scope or an event object, and a reader waiting for the next
event wakes for media and control alike. Counted here, not timed: timings live
in ``benchmarks/``.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.lowlevel
import pytest
from helpers import audio, provider_stream, spoken, wait_until

import realtime_session
from realtime_session import RealtimeSession, SessionConfig, public
from realtime_session import events as ev

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType

    from anyio.streams.memory import MemoryObjectReceiveStream

pytestmark = pytest.mark.anyio

_PACKAGE = os.path.dirname(realtime_session.__file__)
_ANYIO_CORE = os.path.join(os.path.dirname(anyio.__file__), "_core", "")


@contextmanager
def anyio_objects_the_package_makes() -> Iterator[Counter[str]]:
    """Count the cancel scopes and events made by the package, itself or through anyio's helpers.

    Those anyio makes inside its own streams are not counted: the provider stream is
    the application's, whatever it costs.
    """
    made: Counter[str] = Counter()
    # What anyio's public constructors and helpers (CancelScope(), move_on_at(),
    # Event()) end up calling on the running backend.
    backend: Any = anyio.lowlevel.current_token().backend_class
    watched = {
        backend.create_cancel_scope.__func__.__code__: "CancelScope",
        backend.create_event.__func__.__code__: "Event",
    }

    def profile(frame: FrameType, event: str, _: object) -> None:
        if event != "call":
            return
        kind = watched.get(frame.f_code)
        if kind is None:
            return
        caller = frame.f_back
        while caller is not None and caller.f_code.co_filename.startswith(_ANYIO_CORE):
            caller = caller.f_back  # through CancelScope(), move_on_at(), Event()
        if caller is not None and caller.f_code.co_filename.startswith(_PACKAGE):
            made[kind] += 1

    sys.setprofile(profile)
    try:
        yield made
    finally:
        sys.setprofile(None)


def spoken_call(items: int, deltas: int = 50) -> list[ev.RealtimeSessionEvent]:
    """Per item: a committed turn, spoken deltas each with its audio, the completion."""
    events: list[ev.RealtimeSessionEvent] = []
    previous: str | None = None
    for n in range(items):
        item_id, response_id = f"a{n}", f"r{n}"
        events.append(ev.TurnCommitted())
        for d in range(deltas):
            events.append(spoken(response_id, item_id, "word ", d, previous))
            events.append(audio(response_id, item_id, d, ms=100))
        events.append(ev.TurnCompleted(response_id=response_id))
        previous = item_id
    return events


async def live_call(events: list[ev.RealtimeSessionEvent]) -> Counter[str]:
    """Feed ``events`` one awaited send at a time to a session read with ``async for``."""
    send, receive = provider_stream()
    config = SessionConfig(media_buffer=len(events))
    seen = 0
    with anyio_objects_the_package_makes() as made:
        async with RealtimeSession(receive, config=config) as session:
            subscription = session.events()

            async def read() -> None:
                nonlocal seen
                async for _ in subscription:
                    seen += 1

            async def feed() -> None:
                async with send:
                    for event in events:
                        await send.send(event)

            with anyio.fail_after(30):
                async with anyio.create_task_group() as task_group:
                    task_group.start_soon(read)
                    task_group.start_soon(feed)
    assert seen == session.stats.published
    assert len(session.transcript) == sum(isinstance(e, ev.TurnCompleted) for e in events)
    return made


async def test_a_long_call_makes_no_cancel_scope_or_event_per_event() -> None:
    short = await live_call(spoken_call(2))
    long = await live_call(spoken_call(12))
    # Made once per session (its task group, its actor, its start), never per event.
    assert long == short
    assert sum(long.values()) <= 6


class _CountingStream(anyio.abc.ObjectReceiveStream[ev.RealtimeSessionEvent]):
    """A provider stream that counts the waits the session asks of it."""

    def __init__(self, inner: MemoryObjectReceiveStream[ev.RealtimeSessionEvent]) -> None:
        self.inner = inner
        self.waits = 0

    async def receive(self) -> ev.RealtimeSessionEvent:
        self.waits += 1
        return await self.inner.receive()

    def receive_nowait(self) -> ev.RealtimeSessionEvent:
        return self.inner.receive_nowait()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_fed_one_event_at_a_time_the_actor_takes_most_without_a_wait() -> None:
    # After each pass the actor yields once and looks: the next event is usually
    # there by then, without a wait (a checkpoint, an event object) on the stream.
    send, receive = provider_stream()
    stream = _CountingStream(receive)
    events = 1000
    async with RealtimeSession(stream) as session:
        subscription = session.events()

        async def read() -> None:
            async for _ in subscription:
                pass

        with anyio.fail_after(10):
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(read)
                async with send:
                    for n in range(events):
                        await send.send(ev.InputTranscriptPartial(text=str(n)))
    assert session.stats.events_in == events
    assert stream.waits < events / 2


async def test_a_reader_waiting_in_async_for_wakes_for_media_and_control_alike() -> None:
    send, receive = provider_stream()
    results_in, results_out = anyio.create_memory_object_stream[public.RealtimeEvent](10)
    steps: list[tuple[ev.RealtimeSessionEvent, type[public.RealtimeEvent]]] = [
        (audio("r1", "a1", 7), public.OutputAudioChunk),
        (ev.TurnCommitted(), public.TurnCommitted),
        (audio("r1", "a1", 8), public.OutputAudioChunk),
    ]
    async with RealtimeSession(receive) as session:
        subscription = session.events()

        async def read() -> None:
            async with results_in:
                async for event in subscription:
                    await results_in.send(event)

        with send, results_out, anyio.fail_after(5):
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(read)
                for event, expected in steps:
                    await wait_until(lambda: subscription.statistics().tasks_waiting_receive == 1)
                    await send.send(event)
                    assert isinstance(await results_out.receive(), expected)
                task_group.cancel_scope.cancel()


async def test_queued_media_and_control_are_served_without_suspending() -> None:
    send, receive = provider_stream()
    async with RealtimeSession(receive) as session:
        subscription = session.events()
        with send:
            send.send_nowait(audio("r1", "a1", 1))
            send.send_nowait(ev.TurnCommitted())
            send.send_nowait(audio("r1", "a1", 2))
            await wait_until(lambda: subscription.statistics().queued_control == 1)
            await wait_until(lambda: subscription.statistics().queued_media == 2)
            served = []
            for _ in range(3):
                step = subscription.__anext__()
                # Completes on its first step: nothing to wait for, no scheduler pass.
                with pytest.raises(StopIteration) as done:
                    step.send(None)
                served.append(type(done.value.value))
    assert served == [public.OutputAudioChunk, public.TurnCommitted, public.OutputAudioChunk]


async def test_a_cancelled_waiting_reader_leaves_nothing_behind() -> None:
    send, receive = provider_stream()
    async with RealtimeSession(receive) as session:
        subscription = session.events()
        with send, anyio.fail_after(5):
            for _ in range(3):
                async with anyio.create_task_group() as task_group:
                    task_group.start_soon(subscription.receive)
                    task_group.start_soon(subscription.receive)
                    await wait_until(lambda: subscription.statistics().tasks_waiting_receive == 2)
                    task_group.cancel_scope.cancel()
                assert subscription.statistics().tasks_waiting_receive == 0
            # What comes next is neither lost nor taken by a cancelled reader.
            await send.send(audio("r1", "a1", 3))
            await send.send(ev.TurnCommitted())
            assert isinstance(await subscription.receive(), public.OutputAudioChunk)
            assert isinstance(await subscription.receive(), public.TurnCommitted)
            assert subscription.statistics().delivered == 2


async def test_competing_readers_fed_one_event_at_a_time_share_media_and_control() -> None:
    send, receive = provider_stream()
    async with RealtimeSession(receive, config=SessionConfig(media_buffer=1000)) as session:
        subscription = session.events()
        got: list[list[public.RealtimeEvent]] = [[], [], []]

        async def read(index: int) -> None:
            async for event in subscription:
                got[index].append(event)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as task_group:
                for index in range(3):
                    task_group.start_soon(read, index)
                async with send:
                    for n in range(200):
                        await send.send(audio("r1", "a1", n))
                        await send.send(ev.InputTranscriptPartial(text=str(n)))
    every = [event for events in got for event in events]
    chunks = [e.chunk.data[0] for e in every if isinstance(e, public.OutputAudioChunk)]
    assert sorted(chunks) == list(range(200))
    partials = [e.text for e in every if isinstance(e, public.InputTranscriptPartial)]
    assert sorted(partials, key=int) == [str(n) for n in range(200)]
    assert sum(isinstance(e, public.SessionClosed) for e in every) == 1
    assert subscription.statistics().tasks_waiting_receive == 0


async def test_an_orphan_is_released_on_time_while_the_provider_keeps_talking() -> None:
    send, receive = provider_stream()
    config = SessionConfig(orphan_timeout_s=0.05)
    async with RealtimeSession(receive, config=config) as session:
        subscription = session.events()
        with send, anyio.fail_after(5):
            await send.send(
                ev.InputTranscriptFinalForItem(item_id="u2", previous_item_id="gone", text="hi")
            )
            # Never silent for as long as the timeout: the deadline falls between events.
            while not any(
                isinstance(event, public.TranscriptCommitted) for event in _drain(subscription)
            ):
                await send.send(ev.InputTranscriptPartial(text="..."))
                await anyio.sleep(0.01)
        assert session.stats.pending_items == 0


def _drain(subscription: realtime_session.Subscription) -> list[public.RealtimeEvent]:
    events = []
    while True:
        try:
            events.append(subscription.receive_nowait())
        except anyio.WouldBlock:
            return events
