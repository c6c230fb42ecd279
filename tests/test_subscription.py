"""A subscription keeps the contract of an anyio receive stream: readers, schedule points, statistics."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import pytest
from helpers import audio, provider_stream, wait_until

from realtime_session import RealtimeSession, Subscription, SubscriptionStatistics, public
from realtime_session import events as ev

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectSendStream

pytestmark = pytest.mark.anyio

# The bound receive() documents: a schedule point at least once per 256 events, so
# another ready task runs at least once per 512 (just before or just after each point,
# as the scheduler orders the tasks ready at the same time).
EVENTS_PER_SCHEDULE_POINT = 256


async def settle() -> None:
    """Let every ready task run until it blocks."""
    for _ in range(20):
        await anyio.lowlevel.checkpoint()


async def test_concurrent_receivers_compete_for_events_and_none_hangs() -> None:
    send, receive = provider_stream()
    async with RealtimeSession(receive) as session:
        subscription = session.events()
        got: list[public.RealtimeEvent] = []

        async def reader() -> None:
            got.append(await subscription.receive())

        with send, anyio.fail_after(5):
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(reader)
                task_group.start_soon(reader)
                await settle()  # both are waiting on the empty subscription
                send.send_nowait(ev.TurnStarted())
                send.send_nowait(ev.TurnCommitted())
    assert sorted(type(event).__name__ for event in got) == ["TurnCommitted", "TurnStarted"]


async def test_competing_readers_share_a_stream_without_losing_or_repeating_an_event() -> None:
    send, receive = provider_stream(2000)
    async with RealtimeSession(receive) as session:
        subscription = session.events()
        got: dict[int, list[str]] = {0: [], 1: []}

        async def reader(name: int) -> None:
            async for event in subscription:
                if isinstance(event, public.InputTranscriptPartial):
                    got[name].append(event.text)
                await anyio.lowlevel.checkpoint()  # give the other reader its turn

        with anyio.fail_after(10):
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(reader, 0)
                task_group.start_soon(reader, 1)
                async with send:
                    for n in range(1500):
                        await send.send(ev.InputTranscriptPartial(text=str(n)))
    assert sorted(got[0] + got[1], key=int) == [str(n) for n in range(1500)]
    assert sorted(got[0], key=int) == got[0]  # each reader sees its share in order
    assert subscription.statistics().tasks_waiting_receive == 0


async def backlog(
    session: RealtimeSession, send: MemoryObjectSendStream[ev.RealtimeSessionEvent], size: int
) -> Subscription:
    """A subscription holding ``size`` queued control events (the provider stream stays open)."""
    subscription = session.events()
    for n in range(size):
        send.send_nowait(ev.InputTranscriptPartial(text=str(n)))
    await wait_until(lambda: subscription.statistics().queued_control == size)
    return subscription


@pytest.mark.parametrize("how", ["receive", "async for"])
async def test_draining_a_backlog_lets_other_tasks_run_at_least_every_256_events(how: str) -> None:
    send, receive = provider_stream(6000)
    async with RealtimeSession(receive) as session:
        subscription = await backlog(session, send, 5000)
        ticks = 0
        # How many times the other task had run when each event was received.
        seen_at: list[int] = []

        async def other_task() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await anyio.lowlevel.checkpoint()

        async def drain() -> None:
            if how == "receive":
                for _ in range(5000):
                    await subscription.receive()
                    seen_at.append(ticks)
            else:
                async for _ in subscription:
                    seen_at.append(ticks)
                    if len(seen_at) == 5000:
                        break

        with send, anyio.fail_after(10):
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(other_task)
                await anyio.lowlevel.checkpoint()
                await drain()
                task_group.cancel_scope.cancel()
    # Never more than 512 events in a row without the other task running in between.
    longest = run = 1
    for before, after in itertools.pairwise(seen_at):
        run = run + 1 if after == before else 1
        longest = max(longest, run)
    assert longest <= 2 * EVENTS_PER_SCHEDULE_POINT
    assert seen_at[-1] - seen_at[0] >= 5000 // EVENTS_PER_SCHEDULE_POINT - 1


async def test_a_reader_draining_a_backlog_is_cancelled_promptly() -> None:
    send, receive = provider_stream(6000)
    async with RealtimeSession(receive) as session:
        subscription = await backlog(session, send, 5000)
        received = 0
        with send:
            with anyio.move_on_after(0) as scope:
                while True:
                    await subscription.receive()
                    received += 1
            assert scope.cancelled_caught
            assert received <= EVENTS_PER_SCHEDULE_POINT
            # Nothing was lost to the cancellation.
            assert subscription.statistics().queued_control == 5000 - received


async def test_statistics_tell_what_is_queued_delivered_dropped_and_flushed() -> None:
    send, receive = provider_stream()
    async with RealtimeSession(receive) as session:
        subscription = session.events(media_buffer=2, max_pending=50)
        assert subscription.statistics() == SubscriptionStatistics(
            queued_control=0,
            queued_media=0,
            max_pending=50,
            media_buffer=2,
            delivered=0,
            dropped_media=0,
            flushed_media=0,
            tasks_waiting_receive=0,
        )
        with send:
            # Three chunks into a buffer of two: the oldest is dropped.
            for tag in range(3):
                send.send_nowait(audio("r1", "a1", tag))
            send.send_nowait(ev.TurnStarted())
            await wait_until(lambda: session.stats.events_in == 4)
            stats = subscription.statistics()
            assert (stats.queued_control, stats.queued_media) == (1, 2)
            assert (stats.dropped_media, stats.flushed_media, stats.delivered) == (1, 0, 0)

            assert isinstance(await subscription.receive(), public.MediaDropped)
            assert subscription.statistics().delivered == 1
            # The barge-in flushes the two queued chunks of r1.
            send.send_nowait(ev.Interrupted(response_id="r1"))
            await wait_until(lambda: session.stats.events_in == 5)
            stats = subscription.statistics()
            assert (stats.queued_control, stats.queued_media) == (2, 0)
            assert (stats.dropped_media, stats.flushed_media, stats.delivered) == (1, 2, 1)

            async with anyio.create_task_group() as task_group:
                task_group.start_soon(subscription.receive)
                task_group.start_soon(subscription.receive)
                task_group.start_soon(subscription.receive)
                await wait_until(lambda: subscription.statistics().tasks_waiting_receive == 1)
                send.send_nowait(ev.TurnCommitted())
            stats = subscription.statistics()
            assert (stats.delivered, stats.queued_control, stats.tasks_waiting_receive) == (4, 0, 0)
