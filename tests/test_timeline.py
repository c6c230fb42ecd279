"""The timeline of a recorded call: what it lays out, and the listener model under it."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import anyio
import pytest

import realtime_session
from realtime_session import events as ev
from realtime_session import public
from realtime_session._listener import ListenerModel
from realtime_session.providers import load_trace
from realtime_session.timeline import LANES, Timeline, build_timeline, render_html

TRACES = Path(realtime_session.__file__).parent / "traces"
BARGE_IN_ITEM = "item_kW9LctXb03rEMU64yTY6B"
BARGE_IN_RESPONSE = "resp_MQSkS3u9I5KKgTPnO1Krs"
GENERATED = (
    "Once upon a time, on a rocky island far out at sea, there stood an old lighthouse "
    "with a very patient keeper."
)


def timeline_of(name: str) -> Timeline:
    return anyio.run(lambda: build_timeline(load_trace(TRACES / name), title=name))


def items(timeline: Timeline, lane: str, kind: str) -> list[dict[str, Any]]:
    return [item for item in timeline.data["items"][lane] if item["k"] == kind]


def chunk(response_id: str, item_id: str, ms: int, tag: int = 1) -> public.OutputAudioChunk:
    return public.OutputAudioChunk(
        chunk=ev.RealtimeAudioChunk(data=bytes([tag]) * (ms * 48)),
        response_id=response_id,
        item_id=item_id,
    )


# -- the layout -------------------------------------------------------------------------------


def test_barge_in_call_shows_the_cut_against_what_was_generated() -> None:
    timeline = timeline_of("openai_barge_in.jsonl")
    data = timeline.data
    assert [lane["id"] for lane in data["lanes"]] == [lane for lane, _ in LANES]
    (barge_in,) = items(timeline, "bargein", "interrupted")
    assert barge_in["t0"] == 2.933
    assert data["events"][barge_in["e"]] == {
        "t": 2.933,
        "type": "interrupted",
        "response_id": BARGE_IN_RESPONSE,
    }
    (cut,) = items(timeline, "bargein", "truncated")
    assert cut["heard"] == "Once upon"
    assert cut["generated"] == GENERATED
    assert cut["label"] == "cut at 800 ms"
    # The transcript beside the timeline keeps what was heard, and knows what was not.
    assistant = [m for m in data["transcript"] if m["role"] == "assistant"]
    assert assistant[0]["blocks"] == [
        {
            "kind": "spoken",
            "text": "Once upon",
            "truncated": True,
            "estimated": True,
            "audio_played_ms": 800,
            "generated": GENERATED,
        }
    ]
    assert [m["role"] for m in data["transcript"]] == ["user", "assistant", "user", "assistant"]


def test_barge_in_call_played_audio_stops_where_the_user_cut_in() -> None:
    timeline = timeline_of("openai_barge_in.jsonl")
    played = items(timeline, "played", "played")
    interrupted = [
        span for span in played if timeline.data["events"][span["e"]]["item_id"] == BARGE_IN_ITEM
    ]
    (span,) = interrupted
    # The provider recorded 800 ms heard: the player's span is exactly that long.
    assert timeline.data["events"][span["e"]]["audio_ms"] == pytest.approx(800, abs=0.1)
    assert span["t1"] <= 2.933
    (flushed,) = items(timeline, "played", "flushed")
    flushed_event = timeline.data["events"][flushed["e"]]
    assert flushed_event["item_id"] == BARGE_IN_ITEM
    assert flushed_event["flushed_at"] == 2.933
    assert flushed["t0"] >= 2.933
    (received,) = [
        item
        for item in items(timeline, "received", "audio")
        if timeline.data["events"][item["e"]]["item_id"] == BARGE_IN_ITEM
    ]
    assert timeline.data["events"][received["e"]]["audio_ms"] == pytest.approx(1600, abs=0.1)


def test_user_speech_spans_from_speech_start_to_commit() -> None:
    timeline = timeline_of("openai_barge_in.jsonl")
    speech = [(item["t0"], item["t1"]) for item in items(timeline, "user", "speech")]
    assert speech == [(0.4, 1.81), (2.933, 4.443)]
    finals = [item["label"] for item in items(timeline, "user", "final")]
    assert finals == ["Tell me a story about a lighthouse.", "Actually, what time is it in Tokyo?"]


def test_tool_calls_show_name_duration_and_outcome_never_arguments() -> None:
    demo = timeline_of("openai_demo.jsonl")
    (tool,) = items(demo, "tools", "tool")
    assert tool["label"] == "get_weather"
    assert tool["outcome"] == "answered: the model went on"
    assert tool["t0"] == 2.121
    assert tool["t1"] > tool["t0"]
    gemini = timeline_of("gemini_interruption.jsonl")
    (cancelled,) = items(gemini, "tools", "tool")
    assert cancelled["outcome"] == "cancelled"
    assert (cancelled["t0"], cancelled["t1"]) == (2.925, 3.335)
    for timeline in (demo, gemini):
        page = render_html(timeline)
        # The arguments were {"city": "Lisbon"} and {"party_size": 2, "time": "20:00"}.
        assert '"city"' not in page
        assert "party_size" not in page
        assert '"arguments"' not in page


def test_provider_errors_have_their_lane(tmp_path: Path) -> None:
    from realtime_session import codec

    trace = tmp_path / "errors.jsonl"
    lines = [
        (0.5, ev.ProviderError(code="rate_limit_exceeded", message="slow down")),
        (0.9, ev.ProviderError(code="server_error", message="internal", fatal=True)),
    ]
    trace.write_text(
        "".join(json.dumps({"t": t, "event": codec.to_dict(e)}) + "\n" for t, e in lines)
    )
    timeline = anyio.run(lambda: build_timeline(load_trace(trace)))
    errors = items(timeline, "errors", "error")
    assert [(e["t0"], e["label"]) for e in errors] == [
        (0.5, "rate_limit_exceeded: slow down"),
        (0.9, "fatal server_error: internal"),
        (0.9, "session failed: provider error server_error: internal"),
    ]


def test_untimed_recording_gets_a_clock_from_its_audio(tmp_path: Path) -> None:
    from realtime_session import codec

    events = load_trace(TRACES / "openai_barge_in.jsonl")
    recording = tmp_path / "recording.jsonl"
    recording.write_text("".join(codec.to_json(item.event) + "\n" for item in events))
    timeline = anyio.run(lambda: build_timeline(load_trace(recording)))
    assert timeline.data["timed"] is False
    (barge_in,) = items(timeline, "bargein", "interrupted")
    # 40 chunks of 40 ms arrived before the barge-in: 1.6 s of estimated time.
    assert barge_in["t0"] == pytest.approx(1.6)
    (cut,) = items(timeline, "bargein", "truncated")
    assert cut["heard"] == "Once upon"


def test_page_is_self_contained_and_embeds_no_audio() -> None:
    timeline = timeline_of("openai_barge_in.jsonl")
    page = render_html(timeline)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "default-src 'none'" in page  # the browser is told to load nothing
    some_audio = next(
        item.event.chunk.data
        for item in load_trace(TRACES / "openai_barge_in.jsonl")
        if isinstance(item.event, ev.OutputAudioChunk)
    )
    assert base64.b64encode(some_audio).decode()[:64] not in page
    embedded = re.search(
        r'<script type="application/json" id="call-data">(.*?)</script>', page, re.DOTALL
    )
    assert embedded is not None
    assert json.loads(embedded.group(1)) == timeline.data


def test_text_that_looks_like_markup_stays_text() -> None:
    timeline = Timeline(
        title="<b>x</b>",
        data={"title": "</script><script>alert(1)</script>", "events": [], "items": {}},
    )
    page = render_html(timeline)
    assert "</script><script>alert(1)" not in page
    assert "<title>&lt;b&gt;x&lt;/b&gt;" in page


# -- the listener model -------------------------------------------------------------------------


def test_listener_plays_back_to_back_from_arrival() -> None:
    listener = ListenerModel()
    for n in range(3):
        listener.arrive(0.0, chunk("r1", "a", 100, tag=n))
    listener.arrive(1.0, chunk("r2", "b", 100))
    listener.finish()
    spans = [(s.item_id, round(s.start, 3), round(s.end, 3)) for s in listener.played_spans()]
    assert spans == [("a", 0.0, 0.3), ("b", 1.0, 1.1)]
    assert b"".join(e.chunk.data for e in listener.heard()) == (
        bytes([0]) * 4800 + bytes([1]) * 4800 + bytes([2]) * 4800 + bytes([1]) * 4800
    )


def test_barge_in_cuts_the_playing_chunk_and_flushes_the_queue() -> None:
    listener = ListenerModel()
    for _ in range(5):
        listener.arrive(0.0, chunk("r1", "a", 100))
    listener.arrive(0.0, chunk("r0", "other", 100, tag=9))
    listener.interrupt(0.25, "r1")
    listener.finish()
    heard = listener.heard()
    # Two whole chunks and half of the third; then the other response's chunk.
    assert [len(e.chunk.data) for e in heard] == [4800, 4800, 2400, 4800]
    (flushed,) = listener.flushed_spans()
    assert (flushed.item_id, flushed.chunks, flushed.flushed_at) == ("a", 2, 0.25)
    assert flushed.ms == pytest.approx(200)


def test_truncation_caps_what_was_heard_of_the_item() -> None:
    listener = ListenerModel()
    for _ in range(5):
        listener.arrive(0.0, chunk("r1", "a", 100))
    listener.truncate(0.6, "a", 150)
    listener.finish()
    assert sum(len(e.chunk.data) for e in listener.heard()) == 150 * 48


def test_a_small_media_buffer_drops_the_oldest() -> None:
    listener = ListenerModel(media_buffer=2)
    for n in range(5):
        listener.arrive(0.0, chunk("r1", "a", 100, tag=n))
    listener.finish()
    # The first chunk starts playing at once; the queue holds two of the rest.
    assert [drop.dropped for drop in listener.drops] == [2]
    assert listener.drops[0].dropped_ms == pytest.approx(200)
    assert [e.chunk.data[0] for e in listener.heard()] == [0, 3, 4]
