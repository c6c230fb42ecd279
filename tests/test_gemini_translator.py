"""The Gemini Live translator (one test per behaviour) and command encoding."""

from __future__ import annotations

import base64
import json
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from realtime_session import ProviderCommands, codec
from realtime_session import events as ev
from realtime_session.providers import (
    GeminiLiveCommands,
    GeminiLiveTranslator,
    UnsupportedCommandError,
    UnsupportedInputError,
    load_trace,
)
from realtime_session.providers._unknown import REMEMBERED
from realtime_session.transcript import ItemSkipped

if TYPE_CHECKING:
    from collections.abc import Iterator

FIXTURES = Path(__file__).parent / "fixtures"

Message = dict[str, Any]

PCM = b"\x10\x00\x20\x00" * 240


def audio(data: bytes = PCM, mime: str = "audio/pcm;rate=24000") -> Message:
    payload = base64.b64encode(data).decode()
    return {
        "serverContent": {
            "modelTurn": {"parts": [{"inlineData": {"mimeType": mime, "data": payload}}]}
        }
    }


def said(text: str) -> Message:
    return {"serverContent": {"outputTranscription": {"text": text}}}


def heard(text: str, finished: bool | None = None) -> Message:
    transcription: dict[str, Any] = {"text": text}
    if finished is not None:
        transcription["finished"] = finished
    return {"serverContent": {"inputTranscription": transcription}}


def written(text: str, thought: bool = False) -> Message:
    part: dict[str, Any] = {"text": text}
    if thought:
        part["thought"] = True
    return {"serverContent": {"modelTurn": {"parts": [part]}}}


TURN_COMPLETE: Message = {"serverContent": {"turnComplete": True}}
INTERRUPTED: Message = {"serverContent": {"interrupted": True}}


def tool_call(*calls: tuple[str, str, Any]) -> Message:
    return {"toolCall": {"functionCalls": [{"id": i, "name": n, "args": a} for i, n, a in calls]}}


def run(translator: GeminiLiveTranslator, *messages: object) -> list[ev.RealtimeSessionEvent]:
    out: list[ev.RealtimeSessionEvent] = []
    for message in messages:
        out.extend(translator.translate(message))
    return out


def without_media(events: list[ev.RealtimeSessionEvent]) -> list[ev.RealtimeSessionEvent]:
    return [e for e in events if not isinstance(e, ev.OutputAudioChunk | ev.OutputVideoChunk)]


@pytest.fixture
def t() -> GeminiLiveTranslator:
    return GeminiLiveTranslator()


def anchor(item_id: str, previous_item_id: str | None) -> ev.RealtimeTranscript:
    return ev.RealtimeTranscript(
        event=ItemSkipped(item_id=item_id, previous_item_id=previous_item_id)
    )


# -- identity and ordering -----------------------------------------------------------------


def test_a_turn_gets_stable_synthesised_ids_chained_user_then_assistant(
    t: GeminiLiveTranslator,
) -> None:
    out = run(t, heard("Hi"), audio(), said("Hello!"), TURN_COMPLETE)
    assert without_media(out) == [
        ev.InputTranscriptPartial(text="Hi"),
        ev.OutputAudioTranscriptDeltaForItem(
            response_id="gemini_resp_2",
            delta_id="gemini_item_3:1",
            item_id="gemini_item_3",
            previous_item_id="gemini_user_1",
            delta="Hello!",
        ),
        ev.InputTranscriptFinalForItem(item_id="gemini_user_1", text="Hi"),
        ev.TurnCompleted(response_id="gemini_resp_2"),
    ]
    # The same messages give the same ids.
    assert run(GeminiLiveTranslator(), heard("Hi"), audio(), said("Hello!"), TURN_COMPLETE) == out


def test_the_next_turn_chains_after_the_previous_answer(t: GeminiLiveTranslator) -> None:
    run(t, heard("One"), said("Two"), TURN_COMPLETE)
    out = run(t, heard("Three"), said("Four"), TURN_COMPLETE)
    final = next(e for e in out if isinstance(e, ev.InputTranscriptFinalForItem))
    delta = next(e for e in out if isinstance(e, ev.OutputAudioTranscriptDeltaForItem))
    assert final.previous_item_id == "gemini_item_3"
    assert delta.previous_item_id == final.item_id


def test_transcription_arriving_after_the_answer_started_fills_the_reserved_user_item(
    t: GeminiLiveTranslator,
) -> None:
    out = run(t, said("Madrid."), heard("And of"), heard(" Spain?"), TURN_COMPLETE)
    delta = out[0]
    assert isinstance(delta, ev.OutputAudioTranscriptDeltaForItem)
    assert delta.previous_item_id == "gemini_user_1"
    assert out[1:] == [
        ev.InputTranscriptPartial(text="And of"),
        ev.InputTranscriptPartial(text="And of Spain?"),
        ev.InputTranscriptFinalForItem(item_id="gemini_user_1", text="And of Spain?"),
        ev.TurnCompleted(response_id="gemini_resp_2"),
    ]


def test_a_user_item_that_never_gets_text_ends_as_an_anchor(t: GeminiLiveTranslator) -> None:
    out = run(t, said("Hello, I'm here."), TURN_COMPLETE)
    assert out[-2:] == [
        anchor("gemini_user_1", None),
        ev.TurnCompleted(response_id="gemini_resp_2"),
    ]


def test_id_prefix_keeps_ids_of_a_resumed_connection_apart() -> None:
    out = run(GeminiLiveTranslator(id_prefix="g2"), said("Hi"))
    assert isinstance(out[0], ev.OutputAudioTranscriptDeltaForItem)
    assert (out[0].response_id, out[0].item_id) == ("g2_resp_2", "g2_item_3")
    with pytest.raises(ValueError, match="id_prefix"):
        GeminiLiveTranslator(id_prefix=" ")


# -- content --------------------------------------------------------------------------------


def test_inline_audio_becomes_an_audio_chunk_at_its_declared_rate(t: GeminiLiveTranslator) -> None:
    (chunk,) = run(t, audio(PCM, "audio/pcm;rate=16000"))
    assert chunk == ev.OutputAudioChunk(
        chunk=ev.RealtimeAudioChunk(data=PCM, sample_rate_hz=16000),
        response_id="gemini_resp_2",
        item_id="gemini_item_3",
    )
    (default_rate,) = run(GeminiLiveTranslator(), audio(PCM, "audio/pcm"))
    assert isinstance(default_rate, ev.OutputAudioChunk)
    assert default_rate.chunk.sample_rate_hz == 24000


def test_audio_and_its_transcription_share_the_spoken_item(t: GeminiLiveTranslator) -> None:
    out = run(t, audio(), said("Hi"), audio())
    assert {getattr(e, "item_id", None) for e in out} == {"gemini_item_3"}


def test_text_parts_go_to_a_display_item_of_their_own_and_thoughts_are_skipped(
    t: GeminiLiveTranslator,
) -> None:
    out = run(t, written("planning...", thought=True), said("Hi"), written("Hi in writing"))
    assert without_media(out) == [
        ev.OutputAudioTranscriptDeltaForItem(
            response_id="gemini_resp_2",
            delta_id="gemini_item_3:1",
            item_id="gemini_item_3",
            previous_item_id="gemini_user_1",
            delta="Hi",
        ),
        ev.OutputTextDeltaForItem(
            response_id="gemini_resp_2",
            delta_id="gemini_item_4:2",
            item_id="gemini_item_4",
            previous_item_id="gemini_item_3",
            delta="Hi in writing",
        ),
    ]


def test_output_transcription_deltas_have_distinct_delta_ids(t: GeminiLiveTranslator) -> None:
    out = run(t, said("a"), said("a"), said("a"))
    ids = [e.delta_id for e in out if isinstance(e, ev.OutputAudioTranscriptDeltaForItem)]
    assert len(set(ids)) == 3


def test_input_transcription_accumulates_into_partials_and_finished_makes_it_final(
    t: GeminiLiveTranslator,
) -> None:
    out = run(t, heard("Book a"), heard(" table", finished=True), heard("Thanks"))
    assert out == [
        ev.InputTranscriptPartial(text="Book a"),
        ev.InputTranscriptPartial(text="Book a table"),
        ev.InputTranscriptFinalForItem(item_id="gemini_user_1", text="Book a table"),
        ev.InputTranscriptPartial(text="Thanks"),
    ]


def test_interim_input_transcription_is_display_only(t: GeminiLiveTranslator) -> None:
    message = {"serverContent": {"interimInputTranscription": {"text": "Book a tab"}}}
    assert run(t, message) == [ev.InputTranscriptPartial(text="Book a tab")]


def test_user_turn_without_an_answer_is_final_at_turn_complete(t: GeminiLiveTranslator) -> None:
    assert run(t, heard("Hmm"), TURN_COMPLETE) == [
        ev.InputTranscriptPartial(text="Hmm"),
        ev.InputTranscriptFinalForItem(item_id="gemini_user_1", text="Hmm"),
    ]


# -- interruption --------------------------------------------------------------------------------


def test_interrupted_yields_one_interrupted_and_a_cancelled_completion(
    t: GeminiLiveTranslator,
) -> None:
    out = run(t, heard("Tell me a story"), audio(), said("Once upon"))
    out = run(t, INTERRUPTED, INTERRUPTED, heard("Stop"), TURN_COMPLETE)
    assert out == [
        ev.Interrupted(response_id="gemini_resp_2"),
        ev.InputTranscriptFinalForItem(item_id="gemini_user_1", text="Tell me a story"),
        ev.TurnStarted(),
        # What the user says after the interruption is a new user item, after the answer.
        ev.InputTranscriptPartial(text="Stop"),
        ev.TurnCompleted(response_id="gemini_resp_2", stop_reason=ev.StopReason.CANCELLED),
    ]
    follow_up = run(t, said("Okay."), TURN_COMPLETE)
    assert follow_up[-2:] == [
        ev.InputTranscriptFinalForItem(
            item_id="gemini_user_4", previous_item_id="gemini_item_3", text="Stop"
        ),
        ev.TurnCompleted(response_id="gemini_resp_5"),
    ]


def test_output_after_an_interruption_without_turn_complete_is_a_new_response(
    t: GeminiLiveTranslator,
) -> None:
    run(t, said("Once"), INTERRUPTED)
    out = run(t, said("Yes?"))
    assert out[0] == ev.TurnCompleted(
        response_id="gemini_resp_2", stop_reason=ev.StopReason.CANCELLED
    )
    assert isinstance(out[-1], ev.OutputAudioTranscriptDeltaForItem)
    assert out[-1].response_id != "gemini_resp_2"


def test_interrupted_with_no_response_in_flight_is_only_turn_started(
    t: GeminiLiveTranslator,
) -> None:
    run(t, said("Done."), TURN_COMPLETE)
    assert run(t, INTERRUPTED) == [ev.TurnStarted()]


def test_voice_activity_marks_turn_start_and_commit_without_duplicates(
    t: GeminiLiveTranslator,
) -> None:
    start = {"voiceActivity": {"type": "ACTIVITY_START"}}
    end = {"voiceActivity": {"type": "ACTIVITY_END"}}
    run(t, said("Long answer"))
    assert run(t, start, INTERRUPTED, end) == [
        ev.TurnStarted(),
        ev.Interrupted(response_id="gemini_resp_2"),
        anchor("gemini_user_1", None),
        ev.TurnCommitted(),
    ]


# -- completion and usage --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        (
            {"promptTokenCount": 300, "responseTokenCount": 90, "cachedContentTokenCount": 128},
            ev.Usage(input_tokens=300, output_tokens=90, cache_read_tokens=128),
        ),
        (
            {"promptTokenCount": 300, "candidatesTokenCount": 80},
            ev.Usage(input_tokens=300, output_tokens=80),
        ),
        (
            {
                "promptTokenCount": 300,
                "toolUsePromptTokenCount": 20,
                "responseTokenCount": 90,
                "thoughtsTokenCount": 10,
            },
            ev.Usage(input_tokens=320, output_tokens=100),
        ),
        ({"promptTokenCount": "lots", "responseTokenCount": -3}, ev.Usage()),
    ],
)
def test_turn_complete_carries_the_usage_metadata(
    t: GeminiLiveTranslator, usage: dict[str, Any], expected: ev.Usage
) -> None:
    run(t, said("Hi"))
    out = run(t, {"serverContent": {"turnComplete": True}, "usageMetadata": usage})
    assert out[-1] == ev.TurnCompleted(response_id="gemini_resp_2", usage=expected)


def test_one_message_with_several_fields_is_applied_in_order(t: GeminiLiveTranslator) -> None:
    message = {
        "serverContent": {
            "inputTranscription": {"text": "Hi"},
            "modelTurn": {"parts": [{"text": "Hello"}]},
            "outputTranscription": {"text": "Hello"},
            "generationComplete": True,
            "turnComplete": True,
        },
        "usageMetadata": {"promptTokenCount": 10, "responseTokenCount": 5},
    }
    out = run(t, message)
    assert [type(e).__name__ for e in out] == [
        "InputTranscriptPartial",
        "OutputTextDeltaForItem",
        "OutputAudioTranscriptDeltaForItem",
        "InputTranscriptFinalForItem",
        "TurnCompleted",
    ]
    assert out[-1] == ev.TurnCompleted(
        response_id="gemini_resp_2", usage=ev.Usage(input_tokens=10, output_tokens=5)
    )


# -- tools ---------------------------------------------------------------------------------------------


def test_tool_call_requests_each_function_call_with_an_anchor(t: GeminiLiveTranslator) -> None:
    run(t, heard("Weather in Lisbon and Porto?"), said("Checking."))
    out = run(
        t,
        tool_call(("fc-1", "get_weather", {"city": "Lisbon"}), ("fc-2", "get_weather", None)),
    )
    assert out == [
        anchor("gemini_call_fc-1", "gemini_item_3"),
        ev.ToolCallRequested(call_id="fc-1", tool_name="get_weather", arguments={"city": "Lisbon"}),
        anchor("gemini_call_fc-2", "gemini_call_fc-1"),
        ev.ToolCallRequested(call_id="fc-2", tool_name="get_weather", arguments={}),
    ]
    assert t.tool_name("fc-1") == "get_weather"
    assert run(t, TURN_COMPLETE)[-1] == ev.TurnCompleted(
        response_id="gemini_resp_2", stop_reason=ev.StopReason.TOOL_USE
    )


def test_output_after_a_tool_call_is_a_new_response_after_the_tools_anchor(
    t: GeminiLiveTranslator,
) -> None:
    run(t, heard("Weather?"), said("Checking."), tool_call(("fc-1", "get_weather", {})))
    out = run(t, said("Sunny."), TURN_COMPLETE)
    assert out[:2] == [
        ev.InputTranscriptFinalForItem(item_id="gemini_user_1", text="Weather?"),
        ev.TurnCompleted(response_id="gemini_resp_2", stop_reason=ev.StopReason.TOOL_USE),
    ]
    delta = out[2]
    assert isinstance(delta, ev.OutputAudioTranscriptDeltaForItem)
    assert delta.response_id == "gemini_resp_5"
    assert out[-2:] == [
        anchor("gemini_user_4", "gemini_call_fc-1"),
        ev.TurnCompleted(response_id="gemini_resp_5"),
    ]


def test_tool_call_cancellation_withdraws_each_call(t: GeminiLiveTranslator) -> None:
    run(t, tool_call(("fc-1", "book", {}), ("fc-2", "book", {})))
    out = run(t, {"toolCallCancellation": {"ids": ["fc-1", "fc-2"]}})
    assert out == [ev.ToolCallCancelled(call_id="fc-1"), ev.ToolCallCancelled(call_id="fc-2")]
    assert t.tool_name("fc-1") is None


# -- session messages ------------------------------------------------------------------------------


def test_setup_complete_go_away_and_resumption_are_handled(t: GeminiLiveTranslator) -> None:
    assert not t.setup_complete
    assert run(t, {"setupComplete": {"sessionId": "sess-1"}}) == []
    assert (t.setup_complete, t.session_id) == (True, "sess-1")
    # A notice for the connection, not an event of the conversation: connect() acts on it.
    assert run(t, {"goAway": {"timeLeft": "50s"}}) == []
    assert t.go_away == "50s"
    assert run(t, {"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": True}}) == []
    assert run(t, {"sessionResumptionUpdate": {"newHandle": "h-2", "resumable": False}}) == []
    assert t.resumption_handle == "h-1"


def test_unknown_fields_are_ignored_and_logged_once(t: GeminiLiveTranslator) -> None:
    with capture_logs() as logs:
        assert run(t, {"hologram": {}}, {"hologram": {}}) == []
    assert [(entry["event"], entry["field"]) for entry in logs] == [
        ("unknown_server_field_ignored", "hologram")
    ]


def test_unknown_names_are_remembered_within_a_bound(t: GeminiLiveTranslator) -> None:
    # A peer inventing a new field per message must not grow the translator without end.
    with capture_logs() as logs:
        for n in range(REMEMBERED + 50):
            run(t, {f"hologram{n}": {}})
    logged = [entry for entry in logs if entry["event"] == "unknown_server_field_ignored"]
    assert len(logged) == REMEMBERED
    assert [entry["event"] for entry in logs].count("unknown_names_no_longer_logged") == 1
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(20_000):
            t.translate({f"field-{n:08d}": {}})
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000, f"{grown} bytes kept for 20,000 unknown fields"


# -- wire fixes -------------------------------------------------------------------------------------


def test_inline_data_in_url_safe_base64_is_accepted(t: GeminiLiveTranslator) -> None:
    data = bytes([0xFB, 0xFF, 0xBF, 0x00]) * 60  # both alphabets differ on these bytes
    part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": ""}}
    message = {"serverContent": {"modelTurn": {"parts": [part]}}}
    for encoded in (base64.urlsafe_b64encode(data), base64.b64encode(data)):
        part["inlineData"]["data"] = encoded.decode()
        (chunk,) = run(t, message)
        assert isinstance(chunk, ev.OutputAudioChunk)
        assert chunk.chunk.data == data


@pytest.mark.parametrize("rate", ["²", "1" * 5000, "-1", "24k"])
def test_a_bad_rate_costs_its_audio_part_not_the_interruption_beside_it(
    t: GeminiLiveTranslator, rate: str
) -> None:
    run(t, said("A long answer"))
    bad_part = {"inlineData": {"mimeType": f"audio/pcm;rate={rate}", "data": "AAAA"}}
    message = {
        "serverContent": {
            "modelTurn": {"parts": [bad_part, {"text": "kept"}]},
            "outputTranscription": {"text": " kept too"},
            "interrupted": True,
        }
    }
    out = run(t, message)
    errors = [e for e in out if isinstance(e, ev.ProviderError)]
    assert [e.code for e in errors] == ["malformed_event"]
    assert "mimeType" in errors[0].message
    assert ev.Interrupted(response_id="gemini_resp_2") in out
    assert [type(e).__name__ for e in out if not isinstance(e, ev.ProviderError)][:2] == [
        "OutputTextDeltaForItem",
        "OutputAudioTranscriptDeltaForItem",
    ]


@pytest.mark.parametrize(
    ("reason", "stop", "error"),
    [
        ("RESPONSE_REJECTED", ev.StopReason.CONTENT_FILTER, "response_rejected"),
        ("PROHIBITED_INPUT_CONTENT", ev.StopReason.CONTENT_FILTER, "prohibited_input_content"),
        ("GENERATED_CONTENT_SAFETY", ev.StopReason.CONTENT_FILTER, "generated_content_safety"),
        ("MALFORMED_FUNCTION_CALL", ev.StopReason.END_TURN, "malformed_function_call"),
        ("NEED_MORE_INPUT", ev.StopReason.END_TURN, None),
    ],
)
def test_turn_complete_reason_sets_the_stop_reason(
    t: GeminiLiveTranslator, reason: str, stop: ev.StopReason, error: str | None
) -> None:
    run(t, said("I"))
    out = run(t, {"serverContent": {"turnComplete": True, "turnCompleteReason": reason}})
    (completed,) = [e for e in out if isinstance(e, ev.TurnCompleted)]
    assert completed.stop_reason is stop
    assert [e.code for e in out if isinstance(e, ev.ProviderError)] == ([error] if error else [])


def test_a_malformed_call_is_not_tool_use_even_when_a_call_came(t: GeminiLiveTranslator) -> None:
    run(t, tool_call(("fc-1", "book", {"n": 2})))
    out = run(
        t,
        {"serverContent": {"turnComplete": True, "turnCompleteReason": "MALFORMED_FUNCTION_CALL"}},
    )
    (completed,) = [e for e in out if isinstance(e, ev.TurnCompleted)]
    assert completed.stop_reason is ev.StopReason.END_TURN


def test_a_refused_input_without_an_answer_is_still_reported(t: GeminiLiveTranslator) -> None:
    run(t, heard("something prohibited"))
    out = run(
        t,
        {"serverContent": {"turnComplete": True, "turnCompleteReason": "PROHIBITED_INPUT_CONTENT"}},
    )
    assert [type(e).__name__ for e in out] == ["ProviderError", "InputTranscriptFinalForItem"]


def streamed(
    call_id: str | None, *parts: dict[str, Any], more: bool, name: str | None = None
) -> Message:
    call: dict[str, Any] = {"partialArgs": list(parts), "willContinue": more}
    if call_id is not None:
        call["id"] = call_id
    if name is not None:
        call["name"] = name
    return {"toolCall": {"functionCalls": [call]}}


def test_a_streamed_function_call_is_requested_once_with_its_whole_arguments(
    t: GeminiLiveTranslator,
) -> None:
    out = run(
        t,
        streamed(
            "fc-1",
            {"jsonPath": "$.city", "stringValue": "Lis", "willContinue": True},
            more=True,
            name="get_weather",
        ),
        streamed("fc-1", {"jsonPath": "$.city", "stringValue": "bon"}, more=True),
        streamed(
            "fc-1",
            {"jsonPath": "$.days", "numberValue": 3},
            {"jsonPath": "$.units['metric']", "boolValue": True},
            {"jsonPath": "$.stops[0]", "stringValue": "Porto"},
            {"jsonPath": "$.note", "nullValue": "NULL_VALUE"},
            more=False,
        ),
    )
    requests = [e for e in out if isinstance(e, ev.ToolCallRequested)]
    assert requests == [
        ev.ToolCallRequested(
            call_id="fc-1",
            tool_name="get_weather",
            arguments={
                "city": "Lisbon",
                "days": 3,
                "units": {"metric": True},
                "stops": ["Porto"],
                "note": None,
            },
        )
    ]


def test_a_streamed_call_that_cannot_be_put_together_is_requested_with_the_reason(
    t: GeminiLiveTranslator,
) -> None:
    out = run(
        t,
        streamed("fc-1", {"jsonPath": "$.a", "stringValue": "x"}, more=True, name="f"),
        streamed("fc-1", {"jsonPath": "$.a.b", "stringValue": "y"}, more=False),
    )
    (request,) = [e for e in out if isinstance(e, ev.ToolCallRequested)]
    assert isinstance(request.arguments, str)
    assert "$.a.b" in request.arguments


def test_connection_lost_ends_the_answer_as_interrupted_and_loses_open_calls(
    t: GeminiLiveTranslator,
) -> None:
    run(t, heard("Book it"), said("Booking"), tool_call(("fc-1", "book", {})))
    out = t.connection_lost()
    assert out[0] == ev.Interrupted(response_id="gemini_resp_2")
    assert isinstance(out[-1], ev.TurnCompleted)
    assert out[-1].stop_reason is ev.StopReason.CANCELLED
    assert t.call_lost("fc-1")
    assert t.tool_name("fc-1") is None
    # Ids go on: the transcript continues on the next connection.
    (delta,) = run(t, said("Back"))
    assert isinstance(delta, ev.OutputAudioTranscriptDeltaForItem)
    assert delta.response_id not in {"gemini_resp_2"}
    assert int(delta.item_id.rsplit("_", 1)[1]) > 3


def test_a_handover_is_ready_once_a_handle_came_with_nothing_in_flight(
    t: GeminiLiveTranslator,
) -> None:
    resumable = {"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": True}}
    run(t, said("Talking"), resumable)
    assert not t.handover_ready  # the handle came mid-answer
    run(t, TURN_COMPLETE)
    assert not t.handover_ready  # no handle since the answer ended
    run(t, resumable)
    assert t.handover_ready


# -- malformed input never raises ------------------------------------------------------------------


REPRESENTATIVE: list[Message] = [
    {"setupComplete": {"sessionId": "s"}},
    {"voiceActivity": {"type": "ACTIVITY_START"}},
    heard("Hi", finished=False),
    {
        "serverContent": {
            "modelTurn": {
                "parts": [
                    {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": "AAAA"}},
                    {"text": "Hello", "thought": False},
                ]
            },
            "outputTranscription": {"text": "Hello"},
            "interimInputTranscription": {"text": "H"},
        }
    },
    tool_call(("fc-1", "book", {"n": 2})),
    {"toolCallCancellation": {"ids": ["fc-1"]}},
    {"serverContent": {"interrupted": True, "generationComplete": True}},
    {
        "serverContent": {"turnComplete": True},
        "usageMetadata": {"promptTokenCount": 1, "responseTokenCount": 2},
    },
    {"goAway": {"timeLeft": "10s"}},
    {"sessionResumptionUpdate": {"newHandle": "h", "resumable": True}},
]

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield (*prefix, index)
            yield from _paths(child, (*prefix, index))


def _mutate(message: Message, path: tuple[str | int, ...], value: object, delete: bool) -> Message:
    mutated: Any = json.loads(json.dumps(message))
    parent = mutated
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    result: Message = mutated
    return result


def assert_well_formed(events: list[ev.RealtimeSessionEvent]) -> None:
    for event in events:
        assert codec.from_dict(codec.to_dict(event)) == event
        if isinstance(event, ev.ProviderError):
            assert event.code != "translator_error", event.message
            assert not event.fatal


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_malformed_fields_never_raise(data: st.DataObject) -> None:
    translator = GeminiLiveTranslator()
    for index, original in enumerate(REPRESENTATIVE):
        if data.draw(st.booleans(), label=f"mutate {index}"):
            path = data.draw(st.sampled_from(list(_paths(original))), label="path")
            value = data.draw(JUNK, label="value")
            message = _mutate(original, path, value, data.draw(st.booleans(), label="delete"))
        else:
            message = original
        assert_well_formed(translator.translate(message))


@pytest.mark.parametrize(
    "message",
    [
        None,
        "serverContent",
        [1, 2],
        {"serverContent": "x"},
        {"serverContent": {"modelTurn": {"parts": "x"}}},
        {"serverContent": {"modelTurn": {"parts": [7]}}},
        {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": "%%%"}}]}}},
        {"serverContent": {"modelTurn": {"parts": [{"inlineData": {"data": None}}]}}},
        {"serverContent": {"inputTranscription": {"text": 5}}},
        {"serverContent": {"interrupted": "yes"}},
        {"serverContent": {"turnComplete": 1}},
        {"toolCall": {"functionCalls": [{"name": "x"}]}},
        {"toolCall": {"functionCalls": [{"id": "", "name": "x"}]}},
        {"toolCall": {"functionCalls": "x"}},
        {"toolCallCancellation": {"ids": [None, 3, ""]}},
        {"usageMetadata": []},
    ],
)
def test_specific_malformed_messages_never_raise(message: object) -> None:
    out = GeminiLiveTranslator().translate(message)
    assert_well_formed(out)
    assert any(isinstance(e, ev.ProviderError) for e in out)


def test_a_malformed_field_does_not_cost_the_other_fields_of_the_message(
    t: GeminiLiveTranslator,
) -> None:
    message = {"toolCall": "broken", "serverContent": {"outputTranscription": {"text": "Hi"}}}
    out = run(t, message)
    assert [type(e).__name__ for e in out] == ["OutputAudioTranscriptDeltaForItem", "ProviderError"]
    error = out[1]
    assert isinstance(error, ev.ProviderError)
    assert "toolCall" in error.message


# -- traces ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gemini_voice_turn", "gemini_interruption"])
def test_recorded_traces_translate_without_malformed_events(name: str) -> None:
    events = [timed.event for timed in load_trace(FIXTURES / f"{name}.jsonl")]
    assert not [e for e in events if isinstance(e, ev.ProviderError) and e.code != "go_away"]
    assert_well_formed(without_media(events))


def test_interruption_trace_cancels_the_answer_and_its_tool_call_once() -> None:
    events = [timed.event for timed in load_trace(FIXTURES / "gemini_interruption.jsonl")]
    (request,) = [e for e in events if isinstance(e, ev.ToolCallRequested)]
    assert [e for e in events if isinstance(e, ev.ToolCallCancelled)] == [
        ev.ToolCallCancelled(call_id=request.call_id)
    ]
    (interrupted,) = [e for e in events if isinstance(e, ev.Interrupted)]
    stops = [(e.response_id, e.stop_reason) for e in events if isinstance(e, ev.TurnCompleted)]
    assert stops[0] == (interrupted.response_id, ev.StopReason.CANCELLED)
    assert [stop for _, stop in stops] == [ev.StopReason.CANCELLED, ev.StopReason.END_TURN]


def test_voice_turn_trace_has_two_user_items_each_before_its_answer() -> None:
    events = [timed.event for timed in load_trace(FIXTURES / "gemini_voice_turn.jsonl")]
    finals = [e for e in events if isinstance(e, ev.InputTranscriptFinalForItem)]
    assert [f.text for f in finals] == ["What's the capital of Portugal?", "And of Spain?"]
    assert finals[1].previous_item_id is not None
    usages = [e.usage for e in events if isinstance(e, ev.TurnCompleted)]
    assert usages[1].cache_read_tokens == 256


# -- commands --------------------------------------------------------------------------------------------


class Wire:
    def __init__(self) -> None:
        self.frames: list[str] = []

    async def __call__(self, frame: str) -> None:
        self.frames.append(frame)

    @property
    def messages(self) -> list[Any]:
        return [json.loads(frame) for frame in self.frames]


@pytest.fixture
def wire() -> Wire:
    return Wire()


async def test_inputs_are_realtime_input_messages(wire: Wire, t: GeminiLiveTranslator) -> None:
    commands = GeminiLiveCommands(wire, t)
    await commands.send_input(
        ev.AudioInput(chunk=ev.RealtimeAudioChunk(data=b"\x01\x02", sample_rate_hz=16000))
    )
    await commands.send_input(ev.VideoInput(chunk=ev.RealtimeVideoChunk(data=b"\xff\xd8")))
    await commands.send_input(ev.TextInput(text="Hello"))
    assert wire.messages == [
        {"realtimeInput": {"audio": {"data": "AQI=", "mimeType": "audio/pcm;rate=16000"}}},
        {"realtimeInput": {"video": {"data": "/9g=", "mimeType": "image/jpeg"}}},
        {"realtimeInput": {"text": "Hello"}},
    ]


async def test_an_answered_tool_call_no_longer_holds_a_handover_back(
    wire: Wire, t: GeminiLiveTranslator
) -> None:
    resumable = {"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": True}}
    run(t, heard("Book it"), tool_call(("fc-1", "book", {})), TURN_COMPLETE)
    await GeminiLiveCommands(wire, t).submit_tool_result("fc-1", {"ok": True})
    run(t, said("Booked."), TURN_COMPLETE, resumable)
    assert t.handover_ready


@pytest.mark.parametrize(
    ("chunk", "field"),
    [
        (ev.RealtimeAudioChunk(data=b"\0\0\0\0", channels=2), "channels"),
        (ev.RealtimeAudioChunk(data=b"\0", mime_type="audio/opus"), "mime_type"),
    ],
)
async def test_audio_that_is_not_mono_pcm_is_refused(
    wire: Wire, t: GeminiLiveTranslator, chunk: ev.RealtimeAudioChunk, field: str
) -> None:
    with pytest.raises(UnsupportedInputError, match=f"AudioInput.chunk.{field}"):
        await GeminiLiveCommands(wire, t).send_input(ev.AudioInput(chunk=chunk))
    assert wire.frames == []


async def test_automatic_activity_commits_with_audio_stream_end_and_cannot_interrupt(
    wire: Wire, t: GeminiLiveTranslator
) -> None:
    commands = GeminiLiveCommands(wire, t)
    await commands.commit_turn()
    assert wire.messages == [{"realtimeInput": {"audioStreamEnd": True}}]
    with pytest.raises(UnsupportedCommandError, match="automaticActivityDetection"):
        await commands.interrupt()


async def test_manual_activity_brackets_audio_and_interrupt_opens_an_activity(
    wire: Wire, t: GeminiLiveTranslator
) -> None:
    commands = GeminiLiveCommands(wire, t, manual_activity=True)
    chunk = ev.AudioInput(chunk=ev.RealtimeAudioChunk(data=b"\0\0", sample_rate_hz=16000))
    await commands.send_input(chunk)
    await commands.send_input(chunk)
    await commands.commit_turn()
    await commands.commit_turn()  # nothing open: nothing sent
    await commands.interrupt()
    await commands.interrupt()
    kinds = [next(iter(m["realtimeInput"])) for m in wire.messages]
    assert kinds == [
        "activityStart",
        "audio",
        "audio",
        "activityEnd",
        "activityStart",
        "activityEnd",
        "activityStart",
    ]


async def test_truncate_is_not_available(wire: Wire, t: GeminiLiveTranslator) -> None:
    commands: ProviderCommands = GeminiLiveCommands(wire, t)
    assert getattr(commands, "supports_truncation", True) is False
    with pytest.raises(UnsupportedCommandError, match="truncate"):
        await commands.truncate_assistant_output("item", 0, 100)


async def test_tool_results_and_errors_are_function_responses_with_the_name(
    wire: Wire, t: GeminiLiveTranslator
) -> None:
    run(t, tool_call(("fc-1", "find_table", {}), ("fc-2", "find_table", {})))
    commands = GeminiLiveCommands(wire, t)
    await commands.submit_tool_result("fc-1", {"table": 12})
    await commands.submit_tool_result("fc-2", "booked")
    await commands.submit_tool_error("fc-3", "no such call")
    assert wire.messages == [
        {
            "toolResponse": {
                "functionResponses": [
                    {"id": "fc-1", "name": "find_table", "response": {"table": 12}}
                ]
            }
        },
        {
            "toolResponse": {
                "functionResponses": [
                    {"id": "fc-2", "name": "find_table", "response": {"output": "booked"}}
                ]
            }
        },
        {
            "toolResponse": {
                "functionResponses": [{"id": "fc-3", "response": {"error": "no such call"}}]
            }
        },
    ]


async def test_tool_result_that_is_not_json_is_a_type_error(
    wire: Wire, t: GeminiLiveTranslator
) -> None:
    with pytest.raises(TypeError, match="fc-1"):
        await GeminiLiveCommands(wire, t).submit_tool_result("fc-1", {"x": float("inf")})
    assert wire.frames == []


async def test_verbs_after_aclose_raise_closed_resource_error(
    wire: Wire, t: GeminiLiveTranslator
) -> None:
    commands = GeminiLiveCommands(wire, t)
    await commands.aclose()
    with pytest.raises(anyio.ClosedResourceError):
        await commands.send_input(ev.TextInput(text="late"))
