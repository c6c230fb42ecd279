"""Recording a session's input and replaying it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import pytest
import structlog
from helpers import (
    RecordingCommands,
    audio,
    collect,
    of_type,
    provider_stream,
    replay,
    spoken,
    wait_until,
)

from realtime_session import RealtimeSession, SessionConfig, SessionFailed, codec, public
from realtime_session import events as ev
from realtime_session.recording import EventRecorder, RecordingError, read_events

if TYPE_CHECKING:
    from collections.abc import MutableMapping
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


def test_a_lone_unterminated_line_is_not_a_torn_recording(tmp_path: Path) -> None:
    # Forgiving a torn last line needs a line before it that was written whole.
    path = tmp_path / "garbage.jsonl"
    path.write_text("this is not a recording")
    with pytest.raises(RecordingError) as caught:
        read_events(path)
    assert caught.value.line == 1


# -- a recording that cannot be written ---------------------------------------------------------

FULL_DISK = "/dev/full"  # every write to it fails with ENOSPC, as on a full disk


async def run_recorded(
    config: SessionConfig,
) -> tuple[RealtimeSession, list[public.RealtimeEvent], list[MutableMapping[str, Any]]]:
    """Run CONVERSATION through a session with a live subscriber; nothing may escape."""
    send, receive = provider_stream()
    with structlog.testing.capture_logs() as logs:
        async with RealtimeSession(receive, config=config) as session:
            subscription = session.events()
            with send:
                for event in CONVERSATION:
                    send.send_nowait(event)
            with anyio.fail_after(5):
                seen = await collect(subscription)
    return session, seen, logs


async def test_a_recording_that_cannot_be_written_fails_alone() -> None:
    session, seen, logs = await run_recorded(SessionConfig(record_to=FULL_DISK))
    # The call goes on: the whole conversation reached the transcript and the subscriber.
    unrecorded, _ = await replay(CONVERSATION)
    assert session.transcript == unrecorded.transcript
    assert len(of_type(seen, public.TranscriptCommitted)) == 3
    assert seen[-1] == public.SessionClosed(reason="provider_closed")
    # Announced once, to every subscriber, with its cause.
    [failed] = of_type(seen, public.RecordingFailed)
    assert failed.fatal is False
    assert "No space left on device" in failed.error
    assert session.stats.rejected == 0
    assert session.stats.events_not_recorded == len(CONVERSATION)
    # Logged once, with the cause, not once per event.
    [logged] = [entry for entry in logs if entry["event"] == "recording_failed"]
    assert isinstance(logged["exc_info"], OSError)
    with anyio.fail_after(5):
        await session.wait_closed()  # returns, and raises nothing


async def test_a_required_recording_that_cannot_be_written_fails_the_session() -> None:
    session, seen, _ = await run_recorded(
        SessionConfig(record_to=FULL_DISK, recording_required=True)
    )
    [failed] = of_type(seen, public.RecordingFailed)
    assert failed.fatal is True
    closed = seen[-1]
    assert isinstance(closed, public.SessionClosed)
    assert closed.reason == "failed"
    assert closed.error is not None
    assert closed.error.startswith("recording failed: ")
    # Nothing was applied unrecorded.
    assert session.transcript == ()
    with anyio.fail_after(5), pytest.raises(SessionFailed) as caught:
        await session.wait_closed()
    assert isinstance(caught.value.__cause__, OSError)


@pytest.mark.parametrize("required", [False, True])
async def test_a_recording_that_cannot_be_opened_is_a_recording_failure(
    required: bool, tmp_path: Path
) -> None:
    missing_dir = tmp_path / "no" / "such" / "dir" / "session.jsonl"
    session, seen, _ = await run_recorded(
        SessionConfig(record_to=missing_dir, recording_required=required)
    )
    [failed] = of_type(seen, public.RecordingFailed)
    assert failed.fatal is required
    closed = seen[-1]
    assert isinstance(closed, public.SessionClosed)
    assert closed.reason == ("failed" if required else "provider_closed")
    assert len(session.transcript) == (0 if required else 3)
