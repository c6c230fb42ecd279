"""Response latency: the definitions, on known times."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from helpers import RecordingCommands, audio, provider_stream, spoken, wait_until

import realtime_session
from realtime_session import RealtimeSession, public
from realtime_session import events as ev
from realtime_session._latency import LatencyTracker, max_ms, median_ms
from realtime_session.events import StopReason
from realtime_session.providers import ScriptedProvider, TimedEvent, load_trace
from realtime_session.timeline import build_timeline

TRACES = Path(realtime_session.__file__).parent / "traces"


def test_a_response_is_timed_from_the_turn_it_answers() -> None:
    tracker = LatencyTracker()
    tracker.turn_committed(10.0)
    tracker.text(10.2, "r1")
    tracker.audio(10.3, "r1")
    tracker.audio(10.5, "r1")
    tracker.text(10.6, "r1")
    latency = tracker.completed(11.0, "r1", StopReason.END_TURN)
    assert latency == public.ResponseLatency(
        response_id="r1",
        stop_reason=StopReason.END_TURN,
        since="turn_committed",
        first_audio_ms=300.0,
        first_text_ms=200.0,
        completed_ms=1000.0,
        tool_ms=None,
    )
    # Its end is counted once; later events of it change nothing.
    tracker.audio(11.5, "r1")
    assert tracker.completed(12.0, "r1", StopReason.END_TURN) is None
    assert tracker.first_audio_ms == [300.0]


def test_a_continuation_is_timed_from_the_tool_answer_and_carries_the_tool_time() -> None:
    tracker = LatencyTracker()
    tracker.turn_committed(1.0)
    tracker.text(1.1, "r1")
    tracker.tool_requested(1.2, "c1")
    tracker.tool_requested(1.3, "c2")
    first = tracker.completed(1.25, "r1", StopReason.TOOL_USE)
    assert first is not None
    assert (first.since, first.completed_ms, first.tool_ms) == ("turn_committed", 250.0, None)
    assert tracker.tool_answered(1.5, "c1") == 300.0
    assert tracker.tool_answered(1.9, "c2") == 600.0
    tracker.audio(2.3, "r2")
    second = tracker.completed(3.0, "r2", StopReason.END_TURN)
    assert second is not None
    assert second.since == "tool_result"
    assert second.first_audio_ms == pytest.approx(400.0)
    assert second.first_text_ms is None
    # From the first request to the last answer.
    assert second.tool_ms == pytest.approx(700.0)
    assert tracker.tool_ms == [300.0, 600.0]


def test_a_response_that_answers_nothing_seen_has_no_figures() -> None:
    tracker = LatencyTracker()
    tracker.audio(1.0, "r1")
    latency = tracker.completed(2.0, "r1", StopReason.END_TURN)
    assert latency == public.ResponseLatency(response_id="r1", stop_reason=StopReason.END_TURN)
    # A commit is claimed by one response only: the first to start after it.
    tracker.turn_committed(3.0)
    tracker.audio(3.5, "r2")
    tracker.audio(3.6, "r3")
    second = tracker.completed(4.0, "r2", StopReason.END_TURN)
    third = tracker.completed(4.0, "r3", StopReason.END_TURN)
    assert second is not None
    assert third is not None
    assert (second.since, third.since) == ("turn_committed", None)


def test_a_withdrawn_tool_call_has_no_figure() -> None:
    tracker = LatencyTracker()
    tracker.tool_requested(1.0, "c1")
    tracker.tool_withdrawn("c1")
    assert tracker.tool_answered(2.0, "c1") is None
    assert tracker.tool_ms == []


def test_median_and_max_of_sorted_figures() -> None:
    assert median_ms([]) is None
    assert max_ms([]) is None
    assert median_ms([100.0, 200.0, 300.4]) == 200
    assert median_ms([100.0, 301.0]) == 200
    assert max_ms([100.0, 301.0]) == 301


def test_the_timeline_shows_each_response_latency() -> None:
    timeline = anyio.run(lambda: build_timeline(load_trace(TRACES / "openai_demo.jsonl")))
    items = [item for item in timeline.data["items"]["latency"] if item["k"] == "latency"]
    events = [timeline.data["events"][item["e"]] for item in items]
    # The first answer ("Let me check.") came 306 ms after the turn was committed
    # (1.510 s -> 1.816 s); the trace holds no tool answers, so the continuation
    # answers nothing the timeline saw; the last answer followed the second commit.
    assert events[0]["response_id"] == "resp_3NR0esNm5CsiqyM9kvKax"
    assert events[0]["since"] == "turn_committed"
    assert events[0]["first_audio_ms"] == pytest.approx(306.0)
    assert events[0]["completed_ms"] == pytest.approx(614.0)
    assert items[0]["t0"] == pytest.approx(1.51)
    assert [event["response_id"] for event in events] == [
        "resp_3NR0esNm5CsiqyM9kvKax",
        "resp_pCAFcoACpP4B1nFmccqqp",
    ]
    assert events[1]["first_audio_ms"] == pytest.approx(356.0)
    assert "audio 306 ms" in items[0]["label"]


# -- in a session, on a scripted call with known timing -------------------------------------


def timed(t: float, event: ev.RealtimeSessionEvent) -> TimedEvent:
    return TimedEvent(t=t, event=event)


async def test_a_paced_call_reports_the_latency_it_was_scripted_with() -> None:
    async def look_up(city: str) -> str:
        await anyio.sleep(0.2)  # the tool takes 200 ms
        return f"sunny in {city}"

    script = [
        timed(0.0, ev.TurnCommitted()),
        timed(0.2, spoken("r1", "a1", "Let me check.", 0)),
        timed(0.3, audio("r1", "a1")),
        timed(
            0.4,
            ev.ToolCallRequested(call_id="c1", tool_name="look_up", arguments={"city": "Porto"}),
        ),
        timed(0.45, ev.TurnCompleted(response_id="r1", stop_reason=StopReason.TOOL_USE)),
        # The model answers 0.9 s into the call: 0.3 s after the tool's answer (at 0.6 s).
        timed(0.9, audio("r2", "a2")),
        timed(0.95, spoken("r2", "a2", "Sunny.", 0, "a1")),
        timed(1.0, ev.TurnCompleted(response_id="r2")),
    ]
    provider = ScriptedProvider(script, speed=1.0)
    async with provider.run() as events:
        session = RealtimeSession(events, commands=provider, tools={"look_up": look_up})
        subscription = session.events(media=False)
        async with session:
            with anyio.fail_after(10):
                seen = [event async for event in subscription]
    first, second = [event for event in seen if isinstance(event, public.ResponseLatency)]
    # Scheduled delivery is never early, and on a busy machine a little late:
    # each figure is checked within a generous window around its scripted value.
    assert (first.response_id, first.since, first.stop_reason) == (
        "r1",
        "turn_committed",
        StopReason.TOOL_USE,
    )
    assert first.first_text_ms == pytest.approx(200, abs=90)
    assert first.first_audio_ms == pytest.approx(300, abs=90)
    assert first.completed_ms == pytest.approx(450, abs=90)
    assert first.tool_ms is None
    assert (second.response_id, second.since) == ("r2", "tool_result")
    assert second.tool_ms == pytest.approx(200, abs=90)
    assert second.first_audio_ms == pytest.approx(300, abs=90)
    assert second.first_text_ms == pytest.approx(350, abs=90)
    assert second.completed_ms == pytest.approx(400, abs=90)
    # The latency follows the response's end, and is in the session's statistics.
    completed = [
        type(e).__name__
        for e in seen
        if isinstance(e, public.TurnCompleted | public.ResponseLatency)
    ]
    assert completed == ["TurnCompleted", "ResponseLatency", "TurnCompleted", "ResponseLatency"]
    stats = session.stats
    assert stats.responses_timed == 2
    figures = [first.first_audio_ms, second.first_audio_ms]
    assert stats.first_audio_ms_max == pytest.approx(
        max(f for f in figures if f is not None), abs=1
    )
    assert stats.tool_ms_median == pytest.approx(200, abs=90)
    assert stats.completed_ms_median == pytest.approx(425, abs=90)


async def test_a_turn_the_application_commits_or_types_is_timed_from_there() -> None:
    send, receive = provider_stream()
    commands = RecordingCommands()
    session = RealtimeSession(receive, commands=commands)
    subscription = session.events(media=False)
    async with session:
        async with send:
            await session.commit_turn()
            await anyio.sleep(0.1)
            await send.send(audio("r1", "a1"))
            await send.send(ev.TurnCompleted(response_id="r1"))
            await wait_until(lambda: session.stats.responses_timed == 1)
            await session.send_input(ev.TextInput(text="And tomorrow?"))
            await send.send(spoken("r2", "a2", "Rain.", 0, "a1"))
            await send.send(ev.TurnCompleted(response_id="r2"))
        with anyio.fail_after(5):
            seen = [event async for event in subscription]
    first, second = [event for event in seen if isinstance(event, public.ResponseLatency)]
    assert first.since == "turn_committed"
    assert first.first_audio_ms is not None
    assert first.first_audio_ms >= 100
    assert (second.since, second.first_audio_ms) == ("turn_committed", None)
    assert second.first_text_ms is not None
    assert second.first_text_ms < 100


async def test_responses_that_answer_nothing_seen_publish_no_latency() -> None:
    send, receive = provider_stream()
    session = RealtimeSession(receive)
    subscription = session.events(media=False)
    async with session:
        async with send:
            await send.send(audio("r1", "a1"))
            await send.send(ev.TurnCompleted(response_id="r1"))
        with anyio.fail_after(5):
            seen = [event async for event in subscription]
    assert not [event for event in seen if isinstance(event, public.ResponseLatency)]
    assert session.stats.responses_timed == 0
    assert session.stats.first_audio_ms_median is None
