"""Barge-ins in a replayed call are settled on the call's own clock, not the replay's.

A replay runs many times faster than the call did, so "how long since the
answer's first chunk" read off the wall clock says the user heard nothing.
A raw Gemini Live trace carries no truncation (the provider cannot truncate),
so its replay settles each barge-in itself, on the trace's clock.
"""

from __future__ import annotations

import io
from pathlib import Path

from helpers import RecordingCommands, audio, provider_stream, spoken, wait_until

from realtime_session import RealtimeSession, codec, public
from realtime_session import events as ev
from realtime_session import transcript as tr
from realtime_session._cli import replay
from realtime_session.providers import TimedEvent, load_trace
from realtime_session.timeline import build_timeline

TRACES = Path(__file__).parent.parent / "realtime_session" / "traces"
ANSWER = "one two three four five six seven eight nine ten"


def answer_cut_at(cut_s: float) -> list[TimedEvent]:
    """A second of a spoken answer, all received at once at 0 s; the user talks at ``cut_s``."""
    return [
        TimedEvent(t=0.0, event=spoken("r1", "a1", ANSWER, 0)),
        *(TimedEvent(t=0.0, event=audio("r1", "a1", tag=n, ms=100)) for n in range(10)),
        TimedEvent(t=cut_s, event=ev.Interrupted(response_id="r1")),
        TimedEvent(
            t=cut_s,
            event=ev.TurnCompleted(response_id="r1", stop_reason=ev.StopReason.CANCELLED),
        ),
    ]


async def test_a_gemini_replay_cuts_the_answer_where_the_trace_clock_says_it_was() -> None:
    out = io.StringIO()
    assert await replay(answer_cut_at(0.45), format="gemini", as_json=True, out=out) == 0
    [cut] = [
        event
        for event in (
            codec.from_json(line, type=public.RealtimeEvent) for line in out.getvalue().splitlines()
        )
        if isinstance(event, public.AssistantTranscriptTruncated)
    ]
    # 450 ms into the call, not the few microseconds the replay took to get there.
    assert cut.audio_played_ms == 450
    assert cut.truncated_text is not None
    assert ANSWER.startswith(cut.truncated_text) and cut.truncated_text != ANSWER


async def test_a_gemini_replay_keeps_an_answer_that_played_out_before_the_barge_in() -> None:
    out = io.StringIO()
    assert await replay(answer_cut_at(2.0), format="gemini", as_json=False, out=out) == 0
    assistant = [line for line in out.getvalue().splitlines() if line.startswith("assistant:")]
    assert assistant == [f"assistant: {ANSWER}"]


async def test_the_bundled_gemini_barge_in_replays_with_the_answer_the_user_heard() -> None:
    events = load_trace(TRACES / "gemini_interruption.jsonl")
    timeline = await build_timeline(events, format="gemini")
    assert "Sure, I'll look for a table for two at eight." in str(timeline.data)


async def test_a_recording_replays_its_own_decisions_not_new_ones() -> None:
    # Without commands and without a report, a barge-in is left to the stream:
    # the recording's own decision arrives next and is the one applied.
    decided = tr.AssistantTranscriptTruncated(
        response_id="r1",
        item_id="a1",
        content_index=0,
        text="one two",
        audio_played_ms=210,
        estimated=True,
    )
    events = [*answer_cut_at(2.0)]
    events.insert(-1, TimedEvent(t=2.0, event=ev.RealtimeTranscript(event=decided)))
    out = io.StringIO()
    assert await replay(events, format="events", as_json=False, out=out) == 0
    assert "assistant: one two" in out.getvalue().splitlines()


async def test_a_session_estimates_unreported_playback_on_the_clock_it_is_given() -> None:
    now = 0.0
    send, receive = provider_stream()
    commands = RecordingCommands(supports_truncation=False)
    async with RealtimeSession(receive, commands=commands, playback_clock=lambda: now) as session:
        events = session.events(media=False)
        await send.send(spoken("r1", "a1", ANSWER, 0))
        for n in range(10):
            await send.send(audio("r1", "a1", tag=n, ms=100))
        await wait_until(lambda: session.stats.events_in == 11)
        now = 0.5  # the session's clock, not the wall clock, says half a second passed
        await send.send(ev.Interrupted(response_id="r1"))
        send.close()
        seen = [event async for event in events]
    [truncated] = [e for e in seen if isinstance(e, public.AssistantTranscriptTruncated)]
    assert truncated.audio_played_ms == 500
