"""The OpenAI Realtime translator (one test per required behaviour) and command encoding."""

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
from realtime_session import transcript as tr
from realtime_session.providers import (
    OpenAIRealtimeCommands,
    OpenAIRealtimeTranslator,
    StaleToolCallError,
    UnsupportedInputError,
    load_trace,
    read_trace,
)
from realtime_session.providers._unknown import REMEMBERED
from realtime_session.transcript import ItemSkipped

if TYPE_CHECKING:
    from collections.abc import Iterator

FIXTURES = Path(__file__).parent / "fixtures"

Event = dict[str, Any]


class Server:
    """Builds OpenAI server events with fresh event ids, as the provider would."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, type_: str, **fields: Any) -> Event:
        self.count += 1
        return {"type": type_, "event_id": f"event_{self.count}", **fields}

    def created(self, response_id: str) -> Event:
        return self("response.created", response={"id": response_id, "status": "in_progress"})

    def audio(self, response_id: str, item_id: str, data: bytes = b"\x01\x00" * 480) -> Event:
        return self(
            "response.output_audio.delta",
            response_id=response_id,
            item_id=item_id,
            output_index=0,
            content_index=0,
            delta=base64.b64encode(data).decode(),
        )

    def spoken(self, response_id: str, item_id: str, delta: str) -> Event:
        return self(
            "response.output_audio_transcript.delta",
            response_id=response_id,
            item_id=item_id,
            output_index=0,
            content_index=0,
            delta=delta,
        )

    def text(self, response_id: str, item_id: str, delta: str) -> Event:
        return self(
            "response.output_text.delta",
            response_id=response_id,
            item_id=item_id,
            output_index=0,
            content_index=0,
            delta=delta,
        )

    def done(
        self,
        response_id: str,
        status: str = "completed",
        *,
        reason: str | None = None,
        output: list[Any] | None = None,
        usage: dict[str, Any] | None = None,
    ) -> Event:
        details = None if reason is None else {"type": status, "reason": reason}
        return self(
            "response.done",
            response={
                "id": response_id,
                "status": status,
                "status_details": details,
                "output": output or [],
                "usage": usage,
            },
        )

    def item_added(
        self,
        item: dict[str, Any],
        previous_item_id: str | None,
        type_: str = "conversation.item.added",
    ) -> Event:
        return self(type_, previous_item_id=previous_item_id, item=item)


def run(
    translator: OpenAIRealtimeTranslator, *server_events: object
) -> list[ev.RealtimeSessionEvent]:
    out: list[ev.RealtimeSessionEvent] = []
    for server_event in server_events:
        out.extend(translator.translate(server_event))
    return out


def without_media(events: list[ev.RealtimeSessionEvent]) -> list[ev.RealtimeSessionEvent]:
    return [event for event in events if not isinstance(event, ev.OutputAudioChunk)]


def kinds(events: list[ev.RealtimeSessionEvent]) -> list[str]:
    return [type(event).__name__ for event in without_media(events)]


def cancelled(response_id: str) -> ev.TurnCompleted:
    return ev.TurnCompleted(response_id=response_id, stop_reason=ev.StopReason.CANCELLED)


@pytest.fixture
def s() -> Server:
    return Server()


@pytest.fixture
def t() -> OpenAIRealtimeTranslator:
    return OpenAIRealtimeTranslator()


# -- barge-in ------------------------------------------------------------------------


def test_speech_started_while_audio_is_generating_interrupts_then_starts_the_turn(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.created("resp_audio"), s.audio("resp_audio", "item_a"))
    out = run(t, s("input_audio_buffer.speech_started", item_id="item_u2", audio_start_ms=900))
    assert out == [ev.Interrupted(response_id="resp_audio"), ev.TurnStarted()]


def test_commit_without_speech_started_while_audio_is_generating_interrupts(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.created("resp_audio"), s.audio("resp_audio", "item_a"))
    out = run(t, s("input_audio_buffer.committed", item_id="item_u2", previous_item_id="item_a"))
    assert out == [ev.Interrupted(response_id="resp_audio"), ev.TurnStarted(), ev.TurnCommitted()]


def test_commit_after_speech_started_is_only_committed(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.created("resp_audio"), s.audio("resp_audio", "item_a"))
    run(t, s("input_audio_buffer.speech_started", item_id="item_u2"))
    out = run(t, s("input_audio_buffer.committed", item_id="item_u2", previous_item_id="item_a"))
    assert out == [ev.TurnCommitted()]


def test_speech_after_response_done_is_only_turn_started(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.created("resp_audio"), s.audio("resp_audio", "item_a"), s.done("resp_audio"))
    out = run(t, s("input_audio_buffer.speech_started", item_id="item_u2"))
    assert out == [ev.TurnStarted()]


def test_text_only_response_is_not_interrupted_by_speech(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.created("resp_text"), s.text("resp_text", "item_t", "Hello"))
    out = run(
        t,
        s("input_audio_buffer.speech_started", item_id="item_u2"),
        s("input_audio_buffer.committed", item_id="item_u2", previous_item_id="item_t"),
        s.text("resp_text", "item_t", " there"),
    )
    assert kinds(out) == ["TurnStarted", "TurnCommitted", "OutputTextDeltaForItem"]


@pytest.mark.parametrize(
    "terminal",
    [
        pytest.param(["speech", "done"], id="speech-then-done"),
        pytest.param(["done"], id="done-only"),
        pytest.param(["cancelled"], id="response.cancelled-only"),
        pytest.param(["cancelled", "done"], id="response.cancelled-then-done"),
        pytest.param(["speech", "cancelled", "done"], id="speech-cancelled-done"),
        pytest.param(["done", "done"], id="done-twice"),
    ],
)
def test_cancelled_response_yields_exactly_one_interrupted_and_one_cancelled_completion(
    s: Server, t: OpenAIRealtimeTranslator, terminal: list[str]
) -> None:
    out = run(
        t, s.created("resp_1"), s.audio("resp_1", "item_a"), s.spoken("resp_1", "item_a", "Hi")
    )
    for step in terminal:
        if step == "speech":
            out += run(t, s("input_audio_buffer.speech_started", item_id="item_u2"))
        elif step == "done":
            out += run(t, s.done("resp_1", "cancelled", reason="turn_detected"))
        else:
            out += run(t, s("response.cancelled", response_id="resp_1"))
    interrupts = [event for event in out if isinstance(event, ev.Interrupted)]
    completions = [event for event in out if isinstance(event, ev.TurnCompleted)]
    assert interrupts == [ev.Interrupted(response_id="resp_1")]
    assert completions == [cancelled("resp_1")]
    assert out.index(interrupts[0]) < out.index(completions[0])


def test_response_cancelled_event_from_compatible_servers_is_accepted(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.created("resp_1"), s.text("resp_1", "item_t", "partial"))
    nested = run(t, s("response.cancelled", response={"id": "resp_1"}))
    assert nested == [ev.Interrupted(response_id="resp_1"), cancelled("resp_1")]


def test_failed_response_is_reported_and_discarded_like_a_cancelled_one(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.created("resp_1"), s.audio("resp_1", "item_a"))
    failure = s.done("resp_1", "failed")
    failure["response"]["status_details"] = {
        "type": "failed",
        "error": {"type": "server_error", "code": "server_error", "message": "boom"},
    }
    assert run(t, failure) == [
        ev.ProviderError(code="server_error", message="boom"),
        ev.Interrupted(response_id="resp_1"),
        cancelled("resp_1"),
    ]


# -- completion ------------------------------------------------------------------------


def function_call_item(
    item_id: str, call_id: str, name: str = "get_weather", arguments: str = ""
) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "function_call",
        "status": "completed" if arguments else "in_progress",
        "name": name,
        "call_id": call_id,
        "arguments": arguments,
    }


def test_response_done_after_a_function_call_completes_with_tool_use(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    out = run(
        t,
        s.created("resp_1"),
        s(
            "response.output_item.added",
            response_id="resp_1",
            output_index=0,
            item=function_call_item("item_fc", "call_1"),
        ),
        s(
            "response.function_call_arguments.done",
            response_id="resp_1",
            item_id="item_fc",
            output_index=0,
            call_id="call_1",
            arguments='{"city": "Lisbon"}',
        ),
        # The final response lists no output items: the call seen earlier still counts.
        s.done("resp_1"),
    )
    assert out == [
        ev.ToolCallRequested(
            call_id="call_1", tool_name="get_weather", arguments={"city": "Lisbon"}
        ),
        ev.TurnCompleted(response_id="resp_1", stop_reason=ev.StopReason.TOOL_USE),
    ]


@pytest.mark.parametrize(
    ("reason", "stop"),
    [
        ("max_output_tokens", ev.StopReason.MAX_TOKENS),
        ("content_filter", ev.StopReason.CONTENT_FILTER),
    ],
)
def test_incomplete_response_maps_its_reason_to_the_stop_reason(
    s: Server, t: OpenAIRealtimeTranslator, reason: str, stop: ev.StopReason
) -> None:
    run(t, s.created("resp_1"), s.text("resp_1", "item_t", "Hel"))
    assert run(t, s.done("resp_1", "incomplete", reason=reason)) == [
        ev.TurnCompleted(response_id="resp_1", stop_reason=stop)
    ]


def test_usage_is_mapped_with_cached_tokens_as_cache_reads(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    usage = {
        "total_tokens": 412,
        "input_tokens": 236,
        "output_tokens": 176,
        "input_token_details": {"text_tokens": 120, "audio_tokens": 116, "cached_tokens": 64},
        "output_token_details": {"text_tokens": 40, "audio_tokens": 136},
    }
    run(t, s.created("resp_1"))
    assert run(t, s.done("resp_1", usage=usage)) == [
        ev.TurnCompleted(
            response_id="resp_1",
            usage=ev.Usage(input_tokens=236, output_tokens=176, cache_read_tokens=64),
        )
    ]


def test_usage_with_wrong_types_reads_as_absent_without_losing_the_completion(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.created("resp_1"))
    usage = {"input_tokens": "many", "output_tokens": 5, "input_token_details": []}
    assert run(t, s.done("resp_1", usage=usage)) == [
        ev.TurnCompleted(response_id="resp_1", usage=ev.Usage(output_tokens=5))
    ]


# -- non-dialogue items ------------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        pytest.param(function_call_item("item_x", "call_x"), id="function_call"),
        pytest.param(
            {"id": "item_x", "type": "function_call_output", "call_id": "call_x", "output": "{}"},
            id="function_call_output",
        ),
        pytest.param(
            {"id": "item_x", "type": "message", "role": "system", "content": []}, id="system"
        ),
        pytest.param(
            {"id": "item_x", "type": "mcp_call", "name": "search", "server_label": "docs"},
            id="mcp_call",
        ),
        pytest.param(
            {"id": "item_x", "type": "mcp_list_tools", "server_label": "docs", "tools": []},
            id="mcp_list_tools",
        ),
    ],
)
@pytest.mark.parametrize(
    "event_type", ["conversation.item.added", "conversation.item.created", "conversation.item.done"]
)
def test_non_dialogue_items_become_contentless_anchors_with_their_predecessor(
    s: Server, t: OpenAIRealtimeTranslator, item: dict[str, Any], event_type: str
) -> None:
    out = run(t, s.item_added(item, "item_user", event_type))
    # A repeat (added, then done) anchors once.
    out += run(t, s.item_added(item, "item_user", "conversation.item.done"))
    assert out == [
        ev.RealtimeTranscript(event=ItemSkipped(item_id="item_x", previous_item_id="item_user"))
    ]


def test_commit_after_a_tool_item_names_it_as_the_user_items_predecessor(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    out = run(
        t,
        s.item_added(function_call_item("item_tool", "call_1"), "item_user"),
        s("input_audio_buffer.committed", item_id="item_u2", previous_item_id="item_tool"),
        s(
            "conversation.item.input_audio_transcription.completed",
            item_id="item_u2",
            content_index=0,
            transcript="Thanks",
        ),
    )
    assert out == [
        ev.RealtimeTranscript(event=ItemSkipped(item_id="item_tool", previous_item_id="item_user")),
        ev.TurnCommitted(),
        ev.InputTranscriptFinalForItem(
            item_id="item_u2", previous_item_id="item_tool", text="Thanks"
        ),
    ]


# -- tool calls -------------------------------------------------------------------------------


def test_function_call_gives_one_request_with_the_name_from_the_item(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    added = function_call_item("item_fc", "call_1")
    finished = function_call_item("item_fc", "call_1", arguments='{"city":"Lisbon"}')
    out = run(
        t,
        s.created("resp_1"),
        s("response.output_item.added", response_id="resp_1", output_index=0, item=added),
        s.item_added(added, "item_user"),
        s(
            "response.function_call_arguments.delta",
            response_id="resp_1",
            item_id="item_fc",
            call_id="call_1",
            delta='{"city"',
        ),
        # GA: the .done event carries no name.
        s(
            "response.function_call_arguments.done",
            response_id="resp_1",
            item_id="item_fc",
            output_index=0,
            call_id="call_1",
            arguments='{"city":"Lisbon"}',
        ),
        s("response.output_item.done", response_id="resp_1", output_index=0, item=finished),
        s.item_added(finished, "item_user", "conversation.item.done"),
        s.done("resp_1", output=[finished]),
    )
    requests = [event for event in out if isinstance(event, ev.ToolCallRequested)]
    assert requests == [
        ev.ToolCallRequested(
            call_id="call_1", tool_name="get_weather", arguments={"city": "Lisbon"}
        )
    ]


def test_function_call_seen_only_in_output_item_done_is_requested(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    finished = function_call_item("item_fc", "call_1", name="lookup", arguments='{"q": 1}')
    out = run(
        t,
        s.created("resp_1"),
        s("response.output_item.done", response_id="resp_1", output_index=0, item=finished),
        s.done("resp_1", output=[finished]),
    )
    assert out == [
        ev.ToolCallRequested(call_id="call_1", tool_name="lookup", arguments={"q": 1}),
        ev.TurnCompleted(response_id="resp_1", stop_reason=ev.StopReason.TOOL_USE),
    ]


def test_function_call_whose_name_arrives_after_its_arguments_waits_for_it(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    arguments = s(
        "response.function_call_arguments.done",
        response_id="resp_1",
        item_id="item_fc",
        call_id="call_1",
        arguments="{}",
    )
    assert run(t, s.created("resp_1"), arguments) == []
    finished = function_call_item("item_fc", "call_1", name="ping", arguments="{}")
    assert run(t, s.item_added(finished, "item_user", "conversation.item.done")) == [
        ev.RealtimeTranscript(event=ItemSkipped(item_id="item_fc", previous_item_id="item_user")),
        ev.ToolCallRequested(call_id="call_1", tool_name="ping", arguments={}),
    ]


@pytest.mark.parametrize(
    ("argument_text", "expected"),
    [
        ('{"city": "Lisbon"}', {"city": "Lisbon"}),
        ("[1, 2]", [1, 2]),
        ('"just a string"', "just a string"),
        ("   ", {}),
        ("", {}),
        ("{not json", "{not json"),
        ('{"city": ', '{"city": '),
        ('{"ratio": NaN}', '{"ratio": NaN}'),
        ("1e400", "1e400"),
    ],
)
def test_function_call_arguments_are_parsed_or_passed_on_raw(
    s: Server, t: OpenAIRealtimeTranslator, argument_text: str, expected: ev.JsonValue
) -> None:
    run(t, s.item_added(function_call_item("item_fc", "call_1"), None))
    out = run(
        t,
        s(
            "response.function_call_arguments.done",
            response_id="resp_1",
            item_id="item_fc",
            call_id="call_1",
            arguments=argument_text,
        ),
    )
    assert out == [
        ev.ToolCallRequested(call_id="call_1", tool_name="get_weather", arguments=expected)
    ]


def test_function_call_without_any_name_is_requested_with_an_empty_name_at_completion(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    out = run(
        t,
        s.created("resp_1"),
        s(
            "response.function_call_arguments.done",
            response_id="resp_1",
            call_id="call_1",
            arguments="{}",
        ),
        s.done("resp_1"),
    )
    assert out == [
        ev.ToolCallRequested(call_id="call_1", tool_name="", arguments={}),
        ev.TurnCompleted(response_id="resp_1", stop_reason=ev.StopReason.TOOL_USE),
    ]


@pytest.mark.parametrize("interruption", ["speech", "cancelled-done"])
def test_function_call_completing_after_its_response_was_interrupted_is_not_requested(
    s: Server, t: OpenAIRealtimeTranslator, interruption: str
) -> None:
    partial = function_call_item("item_fc", "call_1", arguments='{"city": "Lis')
    run(
        t,
        s.created("resp_1"),
        s.audio("resp_1", "item_a"),
        s(
            "response.output_item.added",
            response_id="resp_1",
            item=function_call_item("item_fc", "call_1"),
        ),
    )
    out: list[ev.RealtimeSessionEvent] = []
    if interruption == "speech":
        out += run(
            t,
            s("input_audio_buffer.speech_started", item_id="item_u2"),
            s(
                "response.function_call_arguments.done",
                response_id="resp_1",
                item_id="item_fc",
                call_id="call_1",
                arguments='{"city": "Lis',
            ),
        )
    # Otherwise the cut-short call is only listed in the cancelled response.
    out += run(t, s.done("resp_1", "cancelled", reason="turn_detected", output=[partial]))
    assert not [event for event in out if isinstance(event, ev.ToolCallRequested)]
    assert out[-1] == cancelled("resp_1")


# -- stale completions ------------------------------------------------------------------------


def test_late_response_done_of_a_retired_response_is_dropped(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.created("resp_1"), s.text("resp_1", "item_t", "Hi"), s.done("resp_1"))
    assert run(t, s.done("resp_1"), s.done("resp_1", "cancelled")) == []
    # A late response.created does not bring it back either.
    assert run(t, s.created("resp_1"), s.done("resp_1")) == []


def test_unknown_response_done_between_a_commit_and_the_next_response_is_stale(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    out = run(
        t,
        s("input_audio_buffer.committed", item_id="item_u1", previous_item_id=None),
        s.done("resp_old", "cancelled", reason="turn_detected"),
        s.created("resp_new"),
        s.text("resp_new", "item_t", "Hello"),
        s.done("resp_new"),
    )
    assert kinds(out) == ["TurnCommitted", "OutputTextDeltaForItem", "TurnCompleted"]
    assert out[-1] == ev.TurnCompleted(response_id="resp_new")


def test_response_done_without_response_created_completes_outside_a_commit_window(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    out = run(t, s.text("resp_1", "item_t", "Hi"), s.done("resp_1"))
    assert out[-1] == ev.TurnCompleted(response_id="resp_1")


# -- transcripts ----------------------------------------------------------------------------------


def test_audio_transcript_done_adds_the_missing_suffix_then_the_final(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.item_added({"id": "item_1", "type": "message", "role": "assistant"}, "item_u"))
    out = run(
        t,
        s.spoken("resp_1", "item_1", "birch "),
        s(
            "response.output_audio_transcript.done",
            response_id="resp_1",
            item_id="item_1",
            output_index=0,
            content_index=0,
            transcript="birch seventeen",
        ),
        s(
            "response.output_audio_transcript.done",
            response_id="resp_1",
            item_id="item_2",
            output_index=1,
            content_index=0,
            transcript="silver harbor",
        ),
    )
    spoken = [
        (type(event).__name__, getattr(event, "delta", None) or getattr(event, "text", None))
        for event in out
    ]
    assert spoken == [
        ("OutputAudioTranscriptDeltaForItem", "birch "),
        ("OutputAudioTranscriptDeltaForItem", "seventeen"),
        ("AssistantTranscriptFinal", "birch seventeen"),
        ("OutputAudioTranscriptDeltaForItem", "silver harbor"),
        ("AssistantTranscriptFinal", "silver harbor"),
    ]
    final = out[2]
    assert isinstance(final, ev.AssistantTranscriptFinal)
    assert final.previous_item_id == "item_u"


def test_audio_transcript_done_that_rewrites_the_deltas_is_only_a_final(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    out = run(
        t,
        s.spoken("resp_1", "item_1", "colour"),
        s(
            "response.output_audio_transcript.done",
            response_id="resp_1",
            item_id="item_1",
            content_index=0,
            transcript="color",
        ),
    )
    assert kinds(out) == ["OutputAudioTranscriptDeltaForItem", "AssistantTranscriptFinal"]


def test_text_done_adds_only_the_missing_suffix(s: Server, t: OpenAIRealtimeTranslator) -> None:
    out = run(
        t,
        s.text("resp_1", "item_t", "Hello"),
        s(
            "response.output_text.done",
            response_id="resp_1",
            item_id="item_t",
            content_index=0,
            text="Hello, world",
        ),
    )
    assert [event.delta for event in out if isinstance(event, ev.OutputTextDeltaForItem)] == [
        "Hello",
        ", world",
    ]


def test_deltas_carry_their_event_id_as_delta_id_and_the_tracked_predecessor(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.item_added({"id": "item_a", "type": "message", "role": "assistant"}, "item_u"))
    spoken = s.spoken("resp_1", "item_a", "Hi")
    text = s.text("resp_1", "item_b", "Yo")
    assert run(t, spoken, text) == [
        ev.OutputAudioTranscriptDeltaForItem(
            response_id="resp_1",
            delta_id=spoken["event_id"],
            item_id="item_a",
            previous_item_id="item_u",
            delta="Hi",
        ),
        ev.OutputTextDeltaForItem(
            response_id="resp_1", delta_id=text["event_id"], item_id="item_b", delta="Yo"
        ),
    ]


def test_item_truncated_becomes_a_truncation_without_text(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.created("resp_1"), s.audio("resp_1", "item_a"))
    out = run(
        t,
        s("conversation.item.truncated", item_id="item_a", content_index=0, audio_end_ms=800),
        s("conversation.item.truncated", item_id="item_unknown", content_index=0, audio_end_ms=0),
    )
    assert out == [
        ev.AssistantTranscriptTruncated(
            response_id="resp_1", item_id="item_a", content_index=0, audio_played_ms=800
        ),
        ev.AssistantTranscriptTruncated(item_id="item_unknown", audio_played_ms=0),
    ]


def test_input_transcription_deltas_are_partials_and_completed_is_the_final(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    out = run(
        t,
        s("input_audio_buffer.committed", item_id="item_u", previous_item_id="item_prev"),
        s("conversation.item.input_audio_transcription.delta", item_id="item_u", delta="Hello"),
        s("conversation.item.input_audio_transcription.delta", item_id="item_u", delta=" there"),
        s(
            "conversation.item.input_audio_transcription.completed",
            item_id="item_u",
            content_index=0,
            transcript="Hello there.",
        ),
    )
    assert out == [
        ev.TurnCommitted(),
        ev.InputTranscriptPartial(text="Hello"),
        ev.InputTranscriptPartial(text="Hello there"),
        ev.InputTranscriptFinalForItem(
            item_id="item_u", previous_item_id="item_prev", text="Hello there."
        ),
    ]


def test_failed_input_transcription_reports_and_anchors_the_user_item(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s("input_audio_buffer.committed", item_id="item_u", previous_item_id="item_prev"))
    out = run(
        t,
        s(
            "conversation.item.input_audio_transcription.failed",
            item_id="item_u",
            content_index=0,
            error={"type": "transcription_error", "code": "audio_unintelligible", "message": "?"},
        ),
    )
    assert out == [
        ev.ProviderError(code="audio_unintelligible", message="?"),
        ev.RealtimeTranscript(event=ItemSkipped(item_id="item_u", previous_item_id="item_prev")),
    ]


def test_user_text_message_is_its_own_final_transcript(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    item = {
        "id": "item_u",
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "What's up?"}],
    }
    out = run(
        t,
        s.item_added(item, "item_prev"),
        s.item_added(item, "item_prev", "conversation.item.done"),
    )
    assert out == [
        ev.InputTranscriptFinalForItem(
            item_id="item_u", previous_item_id="item_prev", text="What's up?"
        )
    ]


def test_user_audio_item_is_an_anchor_only_when_transcription_is_off(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    item = {"id": "item_u", "type": "message", "role": "user", "content": [{"type": "input_audio"}]}
    assert run(t, s.item_added(item, None)) == []  # waits for its transcript
    off = OpenAIRealtimeTranslator()
    session = {"type": "realtime", "audio": {"input": {"transcription": None}}}
    assert run(off, s("session.created", session=session), s.item_added(item, None)) == [
        ev.RealtimeTranscript(event=ItemSkipped(item_id="item_u"))
    ]


# -- errors and unknown events ----------------------------------------------------------------------


def test_error_event_becomes_a_non_fatal_provider_error(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    error = {
        "type": "invalid_request_error",
        "code": "invalid_value",
        "message": "Audio content of 900ms is already shorter than 1200ms",
        "param": "audio_end_ms",
        "event_id": "client_evt_1",
    }
    assert run(t, s("error", error=error)) == [
        ev.ProviderError(
            code="invalid_value", message="Audio content of 900ms is already shorter than 1200ms"
        )
    ]


@pytest.mark.parametrize(
    "code", ["response_cancel_not_active", "conversation_already_has_active_response"]
)
def test_benign_error_codes_are_dropped(s: Server, t: OpenAIRealtimeTranslator, code: str) -> None:
    assert (
        run(t, s("error", error={"type": "invalid_request_error", "code": code, "message": "x"}))
        == []
    )


def test_unknown_event_type_is_ignored_and_logged_once(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    with capture_logs() as logs:
        out = run(
            t, s("response.hologram.delta", delta="x"), s("response.hologram.delta", delta="y")
        )
    assert out == []
    assert [entry["event"] for entry in logs] == ["unknown_server_event_ignored"]
    assert logs[0]["event_type"] == "response.hologram.delta"


# -- audio ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", ["response.output_audio.delta", "response.audio.delta"])
def test_audio_delta_is_decoded_once_into_an_audio_chunk(
    s: Server, t: OpenAIRealtimeTranslator, event_type: str
) -> None:
    pcm = bytes(range(256)) * 4
    out = run(
        t,
        s(
            event_type,
            response_id="resp_1",
            item_id="item_a",
            output_index=0,
            content_index=1,
            delta=base64.b64encode(pcm).decode(),
        ),
    )
    assert out == [
        ev.OutputAudioChunk(
            chunk=ev.RealtimeAudioChunk(data=pcm),
            response_id="resp_1",
            item_id="item_a",
            content_index=1,
        )
    ]


def test_audio_chunks_follow_the_sessions_output_format(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s("session.updated", session={"audio": {"output": {"format": {"type": "audio/pcmu"}}}}))
    (chunk,) = run(t, s.audio("resp_1", "item_a", b"\xff" * 160))
    assert isinstance(chunk, ev.OutputAudioChunk)
    assert (chunk.chunk.mime_type, chunk.chunk.sample_rate_hz) == ("audio/pcmu", 8000)
    beta = OpenAIRealtimeTranslator()
    run(beta, s("session.created", session={"output_audio_format": "g711_alaw"}))
    assert beta.output_audio_format == ("audio/pcma", 8000)


@pytest.mark.parametrize("payload", ["not base64!!", "AAA", "AAAA\n", "ÄÖÜ="])
def test_invalid_base64_audio_is_a_non_fatal_error(
    s: Server, t: OpenAIRealtimeTranslator, payload: str
) -> None:
    event = s("response.output_audio.delta", response_id="resp_1", item_id="item_a", delta=payload)
    (error,) = run(t, event)
    assert isinstance(error, ev.ProviderError)
    assert (error.code, error.fatal) == ("malformed_event", False)
    assert "delta" in error.message


@pytest.mark.parametrize(
    "event_type",
    [
        "response.audio_transcript.delta",
        "response.output_audio_transcript.delta",
        "response.text.delta",
        "response.output_text.delta",
    ],
)
def test_beta_and_ga_delta_names_translate_alike(
    s: Server, t: OpenAIRealtimeTranslator, event_type: str
) -> None:
    (event,) = run(
        t, s(event_type, response_id="resp_1", item_id="item_1", content_index=0, delta="Hi")
    )
    expected = (
        ev.OutputTextDeltaForItem
        if "text" in event_type.split(".")[1]
        else ev.OutputAudioTranscriptDeltaForItem
    )
    assert type(event) is expected


# -- malformed input never raises ---------------------------------------------------------------------


REPRESENTATIVE: list[Event] = [
    {
        "type": "session.created",
        "session": {"audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}}}},
    },
    {"type": "input_audio_buffer.speech_started", "item_id": "item_u", "audio_start_ms": 10},
    {"type": "input_audio_buffer.committed", "item_id": "item_u", "previous_item_id": "item_p"},
    {
        "type": "conversation.item.added",
        "previous_item_id": "item_p",
        "item": {
            "id": "item_u",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "hi"}],
        },
    },
    {
        "type": "conversation.item.done",
        "previous_item_id": "item_u",
        "item": function_call_item("item_f", "call_f", arguments="{}"),
    },
    {
        "type": "conversation.item.input_audio_transcription.delta",
        "item_id": "item_u",
        "delta": "h",
    },
    {
        "type": "conversation.item.input_audio_transcription.completed",
        "item_id": "item_u",
        "content_index": 0,
        "transcript": "hi",
    },
    {
        "type": "conversation.item.input_audio_transcription.failed",
        "item_id": "item_u",
        "error": {"code": "x", "message": "y"},
    },
    {"type": "response.created", "response": {"id": "resp_1"}},
    {
        "type": "response.output_item.added",
        "response_id": "resp_1",
        "item": function_call_item("item_f", "call_f"),
    },
    {
        "type": "response.output_item.done",
        "response_id": "resp_1",
        "item": function_call_item("item_f", "call_f", arguments='{"a":1}'),
    },
    {
        "type": "response.output_audio.delta",
        "event_id": "e1",
        "response_id": "resp_1",
        "item_id": "item_a",
        "content_index": 0,
        "delta": "AAAA",
    },
    {
        "type": "response.output_audio_transcript.delta",
        "event_id": "e2",
        "response_id": "resp_1",
        "item_id": "item_a",
        "content_index": 0,
        "delta": "hi",
    },
    {
        "type": "response.output_audio_transcript.done",
        "event_id": "e3",
        "response_id": "resp_1",
        "item_id": "item_a",
        "content_index": 0,
        "transcript": "hi there",
    },
    {
        "type": "response.output_text.delta",
        "event_id": "e4",
        "response_id": "resp_1",
        "item_id": "item_t",
        "content_index": 0,
        "delta": "x",
    },
    {
        "type": "response.output_text.done",
        "event_id": "e5",
        "response_id": "resp_1",
        "item_id": "item_t",
        "content_index": 0,
        "text": "xy",
    },
    {
        "type": "response.function_call_arguments.done",
        "response_id": "resp_1",
        "item_id": "item_f",
        "call_id": "call_f",
        "arguments": '{"a": 1}',
    },
    {
        "type": "conversation.item.truncated",
        "item_id": "item_a",
        "content_index": 0,
        "audio_end_ms": 100,
    },
    {
        "type": "response.done",
        "response": {
            "id": "resp_1",
            "status": "incomplete",
            "status_details": {"reason": "max_output_tokens"},
            "output": [function_call_item("item_f", "call_g", arguments="{")],
            "usage": {
                "input_tokens": 1,
                "output_tokens": 2,
                "input_token_details": {"cached_tokens": 0},
            },
        },
    },
    {"type": "response.cancelled", "response_id": "resp_2"},
    {"type": "error", "error": {"type": "server_error", "code": "oops", "message": "m"}},
]

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
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


def _mutate(event: Event, path: tuple[str | int, ...], replacement: object, delete: bool) -> Event:
    mutated: Any = json.loads(json.dumps(event))
    parent = mutated
    for key in path[:-1]:
        parent = parent[key]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    result: Event = mutated
    return result


def assert_well_formed(events: list[ev.RealtimeSessionEvent]) -> None:
    for event in events:
        # The wire codec checks every field's type strictly: a round trip proves
        # the translator built the event from values of the promised types.
        assert codec.from_dict(codec.to_dict(event)) == event
        if isinstance(event, ev.ProviderError):
            assert event.code != "translator_error", event.message
            assert not event.fatal


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_malformed_fields_never_raise(data: st.DataObject) -> None:
    translator = OpenAIRealtimeTranslator()
    for index, original in enumerate(REPRESENTATIVE):
        paths = list(_paths(original))
        if data.draw(st.booleans(), label=f"mutate {index}"):
            path = data.draw(st.sampled_from(paths), label="path")
            replacement = data.draw(JUNK, label="value")
            event = _mutate(original, path, replacement, data.draw(st.booleans(), label="delete"))
        else:
            event = original
        assert_well_formed(translator.translate(event))


@pytest.mark.parametrize(
    "server_event",
    [
        None,
        42,
        "response.done",
        ["type", "error"],
        {},
        {"type": None},
        {"type": ""},
        {"type": 7, "response": {}},
        {"type": "response.done"},
        {"type": "response.done", "response": "resp_1"},
        {"type": "response.done", "response": {"id": ""}},
        {"type": "response.created", "response": {"id": 5}},
        {"type": "response.output_audio.delta", "response_id": "r", "item_id": "i", "delta": None},
        {"type": "response.output_audio.delta", "response_id": "r", "item_id": "i", "delta": "%%%"},
        {
            "type": "response.output_audio_transcript.delta",
            "response_id": "r",
            "item_id": "i",
            "content_index": True,
            "delta": "x",
        },
        {
            "type": "response.output_audio_transcript.delta",
            "response_id": "r",
            "item_id": "i",
            "content_index": -1,
            "delta": "x",
        },
        {
            "type": "conversation.item.added",
            "item": {"id": "i", "type": "message", "role": "user", "content": ["x"]},
        },
        {"type": "conversation.item.truncated", "item_id": "i", "audio_end_ms": "800"},
        {"type": "conversation.item.truncated", "item_id": "i"},
        {
            "type": "response.function_call_arguments.done",
            "call_id": "c",
            "name": "n",
            "arguments": "{bad",
        },
        {
            "type": "response.function_call_arguments.done",
            "call_id": "c2",
            "name": "n",
            "arguments": "[" * 100_000,
        },
        {"type": "error", "error": "boom"},
        {"type": "error"},
        {"type": "session.updated", "session": {"audio": {"output": {"format": {"type": 1}}}}},
    ],
)
def test_specific_malformed_events_never_raise(server_event: object) -> None:
    out = OpenAIRealtimeTranslator().translate(server_event)
    assert_well_formed(out)


def test_malformed_event_error_names_the_field(t: OpenAIRealtimeTranslator) -> None:
    (error,) = t.translate({"type": "response.done", "response": {"id": 5}})
    assert error == ev.ProviderError(
        code="malformed_event",
        message="response.done: field 'response.id' must be a string, not int",
    )


# -- traces ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["openai_voice_turn", "openai_tool_call", "openai_barge_in", "openai_demo"]
)
def test_recorded_traces_translate_without_errors(name: str) -> None:
    events = [timed.event for timed in load_trace(FIXTURES / f"{name}.jsonl")]
    assert not [event for event in events if isinstance(event, ev.ProviderError)]
    completed = [event for event in events if isinstance(event, ev.TurnCompleted)]
    stops = {event.response_id: event.stop_reason for event in completed}
    assert len(stops) == len(completed)
    for event in events:
        if isinstance(event, ev.Interrupted):
            assert event.response_id is not None
            assert stops[event.response_id] is ev.StopReason.CANCELLED
    assert_well_formed(without_media(events))


def test_barge_in_trace_drops_the_unannounced_response_and_keeps_one_cancellation() -> None:
    events = [timed.event for timed in load_trace(FIXTURES / "openai_barge_in.jsonl")]
    raw = [record.payload for record in read_trace(FIXTURES / "openai_barge_in.jsonl")]
    announced = {e["response"]["id"] for e in raw if e["type"] == "response.created"}
    finished = [e["response"]["id"] for e in raw if e["type"] == "response.done"]
    (ghost,) = [response_id for response_id in finished if response_id not in announced]
    completions = [event for event in events if isinstance(event, ev.TurnCompleted)]
    assert ghost not in {event.response_id for event in completions}
    assert [event.stop_reason for event in completions] == [
        ev.StopReason.CANCELLED,
        ev.StopReason.END_TURN,
    ]
    assert sum(isinstance(event, ev.Interrupted) for event in events) == 1
    assert sum(isinstance(event, ev.AssistantTranscriptTruncated) for event in events) == 1


def test_tool_call_trace_requests_the_tool_once_and_completes_with_tool_use() -> None:
    events = [timed.event for timed in load_trace(FIXTURES / "openai_tool_call.jsonl")]
    requests = [event for event in events if isinstance(event, ev.ToolCallRequested)]
    assert [(r.tool_name, r.arguments) for r in requests] == [
        ("get_weather", {"city": "Lisbon", "unit": "celsius"})
    ]
    stops = [event.stop_reason for event in events if isinstance(event, ev.TurnCompleted)]
    assert stops == [ev.StopReason.TOOL_USE, ev.StopReason.END_TURN]


# -- commands ---------------------------------------------------------------------------------------------


class Wire:
    """A send callable that keeps every frame."""

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


async def test_audio_input_is_appended_as_base64(wire: Wire, t: OpenAIRealtimeTranslator) -> None:
    commands = OpenAIRealtimeCommands(wire, t)
    await commands.send_input(ev.AudioInput(chunk=ev.RealtimeAudioChunk(data=b"\x01\x02\x03\x04")))
    assert wire.messages == [{"type": "input_audio_buffer.append", "audio": "AQIDBA=="}]


async def test_text_input_is_a_user_message_then_a_response(
    wire: Wire, t: OpenAIRealtimeTranslator
) -> None:
    await OpenAIRealtimeCommands(wire, t).send_input(ev.TextInput(text="Hi there"))
    assert wire.messages == [
        {
            "type": "conversation.item.create",
            "item": {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Hi there"}],
            },
        },
        {"type": "response.create"},
    ]


async def test_video_input_is_refused_with_a_typed_error(
    wire: Wire, t: OpenAIRealtimeTranslator
) -> None:
    with pytest.raises(UnsupportedInputError, match="video"):
        await OpenAIRealtimeCommands(wire, t).send_input(
            ev.VideoInput(chunk=ev.RealtimeVideoChunk(data=b"\xff\xd8"))
        )
    assert wire.frames == []


@pytest.mark.parametrize(
    ("chunk", "field"),
    [
        (ev.RealtimeAudioChunk(data=b"\0\0", sample_rate_hz=16000), "sample_rate_hz"),
        (ev.RealtimeAudioChunk(data=b"\0\0\0\0", channels=2), "channels"),
        (ev.RealtimeAudioChunk(data=b"\0", mime_type="audio/opus"), "mime_type"),
    ],
)
async def test_audio_in_another_format_is_refused_naming_the_field(
    wire: Wire, t: OpenAIRealtimeTranslator, chunk: ev.RealtimeAudioChunk, field: str
) -> None:
    with pytest.raises(UnsupportedInputError, match=f"AudioInput.chunk.{field}"):
        await OpenAIRealtimeCommands(wire, t).send_input(ev.AudioInput(chunk=chunk))
    assert wire.frames == []


async def test_commit_turn_commits_and_asks_for_a_response(
    wire: Wire, t: OpenAIRealtimeTranslator
) -> None:
    await OpenAIRealtimeCommands(wire, t).commit_turn()
    assert wire.messages == [{"type": "input_audio_buffer.commit"}, {"type": "response.create"}]


async def test_interrupt_cancels_the_interrupted_response_before_the_newer_one(
    s: Server, wire: Wire, t: OpenAIRealtimeTranslator
) -> None:
    commands = OpenAIRealtimeCommands(wire, t)
    await commands.interrupt()  # nothing known in flight: the server picks
    run(t, s.created("resp_loop"), s.audio("resp_loop", "item_a"))
    run(t, s("input_audio_buffer.speech_started", item_id="item_u"))
    run(t, s.created("resp_stop"))
    await commands.interrupt()
    await commands.interrupt()
    assert wire.messages == [
        {"type": "response.cancel"},
        {"type": "response.cancel", "response_id": "resp_loop"},
        {"type": "response.cancel", "response_id": "resp_stop"},
    ]


async def test_truncate_sends_the_played_position(wire: Wire, t: OpenAIRealtimeTranslator) -> None:
    commands: ProviderCommands = OpenAIRealtimeCommands(wire, t)
    assert getattr(commands, "supports_truncation", True) is True
    await commands.truncate_assistant_output("item_a", 0, 1200)
    assert wire.messages == [
        {
            "type": "conversation.item.truncate",
            "item_id": "item_a",
            "content_index": 0,
            "audio_end_ms": 1200,
        }
    ]
    with pytest.raises(ValueError, match="audio_played_ms"):
        await commands.truncate_assistant_output("item_a", 0, -1)


@pytest.mark.parametrize(
    ("output", "wire_output"),
    [
        ({"temperature_c": 21}, '{"temperature_c": 21}'),
        ([1, "two"], '[1, "two"]'),
        ("already text", "already text"),
        (None, "null"),
    ],
)
async def test_tool_result_is_a_function_call_output_then_a_response(
    wire: Wire, t: OpenAIRealtimeTranslator, output: ev.JsonValue, wire_output: str
) -> None:
    await OpenAIRealtimeCommands(wire, t).submit_tool_result("call_1", output)
    assert wire.messages == [
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": "call_1", "output": wire_output},
        },
        {"type": "response.create"},
    ]


async def test_tool_error_is_an_error_payload_then_a_response(
    wire: Wire, t: OpenAIRealtimeTranslator
) -> None:
    await OpenAIRealtimeCommands(wire, t).submit_tool_error("call_1", "city not found")
    assert wire.messages == [
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": "call_1",
                "output": '{"error": "city not found"}',
            },
        },
        {"type": "response.create"},
    ]


async def test_tool_result_that_is_not_json_is_a_type_error(
    wire: Wire, t: OpenAIRealtimeTranslator
) -> None:
    commands = OpenAIRealtimeCommands(wire, t)
    with pytest.raises(TypeError, match="call_1"):
        await commands.submit_tool_result("call_1", {"when": object()})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="call_1"):
        await commands.submit_tool_result("call_1", float("nan"))
    assert wire.frames == []


async def test_continuation_waits_for_every_call_of_the_response_and_for_it_to_finish(
    s: Server, wire: Wire, t: OpenAIRealtimeTranslator
) -> None:
    commands = OpenAIRealtimeCommands(wire, t)
    for call in ("call_a", "call_b"):
        run(
            t,
            s.created("resp_1"),
            s(
                "response.function_call_arguments.done",
                response_id="resp_1",
                call_id=call,
                name="lookup",
                arguments="{}",
            ),
        )
    await commands.submit_tool_result("call_a", 1)
    await commands.submit_tool_result("call_b", 2)
    # resp_1 is still running: the server would refuse a response.create now.
    assert [m["type"] for m in wire.messages] == ["conversation.item.create"] * 2
    await commands.flush_deferred()
    assert len(wire.messages) == 2
    run(t, s.done("resp_1"))
    await commands.flush_deferred()
    await commands.flush_deferred()
    assert [m["type"] for m in wire.messages] == ["conversation.item.create"] * 2 + [
        "response.create"
    ]


async def test_deferred_continuation_is_dropped_when_a_newer_response_saw_the_result(
    s: Server, wire: Wire, t: OpenAIRealtimeTranslator
) -> None:
    commands = OpenAIRealtimeCommands(wire, t)
    run(
        t,
        s.created("resp_1"),
        s(
            "response.function_call_arguments.done",
            response_id="resp_1",
            call_id="c",
            name="n",
            arguments="{}",
        ),
    )
    await commands.submit_tool_result("c", "ok")
    run(t, s.done("resp_1"), s.created("resp_voice"), s.done("resp_voice"))
    await commands.flush_deferred()
    assert [m["type"] for m in wire.messages] == ["conversation.item.create"]


async def test_verbs_after_aclose_raise_closed_resource_error(
    wire: Wire, t: OpenAIRealtimeTranslator
) -> None:
    closed: list[bool] = []

    async def close() -> None:
        closed.append(True)

    commands = OpenAIRealtimeCommands(wire, t, close=close)
    await commands.aclose()
    await commands.aclose()
    assert closed == [True]
    with pytest.raises(anyio.ClosedResourceError):
        await commands.commit_turn()


# -- server-side calls, connection loss and restore -------------------------------------------------


def test_a_response_whose_only_calls_are_mcp_calls_ends_as_the_turn_did(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    mcp = {"id": "item_m", "type": "mcp_call", "name": "search", "server_label": "docs"}
    out = run(
        t,
        s.created("resp_1"),
        s("response.output_item.added", response_id="resp_1", output_index=0, item=mcp),
        s("response.mcp_call.completed", output_index=0, item_id="item_m"),
        s.done("resp_1", output=[{**mcp, "arguments": "{}", "output": "found"}]),
    )
    assert out[-1] == ev.TurnCompleted(response_id="resp_1", stop_reason=ev.StopReason.END_TURN)
    assert not [e for e in out if isinstance(e, ev.ToolCallRequested)]


def test_unknown_event_types_are_remembered_within_a_bound(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    with capture_logs() as logs:
        for n in range(REMEMBERED + 10):
            t.translate(s(f"response.hologram{n}.delta"))
    assert len(logs) == REMEMBERED + 1
    assert logs[-1]["event"] == "unknown_names_no_longer_logged"
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(20_000):
            t.translate({"type": f"x.{n:08d}"})
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000, f"{grown} bytes kept for 20,000 unknown event types"


def test_unknown_event_types_are_remembered_and_logged_by_a_short_prefix(
    t: OpenAIRealtimeTranslator,
) -> None:
    # Few names, but each 100 kB long: what is kept of them, and logged, is bounded too.
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        with capture_logs() as logs:
            for n in range(REMEMBERED):
                t.translate({"type": f"x.{n:08d}." + "y" * 100_000})
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(logs) == REMEMBERED
    assert max(len(entry["event_type"]) for entry in logs) <= 120
    assert grown < 1_000_000, f"{grown} bytes kept for {REMEMBERED} long unknown event types"


def test_connection_lost_ends_responses_in_flight_as_interrupted_once(
    s: Server, t: OpenAIRealtimeTranslator
) -> None:
    run(t, s.created("resp_1"), s.audio("resp_1", "item_a"), s.spoken("resp_1", "item_a", "Once"))
    assert t.connection_lost() == [ev.Interrupted(response_id="resp_1"), cancelled("resp_1")]
    assert not t.response_in_flight
    # A stale completion from the dead connection adds nothing.
    assert t.connection_lost() == []
    assert run(t, s.done("resp_1", "cancelled")) == []


async def test_after_a_reconnection_answers_and_truncations_for_the_old_connection_are_not_sent(
    s: Server, t: OpenAIRealtimeTranslator, wire: Wire
) -> None:
    commands = OpenAIRealtimeCommands(wire, t)
    call = {"id": "item_c", "type": "function_call", "call_id": "call_1", "name": "f"}
    run(
        t,
        s.created("resp_1"),
        s.audio("resp_1", "item_a"),
        s("response.output_item.added", response_id="resp_1", output_index=1, item=call),
        s.done("resp_1", output=[{**call, "arguments": "{}"}]),
    )
    t.connection_lost()
    with pytest.raises(StaleToolCallError, match="call_1"):
        await commands.submit_tool_result("call_1", {"ok": True})
    await commands.truncate_assistant_output("item_a", 0, 500)
    assert wire.frames == []


async def test_restore_sends_the_transcript_as_items_and_their_echoes_add_nothing(
    s: Server, t: OpenAIRealtimeTranslator, wire: Wire
) -> None:
    restored: list[str] = []

    async def on_restored() -> None:
        restored.append("done")

    commands = OpenAIRealtimeCommands(wire, t, restored=on_restored)
    transcript = (
        tr.UserMessage(item_id="item_u", text="Tell me a story."),
        tr.AssistantMessage(
            response_id="resp_1",
            item_ids=("item_a",),
            blocks=(tr.TranscriptBlock(item_id="item_a", text="Once upon", truncated=True),),
            stop_reason=ev.StopReason.CANCELLED,
        ),
        tr.UserMessage(item_id="item_v", text=""),
    )
    await commands.restore_conversation(transcript)
    assert wire.messages == [
        {
            "type": "conversation.item.create",
            "item": {
                "id": "item_u",
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "Tell me a story."}],
            },
        },
        {
            "type": "conversation.item.create",
            "item": {
                "id": "item_a",
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Once upon"}],
            },
        },
    ]
    assert restored == ["done"]
    echo = wire.messages[0]["item"]
    assert run(t, s.item_added(echo, None, "conversation.item.created")) == []
