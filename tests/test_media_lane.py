"""The lossy media lane: bounded per subscriber, drops counted and marked, flushed on barge-in."""

from __future__ import annotations

import anyio
import pytest
from helpers import audio, chunk_tag, collect, of_type, provider_stream, replay, spoken

from realtime_session import RealtimeSession, SessionConfig, public
from realtime_session import events as ev

pytestmark = pytest.mark.anyio


async def test_stalled_subscriber_drops_oldest_under_a_flood_with_one_marker() -> None:
    flood = [audio("r1", "i1", tag) for tag in range(100)]
    session, seen = await replay(
        [*flood, ev.TurnCompleted(response_id="r1")], SessionConfig(media_buffer=10)
    )

    assert seen[0] == public.MediaDropped(dropped=90, dropped_ms=90 * 20.0)
    assert [chunk_tag(e) for e in seen[1:11]] == list(range(90, 100))
    assert isinstance(seen[11], public.TurnCompleted)
    assert seen[12] == public.SessionClosed(reason="provider_closed")
    assert len(seen) == 13
    assert session.stats.media_dropped == 90


async def test_drop_newest_keeps_queued_chunks_and_marks_after_them() -> None:
    flood = [audio("r1", "i1", tag) for tag in range(100)]
    _, seen = await replay(
        [*flood, ev.TurnCompleted(response_id="r1")],
        SessionConfig(media_buffer=10, media_drop="newest"),
    )

    assert [chunk_tag(e) for e in seen[:10]] == list(range(10))
    assert seen[10] == public.MediaDropped(dropped=90, dropped_ms=1800.0)
    assert isinstance(seen[11], public.TurnCompleted)
    assert isinstance(seen[12], public.SessionClosed)


async def test_marker_sits_between_control_events_where_the_chunks_were() -> None:
    events: list[ev.RealtimeSessionEvent] = [
        ev.InputTranscriptPartial(text="before"),
        *[audio("r1", "i1", tag) for tag in range(5)],
        ev.InputTranscriptPartial(text="between"),
        *[audio("r1", "i1", tag) for tag in range(5, 8)],
        ev.InputTranscriptPartial(text="after"),
    ]
    _, seen = await replay(events, SessionConfig(media_buffer=2))

    kinds = [
        e.text
        if isinstance(e, public.InputTranscriptPartial)
        else f"drop{e.dropped}"
        if isinstance(e, public.MediaDropped)
        else chunk_tag(e)
        if isinstance(e, public.OutputAudioChunk)
        else type(e).__name__
        for e in seen
    ]
    # Chunks 0..5 were pushed out by later ones; the marker stands where the
    # last lost chunk (5) stood, after "between" and before the survivors.
    assert kinds == ["before", "between", "drop6", 6, 7, "after", "SessionClosed"]


async def test_counters_per_subscription_are_independent() -> None:
    send, receive = provider_stream()
    async with RealtimeSession(receive, config=SessionConfig(media_buffer=4)) as session:
        small = session.events()
        large = session.events(media_buffer=1000)
        with send:
            for tag in range(50):
                send.send_nowait(audio("r1", "i1", tag))
        with anyio.fail_after(5):
            small_seen = await collect(small)
            large_seen = await collect(large)
    assert small.dropped_media == 46
    assert large.dropped_media == 0
    assert len(of_type(large_seen, public.OutputAudioChunk)) == 50
    assert len(of_type(small_seen, public.OutputAudioChunk)) == 4


async def test_media_false_subscription_receives_no_media() -> None:
    send, receive = provider_stream()
    async with RealtimeSession(receive) as session:
        no_media = session.events(media=False)
        with send:
            send.send_nowait(audio("r1", "i1"))
            send.send_nowait(
                ev.OutputVideoChunk(chunk=ev.RealtimeVideoChunk(data=b"jpeg"), response_id="r1")
            )
            send.send_nowait(ev.TurnCompleted(response_id="r1"))
        with anyio.fail_after(5):
            seen = await collect(no_media)
    assert [type(e) for e in seen] == [public.TurnCompleted, public.SessionClosed]
    assert no_media.dropped_media == 0


async def test_barge_in_flushes_queued_media_of_the_interrupted_response_only() -> None:
    events: list[ev.RealtimeSessionEvent] = [
        *[audio("r1", "i1", tag) for tag in range(30)],
        *[audio("r0", "i0", 200 + tag) for tag in range(3)],
        ev.Interrupted(response_id="r1"),
        *[audio("r1", "i1", 100 + tag) for tag in range(5)],  # late chunks: suppressed
        *[audio("r2", "i2", 150 + tag) for tag in range(5)],
    ]
    send, receive = provider_stream()
    async with RealtimeSession(receive) as session:
        stalled = session.events()
        with send:
            for event in events:
                send.send_nowait(event)
        with anyio.fail_after(5):
            await session.wait_closed()
            seen = await collect(stalled)

    assert stalled.flushed_media == 30
    assert stalled.dropped_media == 0
    tags = [chunk_tag(e) for e in of_type(seen, public.OutputAudioChunk)]
    assert tags == [200, 201, 202, 150, 151, 152, 153, 154]
    assert public.Interrupted(response_id="r1") in seen
    stats = session.stats
    assert (stats.media_flushed, stats.media_suppressed, stats.media_dropped) == (30, 5, 0)


async def test_interrupt_without_response_flushes_everything_queued() -> None:
    events: list[ev.RealtimeSessionEvent] = [
        spoken("r1", "i1", "hello", 0),
        *[audio("r1", "i1", tag) for tag in range(4)],
        *[audio(None, None, 50 + tag) for tag in range(2)],
        ev.Interrupted(),
        audio("r1", "i1", 9),  # r1 was in flight: suppressed
    ]
    session, seen = await replay(events)
    assert of_type(seen, public.OutputAudioChunk) == []
    assert session.stats.media_flushed == 6
    assert session.stats.media_suppressed == 1


async def test_media_accounting_balances_for_every_subscription() -> None:
    events: list[ev.RealtimeSessionEvent] = [
        *[audio("r1", "i1", tag) for tag in range(40)],
        ev.Interrupted(response_id="r1"),
        *[audio("r2", "i2", tag) for tag in range(40)],
    ]
    send, receive = provider_stream()
    async with RealtimeSession(receive, config=SessionConfig(media_buffer=16)) as session:
        subs = [session.events(), session.events(media_buffer=64), session.events(media=False)]
        with send:
            for event in events:
                send.send_nowait(event)
        with anyio.fail_after(5):
            seen = [await collect(sub) for sub in subs]
    published_media = 80
    for sub, got in zip(subs[:2], seen[:2], strict=True):
        delivered = len(of_type(got, public.OutputAudioChunk))
        marked = sum(m.dropped for m in of_type(got, public.MediaDropped))
        assert marked == sub.dropped_media
        assert delivered + sub.dropped_media + sub.flushed_media == published_media
    assert of_type(seen[2], public.OutputAudioChunk) == []
