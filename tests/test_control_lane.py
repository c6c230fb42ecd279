"""The lossless control lane: every subscriber gets every control event, in order, or is told it lagged."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest
from helpers import collect, feeding, of_type, provider_stream, replay, wait_until

from realtime_session import RealtimeSession, SessionConfig, SubscriberLagged, public
from realtime_session import events as ev
from realtime_session import transcript as tr

pytestmark = pytest.mark.anyio


def partials(n: int) -> list[ev.RealtimeSessionEvent]:
    return [ev.InputTranscriptPartial(text=str(i)) for i in range(n)]


async def test_persist_then_publish_projected_event_then_commits() -> None:
    events: list[ev.RealtimeSessionEvent] = [
        ev.InputTranscriptFinalForItem(item_id="u1", text="hi there"),
        ev.OutputAudioTranscriptDeltaForItem(
            response_id="r1", delta_id="d1", item_id="a1", previous_item_id="u1", delta="Hello"
        ),
        ev.TurnCompleted(response_id="r1"),
    ]
    send, receive = provider_stream()
    async with RealtimeSession(receive) as session:
        subscription = session.events()
        with send:
            send.send_nowait(events[0])
            with anyio.fail_after(5):
                first = await subscription.receive()
                # The reducer ran before the projected event was published.
                assert first == public.InputTranscriptFinal(text="hi there", item_id="u1")
                assert session.transcript == (tr.UserMessage(item_id="u1", text="hi there"),)
            for event in events[1:]:
                send.send_nowait(event)
        with anyio.fail_after(5):
            rest = await collect(subscription)
    assert [type(e) for e in rest] == [
        public.TranscriptCommitted,
        public.OutputAudioTranscriptDelta,
        public.TurnCompleted,
        public.TranscriptCommitted,
        public.SessionClosed,
    ]
    committed = of_type(rest, public.TranscriptCommitted)
    assert committed[0].message == tr.UserMessage(item_id="u1", text="hi there")
    assistant = committed[1].message
    assert isinstance(assistant, tr.AssistantMessage)
    assert assistant.text == "Hello"


async def test_lagging_subscriber_fails_alone_while_a_fast_one_gets_everything() -> None:
    send, receive = provider_stream(4)
    fast_seen: list[public.RealtimeEvent] = []
    async with RealtimeSession(receive) as session:
        lagging = session.events(max_pending=5)
        fast = session.events()

        async def read_fast() -> None:
            fast_seen.extend(await collect(fast))

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(read_fast)
            async with feeding(partials(50), send):
                pass
    assert [e.text for e in of_type(fast_seen, public.InputTranscriptPartial)] == [
        str(i) for i in range(50)
    ]
    assert isinstance(fast_seen[-1], public.SessionClosed)
    with pytest.raises(SubscriberLagged) as caught:
        await lagging.receive()
    assert caught.value.max_pending == 5
    assert caught.value.pending > 5
    assert "max_pending=5" in str(caught.value)
    with pytest.raises(SubscriberLagged):
        async for _ in lagging:
            pass


async def test_backpressure_subscriber_gets_all_300_events_through_a_4_slot_stream() -> None:
    send, receive = provider_stream(4)
    received: list[public.RealtimeEvent] = []
    peak = 0
    async with RealtimeSession(receive) as session:
        durable = session.events(backpressure=True, max_pending=8)

        async def slow_reader() -> None:
            nonlocal peak
            async for event in durable:
                received.append(event)
                peak = max(peak, len(durable._control))
                await anyio.lowlevel.checkpoint()

        with anyio.fail_after(20):
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(slow_reader)
                async with feeding(partials(300), send):
                    pass
    texts = [e.text for e in of_type(received, public.InputTranscriptPartial)]
    assert texts == [str(i) for i in range(300)]
    assert received[-1] == public.SessionClosed(reason="provider_closed")
    # The session waited for the reader rather than letting its queue grow.
    assert peak <= 8 + 4


async def test_registration_happens_when_events_is_called() -> None:
    send, receive = provider_stream()
    session = RealtimeSession(receive)
    early_sub = session.events()  # before the session even started
    async with session:
        with send:
            send.send_nowait(ev.InputTranscriptPartial(text="one"))
            with anyio.fail_after(5):
                assert await early_sub.receive() == public.InputTranscriptPartial(text="one")
            late = session.events()
            send.send_nowait(ev.InputTranscriptPartial(text="two"))
        with anyio.fail_after(5):
            late_seen = await collect(late)
            early_seen = await collect(early_sub)
    assert late_seen == [
        public.InputTranscriptPartial(text="two"),
        public.SessionClosed(reason="provider_closed"),
    ]
    assert early_seen == late_seen
    after_close = session.events()
    assert await collect(after_close) == [public.SessionClosed(reason="provider_closed")]


async def test_application_close_while_a_reader_is_iterating() -> None:
    send, receive = provider_stream()
    seen: list[public.RealtimeEvent] = []
    with send:
        async with RealtimeSession(receive) as session:
            subscription = session.events()

            async def reader() -> None:
                async for event in subscription:
                    seen.append(event)  # noqa: PERF401 -- observed while iterating

            async with anyio.create_task_group() as task_group:
                task_group.start_soon(reader)
                send.send_nowait(ev.InputTranscriptPartial(text="x"))
                await wait_until(lambda: bool(seen))
                with anyio.fail_after(5):
                    await session.aclose()
        assert session.closed
    assert seen == [public.InputTranscriptPartial(text="x"), public.SessionClosed(reason="closed")]


async def test_leaving_the_context_closes_every_subscription() -> None:
    send, receive = provider_stream()
    with send:
        async with RealtimeSession(receive) as session:
            subscriptions = [session.events() for _ in range(3)]
            send.send_nowait(ev.TurnStarted())
            with anyio.fail_after(5):
                await subscriptions[0].receive()
    for subscription in subscriptions:
        assert (await collect(subscription))[-1] == public.SessionClosed(reason="closed")


async def test_subscription_aclose_unregisters_it() -> None:
    send, receive = provider_stream()
    with send:
        async with RealtimeSession(receive) as session:
            async with session.events() as subscription:
                assert session.stats.subscribers == 1
            assert session.stats.subscribers == 0
            send.send_nowait(ev.TurnStarted())
            assert await collect(subscription) == []


async def test_sequence_order_is_kept_across_lanes() -> None:
    from helpers import audio

    events: list[ev.RealtimeSessionEvent] = []
    for i in range(20):
        events.append(ev.InputTranscriptPartial(text=str(i)))
        events.append(audio("r1", "i1", i))
    _, seen = await replay(events)
    order = [
        ("c", int(e.text))
        if isinstance(e, public.InputTranscriptPartial)
        else ("m", e.chunk.data[0])
        for e in seen
        if isinstance(e, public.InputTranscriptPartial | public.OutputAudioChunk)
    ]
    assert order == [x for i in range(20) for x in (("c", i), ("m", i))]


async def test_receive_nowait_twin() -> None:
    send, receive = provider_stream()
    async with RealtimeSession(receive) as session:
        subscription = session.events()
        with pytest.raises(anyio.WouldBlock):
            subscription.receive_nowait()
        with send:
            send.send_nowait(ev.TurnCommitted())
        await session.wait_closed()
        assert subscription.receive_nowait() == public.TurnCommitted()
        assert isinstance(subscription.receive_nowait(), public.SessionClosed)
        with pytest.raises(anyio.EndOfStream):
            subscription.receive_nowait()


async def test_invalid_subscription_limits_are_refused() -> None:
    send, receive = provider_stream()
    with send, receive:
        session = RealtimeSession(receive)
        with pytest.raises(ValueError, match="max_pending"):
            session.events(max_pending=0)
        with pytest.raises(ValueError, match="media_buffer"):
            session.events(media_buffer=0)


def test_session_config_validates_each_field() -> None:
    for field, value in [
        ("media_buffer", 0),
        ("max_pending", -1),
        ("media_drop", "middle"),
        ("unheard_policy", "maybe"),
        ("orphan_timeout_s", 0),
        ("tool_timeout_s", -1.0),
        ("backpressure_timeout_s", 0),
    ]:
        with pytest.raises(ValueError, match=f"SessionConfig.{field}"):
            SessionConfig(**{field: value})  # type: ignore[arg-type]


async def test_subscribing_first_thing_in_the_body_misses_nothing() -> None:
    # The pattern of the documentation, with a provider stream that is already
    # full when the session starts: the actor must not outrun the body.
    for _ in range(20):
        send, receive = provider_stream()
        with send:
            for index in range(300):
                send.send_nowait(ev.InputTranscriptPartial(text=str(index)))
        async with RealtimeSession(receive) as session:
            seen = await collect(session.events())
        assert len(seen) == 301
        assert seen[-1] == public.SessionClosed(reason="provider_closed")


async def test_a_stalled_backpressure_subscriber_fails_alone_after_the_bound() -> None:
    # A durable sink that stopped reading may slow the session only so long: past
    # the bound it fails alone, and the provider stream is read again.
    send, receive = provider_stream(4)
    fast_seen: list[public.RealtimeEvent] = []
    config = SessionConfig(backpressure_timeout_s=0.2)
    async with RealtimeSession(receive, config=config) as session:
        stalled = session.events(backpressure=True, max_pending=8)
        fast = session.events()

        async def read_fast() -> None:
            fast_seen.extend(await collect(fast))

        with anyio.fail_after(10):
            started = anyio.current_time()
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(read_fast)
                async with feeding(partials(100), send):
                    pass
            elapsed = anyio.current_time() - started
    texts = [e.text for e in of_type(fast_seen, public.InputTranscriptPartial)]
    assert texts == [str(i) for i in range(100)]
    assert fast_seen[-1] == public.SessionClosed(reason="provider_closed")
    # It waited once, for the bound, not per event.
    assert 0.2 <= elapsed < 5
    with pytest.raises(SubscriberLagged) as caught:
        await stalled.receive()
    assert caught.value.max_pending == 8
    assert caught.value.stalled_s == 0.2
    assert "stalled the session for 0.2 s" in str(caught.value)
    assert session.stats.subscribers == 0
