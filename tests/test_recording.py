"""Recording a session's input and replaying it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from helpers import RecordingCommands, audio, collect, provider_stream, replay, spoken, wait_until

from realtime_session import RealtimeSession, SessionConfig, codec
from realtime_session import events as ev
from realtime_session.recording import EventRecorder, RecordingError, read_events

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.anyio

CONVERSATION: list[ev.RealtimeSessionEvent] = [
    ev.InputTranscriptFinalForItem(item_id="u1", text="what's the weather?"),
    ev.ToolCallRequested(call_id="c1", tool_name="weather", arguments={"city": "Oslo"}),
    *[audio("r1", "a1", t, ms=200) for t in range(5)],
    spoken("r1", "a1", "It is ", 0, previous="u1"),
    spoken("r1", "a1", "sunny and warm today.", 1, previous="u1"),
    ev.TurnCompleted(
        response_id="r1", usage=ev.Usage(input_tokens=12, output_tokens=7, cache_read_tokens=3)
    ),
    ev.AssistantTranscriptTruncated(item_id="a1", audio_played_ms=400),
    ev.InputTranscriptFinalForItem(item_id="u2", previous_item_id="a1", text="thanks"),
]


async def test_recording_round_trip_with_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    live, _ = await replay(CONVERSATION, SessionConfig(record_to=path))
    lines = path.read_text().splitlines()
    assert len(lines) == len(CONVERSATION)
    # A crash in the middle of a write leaves a partial last line.
    with path.open("a") as file:
        file.write('{"type": "turn_comp')
    recorded = read_events(path)
    assert recorded == CONVERSATION
    replayed, _ = await replay(recorded)
    assert replayed.transcript == live.transcript
    assert len(live.transcript) == 3


async def test_session_decisions_are_recorded_so_replay_matches(tmp_path: Path) -> None:
    # A playback-aware barge-in depends on report_playback, which a replay lacks;
    # the session records the Interrupted it decided on, so the replay agrees.
    path = tmp_path / "barge.jsonl"
    commands = RecordingCommands(supports_truncation=False)
    send, receive = provider_stream()
    prelude: list[ev.RealtimeSessionEvent] = [
        *[audio("r1", "a1", t, ms=250) for t in range(4)],
        spoken("r1", "a1", "one two three four five six", 0),
        ev.TurnCompleted(response_id="r1"),
    ]
    async with RealtimeSession(
        receive, config=SessionConfig(record_to=path), commands=commands
    ) as live:
        subscription = live.events()
        with send:
            for event in prelude:
                send.send_nowait(event)
            await wait_until(lambda: live.stats.events_in == len(prelude))
            live.report_playback("a1", 500)
            send.send_nowait(ev.TurnStarted())
        await collect(subscription)
    assert live.transcript[-1].text == "one two three"
    replayed, _ = await replay(read_events(path))
    assert replayed.transcript == live.transcript


def test_a_malformed_line_in_the_middle_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    good = codec.to_json(ev.TurnStarted())
    path.write_text(f"{good}\n\n{{not json}}\n{good}\n")
    with pytest.raises(RecordingError) as caught:
        read_events(path)
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: ")


def test_a_complete_last_line_without_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text(codec.to_json(ev.TurnStarted()) + "\n" + codec.to_json(ev.TurnCommitted()))
    assert read_events(path) == [ev.TurnStarted(), ev.TurnCommitted()]


def test_recorder_appends_and_flushes_each_line(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    with EventRecorder(path) as recorder:
        recorder.write(ev.TurnStarted())
        # Flushed: visible to a reader before the recorder is closed.
        assert read_events(path) == [ev.TurnStarted()]
    with pytest.raises(ValueError, match="closed"):
        recorder.write(ev.TurnStarted())
