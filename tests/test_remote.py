"""Remote subscribers in one process: the merge, gaps, lag, flushes, heartbeats, publisher buffering.

Every test that involves trimming, blocking or lag runs against a real
redis-server (the ``redis_server`` fixture); the in-memory log runs the same
semantics where the engine does not matter.
"""

from __future__ import annotations

import contextlib
import types
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

import anyio
import anyio.lowlevel
import attrs
import pytest
import redis_server
import structlog.testing
from helpers import wait_until
from remote_call import call, control_only, is_media

from realtime_session import RealtimeSession, SubscriberLagged, codec, public
from realtime_session import events as ev
from realtime_session.providers import ScriptedProvider, TimedEvent
from realtime_session.remote import (
    LogEntry,
    LogPosition,
    LogRead,
    LogUnavailable,
    LogWrite,
    MemoryLog,
    Publisher,
    PublisherLost,
    PublisherStats,
    RedisLog,
    RemoteSubscriptionStatistics,
    SessionLog,
    SessionNotFound,
    SessionState,
    SessionStatus,
    _subscriber,
    publish,
    subscribe,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Sequence
    from pathlib import Path

    from redis_server import RedisServer

    from realtime_session.remote import RemoteSubscription

    Take: TypeAlias = Callable[[], LogWrite]
    Done: TypeAlias = Callable[[BaseException | None], object]


@asynccontextmanager
async def opened(kind: str, server: RedisServer | None) -> AsyncIterator[SessionLog]:
    if kind == "memory":
        yield MemoryLog()
        return
    assert server is not None
    async with RedisLog(server.url) as log:
        yield log


@pytest.fixture(params=["memory", "redis"])
def engine(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def server(engine: str, request: pytest.FixtureRequest) -> RedisServer | None:
    if engine == "memory":
        return None
    redis: RedisServer = request.getfixturevalue("redis_server")
    return redis


async def publish_script(
    log: SessionLog, script: Sequence[TimedEvent], *, speed: float | None = None, **options: Any
) -> tuple[str, list[public.RealtimeEvent]]:
    """Run ``script`` through a published session; return its id and what a keeping-up
    in-process subscriber saw."""
    session_id, seen, _ = await publish_script_with_stats(log, script, speed=speed, **options)
    return session_id, seen


async def publish_script_with_stats(
    log: SessionLog, script: Sequence[TimedEvent], *, speed: float | None = None, **options: Any
) -> tuple[str, list[public.RealtimeEvent], PublisherStats]:
    provider = ScriptedProvider(script, speed=speed)
    async with provider.run() as stream:
        session = RealtimeSession(stream)
        local = session.events(media_buffer=100_000, max_pending=100_000)
        async with publish(session, log, **options) as publisher, session:
            seen = [event async for event in local]
    return publisher.session_id, seen, publisher.stats


async def read_all(subscription: RemoteSubscription) -> list[public.RealtimeEvent]:
    with anyio.fail_after(20):
        async with subscription:
            return [event async for event in subscription]


def media_accounting(
    events: Sequence[public.RealtimeEvent], subscription: RemoteSubscription
) -> tuple[int, int]:
    """(chunks delivered + marked dropped + flushed, chunks the publisher numbered)."""
    delivered = sum(is_media(e) for e in events)
    marked = sum(e.dropped for e in events if isinstance(e, public.MediaDropped))
    assert marked == subscription.dropped_media
    return delivered + marked + subscription.flushed_media, subscription.position.media


async def test_a_reader_from_the_beginning_gets_what_an_in_process_subscriber_got(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        session_id, local = await publish_script(log, call(turns=3, chunks=20, barge_in=False))
        remote = await read_all(subscribe(log, session_id, start="beginning", media_buffer=1000))
    assert remote == local
    assert isinstance(remote[-1], public.SessionClosed)


async def test_the_merge_keeps_the_session_order_under_any_reply_shape(
    engine: str, server: RedisServer | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Replies cut at 3 entries per lane, and every reply holding one lane only:
    # an earlier event of the other lane is then always missing from the reply.
    monkeypatch.setattr(_subscriber, "_READ_COUNT", 3)
    async with opened(engine, server) as log:
        session_id, local = await publish_script(log, call(turns=3, chunks=20, barge_in=False))
        remote = await read_all(
            subscribe(OneLaneAtATime(log), session_id, start="beginning", media_buffer=1000)
        )
    assert remote == local


class OneLaneAtATime:
    """A log whose every blocking read answers with a single lane, alternating.

    Redis 7.0 serves a blocked ``XREAD`` on several keys with the one key that woke
    it: later entries of one lane then arrive before earlier ones of the other.
    """

    def __init__(self, inner: SessionLog) -> None:
        self._inner = inner
        self._turn = 0

    def append(self, session_id: str, take: Take, done: Done) -> None:
        self._inner.append(session_id, take, done)

    async def read(self, session_id: str, **options: Any) -> LogRead:
        read = await self._inner.read(session_id, **options)
        if options["block_s"] is None:
            return read  # reads that do not block are atomic snapshots: that is the contract
        self._turn += 1
        if self._turn % 2 and read.control:
            return LogRead(control=read.control, media=())
        if read.media:
            return LogRead(control=(), media=read.media)
        return read

    async def last(self, session_id: str) -> tuple[LogEntry | None, LogEntry | None]:
        return await self._inner.last(session_id)

    async def state(self, session_id: str) -> SessionState:
        return await self._inner.state(session_id)


class Deferred:
    """A log that takes the writes asked of it only when told, as a log that coalesces
    the writes of many sessions into one round trip does."""

    def __init__(self, inner: SessionLog) -> None:
        self.inner = inner
        self.asked: list[tuple[str, Take, Done]] = []

    def append(self, session_id: str, take: Take, done: Done) -> None:
        self.asked.append((session_id, take, done))

    def send(self) -> None:
        asked, self.asked = self.asked, []
        for session_id, take, done in asked:
            self.inner.append(session_id, take, done)


async def test_a_write_carries_what_was_published_until_the_log_took_it() -> None:
    log = MemoryLog()
    deferred = Deferred(log)
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](16)
    session = RealtimeSession(receive)
    local = session.events()
    async with publish(session, deferred) as publisher, session:  # type: ignore[arg-type]
        for n in range(3):
            await send.send(ev.InputTranscriptFinalForItem(item_id=f"u{n}", text=f"q{n}"))
        await wait_until(lambda: session.stats.events_in == 3)
        published: list[public.RealtimeEvent] = []
        with contextlib.suppress(anyio.WouldBlock):
            while True:
                published.append(local.receive_nowait())
        assert len(published) >= 3
        await wait_until(lambda: publisher.stats.buffered == len(published))
        assert len(deferred.asked) == 1  # one write asked for, by the first event
        deferred.send()
        assert publisher.stats.appended == len(published)
        read = await log.read(
            publisher.session_id, after_control=0, after_media=0, count=100, block_s=None
        )
        assert [codec.from_json(e.payload, type=public.RealtimeEvent) for e in read.control] == (
            published
        )
        send.close()
        await session.wait_closed()
        deferred.send()  # the close


async def test_a_write_that_hangs_keeps_the_buffer_within_its_bound() -> None:
    log = MemoryLog()
    hanging = Deferred(log)  # takes the first write only when told: a log that hangs
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](16)
    session = RealtimeSession(receive)
    async with publish(session, hanging, max_buffer=50) as publisher, session:  # type: ignore[arg-type]
        for n in range(300):
            await send.send(ev.InputTranscriptFinalForItem(item_id=f"u{n}", text=f"q{n}"))
        await wait_until(lambda: session.stats.events_in == 300)
        stats = publisher.stats
        # The bound, and what one step of the session published past it.
        assert stats.buffered <= 50 + 2
        assert stats.dropped_control >= 300 - 51
        hanging.send()  # the log comes back: readers see the hole as lag
        send.close()
        await session.wait_closed()
        while hanging.asked:
            hanging.send()
    remote = subscribe(log, publisher.session_id, start="beginning")
    with pytest.raises(SubscriberLagged):
        await read_all(remote)


@pytest.mark.parametrize("anyio_backend", ["trio"])  # trio can count a task's steps
async def test_publishing_costs_no_task_step_per_event() -> None:
    import trio
    import trio.lowlevel

    class Steps(trio.abc.Instrument):
        def __init__(self) -> None:
            self.publisher = 0

        def before_task_step(self, task: trio.lowlevel.Task) -> None:
            if task.name.startswith("publish "):
                self.publisher += 1

    log = MemoryLog()
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](16)
    session = RealtimeSession(receive)
    steps = Steps()
    async with publish(session, log) as publisher, session:
        trio.lowlevel.add_instrument(steps)
        try:
            for n in range(200):  # one at a time, as a live provider delivers
                await send.send(ev.InputTranscriptFinalForItem(item_id=f"u{n}", text=f"q{n}"))
            await wait_until(lambda: session.stats.events_in == 200)
            await publisher.wait_flushed()
        finally:
            trio.lowlevel.remove_instrument(steps)
        send.close()
    read = await log.read(
        publisher.session_id, after_control=0, after_media=None, count=1000, block_s=None
    )
    assert len(read.control) >= 201  # every event, and the close
    assert steps.publisher < 20


async def test_a_fault_while_publishing_stops_the_publisher_not_the_call(
    engine: str, server: RedisServer | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from realtime_session.remote import _publisher

    encoded = 0

    def to_json_bytes(event: public.RealtimeEvent) -> bytes:
        nonlocal encoded
        encoded += 1
        if encoded == 4:
            raise RuntimeError("a bug in encoding")
        return codec.to_json_bytes(event)

    monkeypatch.setattr(_publisher, "codec", types.SimpleNamespace(to_json_bytes=to_json_bytes))
    async with opened(engine, server) as log:
        with structlog.testing.capture_logs() as logs:
            session_id, local = await publish_script(
                log, call(turns=2, chunks=5, barge_in=False), heartbeat_s=0.1
            )
        # The call ran to its end, and its in-process subscriber saw all of it.
        assert isinstance(local[-1], public.SessionClosed)
        assert sum(isinstance(e, public.TurnCompleted) for e in local) == 2
        failures = [entry for entry in logs if entry["event"] == "remote_publisher_failed"]
        assert len(failures) == 1
        assert isinstance(failures[0]["exc_info"], RuntimeError)
        # Readers get what was written before the fault, then learn the publisher is gone.
        remote = subscribe(log, session_id, start="beginning", media_buffer=1000)
        with pytest.raises(PublisherLost):
            await read_all(remote)
        assert remote.position.control + remote.position.media == 3


async def test_a_live_reader_gets_only_what_is_published_after_it_entered(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](16)
        session = RealtimeSession(receive)
        async with publish(session, log) as publisher, session:
            await send.send(ev.InputTranscriptFinalForItem(item_id="u0", text="before"))
            await publisher.wait_flushed()
            await wait_until(lambda: publisher.stats.appended >= 2)  # the final and its commit
            async with subscribe(log, publisher.session_id) as live:
                await send.send(ev.InputTranscriptFinalForItem(item_id="u1", text="after"))
                await send.aclose()
                with anyio.fail_after(10):
                    seen = [event async for event in live]
    assert seen[0] == public.InputTranscriptFinal(text="after", item_id="u1")
    assert isinstance(seen[-1], public.SessionClosed)
    assert all(getattr(event, "text", None) != "before" for event in seen)


async def test_a_reader_resumes_exactly_after_its_position(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        session_id, local = await publish_script(log, call(turns=2, chunks=10, barge_in=False))
        first = subscribe(log, session_id, start="beginning", media_buffer=1000)
        async with first:
            head = [await first.receive() for _ in range(15)]
        rest = await read_all(subscribe(log, session_id, start=first.position, media_buffer=1000))
    assert head + rest == local


async def test_statistics_tell_what_a_reader_holds_and_delivered(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        session_id, local = await publish_script(log, call(turns=2, chunks=10, barge_in=False))
        subscription = subscribe(log, session_id, start="beginning", media_buffer=1000)
        async with subscription:
            assert subscription.statistics() == RemoteSubscriptionStatistics(
                queued_control=0,
                queued_media=0,
                pending_control=0,
                max_pending=None,
                media_buffer=1000,
                delivered=0,
                dropped_media=0,
                flushed_media=0,
                tasks_waiting_receive=0,
                position=LogPosition(),
            )
            first = await subscription.receive()  # one read brings the whole call
            held = subscription.statistics()
            rest = [event async for event in subscription]
        done = subscription.statistics()
    control = sum(not is_media(event) for event in local)
    assert not is_media(first)
    assert held.delivered == 1
    assert held.queued_control == held.pending_control == control - 1
    assert held.queued_media == len(local) - control
    assert held.position == LogPosition(seq=1, control=1)
    assert [first, *rest] == local
    assert (done.delivered, done.queued_control, done.queued_media, done.pending_control) == (
        len(local),
        0,
        0,
        0,
    )
    assert done.position == subscription.position


async def test_statistics_count_what_a_reader_dropped_and_flushed(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        script = call(turns=2, chunks=20, pace_s=0.005)
        session_id, _ = await publish_script(log, script, speed=1.0)
        subscription = subscribe(log, session_id, start="beginning", media_buffer=5)
        remote = await read_all(subscription)
    stats = subscription.statistics()
    assert stats.media_buffer == 5
    assert stats.dropped_media == subscription.dropped_media > 0
    assert stats.flushed_media == subscription.flushed_media
    assert stats.delivered == len(remote)  # the MediaDropped markers included
    assert any(isinstance(event, public.MediaDropped) for event in remote)


async def test_unknown_session_is_reported(engine: str, server: RedisServer | None) -> None:
    async with opened(engine, server) as log:
        with pytest.raises(SessionNotFound, match="nosuchsession"):
            await read_all(subscribe(log, "nosuchsession", start="beginning"))


async def test_a_slow_reader_loses_the_oldest_media_and_is_told_how_much(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        session_id, local = await publish_script(log, call(turns=3, chunks=40, barge_in=False))
        subscription = subscribe(log, session_id, start="beginning", media_buffer=5)
        remote = await read_all(subscription)
    assert control_only(remote) == control_only(local)
    markers = [e for e in remote if isinstance(e, public.MediaDropped)]
    assert markers and subscription.dropped_media > 0
    accounted, published = media_accounting(remote, subscription)
    assert accounted == published == 120
    delivered_ms = sum(20.0 for e in remote if is_media(e))
    assert delivered_ms + sum(m.dropped_ms for m in markers) == pytest.approx(120 * 20.0)


async def test_media_trimmed_by_the_cap_is_marked_with_honest_counts(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        script = call(turns=2, chunks=300, barge_in=False)
        session_id, local = await publish_script(log, script, media_maxlen=10)
        subscription = subscribe(log, session_id, start="beginning", media_buffer=10_000)
        remote = await read_all(subscription)
    assert control_only(remote) == control_only(local)
    markers = [e for e in remote if isinstance(e, public.MediaDropped)]
    # Redis trims whole nodes of 100 entries ("~"); the memory log trims exactly.
    assert 300 <= subscription.dropped_media <= 590
    assert sum(m.dropped_ms for m in markers) == pytest.approx(subscription.dropped_media * 20.0)
    accounted, published = media_accounting(remote, subscription)
    assert accounted == published == 600
    # A marker stands where the chunks stood: before the first event after them.
    delivered = [e for e in remote if is_media(e)]
    assert delivered == [e for e in local if is_media(e)][-len(delivered) :]


async def test_media_of_an_interrupted_response_is_flushed_not_delivered(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        # Paced like a live call, so the interrupted answer's chunks reach the log.
        script = call(turns=2, chunks=20, pace_s=0.005)
        session_id, local, stats = await publish_script_with_stats(log, script, speed=1.0)
        subscription = subscribe(log, session_id, start="beginning", media_buffer=1000)
        remote = await read_all(subscription)
    # Read after the fact, the interrupted answer's chunks were still waiting for this
    # reader when its Interrupted arrived: they are flushed, as in process. (Those still
    # queued for the publisher at the barge-in were flushed there, and never reached the log.)
    interrupted = [
        item.event
        for item in script
        if isinstance(item.event, ev.OutputAudioChunk) and item.event.response_id == "r1"
    ]
    assert subscription.flushed_media >= 5
    assert subscription.flushed_media + stats.flushed_media == len(interrupted) == 10
    assert not [e for e in remote if is_media(e) and e.response_id == "r1"]
    assert control_only(remote) == control_only(local)
    accounted, published = media_accounting(remote, subscription)
    assert accounted == published


async def test_a_reader_past_max_pending_fails_with_subscriber_lagged(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        session_id, _ = await publish_script(log, call(turns=3, chunks=20))
        subscription = subscribe(log, session_id, start="beginning", max_pending=10)
        with pytest.raises(SubscriberLagged, match="max_pending=10") as lagged:
            await read_all(subscription)
    assert lagged.value.pending > 10


async def test_concurrent_receivers_share_the_events_and_never_hang(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        session_id, local = await publish_script(log, call(turns=3, chunks=20))
        subscription = subscribe(log, session_id, start="beginning", media_buffer=1000)
        got: list[list[public.RealtimeEvent]] = [[], []]

        async def drain(mine: list[public.RealtimeEvent]) -> None:
            mine.extend([event async for event in subscription])

        with anyio.fail_after(20):
            async with subscription, anyio.create_task_group() as task_group:
                task_group.start_soon(drain, got[0])
                task_group.start_soon(drain, got[1])
    assert sorted(map(repr, got[0] + got[1])) == sorted(map(repr, local))


async def test_cancelling_blocked_receives_loses_nothing(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](16)
        session = RealtimeSession(receive)
        async with publish(session, log) as publisher, session:
            await publisher.wait_flushed()
            async with subscribe(log, publisher.session_id) as remote:
                async with anyio.create_task_group() as task_group:
                    for _ in range(2):  # one blocked on the log, one waiting for the first
                        task_group.start_soon(remote.receive)
                    await wait_until(lambda: remote.statistics().tasks_waiting_receive == 2)
                    task_group.cancel_scope.cancel()
                assert remote.statistics().tasks_waiting_receive == 0
                await send.send(ev.InputTranscriptFinalForItem(item_id="u1", text="hello"))
                with anyio.fail_after(10):
                    assert await remote.receive() == public.InputTranscriptFinal(
                        text="hello", item_id="u1"
                    )
                assert remote.statistics().delivered == 1
            send.close()


async def test_a_publisher_that_stops_early_is_reported_as_lost(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](16)
        async with RealtimeSession(receive) as session:
            async with publish(session, log, heartbeat_s=0.1) as publisher:
                await send.send(ev.InputTranscriptFinalForItem(item_id="u1", text="hello"))
                await publisher.wait_flushed()
                await wait_until(lambda: publisher.stats.appended >= 2)
            # The session goes on without its publisher.
            remote = subscribe(log, publisher.session_id, start="beginning")
            with pytest.raises(PublisherLost, match="stopped publishing"):
                await read_all(remote)
            assert remote.position.control == 2  # everything published was delivered first
            send.close()


class Vanishing:
    """A log whose publisher side goes silent, as a killed worker does."""

    def __init__(self, inner: SessionLog) -> None:
        self.inner = inner
        self.silent = False

    def append(self, session_id: str, take: Take, done: Done) -> None:
        if self.silent:
            done(LogUnavailable("the worker is gone"))
            return
        self.inner.append(session_id, take, done)


async def test_a_vanished_publisher_is_reported_within_the_heartbeat_bound(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        worker = Vanishing(log)
        send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](16)
        async with RealtimeSession(receive) as session:
            async with publish(session, worker, heartbeat_s=0.1) as publisher:  # type: ignore[arg-type]
                await publisher.wait_flushed()
                async with subscribe(log, publisher.session_id) as remote:
                    await anyio.sleep(0.5)  # quiet, but alive: no error
                    worker.silent = True
                    vanished = anyio.current_time()
                    with pytest.raises(PublisherLost, match="heartbeat"), anyio.fail_after(5):
                        await remote.receive()
                    # Timeout 0.3 s after the last heartbeat, then one interval of 0.1 s
                    # (and slack for a loaded machine).
                    assert anyio.current_time() - vanished < 0.3 + 0.1 + 1.0
                worker.silent = False
            send.close()


class Unreachable:
    """A log that can be switched off, for the publisher's outage behaviour."""

    def __init__(self, inner: SessionLog) -> None:
        self.inner = inner
        self.down = False

    def append(self, session_id: str, take: Take, done: Done) -> None:
        if self.down:
            done(LogUnavailable("connection refused"))
            return
        self.inner.append(session_id, take, done)

    async def read(self, session_id: str, **options: Any) -> LogRead:
        return await self.inner.read(session_id, **options)

    async def last(self, session_id: str) -> tuple[LogEntry | None, LogEntry | None]:
        return await self.inner.last(session_id)

    async def state(self, session_id: str) -> SessionState:
        return await self.inner.state(session_id)


async def run_through_outage(
    log: SessionLog,
    *,
    max_buffer: int,
    back_when: Callable[[Publisher], bool] = lambda _: True,
) -> tuple[str, list[public.RealtimeEvent], float]:
    """A call whose log is down for its middle third.

    The first third is in the log before the outage (each event written before
    the next is sent); the middle third is sent while the log is down, and the
    log comes back once ``back_when(publisher)`` holds. Returns the session id,
    what an in-process subscriber saw, and how long sending the middle third took.
    """
    flaky = Unreachable(log)
    script = call(turns=3, chunks=30, barge_in=False)
    third = len(script) // 3
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](len(script) + 1)
    session = RealtimeSession(receive)
    local = session.events(media_buffer=100_000, max_pending=100_000)

    def dispatched(count: int) -> Callable[[], bool]:
        return lambda: session.stats.events_in >= count

    async with (
        publish(session, flaky, max_buffer=max_buffer, heartbeat_s=0.05) as publisher,
        session,
    ):
        for n, item in enumerate(script):
            if n == third:
                flaky.down = True
                started = anyio.current_time()  # the call's time without its log
            elif n == 2 * third:
                elapsed = anyio.current_time() - started
                await wait_until(lambda: back_when(publisher))
                flaky.down = False
            await send.send(item.event)
            await anyio.lowlevel.checkpoint()
            if n < third:
                # Before the outage everything reaches the log, however fast the
                # session runs ahead of the log's round trips and max_buffer.
                await wait_until(dispatched(n + 1))
                await publisher.wait_flushed()
        send.close()
        seen = [event async for event in local]
    return publisher.session_id, seen, elapsed


async def test_an_unreachable_log_costs_the_call_nothing_and_a_short_outage_loses_nothing(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        session_id, local, elapsed = await run_through_outage(log, max_buffer=10_000)
        remote = await read_all(subscribe(log, session_id, start="beginning", media_buffer=1000))
    assert elapsed < 2.0  # the session never waited for the log
    assert remote == local


async def test_a_long_outage_overflows_the_buffer_and_readers_see_the_gap(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        session_id, local, _ = await run_through_outage(
            log,
            max_buffer=20,
            # The middle third holds more control events than the buffer: taken, they overflow it.
            back_when=lambda publisher: publisher.stats.dropped_control > 0,
        )
        subscription = subscribe(log, session_id, start="beginning", media_buffer=1000)
        with pytest.raises(SubscriberLagged, match="missing from the log") as lagged:
            await read_all(subscription)
    # Media went first; then the oldest control events, which readers are told about.
    assert lagged.value.pending > 0
    delivered = control_only(local)[: subscription.position.control]
    assert delivered and subscription.position.control < len(control_only(local))


def log_write(control: Sequence[LogEntry], media: Sequence[LogEntry] = ()) -> LogWrite:
    return LogWrite(
        control=control,
        media=media,
        status=SessionStatus.OPEN,
        heartbeat_s=1.0,
        heartbeat_timeout_s=3.0,
        retention_s=60.0,
        media_maxlen=100,
    )


async def append_and_wait(log: SessionLog, session_id: str, write: LogWrite) -> None:
    """Append ``write`` and wait until the log reports it written."""
    outcome: list[BaseException | None] = []
    appended = anyio.Event()

    def done(error: BaseException | None) -> None:
        outcome.append(error)
        appended.set()

    log.append(session_id, lambda: write, done)
    with anyio.fail_after(10):
        await appended.wait()
    assert outcome == [None]


async def test_appending_a_batch_twice_keeps_each_entry_once(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        entries = [
            LogEntry(seq=n, control=n, media=0, media_ms=0.0, payload=f'{{"n":{n}}}')
            for n in (1, 2, 3)
        ]
        for _ in range(2):  # the second is a retry after an unanswered append
            await append_and_wait(log, "s1", log_write(entries))
        read = await log.read("s1", after_control=0, after_media=0, count=100, block_s=None)
    assert [entry.seq for entry in read.control] == [1, 2, 3]


async def test_entries_read_back_as_they_were_appended(
    engine: str, server: RedisServer | None
) -> None:
    media = [
        LogEntry(
            seq=1,
            control=0,
            media=1,
            media_ms=20.5,
            payload='{"m":1}',
            duration_ms=20.5,
            response_id="resp 1 x",  # spaces and all
        ),
        LogEntry(seq=3, control=1, media=2, media_ms=20.5, payload='{"m":2}'),
    ]
    # A payload may be text or bytes (the publisher's are bytes).
    control = [LogEntry(seq=2, control=1, media=1, media_ms=20.5, payload=b'{"c":1}')]
    async with opened(engine, server) as log:
        await append_and_wait(log, "s1", log_write(control, media))
        read = await log.read("s1", after_control=0, after_media=0, count=100, block_s=None)

    def as_text(entry: LogEntry) -> LogEntry:
        payload = entry.payload
        return attrs.evolve(
            entry, payload=payload if isinstance(payload, str) else payload.decode()
        )

    assert [as_text(entry) for entry in read.control] == [as_text(entry) for entry in control]
    assert [as_text(entry) for entry in read.media] == media


async def test_appends_go_on_after_redis_lost_its_scripts(redis_server: RedisServer) -> None:
    first, second = (
        LogEntry(seq=n, control=n, media=0, media_ms=0.0, payload=f'{{"n":{n}}}') for n in (1, 2)
    )
    async with RedisLog(redis_server.url) as log:
        await append_and_wait(log, "s1", log_write([first]))
        await log.client.script_flush()  # as a restarted server has none
        await append_and_wait(log, "s1", log_write([second]))
        read = await log.read("s1", after_control=0, after_media=None, count=100, block_s=None)
    assert [entry.seq for entry in read.control] == [1, 2]


@pytest.mark.parametrize("anyio_backend", ["trio"])  # trio can count a task's steps
async def test_an_append_round_trip_steps_no_task_but_the_logs_writer(
    redis_server: RedisServer,
) -> None:
    import trio
    import trio.lowlevel

    class Steps(trio.abc.Instrument):
        def __init__(self, own: trio.lowlevel.Task) -> None:
            self.own = own
            self.others = 0

        def before_task_step(self, task: trio.lowlevel.Task) -> None:
            if task is not self.own and task.name != "RedisLog writer":
                self.others += 1

    async with RedisLog(redis_server.url) as log:
        await append_and_wait(log, "s1", log_write([]))  # connected, script loaded
        steps = Steps(trio.lowlevel.current_task())
        trio.lowlevel.add_instrument(steps)
        try:
            for n in range(1, 51):
                entry = LogEntry(seq=n, control=n, media=0, media_ms=0.0, payload=f'{{"n":{n}}}')
                await append_and_wait(log, "s1", log_write([entry]))
        finally:
            trio.lowlevel.remove_instrument(steps)
        read = await log.read("s1", after_control=0, after_media=None, count=100, block_s=None)
    assert [entry.seq for entry in read.control] == list(range(1, 51))
    assert steps.others == 0


async def test_appends_reach_a_server_with_a_password_in_the_database_the_url_names(
    tmp_path: Path,
) -> None:
    import coredis

    with redis_server.RedisServer(tmp_path, options=["--requirepass", "s3cret"]) as server:
        for url in (
            f"redis://:s3cret@127.0.0.1:{server.port}/3",
            f"redis://default:s3cret@127.0.0.1:{server.port}/4",
        ):
            async with RedisLog(url) as log:
                session_id, local = await publish_script(log, call(turns=1, chunks=5))
                remote = await read_all(
                    subscribe(log, session_id, start="beginning", media_buffer=1000)
                )
                assert remote == local
        for db, keys in ((0, 0), (3, 3), (4, 3)):
            async with coredis.Redis.from_url(
                f"redis://:s3cret@127.0.0.1:{server.port}/{db}"
            ) as client:
                assert await client.dbsize() == keys


async def test_appends_reach_a_server_on_a_unix_socket(tmp_path: Path) -> None:
    path = tmp_path / "redis.sock"
    options = ["--unixsocket", str(path), "--unixsocketperm", "700"]
    with redis_server.RedisServer(tmp_path, options=options):
        async with RedisLog(f"unix://{path}?db=1") as log:
            session_id, local = await publish_script(log, call(turns=1, chunks=5))
            remote = await read_all(
                subscribe(log, session_id, start="beginning", media_buffer=1000)
            )
    assert remote == local


async def test_appends_reach_a_server_over_tls(tmp_path: Path) -> None:
    import trustme

    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    ca, cert, key = (tmp_path / name for name in ("ca.pem", "cert.pem", "key.pem"))
    authority.cert_pem.write_to_path(str(ca))
    certificate.cert_chain_pems[0].write_to_path(str(cert))
    certificate.private_key_pem.write_to_path(str(key))
    tls_port = redis_server.free_port()
    options = [
        *("--tls-port", str(tls_port), "--tls-auth-clients", "no"),
        *("--tls-cert-file", str(cert), "--tls-key-file", str(key), "--tls-ca-cert-file", str(ca)),
    ]
    with redis_server.RedisServer(tmp_path, options=options):
        url = f"rediss://127.0.0.1:{tls_port}/2?ssl_ca_certs={ca}&ssl_cert_reqs=required"
        async with RedisLog(f"{url}&ssl_check_hostname=true") as log:
            session_id, local = await publish_script(log, call(turns=1, chunks=5))
            remote = await read_all(
                subscribe(log, session_id, start="beginning", media_buffer=1000)
            )
            assert remote == local
            assert await log.client.dbsize() == 3  # the session's keys, in database 2


async def test_a_refused_password_fails_the_appends_visibly_and_never_shows_it(
    tmp_path: Path,
) -> None:
    with redis_server.RedisServer(tmp_path, options=["--requirepass", "s3cret"]) as server:
        async with RedisLog(f"redis://:wr0ng-pass@127.0.0.1:{server.port}") as log:
            with structlog.testing.capture_logs() as logs:
                _, local, stats = await publish_script_with_stats(
                    log, call(turns=1, chunks=5), close_timeout_s=0.5
                )
            assert "wr0ng-pass" not in repr(log)
    # The call ran to its end; the publisher kept what it could not write and said so.
    assert isinstance(local[-1], public.SessionClosed)
    assert stats.failed_appends >= 1
    assert stats.appended == 0
    assert stats.buffered == len(local)
    unreachable = [entry for entry in logs if entry["event"] == "remote_log_unreachable"]
    assert len(unreachable) == 1
    error = unreachable[0]["exc_info"]
    assert isinstance(error, LogUnavailable)
    assert "WRONGPASS" in str(error.__cause__)
    assert "wr0ng-pass" not in repr(logs)
    assert "wr0ng-pass" not in str(error)


async def test_redis_keys_share_a_hash_tag_and_expire_after_the_close(
    redis_server: RedisServer,
) -> None:
    async with RedisLog(redis_server.url, prefix="rs") as log:
        session_id, _ = await publish_script(
            log, call(turns=1, chunks=5), retention_s=120.0, heartbeat_s=0.5
        )
        keys = log.keys(session_id)
        assert keys == (
            f"rs:{{{session_id}}}:control",
            f"rs:{{{session_id}}}:media",
            f"rs:{{{session_id}}}:state",
        )
        client = log.client
        for key in keys:
            ttl = await client.pttl(key)
            assert 100_000 < ttl <= 120_000, key
        assert await client.get(keys[2]) == b"closed"
        assert await client.xlen(keys[0]) > 0
        assert await client.xlen(keys[1]) == 5
        assert await log.state(session_id) == SessionState(status=SessionStatus.CLOSED)


async def test_a_redis_cluster_carries_many_sessions_each_within_one_shard(
    redis_cluster: redis_server.RedisCluster,
) -> None:
    import coredis

    seen: dict[str, list[public.RealtimeEvent]] = {}

    async def one(log: SessionLog, n: int) -> None:
        session_id, local = await publish_script(
            log, call(turns=2, chunks=10, barge_in=False), session_id=f"call-{n}"
        )
        seen[session_id] = local

    startup = redis_cluster.nodes[0]
    client = coredis.RedisCluster("127.0.0.1", startup.port, decode_responses=False)
    # coredis 6.9 never closes its cluster layout's error stream: closed after the
    # client, so the warning about it cannot hide one about ours.
    with contextlib.ExitStack() as streams:
        for stream in client.connection_pool.cluster_layout._error_stream:
            streams.callback(stream.close)
        async with client, RedisLog(client) as log:
            # Concurrent calls share the flushes: each flush names several sessions' keys.
            async with anyio.create_task_group() as task_group:
                for n in range(12):
                    task_group.start_soon(one, log, n)
            for session_id, local in seen.items():
                remote = await read_all(
                    subscribe(log, session_id, start="beginning", media_buffer=1000)
                )
                assert remote == local
                control, media, state = log.keys(session_id)
                slots = {await client.cluster_keyslot(key) for key in (control, media, state)}
                assert len(slots) == 1
    shards_used = 0
    for node in redis_cluster.nodes:
        async with coredis.Redis.from_url(node.url) as shard:
            shards_used += await shard.dbsize() > 0
    assert shards_used > 1


async def test_a_position_is_a_plain_value() -> None:
    assert LogPosition() == LogPosition(seq=0, control=0, media=0, media_ms=0.0)
    with pytest.raises(ValueError, match="start"):
        subscribe(MemoryLog(), "s", start="middle")  # type: ignore[arg-type]


async def test_a_session_id_the_log_cannot_key_is_refused_up_front() -> None:
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](1)
    send.close()
    session = RealtimeSession(receive)
    with pytest.raises(ValueError, match="braces"):
        async with publish(session, MemoryLog(), session_id="a{b}"):
            pass
    await session.aclose()


async def test_a_live_reader_of_a_closed_session_gets_its_last_word(
    engine: str, server: RedisServer | None
) -> None:
    async with opened(engine, server) as log:
        session_id, local = await publish_script(log, call(turns=1, chunks=3, barge_in=False))
        remote = await read_all(subscribe(log, session_id, start="live"))
    assert remote == [local[-1]] == [public.SessionClosed(reason="provider_closed")]


def test_a_missing_redis_server_is_an_error_not_a_skip(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("redis_server.shutil.which", lambda name: None)
    with pytest.raises(RuntimeError, match="redis-server is not installed"):
        redis_server.RedisServer(tmp_path)


async def test_a_blocked_reader_keeps_the_order_when_one_write_fills_both_lanes(
    engine: str, server: RedisServer | None
) -> None:
    # A write reaches Redis as one script: the blocked XREAD is answered with the
    # first key it touched (control), without the media entries between them.
    chunk = public.OutputAudioChunk(chunk=ev.RealtimeAudioChunk(data=b"\0\0" * 480))
    deltas = [public.OutputTextDelta(delta=f"d{n}", response_id="r", item_id="i") for n in (2, 4)]

    def entry(seq: int, control: int, media: int, event: public.RealtimeEvent) -> LogEntry:
        duration = 20.0 if isinstance(event, public.OutputAudioChunk) else 0.0
        return LogEntry(
            seq=seq,
            control=control,
            media=media,
            media_ms=media * 20.0,
            payload=codec.to_json(event),
            duration_ms=duration,
        )

    async with opened(engine, server) as log:
        empty = log_write([])
        log.append("s", lambda: empty, lambda _: None)
        await anyio.sleep(0.1)
        async with (
            subscribe(log, "s", start="beginning") as remote,
            anyio.create_task_group() as tg,
        ):
            got: list[public.RealtimeEvent] = []

            async def read() -> None:
                with anyio.fail_after(10):
                    got.extend([await remote.receive() for _ in range(4)])

            tg.start_soon(read)
            await anyio.sleep(0.3)  # the reader is blocked on the log
            both = log_write(
                [entry(2, 1, 1, deltas[0]), entry(4, 2, 2, deltas[1])],
                [entry(1, 0, 1, chunk), entry(3, 1, 2, chunk)],
            )
            log.append("s", lambda: both, lambda _: None)
    assert got == [chunk, deltas[0], chunk, deltas[1]]


async def test_an_append_connection_that_gets_a_reply_it_cannot_read_starts_afresh() -> None:
    # A server whose first reply is not one line (an array) and whose next connection
    # answers as Redis does: the unread rest of the array must not pass for the reply
    # to the next call.
    import coredis
    import coredis.exceptions

    from realtime_session.remote._connection import AppendConnection

    connections = 0

    async def serve(stream: anyio.abc.SocketStream) -> None:
        nonlocal connections
        connections += 1
        first = connections == 1
        async with stream:
            with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                while await stream.receive():
                    await stream.send(b"*2\r\n:7\r\n:8\r\n" if first else b":1\r\n")

    async with (
        await anyio.create_tcp_listener(local_host="127.0.0.1") as listener,
        anyio.create_task_group() as task_group,
    ):
        task_group.start_soon(listener.serve, serve)
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        client = coredis.Redis(host="127.0.0.1", port=port)
        connection = AppendConnection.for_pool(client.connection_pool, 1.0)
        assert connection is not None
        with pytest.raises(coredis.exceptions.ConnectionError, match="unexpected reply"):
            await connection.call((b"EVALSHA",))
        assert await connection.call((b"EVALSHA",)) == b"1"
        assert connections == 2
        await connection.aclose()
        task_group.cancel_scope.cancel()


async def test_an_append_that_gets_no_reply_is_retried_on_a_new_connection(
    redis_server: RedisServer,
) -> None:
    # Between the log and a real server, a relay whose first append connection goes
    # silent (it takes the bytes and never answers, as a stopped server or a
    # connection a network dropped without a word); the next connections pass through.
    silenced = 0

    async def relay(source: anyio.abc.ByteStream, sink: anyio.abc.ByteStream) -> None:
        with contextlib.suppress(
            anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError
        ):
            async for chunk in source:
                await sink.send(chunk)
        await sink.aclose()

    async def serve(client: anyio.abc.SocketStream) -> None:
        nonlocal silenced
        async with client:
            first = await client.receive()
            if b"EVALSHA" in first and not silenced:
                silenced += 1
                with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
                    while await client.receive():
                        pass
                return
            async with (
                await anyio.connect_tcp("127.0.0.1", redis_server.port) as upstream,
                anyio.create_task_group() as task_group,
            ):
                await upstream.send(first)
                task_group.start_soon(relay, client, upstream)
                task_group.start_soon(relay, upstream, client)

    async with (
        await anyio.create_tcp_listener(local_host="127.0.0.1") as listener,
        anyio.create_task_group() as task_group,
    ):
        task_group.start_soon(listener.serve, serve)
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        with structlog.testing.capture_logs() as logs:
            async with RedisLog(f"redis://127.0.0.1:{port}", append_timeout_s=0.4) as log:
                with anyio.fail_after(4):  # the kernel alone would wait many minutes
                    session_id, local, stats = await publish_script_with_stats(
                        log, call(turns=1, chunks=5)
                    )
        task_group.cancel_scope.cancel()
    assert silenced == 1
    assert stats.failed_appends == 1
    unreachable = [entry for entry in logs if entry["event"] == "remote_log_unreachable"]
    assert len(unreachable) == 1
    assert isinstance(unreachable[0]["exc_info"].__cause__, TimeoutError)
    async with RedisLog(redis_server.url) as direct:
        remote = await read_all(subscribe(direct, session_id, start="beginning", media_buffer=1000))
    assert remote == local


async def test_an_append_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="append_timeout_s"):
        RedisLog("redis://127.0.0.1:6379", append_timeout_s=0)


def test_an_append_waits_the_timeout_asked_for_or_the_clients() -> None:
    import coredis

    from realtime_session.remote._connection import AppendConnection

    def reply_timeout(client: coredis.Redis[bytes], asked: float | None) -> float:
        connection = AppendConnection.for_pool(client.connection_pool, 1.0, asked)
        assert connection is not None
        return connection.reply_timeout_s

    plain = coredis.Redis(host="127.0.0.1", port=6379)
    patient = coredis.Redis(host="127.0.0.1", port=6379, stream_timeout=0.3)
    assert reply_timeout(plain, None) == 10.0
    assert reply_timeout(patient, None) == 0.3
    assert reply_timeout(patient, 2.0) == 2.0
