"""The wire codec: round trips, the wire format, strict decoding and its errors."""

from __future__ import annotations

import base64
import binascii
import collections
import copy
import functools
import importlib.util
import json
import operator
import pickle
import re
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import cattrs
import pytest
from helpers import replay
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_session import _json, codec
from realtime_session import events as ev
from realtime_session import public as pub
from realtime_session import transcript as tr
from realtime_session.recording import read_events

if TYPE_CHECKING:
    from collections.abc import Callable

TAGGED_UNIONS: tuple[Any, ...] = (
    ev.RealtimeSessionEvent,
    pub.RealtimeEvent,
    tr.RealtimeTranscriptEvent,
    tr.Message,
    ev.RealtimeInputChunk,
    tr.TranscriptChange,
)
TAGGED_CLASSES: tuple[type, ...] = tuple(
    member for union in TAGGED_UNIONS for member in typing.get_args(union)
)
RECORD_CLASSES: tuple[type, ...] = (
    ev.Usage,
    ev.RealtimeAudioChunk,
    ev.RealtimeVideoChunk,
    tr.TextBlock,
    tr.TranscriptBlock,
)
ALL_CLASSES = TAGGED_CLASSES + RECORD_CLASSES


def union_of(cls: type) -> Any:
    """The tagged union ``cls`` belongs to (each class belongs to exactly one)."""
    (union,) = (union for union in TAGGED_UNIONS if cls in typing.get_args(union))
    return union


def name_of(cls: type) -> str:
    return f"{cls.__module__.rpartition('.')[2]}.{cls.__name__}"


# Hand-built examples: every class at least once, with non-default values.

AUDIO = ev.RealtimeAudioChunk(data=bytes(range(256)) * 4, sample_rate_hz=16000, channels=2)
VIDEO = ev.RealtimeVideoChunk(data=b"\xff\xd8\xff\xe0\x00\x10JFIF", mime_type="image/webp")
USAGE = ev.Usage(input_tokens=120, output_tokens=48, cache_creation_tokens=7, cache_read_tokens=64)
TEXT_BLOCK = tr.TextBlock(item_id="item_a", text="Here is the forecast: ")
TRANSCRIPT_BLOCK = tr.TranscriptBlock(
    item_id="item_b", text="It will rain", truncated=True, estimated=True, audio_played_ms=1840
)
USER_MESSAGE = tr.UserMessage(item_id="item_u", text="Wie wird das Wetter? ☔")
ASSISTANT_MESSAGE = tr.AssistantMessage(
    response_id="resp_1",
    item_ids=("item_a", "item_b"),
    blocks=(TEXT_BLOCK, TRANSCRIPT_BLOCK),
    stop_reason=ev.StopReason.CANCELLED,
    usage=USAGE,
)

EXAMPLES: list[Any] = [
    AUDIO,
    ev.RealtimeAudioChunk(data=b""),
    VIDEO,
    USAGE,
    ev.Usage(),
    TEXT_BLOCK,
    TRANSCRIPT_BLOCK,
    tr.TranscriptBlock(item_id="item_b", text=""),
    # events
    ev.InputTranscriptPartial(text="what's the wea"),
    ev.InputTranscriptFinal(text="what's the weather"),
    ev.InputTranscriptFinalForItem(
        item_id="item_u", previous_item_id="item_0", content_index=1, text="the weather"
    ),
    ev.InputTranscriptFinalForItem(item_id="item_u", text="the weather"),
    ev.TurnStarted(),
    ev.TurnCommitted(),
    ev.TurnCompleted(response_id="resp_1", stop_reason=ev.StopReason.TOOL_USE, usage=USAGE),
    ev.TurnCompleted(response_id="resp_1"),
    ev.OutputTextDelta(delta="Here"),
    ev.OutputTextDeltaForItem(
        response_id="resp_1",
        delta_id="d_1",
        item_id="item_a",
        previous_item_id="item_u",
        content_index=2,
        delta="Here is",
    ),
    ev.OutputAudioTranscriptDeltaForItem(
        response_id="resp_1", delta_id="d_2", item_id="item_b", delta="It will"
    ),
    ev.AssistantTranscriptFinal(
        response_id="resp_1", item_id="item_b", previous_item_id="item_a", text="It will rain."
    ),
    ev.OutputAudioChunk(chunk=AUDIO, response_id="resp_1", item_id="item_b", content_index=1),
    ev.OutputAudioChunk(chunk=ev.RealtimeAudioChunk(data=b"\x00\x01")),
    ev.OutputVideoChunk(chunk=VIDEO, response_id="resp_1", item_id="item_v"),
    ev.Interrupted(response_id="resp_1"),
    ev.Interrupted(),
    ev.ToolCallRequested(
        call_id="call_1",
        tool_name="weather",
        arguments={"city": "Zürich", "days": 3, "units": None, "hours": [6, 12.5], "ok": True},
    ),
    ev.ToolCallRequested(call_id="call_2", tool_name="weather", arguments="{not json"),
    ev.ToolCallRequested(call_id="call_3", tool_name="noop", arguments=None),
    ev.AssistantTranscriptTruncated(
        response_id="resp_1",
        item_id="item_b",
        content_index=1,
        audio_played_ms=1840,
        truncated_text="It will",
    ),
    ev.AssistantTranscriptTruncated(item_id="item_b", audio_played_ms=0),
    ev.RealtimeTranscript(event=tr.ItemSkipped(item_id="fc_1", previous_item_id="item_b")),
    ev.ProviderError(code="server_error", message="try again", fatal=True),
    ev.ToolCallCancelled(call_id="call_1"),
    ev.Reconnecting(provider="gemini", reason="go_away"),
    ev.Reconnected(
        provider="openai",
        reason="connection_lost",
        gap_ms=640,
        attempts=2,
        input_held=12,
        restore_conversation=True,
    ),
    ev.ReconnectFailed(provider="openai", reason="connection_lost", attempts=5, error="503"),
    ev.TextInput(text="hello"),
    ev.AudioInput(chunk=AUDIO),
    ev.VideoInput(chunk=VIDEO),
    # public
    pub.InputTranscriptPartial(text="what's"),
    pub.InputTranscriptFinal(text="what's the weather", item_id="item_u"),
    pub.InputTranscriptFinal(text="what's the weather"),
    pub.TurnStarted(),
    pub.TurnCommitted(),
    pub.TurnCompleted(response_id="resp_1", stop_reason=ev.StopReason.MAX_TOKENS, usage=USAGE),
    pub.OutputTextDelta(delta="Here", response_id="resp_1", item_id="item_a"),
    pub.OutputTextDelta(delta="Here"),
    pub.OutputAudioTranscriptDelta(delta="It will", response_id="resp_1", item_id="item_b"),
    pub.OutputAudioChunk(chunk=AUDIO, response_id="resp_1", item_id="item_b", content_index=1),
    pub.OutputVideoChunk(chunk=VIDEO, response_id="resp_1", item_id="item_v"),
    pub.Interrupted(response_id="resp_1"),
    pub.ToolCallRequested(call_id="call_1", tool_name="weather"),
    pub.AssistantTranscriptTruncated(item_id="item_b", audio_played_ms=1840, truncated_text="It"),
    pub.ProviderError(code="server_error", message="try again"),
    pub.ToolCallCancelled(call_id="call_1"),
    pub.Reconnecting(provider="gemini", reason="go_away"),
    pub.Reconnected(provider="gemini", reason="go_away", gap_ms=0, attempts=1),
    pub.ReconnectFailed(
        provider="gemini", reason="connection_lost", attempts=0, error="no handle", input_dropped=3
    ),
    pub.TranscriptCommitted(message=ASSISTANT_MESSAGE),
    pub.TranscriptCommitted(message=USER_MESSAGE),
    pub.TranscriptRevised(item_id="item_b", message=ASSISTANT_MESSAGE),
    pub.MediaDropped(dropped=12, dropped_ms=240.0),
    pub.ToolCallCompleted(call_id="call_1"),
    pub.ToolCallFailed(call_id="call_1", error="ValueError: no such city"),
    pub.ToolCallTimedOut(call_id="call_1", elapsed_ms=15001),
    pub.SessionClosed(reason="failed", error="connection reset"),
    pub.SessionClosed(reason="closed"),
    pub.RecordingFailed(error="[Errno 28] No space left on device", fatal=True),
    pub.ResponseLatency(
        response_id="resp_1",
        since="turn_committed",
        first_audio_ms=412.5,
        first_text_ms=380.0,
        completed_ms=2210.0,
    ),
    pub.ResponseLatency(response_id="resp_2", stop_reason=ev.StopReason.CANCELLED),
    # transcript events
    tr.ItemObserved(
        item_id="item_a",
        previous_item_id="item_u",
        role=tr.RealtimeTranscriptRole.ASSISTANT,
        response_id="resp_1",
    ),
    tr.ItemObserved(item_id="item_u", role=tr.RealtimeTranscriptRole.USER),
    tr.ItemSkipped(item_id="fc_1", previous_item_id="item_a"),
    tr.UserTranscriptFinal(item_id="item_u", previous_item_id="item_0", text="weather?"),
    tr.AssistantTextDelta(
        response_id="resp_1", delta_id="d_1", item_id="item_a", content_index=1, delta="Here"
    ),
    tr.AssistantTranscriptDelta(
        response_id="resp_1", delta_id="d_2", item_id="item_b", previous_item_id="a", delta="It"
    ),
    tr.AssistantTranscriptTruncated(
        response_id="resp_1", item_id="item_b", text="It", audio_played_ms=900, estimated=True
    ),
    tr.AssistantTranscriptFinalText(response_id="resp_1", item_id="item_b", text="It will rain."),
    tr.AssistantTurnCompleted(
        response_id="resp_1", stop_reason=ev.StopReason.END_TURN, usage=USAGE
    ),
    tr.AssistantTurnCompleted(
        response_id="resp_2", stop_reason=ev.StopReason.CANCELLED, usage=None
    ),
    tr.AssistantTurnInterrupted(response_id="resp_1"),
    tr.AssistantTranscriptHeardInFull(response_id="resp_1", item_id="item_b"),
    tr.OrphansReleased(item_ids=("item_b", "item_c")),
    # messages and changes
    USER_MESSAGE,
    ASSISTANT_MESSAGE,
    tr.AssistantMessage(
        response_id="resp_2", item_ids=(), blocks=(), stop_reason=ev.StopReason.CONTENT_FILTER
    ),
    tr.Committed(message=USER_MESSAGE),
    tr.Revised(item_id="item_b", message=ASSISTANT_MESSAGE),
]


def example_id(example: object) -> str:
    return name_of(type(example))


def test_examples_cover_every_wire_class() -> None:
    assert {type(example) for example in EXAMPLES} == set(ALL_CLASSES)


@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_example_round_trips_through_json_and_dict(example: Any) -> None:
    cls = type(example)
    text = codec.to_json(example)
    assert codec.from_json(text, type=cls) == example
    assert codec.from_dict(codec.to_dict(example), type=cls) == example
    assert json.loads(text) == codec.to_dict(example)
    if cls in TAGGED_CLASSES:
        decoded = codec.from_json(text, type=union_of(cls))
        assert type(decoded) is cls
        assert decoded == example


@pytest.mark.parametrize("example", EXAMPLES, ids=example_id)
def test_tag_is_present_exactly_for_union_members(example: Any) -> None:
    data = codec.to_dict(example)
    if type(example) in TAGGED_CLASSES:
        assert next(iter(data)) == "type"
        assert data["type"] == codec.wire_tag(type(example))
    else:
        assert "type" not in data


# The wire format itself, pinned on a few documents.


def test_wire_format_of_an_audio_chunk_event() -> None:
    event = ev.OutputAudioChunk(
        chunk=ev.RealtimeAudioChunk(data=b"\x00\x01\xfe\xff"), response_id="resp_1"
    )
    assert codec.to_dict(event) == {
        "type": "output_audio_chunk",
        "chunk": {
            "data": "AAH+/w==",
            "sample_rate_hz": 24000,
            "channels": 1,
            "mime_type": "audio/pcm",
        },
        "response_id": "resp_1",
        "content_index": 0,
    }


def test_wire_format_omits_none_and_keeps_other_defaults() -> None:
    event = ev.TurnCompleted(response_id="resp_1", usage=ev.Usage(output_tokens=3))
    assert codec.to_dict(event) == {
        "type": "turn_completed",
        "response_id": "resp_1",
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 0, "output_tokens": 3},
    }
    completed = tr.AssistantTurnCompleted(
        response_id="resp_1", stop_reason=ev.StopReason.CANCELLED, usage=None
    )
    assert codec.to_dict(completed) == {
        "type": "assistant_turn_completed",
        "response_id": "resp_1",
        "stop_reason": "cancelled",
    }


def test_wire_format_tags_nested_union_fields_but_not_records_or_blocks() -> None:
    committed = pub.TranscriptCommitted(message=ASSISTANT_MESSAGE)
    assert codec.to_dict(committed) == {
        "type": "transcript_committed",
        "message": {
            "type": "assistant_message",
            "response_id": "resp_1",
            "item_ids": ["item_a", "item_b"],
            "blocks": [
                {"item_id": "item_a", "text": "Here is the forecast: "},
                {
                    "item_id": "item_b",
                    "text": "It will rain",
                    "truncated": True,
                    "estimated": True,
                    "audio_played_ms": 1840,
                },
            ],
            "stop_reason": "cancelled",
            "usage": {
                "input_tokens": 120,
                "output_tokens": 48,
                "cache_creation_tokens": 7,
                "cache_read_tokens": 64,
            },
        },
    }
    wrapped = ev.RealtimeTranscript(event=tr.AssistantTurnInterrupted(response_id="resp_1"))
    assert codec.to_dict(wrapped) == {
        "type": "realtime_transcript",
        "event": {"type": "assistant_turn_interrupted", "response_id": "resp_1"},
    }


def test_a_transcript_block_always_carries_its_markers() -> None:
    data = codec.to_dict(tr.TranscriptBlock(item_id="b", text="spoken"))
    assert data == {"item_id": "b", "text": "spoken", "truncated": False, "estimated": False}
    message = tr.AssistantMessage(
        response_id="r",
        item_ids=("b",),
        blocks=(
            tr.TranscriptBlock(item_id="b", text="spoken"),
            tr.TextBlock(item_id="c", text="x"),
        ),
        stop_reason=ev.StopReason.END_TURN,
    )
    decoded = codec.from_json(codec.to_json(message), type=tr.Message)
    assert isinstance(decoded, tr.AssistantMessage)
    assert [type(block) for block in decoded.blocks] == [tr.TranscriptBlock, tr.TextBlock]


@pytest.mark.parametrize("padding", [0, 2000], ids=["short text", "long text"])
def test_integers_beyond_64_bits_in_tool_arguments_stay_exact(padding: int) -> None:
    # Fast JSON readers turn such integers into floats; the value the tool gets
    # must be the integer the model wrote, whichever reader took the text.
    text = (
        '{"type":"tool_call_requested","call_id":"c","tool_name":"t",'
        f'"arguments":{{"n":18446744073709551617,"pad":"{"x" * padding}"}}}}'
    )
    decoded = codec.from_json(text)
    assert isinstance(decoded, ev.ToolCallRequested)
    assert isinstance(decoded.arguments, dict)
    n = decoded.arguments["n"]
    assert type(n) is int and n == 2**64 + 1


def test_tool_arguments_pass_through_unchanged() -> None:
    arguments: ev.JsonValue = {"list": [1, 2.5, "x", None, True, {"deep": []}], "n": 10**30}
    event = ev.ToolCallRequested(call_id="c", tool_name="t", arguments=arguments)
    data = codec.to_dict(event)
    assert data["arguments"] == arguments
    decoded = codec.from_dict(data)
    assert isinstance(decoded, ev.ToolCallRequested)
    assert decoded.arguments is data["arguments"]
    assert codec.from_json(codec.to_json(event)) == event


def test_json_text_is_ascii_and_compact() -> None:
    event = ev.InputTranscriptFinal(text="Grüße 👋 \ud800")
    text = codec.to_json(event)
    assert text.isascii()
    assert (
        text
        == '{"type":"input_transcript_final","text":"Gr\\u00fc\\u00dfe \\ud83d\\udc4b \\ud800"}'
    )
    assert codec.from_json(text) == event
    assert codec.from_json(text.encode("ascii")) == event


@pytest.mark.parametrize(
    "obj",
    [
        # orjson's text as it is
        pub.OutputAudioChunk(
            chunk=ev.RealtimeAudioChunk(data=b"\x01\x02" * 480), response_id="r", item_id="i"
        ),
        # characters outside ASCII, and DEL: the standard library's ASCII form
        ev.InputTranscriptFinal(text="Grüße 👋 \x7f"),
        # a lone surrogate, and an integer beyond 64 bits: orjson refuses them
        ev.InputTranscriptFinal(text="\ud800"),
        ev.ToolCallRequested(call_id="c", tool_name="t", arguments={"n": 10**30}),
    ],
)
def test_json_bytes_are_the_json_text_in_ascii(obj: Any) -> None:
    data = codec.to_json_bytes(obj)
    assert type(data) is bytes
    assert data == codec.to_json(obj).encode("ascii")
    assert codec.from_json(data, type=type(obj)) == obj


def test_non_finite_floats_are_refused_on_encode() -> None:
    with pytest.raises(ValueError, match="JSON"):
        codec.to_json(pub.MediaDropped(dropped=1, dropped_ms=float("inf")))


@pytest.mark.parametrize(
    ("cls", "tag"),
    [
        (ev.OutputTextDeltaForItem, "output_text_delta_for_item"),
        (ev.OutputAudioTranscriptDeltaForItem, "output_audio_transcript_delta_for_item"),
        (ev.TurnStarted, "turn_started"),
        (pub.TranscriptCommitted, "transcript_committed"),
        (pub.AssistantTranscriptTruncated, "assistant_transcript_truncated"),
        (tr.AssistantTranscriptTruncated, "assistant_transcript_truncated"),
        (tr.AssistantTranscriptFinalText, "assistant_transcript_final_text"),
        (tr.UserMessage, "user_message"),
        (tr.Committed, "committed"),
        (ev.TextInput, "text_input"),
    ],
)
def test_wire_tag_is_the_snake_case_class_name(cls: type, tag: str) -> None:
    assert codec.wire_tag(cls) == tag


@pytest.mark.parametrize("cls", [*RECORD_CLASSES, dict, int], ids=lambda cls: cls.__name__)
def test_wire_tag_refuses_untagged_classes(cls: type) -> None:
    with pytest.raises(TypeError, match="not a tagged wire class"):
        codec.wire_tag(cls)


def test_tags_are_unique_within_each_union() -> None:
    for union in TAGGED_UNIONS:
        tags = [codec.wire_tag(member) for member in typing.get_args(union)]
        assert len(tags) == len(set(tags)), union


def test_every_member_of_every_tagged_union_has_an_explicit_tag() -> None:
    # A class added to a union without a tag is named, not silently tagged.
    untagged = []
    for union in TAGGED_UNIONS:
        for member in typing.get_args(union):
            try:
                codec.wire_tag(member)
            except TypeError:
                untagged.append(name_of(member))
    assert untagged == []


def test_renaming_classes_keeps_their_tags() -> None:
    # A fresh copy of the codec, loaded while every tagged class has another
    # name, still writes and reads what 0.1.0 wrote.
    names = {cls: (cls.__name__, cls.__qualname__) for cls in TAGGED_CLASSES}
    try:
        for cls in TAGGED_CLASSES:
            cls.__name__ = f"Renamed{cls.__name__}Class"
            cls.__qualname__ = f"Renamed{cls.__qualname__}Class"
        spec = importlib.util.spec_from_file_location(
            "realtime_session._codec_with_renamed_classes", codec.__file__
        )
        assert spec is not None and spec.loader is not None
        fresh = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(fresh)
        assert {cls: fresh.wire_tag(cls) for cls, _ in V0_1_0_TAGS} == dict(V0_1_0_TAGS)
        for union, target in V0_1_0_WIRE_TARGETS.items():
            for line in lines_of(V0_1_0 / "wire" / f"{union}.jsonl"):
                assert fresh.to_json(fresh.from_json(line, type=target)) == line
    finally:
        for cls, (name, qualname) in names.items():
            cls.__name__ = name
            cls.__qualname__ = qualname


def test_a_union_member_without_a_tag_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    @attrs.frozen(kw_only=True)
    class Unregistered:
        note: str

    monkeypatch.setattr(codec, "_ENCODERS", {})
    monkeypatch.setattr(
        codec, "_TAGGED_UNIONS", {**codec._TAGGED_UNIONS, Unregistered | pub.TurnStarted: "u"}
    )
    with pytest.raises(TypeError, match="Unregistered has no wire tag"):
        codec.to_dict(Unregistered(note="x"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="cannot decode into"):
        codec.from_dict({"type": "turn_started"}, type=Unregistered | pub.TurnStarted)


# Shared tags: the target decides which class a document becomes.


SHARED_TAG_DOCUMENTS = [
    pytest.param(
        '{"type":"input_transcript_partial","text":"hi"}',
        {
            ev.RealtimeSessionEvent: ev.InputTranscriptPartial(text="hi"),
            pub.RealtimeEvent: pub.InputTranscriptPartial(text="hi"),
        },
        id="input_transcript_partial",
    ),
    pytest.param(
        '{"type":"turn_completed","response_id":"r","stop_reason":"tool_use"}',
        {
            ev.RealtimeSessionEvent: ev.TurnCompleted(
                response_id="r", stop_reason=ev.StopReason.TOOL_USE
            ),
            pub.RealtimeEvent: pub.TurnCompleted(
                response_id="r", stop_reason=ev.StopReason.TOOL_USE
            ),
        },
        id="turn_completed",
    ),
    pytest.param(
        '{"type":"assistant_transcript_truncated","item_id":"i","audio_played_ms":500}',
        {
            ev.RealtimeSessionEvent: ev.AssistantTranscriptTruncated(
                item_id="i", audio_played_ms=500
            ),
            pub.RealtimeEvent: pub.AssistantTranscriptTruncated(item_id="i", audio_played_ms=500),
        },
        id="assistant_transcript_truncated-provider-and-public",
    ),
    pytest.param(
        '{"type":"assistant_transcript_truncated","response_id":"r","item_id":"i","text":"He"}',
        {
            tr.RealtimeTranscriptEvent: tr.AssistantTranscriptTruncated(
                response_id="r", item_id="i", text="He"
            ),
        },
        id="assistant_transcript_truncated-transcript",
    ),
    pytest.param(
        '{"type":"interrupted"}',
        {ev.RealtimeSessionEvent: ev.Interrupted(), pub.RealtimeEvent: pub.Interrupted()},
        id="interrupted",
    ),
]


@pytest.mark.parametrize(("text", "expected_by_target"), SHARED_TAG_DOCUMENTS)
def test_shared_tags_decode_into_the_requested_union(
    text: str, expected_by_target: dict[Any, Any]
) -> None:
    for target, expected in expected_by_target.items():
        decoded = codec.from_json(text, type=target)
        assert type(decoded) is type(expected)
        assert decoded == expected
        assert codec.from_json(text, type=type(expected)) == expected


def test_default_target_is_the_provider_event_union() -> None:
    decoded = codec.from_json('{"type":"input_transcript_partial","text":"hi"}')
    assert type(decoded) is ev.InputTranscriptPartial


def test_shared_tag_with_fields_of_another_module_is_refused() -> None:
    # Valid for the transcript class, not for the provider class of the same tag.
    text = '{"type":"assistant_transcript_truncated","response_id":"r","item_id":"i","text":"He"}'
    with pytest.raises(codec.DecodeError) as caught:
        codec.from_json(text)
    assert caught.value.path == "$.text"
    assert "unknown key" in caught.value.reason


# Missing fields, nulls and numbers.


def test_missing_fields_read_as_defaults_or_none() -> None:
    assert codec.from_json('{"type":"output_audio_chunk","chunk":{"data":""}}') == (
        ev.OutputAudioChunk(chunk=ev.RealtimeAudioChunk(data=b""))
    )
    completed = codec.from_json(
        '{"type":"assistant_turn_completed","response_id":"r","stop_reason":"end_turn"}',
        type=tr.RealtimeTranscriptEvent,
    )
    assert completed == tr.AssistantTurnCompleted(
        response_id="r", stop_reason=ev.StopReason.END_TURN, usage=None
    )
    tool_call = codec.from_json('{"type":"tool_call_requested","call_id":"c","tool_name":"t"}')
    assert tool_call == ev.ToolCallRequested(call_id="c", tool_name="t", arguments=None)


def test_explicit_null_reads_as_none_for_optional_fields() -> None:
    decoded = codec.from_json('{"type":"interrupted","response_id":null}')
    assert decoded == ev.Interrupted(response_id=None)


def test_an_integer_is_a_valid_float() -> None:
    decoded = codec.from_json(
        '{"type":"media_dropped","dropped":2,"dropped_ms":40}', type=pub.RealtimeEvent
    )
    assert decoded == pub.MediaDropped(dropped=2, dropped_ms=40.0)
    assert isinstance(decoded, pub.MediaDropped)
    assert type(decoded.dropped_ms) is float


# Bad input: each document fails at a known path.

OK_CHUNK = {"data": "AAE="}
OK_MESSAGE = {
    "type": "assistant_message",
    "response_id": "r",
    "item_ids": ["a"],
    "blocks": [{"item_id": "a", "text": "x"}],
    "stop_reason": "end_turn",
}


def doc(value: object) -> str:
    return json.dumps(value)


BAD_DOCUMENTS = [
    pytest.param("{", ev.RealtimeSessionEvent, "$", "not valid JSON", id="truncated-json"),
    pytest.param("", ev.RealtimeSessionEvent, "$", "not valid JSON", id="empty-text"),
    pytest.param(
        '{"type":"turn_started"} {}', ev.RealtimeSessionEvent, "$", "not valid JSON", id="two-docs"
    ),
    pytest.param(b"\xff\xfe{}", ev.RealtimeSessionEvent, "$", "not valid JSON", id="not-utf8"),
    pytest.param(
        "[]", ev.RealtimeSessionEvent, "$", "expected an object, got an array", id="array"
    ),
    pytest.param('"turn_started"', ev.RealtimeSessionEvent, "$", "got a string", id="string"),
    pytest.param("null", ev.RealtimeSessionEvent, "$", "got null", id="null"),
    pytest.param(doc({"text": "hi"}), ev.RealtimeSessionEvent, "$.type", "missing", id="no-tag"),
    pytest.param(
        doc({"type": "response.audio.delta"}),
        ev.RealtimeSessionEvent,
        "$.type",
        "unknown type 'response.audio.delta' for events.RealtimeSessionEvent",
        id="unknown-tag",
    ),
    pytest.param(
        doc({"type": 7}), ev.RealtimeSessionEvent, "$.type", "must be a string", id="int-tag"
    ),
    pytest.param(
        doc({"type": "transcript_committed", "message": OK_MESSAGE}),
        ev.RealtimeSessionEvent,
        "$.type",
        "public.TranscriptCommitted",
        id="public-tag-as-provider-event",
    ),
    pytest.param(
        doc({"type": "text_input", "text": "hi"}),
        ev.RealtimeSessionEvent,
        "$.type",
        "unknown type 'text_input'",
        id="input-chunk-as-provider-event",
    ),
    pytest.param(
        doc({"type": "turn_started"}),
        ev.TurnCommitted,
        "$.type",
        "does not match events.TurnCommitted",
        id="tag-mismatch-concrete",
    ),
    pytest.param(
        doc({"delta_id": "d"}), ev.OutputTextDelta, "$.type", "missing", id="no-tag-concrete"
    ),
    pytest.param(
        doc({"type": "output_text_delta"}),
        ev.RealtimeSessionEvent,
        "$.delta",
        "missing required field",
        id="missing-field",
    ),
    pytest.param(
        doc({"type": "input_transcript_partial", "text": 42}),
        ev.RealtimeSessionEvent,
        "$.text",
        "expected a string, got an integer",
        id="int-for-str",
    ),
    pytest.param(
        doc(
            {
                "type": "input_transcript_final_for_item",
                "item_id": "i",
                "text": "t",
                "content_index": True,
            }
        ),
        ev.RealtimeSessionEvent,
        "$.content_index",
        "expected an integer, got a boolean",
        id="bool-for-int",
    ),
    pytest.param(
        doc(
            {
                "type": "input_transcript_final_for_item",
                "item_id": "i",
                "text": "t",
                "content_index": "1",
            }
        ),
        ev.RealtimeSessionEvent,
        "$.content_index",
        "expected an integer, got a string",
        id="str-for-int",
    ),
    pytest.param(
        doc(
            {
                "type": "input_transcript_final_for_item",
                "item_id": "i",
                "text": "t",
                "content_index": 1.0,
            }
        ),
        ev.RealtimeSessionEvent,
        "$.content_index",
        "expected an integer, got a number",
        id="float-for-int",
    ),
    pytest.param(
        doc({"type": "provider_error", "code": "c", "message": "m", "fatal": 1}),
        ev.RealtimeSessionEvent,
        "$.fatal",
        "expected a boolean, got an integer",
        id="int-for-bool",
    ),
    pytest.param(
        doc({"type": "tool_call_cancelled", "call_id": None}),
        ev.RealtimeSessionEvent,
        "$.call_id",
        "got null",
        id="null-for-required",
    ),
    pytest.param(
        doc({"type": "interrupted", "response_id": 5}),
        ev.RealtimeSessionEvent,
        "$.response_id",
        "expected a string or null, got an integer",
        id="int-for-optional-str",
    ),
    pytest.param(
        doc({"type": "transcript_block", "item_id": "b", "text": "t"}),
        tr.TranscriptBlock,
        "$.type",
        "unknown key 'type' for transcript.TranscriptBlock",
        id="tag-on-an-untagged-block",
    ),
    pytest.param(
        doc({"type": "turn_completed", "response_id": "r", "usage": None}),
        ev.RealtimeSessionEvent,
        "$.usage",
        "expected an object, got null",
        id="null-for-record",
    ),
    pytest.param(
        doc({"type": "turn_completed", "response_id": "r", "stop_reason": "done"}),
        ev.RealtimeSessionEvent,
        "$.stop_reason",
        "unknown StopReason value 'done'",
        id="unknown-enum",
    ),
    pytest.param(
        doc({"type": "turn_completed", "response_id": "r", "stop_reason": "END_TURN"}),
        ev.RealtimeSessionEvent,
        "$.stop_reason",
        "unknown StopReason value",
        id="enum-by-name",
    ),
    pytest.param(
        doc({"type": "item_observed", "item_id": "i", "role": "system"}),
        tr.RealtimeTranscriptEvent,
        "$.role",
        "unknown RealtimeTranscriptRole value 'system'",
        id="unknown-role",
    ),
    pytest.param(
        doc({"type": "turn_completed", "response_id": "r", "usage": {"input_tokens": True}}),
        ev.RealtimeSessionEvent,
        "$.usage.input_tokens",
        "expected an integer, got a boolean",
        id="nested-bool-for-int",
    ),
    pytest.param(
        doc({"type": "output_audio_chunk", "chunk": {"data": "AAE"}}),
        ev.RealtimeSessionEvent,
        "$.chunk.data",
        "invalid base64",
        id="base64-padding",
    ),
    pytest.param(
        doc({"type": "output_audio_chunk", "chunk": {"data": "AA\nE="}}),
        ev.RealtimeSessionEvent,
        "$.chunk.data",
        "invalid base64",
        id="base64-newline",
    ),
    pytest.param(
        doc({"type": "output_audio_chunk", "chunk": {"data": "AAE=AAE="}}),
        ev.RealtimeSessionEvent,
        "$.chunk.data",
        "invalid base64",
        id="base64-data-after-padding",
    ),
    pytest.param(
        doc({"type": "output_audio_chunk", "chunk": {"data": "ÄÖ=="}}),
        ev.RealtimeSessionEvent,
        "$.chunk.data",
        "invalid base64",
        id="base64-non-ascii",
    ),
    pytest.param(
        doc({"type": "output_audio_chunk", "chunk": {"data": [0, 1]}}),
        ev.RealtimeSessionEvent,
        "$.chunk.data",
        "expected a base64 string, got an array",
        id="base64-not-a-string",
    ),
    pytest.param(
        doc({"type": "output_audio_chunk", "chunk": "AAE="}),
        ev.RealtimeSessionEvent,
        "$.chunk",
        "expected an object, got a string",
        id="record-not-an-object",
    ),
    pytest.param(
        doc({"type": "turn_started", "extra": 1}),
        ev.RealtimeSessionEvent,
        "$.extra",
        "unknown key 'extra' for events.TurnStarted",
        id="extra-key",
    ),
    pytest.param(
        doc({"type": "output_audio_chunk", "chunk": {**OK_CHUNK, "rate": 24000}}),
        ev.RealtimeSessionEvent,
        "$.chunk.rate",
        "unknown key 'rate'",
        id="nested-extra-key",
    ),
    pytest.param(
        doc({"type": "turn_completed", "response_id": "r", "usage": {"type": "usage"}}),
        ev.RealtimeSessionEvent,
        "$.usage.type",
        "unknown key 'type'",
        id="tag-on-a-record",
    ),
    pytest.param(
        doc({"type": "realtime_transcript", "event": {"type": "turn_started"}}),
        ev.RealtimeSessionEvent,
        "$.event.type",
        "unknown type 'turn_started' for transcript.RealtimeTranscriptEvent",
        id="nested-union-wrong-tag",
    ),
    pytest.param(
        doc({"type": "realtime_transcript", "event": {"item_id": "i"}}),
        ev.RealtimeSessionEvent,
        "$.event.type",
        "missing",
        id="nested-union-no-tag",
    ),
    pytest.param(
        doc({"type": "transcript_committed", "message": {**OK_MESSAGE, "item_ids": "a"}}),
        pub.RealtimeEvent,
        "$.message.item_ids",
        "expected an array, got a string",
        id="string-for-array",
    ),
    pytest.param(
        doc({"type": "transcript_committed", "message": {**OK_MESSAGE, "item_ids": ["a", 2]}}),
        pub.RealtimeEvent,
        "$.message.item_ids[1]",
        "expected a string, got an integer",
        id="array-element",
    ),
    pytest.param(
        doc(
            {
                "type": "transcript_committed",
                "message": {
                    **OK_MESSAGE,
                    "blocks": [
                        {"item_id": "a", "text": "x"},
                        {"item_id": "a", "text": 5, "truncated": False, "estimated": False},
                    ],
                },
            }
        ),
        pub.RealtimeEvent,
        "$.message.blocks[1].text",
        "expected a string, got an integer",
        id="block-field",
    ),
    pytest.param(
        doc(
            {
                "type": "transcript_committed",
                "message": {
                    **OK_MESSAGE,
                    "blocks": [{"item_id": "a", "text": "x", "audio_played_ms": 5}],
                },
            }
        ),
        pub.RealtimeEvent,
        "$.message.blocks[0].audio_played_ms",
        "unknown key 'audio_played_ms' for transcript.TextBlock",
        id="block-without-markers",
    ),
    pytest.param(
        doc({"type": "media_dropped", "dropped": 1, "dropped_ms": True}),
        pub.RealtimeEvent,
        "$.dropped_ms",
        "expected a number, got a boolean",
        id="bool-for-float",
    ),
    pytest.param(
        '{"type":"media_dropped","dropped":1,"dropped_ms":1' + "0" * 400 + "}",
        pub.RealtimeEvent,
        "$.dropped_ms",
        "too large",
        id="huge-int-for-float",
    ),
    pytest.param(
        '{"type":"media_dropped","dropped":1,"dropped_ms":Infinity}',
        pub.RealtimeEvent,
        "$",
        "Infinity is not a JSON number",
        id="infinity",
    ),
    pytest.param(
        '{"type":"tool_call_requested","call_id":"c","tool_name":"t","arguments":[NaN]}',
        ev.RealtimeSessionEvent,
        "$",
        "NaN is not a JSON number",
        id="nan-in-arguments",
    ),
    pytest.param(
        '{"type":"tool_call_requested","call_id":"c","tool_name":"t","arguments":'
        + "[" * 100_000
        + "]" * 100_000
        + "}",
        ev.RealtimeSessionEvent,
        "$",
        "nested too deeply",
        id="deeply-nested-garbage",
    ),
    pytest.param(
        '{"type":"tool_call_requested","call_id":"c","tool_name":"t","arguments":{"a":'
        + "[" * 300
        + "]" * 300
        + "}}",
        ev.RealtimeSessionEvent,
        "$.arguments.a" + "[0]" * 255,
        "nested more than 256 levels deep",
        id="arguments-too-deep",
    ),
    pytest.param(
        doc({"type": "user_message", "item_id": "i", "text": "t"}),
        tr.TranscriptChange,
        "$.type",
        "unknown type 'user_message' for transcript.TranscriptChange",
        id="message-as-change",
    ),
    pytest.param(
        doc({"type": "committed", "message": {"item_id": "i", "text": "t"}}),
        tr.TranscriptChange,
        "$.message.type",
        "missing",
        id="untagged-message",
    ),
    pytest.param(
        doc({"type": "audio_input", "chunk": {"data": "AAE=", "channels": "2"}}),
        ev.RealtimeInputChunk,
        "$.chunk.channels",
        "expected an integer, got a string",
        id="input-chunk-field",
    ),
]


@pytest.mark.parametrize(("text", "target", "path", "reason"), BAD_DOCUMENTS)
def test_bad_document_raises_decode_error_at_its_path(
    text: str | bytes, target: Any, path: str, reason: str
) -> None:
    with pytest.raises(codec.DecodeError) as caught:
        codec.from_json(text, type=target)
    error = caught.value
    assert error.path == path
    assert reason in error.reason
    assert str(error) == f"{path}: {error.reason}"
    assert isinstance(error, ValueError)


def test_bad_document_corpus_is_large_and_distinct() -> None:
    assert len(BAD_DOCUMENTS) >= 20
    assert len({param.id for param in BAD_DOCUMENTS}) == len(BAD_DOCUMENTS)


# Ranges the types imply, and identities that are never empty. Each is refused
# on the way in (DecodeError at the field) and on the way out (ValueError), so
# that nothing the codec writes fails to read back.

OK_TRANSCRIPT_BLOCK = {"item_id": "a", "text": "x", "truncated": True, "estimated": False}

OUT_OF_RANGE_DOCUMENTS = [
    pytest.param(
        {"type": "output_audio_chunk", "chunk": OK_CHUNK, "content_index": -1},
        ev.RealtimeSessionEvent,
        "$.content_index",
        "must not be negative, got -1",
        id="negative-content-index",
    ),
    pytest.param(
        {"type": "assistant_transcript_truncated", "item_id": "i", "audio_played_ms": -40},
        ev.RealtimeSessionEvent,
        "$.audio_played_ms",
        "must not be negative, got -40",
        id="negative-audio-played-ms",
    ),
    pytest.param(
        {"type": "output_audio_chunk", "chunk": {**OK_CHUNK, "channels": -2}},
        ev.RealtimeSessionEvent,
        "$.chunk.channels",
        "must be at least 1, got -2",
        id="negative-channels",
    ),
    pytest.param(
        {"type": "audio_input", "chunk": {**OK_CHUNK, "channels": 0}},
        ev.RealtimeInputChunk,
        "$.chunk.channels",
        "must be at least 1, got 0",
        id="no-channels",
    ),
    pytest.param(
        {"type": "output_audio_chunk", "chunk": {**OK_CHUNK, "sample_rate_hz": 0}},
        pub.RealtimeEvent,
        "$.chunk.sample_rate_hz",
        "must be at least 1, got 0",
        id="zero-sample-rate",
    ),
    pytest.param(
        {"type": "turn_completed", "response_id": "r", "usage": {"output_tokens": -5}},
        ev.RealtimeSessionEvent,
        "$.usage.output_tokens",
        "must not be negative",
        id="negative-tokens",
    ),
    pytest.param(
        {"type": "media_dropped", "dropped": 1, "dropped_ms": -0.5},
        pub.RealtimeEvent,
        "$.dropped_ms",
        "must not be negative, got -0.5",
        id="negative-dropped-ms",
    ),
    pytest.param(
        {"type": "tool_call_timed_out", "call_id": "c", "elapsed_ms": -1},
        pub.RealtimeEvent,
        "$.elapsed_ms",
        "must not be negative",
        id="negative-elapsed-ms",
    ),
    pytest.param(
        {
            "type": "realtime_transcript",
            "event": {
                "type": "user_transcript_final",
                "item_id": "i",
                "content_index": -3,
                "text": "t",
            },
        },
        ev.RealtimeSessionEvent,
        "$.event.content_index",
        "must not be negative",
        id="nested-negative-content-index",
    ),
    pytest.param(
        {**OK_MESSAGE, "blocks": [{**OK_TRANSCRIPT_BLOCK, "audio_played_ms": -1}]},
        tr.Message,
        "$.blocks[0].audio_played_ms",
        "must not be negative",
        id="negative-block-audio-played-ms",
    ),
    pytest.param(
        {"type": "user_message", "item_id": "", "text": "t"},
        tr.Message,
        "$.item_id",
        "must not be empty",
        id="empty-message-item-id",
    ),
    pytest.param(
        {"type": "transcript_committed", "message": {**OK_MESSAGE, "response_id": ""}},
        pub.RealtimeEvent,
        "$.message.response_id",
        "must not be empty",
        id="empty-message-response-id",
    ),
    pytest.param(
        {**OK_MESSAGE, "item_ids": ["a", ""]},
        tr.Message,
        "$.item_ids[1]",
        "must not be empty",
        id="empty-id-in-item-ids",
    ),
    pytest.param(
        {**OK_MESSAGE, "blocks": [{"item_id": "", "text": "x"}]},
        tr.Message,
        "$.blocks[0].item_id",
        "must not be empty",
        id="empty-block-item-id",
    ),
    pytest.param(
        {"type": "transcript_revised", "item_id": "", "message": OK_MESSAGE},
        pub.RealtimeEvent,
        "$.item_id",
        "must not be empty",
        id="empty-revised-item-id",
    ),
]


@pytest.mark.parametrize(("data", "target", "path", "reason"), OUT_OF_RANGE_DOCUMENTS)
def test_values_out_of_range_are_refused_at_their_field(
    data: dict[str, Any], target: Any, path: str, reason: str
) -> None:
    decoders: list[Callable[[], object]] = [
        lambda: codec.from_dict(data, type=target),
        lambda: codec.from_json(json.dumps(data), type=target),
    ]
    for decode in decoders:
        with pytest.raises(codec.DecodeError) as caught:
            decode()
        assert caught.value.path == path
        assert reason in caught.value.reason


OUT_OF_RANGE_OBJECTS = [
    pytest.param(
        ev.OutputAudioChunk(chunk=AUDIO, content_index=-1),
        "events.OutputAudioChunk.content_index must not be negative",
        id="negative-content-index",
    ),
    pytest.param(
        ev.AudioInput(chunk=ev.RealtimeAudioChunk(data=b"", sample_rate_hz=0)),
        "events.RealtimeAudioChunk.sample_rate_hz must be at least 1",
        id="zero-sample-rate",
    ),
    pytest.param(
        pub.OutputAudioChunk(chunk=ev.RealtimeAudioChunk(data=b"", channels=-1)),
        "events.RealtimeAudioChunk.channels must be at least 1",
        id="negative-channels",
    ),
    pytest.param(
        pub.AssistantTranscriptTruncated(item_id="i", audio_played_ms=-1),
        "public.AssistantTranscriptTruncated.audio_played_ms must not be negative",
        id="negative-audio-played-ms",
    ),
    pytest.param(
        pub.MediaDropped(dropped=1, dropped_ms=float("nan")),
        "JSON has no NaN",
        id="nan-dropped-ms",
    ),
    pytest.param(
        pub.TranscriptCommitted(message=tr.UserMessage(item_id="", text="t")),
        "transcript.UserMessage.item_id must not be empty",
        id="empty-message-id",
    ),
    pytest.param(
        tr.AssistantMessage(
            response_id="r", item_ids=("a", ""), blocks=(), stop_reason=ev.StopReason.END_TURN
        ),
        "transcript.AssistantMessage.item_ids must not be empty or hold an empty id",
        id="empty-id-in-item-ids",
    ),
    pytest.param(
        ev.ToolCallRequested(call_id="c", tool_name="t", arguments={"a": [float("inf")]}),
        "not a JSON value at $.a[0]",
        id="infinite-float-in-arguments",
    ),
]


@pytest.mark.parametrize(("obj", "message"), OUT_OF_RANGE_OBJECTS)
def test_values_out_of_range_are_refused_on_encode(obj: Any, message: str) -> None:
    for encode in (codec.to_dict, codec.to_json):
        with pytest.raises(ValueError, match=re.escape(message)):
            encode(obj)


def test_blank_ids_of_session_input_travel_for_the_reducer_to_judge() -> None:
    # The reducer treats a blank item or response id as inert input that it
    # counts as rejected: a recording must carry such an event as it came.
    blank = ev.OutputTextDeltaForItem(response_id=" ", delta_id="", item_id="", delta="x")
    assert codec.from_json(codec.to_json(blank)) == blank
    event = tr.AssistantTextDelta(response_id="", delta_id="", item_id=" ", delta="x")
    wrapped = ev.RealtimeTranscript(event=event)
    assert codec.from_json(codec.to_json(wrapped)) == wrapped
    call = ev.ToolCallRequested(call_id="", tool_name="", arguments={})
    assert codec.from_json(codec.to_json(call)) == call


# Repeated keys: the standard library keeps the last one, so a second "type"
# picked another class. from_json refuses them wherever they are.

REPEATED_KEY_DOCUMENTS = [
    pytest.param(
        '{"type":"turn_started","type":"turn_committed"}',
        ev.RealtimeSessionEvent,
        "$.type",
        id="second-tag",
    ),
    pytest.param(
        '{"type":"output_audio_chunk","chunk":{"data":"AAE=","channels":1,"data":""}}',
        ev.RealtimeSessionEvent,
        "$.chunk.data",
        id="nested-field",
    ),
    pytest.param(
        '{"type":"tool_call_requested","call_id":"c","tool_name":"t",'
        '"arguments":{"to":[{"city":"Oslo","city":"Rome"}]}}',
        ev.RealtimeSessionEvent,
        "$.arguments.to[0].city",
        id="inside-tool-arguments",
    ),
    pytest.param(
        '{"type": "user_message", "item_id": "i", "text": "a", "text": "a"}',
        tr.Message,
        "$.text",
        id="same-value-twice",
    ),
]


@pytest.mark.parametrize(("text", "target", "path"), REPEATED_KEY_DOCUMENTS)
def test_repeated_keys_are_refused(text: str, target: Any, path: str) -> None:
    for document in (text, text.encode()):
        with pytest.raises(codec.DecodeError) as caught:
            codec.from_json(document, type=target)
        assert caught.value.path == path
        assert caught.value.reason.startswith("repeated key ")


# A repeated key is noticed however the document hides it: colons inside strings
# (a text may hold as many as the document has members), in nested objects, in arrays.
HIDDEN_REPEATED_KEY_DOCUMENTS = [
    pytest.param(
        '{"type":"input_transcript_partial","text":"a:b","text":"c"}',
        ev.RealtimeSessionEvent,
        "$.text",
        id="colon-in-a-value",
    ),
    pytest.param(
        '{"type":"tool_call_requested","call_id":"c","tool_name":"t",'
        '"arguments":{"a:":1,"a:":2,"b":[{}]}}',
        ev.RealtimeSessionEvent,
        '$.arguments["a:"]',
        id="colon-in-the-key",
    ),
    pytest.param(
        '{"type":"tool_call_requested","call_id":"c","tool_name":"t",'
        '"arguments":[{"a":1},{"a":"::","a":3}]}',
        ev.RealtimeSessionEvent,
        "$.arguments[1].a",
        id="in-an-array",
    ),
    pytest.param(
        '{"type":"realtime_transcript","event":{"type":"item_skipped",'
        '"item_id":"i","item_id":"i:j"}}',
        ev.RealtimeSessionEvent,
        "$.event.item_id",
        id="nested-object",
    ),
]


@pytest.mark.parametrize(("text", "target", "path"), HIDDEN_REPEATED_KEY_DOCUMENTS)
def test_repeated_keys_are_refused_beside_colons_in_strings(
    text: str, target: Any, path: str
) -> None:
    for document in (text, text.encode()):
        with pytest.raises(codec.DecodeError) as caught:
            codec.from_json(document, type=target)
        assert caught.value.path == path
        assert caught.value.reason.startswith("repeated key ")


def test_colons_in_strings_decode() -> None:
    event = ev.ToolCallRequested(
        call_id="call:1",
        tool_name="clock",
        arguments={"at": "12:30", "zones": [{"utc:offset": "+01:00"}], "a:b": {}},
    )
    assert codec.from_json(codec.to_json(event)) == event
    wrapped = ev.RealtimeTranscript(event=tr.ItemSkipped(item_id="fc:1", previous_item_id="a:b"))
    assert codec.from_json(codec.to_json(wrapped)) == wrapped


# A document holding as many keys as its class has fields has each looked up;
# one of them misspelt is still an unknown key, named as such.


@pytest.mark.parametrize(
    ("text", "path", "reason"),
    [
        pytest.param(
            '{"type":"output_audio_chunk","chunk":{"data":"AAE=","sample_rate_hz":24000,'
            '"channels":1,"mimetype":"audio/pcm"}}',
            "$.chunk.mimetype",
            "unknown key 'mimetype' for events.RealtimeAudioChunk",
            id="record",
        ),
        pytest.param(
            '{"type":"output_audio_chunk","chunk":{"data":"AAE="},"response_id":"r",'
            '"item_id":"i","contentindex":0}',
            "$.contentindex",
            "unknown key 'contentindex' for events.OutputAudioChunk",
            id="tagged",
        ),
        pytest.param(
            '{"type":"turn_completed","response_id":"r","stopreason":"end_turn","usage":{}}',
            "$.stopreason",
            "unknown key 'stopreason' for events.TurnCompleted",
            id="beside-a-default",
        ),
    ],
)
def test_a_misspelt_key_in_a_complete_document_is_an_unknown_key(
    text: str, path: str, reason: str
) -> None:
    with pytest.raises(codec.DecodeError) as caught:
        codec.from_json(text)
    assert (caught.value.path, caught.value.reason) == (path, reason)


# Text is read by the fastest reader that can vouch for it: one that writes it
# back byte for byte. Whatever reads it, the outcome is the same.

LONG_DATA = "AAEC" * 200  # a text above the length where the reader changes


@pytest.mark.parametrize(
    ("text", "path"),
    [
        pytest.param(
            '{"type":"output_audio_chunk","chunk":{"data":"' + LONG_DATA + '"},'
            '"item_id":"i","item_id":"j"}',
            "$.item_id",
            id="long",
        ),
        pytest.param(
            '{"type":"output_audio_chunk","chunk":{"data":"' + LONG_DATA + '","data":"AAE="}}',
            "$.chunk.data",
            id="long-nested",
        ),
        pytest.param(
            '{"type":"input_transcript_partial","text":"\\u00e9","text":"\\u00e9"}',
            "$.text",
            id="escaped",
        ),
        pytest.param(
            '{"type":"input_transcript_partial","text":"a\\nb","text":"a\\nb"}',
            "$.text",
            id="escaped-newline",
        ),
    ],
)
def test_repeated_keys_are_refused_in_long_and_escaped_texts(text: str, path: str) -> None:
    for document in (text, text.encode()):
        with pytest.raises(codec.DecodeError) as caught:
            codec.from_json(document)
        assert caught.value.path == path
        assert caught.value.reason.startswith("repeated key ")


@pytest.mark.parametrize(
    "text",
    [
        '{"type": "input_transcript_partial", "text": "hi"}',
        '{"text":"hi","type":"input_transcript_partial"}',
        '{"type":"input_transcript_partial","text":"h\\u0069"}',
        '{"type":"input_transcript_partial","text":"\\u00e9t\\u00e9"}',
        '{"type":"input_transcript_partial","text":"été"}',
        '{"type":"input_transcript_partial","text":"a\\/b\\nc\\"d"}',
        '{"type":"assistant_transcript_truncated","item_id":"i","audio_played_ms":1E3}',
        '{"type":"assistant_transcript_truncated","item_id":"i","audio_played_ms":1000}',
        '{"type":"tool_call_requested","call_id":"c","tool_name":"t","arguments":{"x":1.0e0}}',
        (
            '{"type":"tool_call_requested","call_id":"c","tool_name":"t","arguments":'
            '{"x":18446744073709551616}}'
        ),
        '{"type":"output_audio_chunk","chunk":{"data":"' + LONG_DATA + '"}}',
        '{"type":"output_audio_chunk","chunk":{"data":"' + LONG_DATA + '"} }',
        '{"type":"output_audio_chunk","chunk":{"data":"' + LONG_DATA + '","mime_type":"\\u0061"}}',
    ],
)
def test_texts_not_written_the_codecs_way_decode_as_the_strict_reader_reads_them(
    text: str,
) -> None:
    def decoded(decode: Callable[[], object]) -> object:
        try:
            return decode()
        except codec.DecodeError as error:
            return (error.path, error.reason)

    expected = decoded(lambda: codec.from_dict(json.loads(text)))
    for document in (text, text.encode()):
        assert decoded(functools.partial(codec.from_json, document)) == expected


def test_texts_no_fast_reader_takes_are_judged_by_the_strict_reader() -> None:
    deep = '{"type":"tool_call_requested","call_id":"c","tool_name":"t","arguments":'
    for text, path in (
        (deep + "[" * 300 + "]" * 300 + "}", "$.arguments" + "[0]" * 256),
        ('{"type":"input_transcript_partial","text":"\\ud800"}', None),
        ('{"type":"input_transcript_partial","text":NaN}', "$"),
        (deep + '{"\\u00e9":-Infinity}}', "$"),
        ('{"type":"input_transcript_partial","text":"a"} x', "$"),
    ):
        try:
            result = codec.from_json(text)
        except codec.DecodeError as error:
            assert path is not None
            assert error.path == path
        else:
            assert path is None
            assert result == ev.InputTranscriptPartial(text="\ud800")


def test_texts_with_escapes_are_read_once() -> None:
    # The wire spells characters outside ASCII as \u escapes, which orjson
    # writes back otherwise: such texts are vouched for by their count of keys.
    def refuse(text: object, *, unique_keys: bool = False) -> object:
        raise AssertionError(f"read again: {text!r}")

    events: list[ev.RealtimeSessionEvent] = [
        ev.InputTranscriptPartial(text="été, 東京"),
        ev.ToolCallRequested(call_id="c", tool_name="t", arguments={"q": ["ä", {"ö": None}]}),
        ev.RealtimeTranscript(event=tr.ItemSkipped(item_id="é")),
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_json, "parse", refuse)
        for event in events:
            text = codec.to_json(event)
            assert "\\u" in text
            assert codec.from_json(text) == event
            assert codec.from_json(text.encode()) == event


# Whatever reader takes a text, it decodes as the strict reader reads it: a
# repeated key is refused at its path however the text is spelt (spaces, escapes,
# colons and quotes in strings, the words NaN and Infinity in and out of them).

_KEYS = st.sampled_from(["type", "call_id", "a", "a:", '":', 'b":1,"a', "é", "NaN", ""])
_STRINGS = st.text(alphabet='a:"\\é\n {},NaInfity', max_size=6)


@attrs.frozen
class _Pairs:
    """An object as spelt, keys in order, repeats allowed."""

    pairs: tuple[tuple[str, object], ...]


class _Token(str):
    """A number, constant or word spelt as it stands."""


_VALUES: st.SearchStrategy[object] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _STRINGS
    | st.sampled_from(["NaN", "-Infinity", "1E400", "-0", "1.0e0", "18446744073709551616"]).map(
        _Token
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(st.tuples(_KEYS, children), max_size=3).map(lambda pairs: _Pairs(tuple(pairs)))
    ),
    max_leaves=8,
)


def _spell(value: object, draw: Callable[[st.SearchStrategy[Any]], Any]) -> str:
    space: str = draw(st.sampled_from(["", "", " ", "\n\t"]))
    if isinstance(value, _Token):
        return value
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=bool(draw(st.booleans())))
    if isinstance(value, list):
        return "[" + ",".join(space + _spell(item, draw) for item in value) + "]"
    if isinstance(value, _Pairs):
        members = (
            f"{_spell(key, draw)}{space}:{space}{_spell(item, draw)}" for key, item in value.pairs
        )
        return "{" + ",".join(members) + space + "}"
    return json.dumps(value)


def _outcome(decode: Callable[[], object]) -> object:
    try:
        return decode()
    except codec.DecodeError as error:
        return (error.path, error.reason)


def _read_strictly(text: str) -> object:
    try:
        data = _json.parse(text, unique_keys=True)
    except _json.JsonError as error:
        raise codec.DecodeError(f"${error.path}", error.reason) from None
    return codec.from_dict(data)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_spelling_decodes_as_the_strict_reader_reads_it(data: st.DataObject) -> None:
    fields: list[tuple[str, object]] = [
        ("type", data.draw(st.sampled_from(["tool_call_requested", "input_transcript_partial"]))),
        ("call_id", data.draw(_STRINGS)),
        ("tool_name", "t"),
        ("arguments", data.draw(_VALUES)),
        ("text", data.draw(_STRINGS)),
    ]
    for _ in range(data.draw(st.integers(min_value=0, max_value=2))):
        position = data.draw(st.integers(min_value=0, max_value=len(fields)))
        key = data.draw(st.sampled_from(["type", "call_id", "text", "a:"]))
        fields.insert(position, (key, data.draw(_VALUES)))
    text = _spell(_Pairs(tuple(fields)), data.draw)
    expected = _outcome(functools.partial(_read_strictly, text))
    assert _outcome(functools.partial(codec.from_json, text)) == expected
    assert _outcome(functools.partial(codec.from_json, text.encode())) == expected


# Audio is decoded from base64 by pybase64 where it can, by the standard
# library's strict mode where it cannot: the outcome is always the latter's.


@settings(max_examples=500, deadline=None)
@given(
    data=st.text(alphabet="AQgw+/=-_ \nÄ", max_size=12)
    | st.binary(max_size=9).map(lambda raw: base64.b64encode(raw).decode()),
    padding=st.sampled_from(["", "=", "==", "===="]),
)
def test_base64_is_read_as_the_standard_librarys_strict_mode_reads_it(
    data: str, padding: str
) -> None:
    text = data + padding
    try:
        expected: bytes | None = binascii.a2b_base64(text, strict_mode=True)
    except ValueError:
        expected = None

    def from_dict() -> bytes:
        return codec.from_dict({"data": text}, type=ev.RealtimeAudioChunk).data

    def from_json() -> bytes:
        return codec.from_json(json.dumps({"data": text}), type=ev.RealtimeAudioChunk).data

    for decode in (from_dict, from_json):
        if expected is None:
            with pytest.raises(codec.DecodeError, match=r"^\$\.data: invalid base64 \("):
                decode()
        else:
            assert decode() == expected


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200) | st.sampled_from([b"\x01\x02" * 480, bytes(range(256)) * 8]))
def test_base64_is_written_as_the_standard_library_writes_it(raw: bytes) -> None:
    expected = base64.b64encode(raw).decode("ascii")
    chunk = ev.RealtimeAudioChunk(data=raw)
    assert codec.to_dict(chunk)["data"] == expected
    assert json.loads(codec.to_json(chunk))["data"] == expected


def test_base64_the_standard_library_takes_with_surplus_padding_is_read() -> None:
    for text, expected in (("QUJD=", b"ABC"), ("QUJD====", b"ABC"), ("QR==", b"A")):
        assert codec.from_dict({"data": text}, type=ev.RealtimeAudioChunk).data == expected


# Error messages quote keys and values in part, with their length.

HUGE = "k" * 10_000_000

HUGE_DOCUMENTS = [
    pytest.param('{"type":"turn_started","' + HUGE + '":1}', f"$['{HUGE[:60]}'...", id="key"),
    pytest.param('{"type":"' + HUGE + '"}', "$.type", id="tag"),
    pytest.param('{"' + HUGE + '":1,"' + HUGE + '":2}', f"$['{HUGE[:60]}'...", id="repeated"),
    pytest.param(
        '{"type":"turn_completed","response_id":"r","stop_reason":"' + HUGE + '"}',
        "$.stop_reason",
        id="enum-value",
    ),
]


@pytest.mark.parametrize(("text", "path_start"), HUGE_DOCUMENTS)
def test_error_messages_quote_a_bounded_part_of_what_they_name(text: str, path_start: str) -> None:
    with pytest.raises(codec.DecodeError) as caught:
        codec.from_json(text)
    message = str(caught.value)
    assert len(message) < 400
    assert caught.value.path.startswith(path_start)
    assert "... (10000000 characters)" in message


class NotJson:
    pass


BAD_PYTHON_VALUES = [
    pytest.param(
        {"type": "text_input", "text": b"hi"},
        ev.RealtimeInputChunk,
        "$.text",
        "got a Python bytes",
        id="bytes-for-str",
    ),
    pytest.param(
        {"type": "audio_input", "chunk": {"data": b"\x00\x01"}},
        ev.RealtimeInputChunk,
        "$.chunk.data",
        "expected a base64 string",
        id="raw-bytes-for-base64",
    ),
    pytest.param(
        {"type": "user_message", "item_id": "i", "text": "t"} | {1: "x"},
        tr.Message,
        "$[1]",
        "unknown key 1",
        id="non-string-key",
    ),
    pytest.param(
        {**OK_MESSAGE, "item_ids": ("a",)},
        tr.Message,
        "$.item_ids",
        "expected an array, got a Python tuple",
        id="tuple-for-array",
    ),
    pytest.param(
        {"type": "media_dropped", "dropped": 1, "dropped_ms": float("nan")},
        pub.RealtimeEvent,
        "$.dropped_ms",
        "expected a finite number",
        id="nan-float",
    ),
    pytest.param(
        {"type": "tool_call_requested", "call_id": "c", "tool_name": "t", "arguments": {"a": {1}}},
        ev.RealtimeSessionEvent,
        "$.arguments.a",
        "not a JSON value: a Python set",
        id="set-in-arguments",
    ),
    pytest.param(
        {"type": "tool_call_requested", "call_id": "c", "tool_name": "t", "arguments": {2: 1}},
        ev.RealtimeSessionEvent,
        "$.arguments",
        "object keys must be strings",
        id="int-key-in-arguments",
    ),
    pytest.param(
        {
            "type": "tool_call_requested",
            "call_id": "c",
            "tool_name": "t",
            "arguments": [NotJson()],
        },
        ev.RealtimeSessionEvent,
        "$.arguments[0]",
        "not a JSON value: a Python NotJson",
        id="object-in-arguments",
    ),
    pytest.param(
        {"type": "tool_call_requested", "call_id": "c", "tool_name": "t", "arguments": [1e400]},
        ev.RealtimeSessionEvent,
        "$.arguments[0]",
        "expected a finite number",
        id="infinite-float-in-arguments",
    ),
]


@pytest.mark.parametrize(("data", "target", "path", "reason"), BAD_PYTHON_VALUES)
def test_bad_python_value_raises_decode_error_at_its_path(
    data: object, target: Any, path: str, reason: str
) -> None:
    with pytest.raises(codec.DecodeError) as caught:
        codec.from_dict(data, type=target)
    assert caught.value.path == path
    assert reason in caught.value.reason


def test_cyclic_arguments_are_refused() -> None:
    cycle: list[object] = []
    cycle.append(cycle)
    data = {"type": "tool_call_requested", "call_id": "c", "tool_name": "t", "arguments": cycle}
    with pytest.raises(codec.DecodeError) as caught:
        codec.from_dict(data)
    assert caught.value.path == "$.arguments[0]"
    assert "appears twice" in caught.value.reason


def test_deeply_nested_python_arguments_are_refused_without_recursion() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    data = {"type": "tool_call_requested", "call_id": "c", "tool_name": "t", "arguments": deep}
    with pytest.raises(codec.DecodeError, match="nested more than"):
        codec.from_dict(data)


def test_decode_error_survives_pickling() -> None:
    with pytest.raises(codec.DecodeError) as caught:
        codec.from_json('{"type":"output_audio_chunk","chunk":{"data":"A"}}')
    copied = pickle.loads(pickle.dumps(caught.value))
    assert (copied.path, copied.reason, str(copied)) == (
        caught.value.path,
        caught.value.reason,
        str(caught.value),
    )


def test_unsupported_targets_and_objects_raise_type_error() -> None:
    with pytest.raises(TypeError, match="cannot decode into"):
        codec.from_dict({}, type=int)
    with pytest.raises(TypeError, match="cannot decode into"):
        codec.from_dict({}, type=ev.Usage | None)
    with pytest.raises(TypeError, match="two classes tagged"):
        codec.from_dict({}, type=ev.InputTranscriptPartial | pub.InputTranscriptPartial)
    with pytest.raises(TypeError, match="not a wire class"):
        codec.to_dict(object())  # type: ignore[arg-type]


def test_records_and_blocks_decode_untagged() -> None:
    assert codec.from_dict({"data": "AAE="}, type=ev.RealtimeAudioChunk) == (
        ev.RealtimeAudioChunk(data=b"\x00\x01")
    )
    assert codec.from_dict({"item_id": "a", "text": "x"}, type=tr.Block) == (
        tr.TextBlock(item_id="a", text="x")
    )
    assert codec.from_dict({"item_id": "a", "text": "x", "truncated": True}, type=tr.Block) == (
        tr.TranscriptBlock(item_id="a", text="x", truncated=True)
    )


def test_decoding_does_not_modify_its_input() -> None:
    data = {"type": "assistant_turn_completed", "response_id": "r", "stop_reason": "end_turn"}
    snapshot = copy.deepcopy(data)
    codec.from_dict(data, type=tr.RealtimeTranscriptEvent)
    assert data == snapshot


# Hooks are built once per target and per class.


def test_decoders_are_built_once_per_target(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "_DECODERS", {})
    monkeypatch.setattr(codec, "_DECODERS_BY_ID", {})
    built: list[object] = []
    real_hook = codec._FAST.hook

    def counting_hook(target: object) -> Any:
        built.append(target)
        return real_hook(target)

    monkeypatch.setattr(codec._FAST, "hook", counting_hook)
    text = '{"type":"input_transcript_partial","text":"hi"}'
    for _ in range(3):
        codec.from_json(text)
        codec.from_json(text, type=pub.RealtimeEvent)
    # An equal union built anew finds the same decoder.
    rebuilt = functools.reduce(operator.or_, typing.get_args(pub.RealtimeEvent))
    assert rebuilt is not pub.RealtimeEvent
    codec.from_json(text, type=rebuilt)
    assert built == [ev.RealtimeSessionEvent, pub.RealtimeEvent]


def test_encoders_are_built_once_per_class(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codec, "_ENCODERS", {})
    built: list[type] = []
    real_hook = codec._UNSTRUCTURER.hook

    def counting_hook(cls: type) -> Any:
        built.append(cls)
        return real_hook(cls)

    monkeypatch.setattr(codec._UNSTRUCTURER, "hook", counting_hook)
    for _ in range(3):
        codec.to_json(ev.TurnStarted())
        codec.to_json(ev.OutputAudioChunk(chunk=AUDIO))
    assert built == [ev.TurnStarted, ev.OutputAudioChunk]


def test_no_per_call_converter_dispatch(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("per-call converter dispatch")

    for example in EXAMPLES:  # build every hook first
        codec.from_dict(codec.to_dict(example), type=type(example))
    monkeypatch.setattr(cattrs.Converter, "structure", refuse)
    monkeypatch.setattr(cattrs.Converter, "unstructure", refuse)
    for example in EXAMPLES:
        cls = type(example)
        assert codec.from_json(codec.to_json(example), type=cls) == example
        if cls in TAGGED_CLASSES:
            assert codec.from_json(codec.to_json(example), type=union_of(cls)) == example


# Property-based: generated instances of every class.

texts = st.text(st.characters(exclude_categories=()), max_size=20)
ids = st.text(max_size=8)
ints = st.integers()
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
# The ranges the codec enforces: counts and indices from 0, rates and channels
# from 1, and the ids of committed messages never empty.
counts = st.integers(min_value=0)
positive = st.integers(min_value=1)
durations_ms = st.floats(min_value=0, allow_nan=False, allow_infinity=False)
message_ids = st.text(min_size=1, max_size=8)


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


json_values: st.SearchStrategy[ev.JsonValue] = st.recursive(
    st.none() | st.booleans() | ints | finite_floats | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=12,
)
stop_reasons = st.sampled_from(ev.StopReason)
roles = st.sampled_from(tr.RealtimeTranscriptRole)
usages = st.builds(
    ev.Usage,
    input_tokens=counts,
    output_tokens=counts,
    cache_creation_tokens=optional(counts),
    cache_read_tokens=optional(counts),
)
audio_chunks = st.builds(
    ev.RealtimeAudioChunk,
    data=st.binary(max_size=64),
    sample_rate_hz=positive,
    channels=positive,
    mime_type=texts,
)
video_chunks = st.builds(ev.RealtimeVideoChunk, data=st.binary(max_size=64), mime_type=texts)
text_blocks = st.builds(tr.TextBlock, item_id=message_ids, text=texts)
transcript_blocks = st.builds(
    tr.TranscriptBlock,
    item_id=message_ids,
    text=texts,
    truncated=st.booleans(),
    estimated=st.booleans(),
    audio_played_ms=optional(counts),
)
user_messages = st.builds(tr.UserMessage, item_id=message_ids, text=texts)
assistant_messages = st.builds(
    tr.AssistantMessage,
    response_id=message_ids,
    item_ids=st.lists(message_ids, max_size=3).map(tuple),
    blocks=st.lists(text_blocks | transcript_blocks, max_size=3).map(tuple),
    stop_reason=stop_reasons,
    usage=optional(usages),
)
messages = user_messages | assistant_messages


def item_delta(cls: type) -> st.SearchStrategy[Any]:
    return st.builds(
        cls,
        response_id=ids,
        delta_id=ids,
        item_id=ids,
        previous_item_id=optional(ids),
        content_index=counts,
        delta=texts,
    )


TRANSCRIPT_EVENT_STRATEGIES: dict[type, st.SearchStrategy[Any]] = {
    tr.ItemObserved: st.builds(
        tr.ItemObserved,
        item_id=ids,
        previous_item_id=optional(ids),
        role=roles,
        response_id=optional(ids),
    ),
    tr.ItemSkipped: st.builds(tr.ItemSkipped, item_id=ids, previous_item_id=optional(ids)),
    tr.UserTranscriptFinal: st.builds(
        tr.UserTranscriptFinal,
        item_id=ids,
        previous_item_id=optional(ids),
        content_index=counts,
        text=texts,
    ),
    tr.AssistantTextDelta: item_delta(tr.AssistantTextDelta),
    tr.AssistantTranscriptDelta: item_delta(tr.AssistantTranscriptDelta),
    tr.AssistantTranscriptTruncated: st.builds(
        tr.AssistantTranscriptTruncated,
        response_id=ids,
        item_id=ids,
        content_index=counts,
        text=texts,
        audio_played_ms=optional(counts),
        estimated=st.booleans(),
    ),
    tr.AssistantTranscriptFinalText: st.builds(
        tr.AssistantTranscriptFinalText,
        response_id=ids,
        item_id=ids,
        content_index=counts,
        text=texts,
    ),
    tr.AssistantTurnCompleted: st.builds(
        tr.AssistantTurnCompleted, response_id=ids, stop_reason=stop_reasons, usage=optional(usages)
    ),
    tr.AssistantTurnInterrupted: st.builds(tr.AssistantTurnInterrupted, response_id=ids),
    tr.AssistantTranscriptHeardInFull: st.builds(
        tr.AssistantTranscriptHeardInFull, response_id=ids, item_id=ids
    ),
    tr.OrphansReleased: st.builds(
        tr.OrphansReleased, item_ids=st.lists(ids, max_size=3).map(tuple)
    ),
}
transcript_events = st.one_of(*TRANSCRIPT_EVENT_STRATEGIES.values())

STRATEGIES: dict[type, st.SearchStrategy[Any]] = {
    ev.Usage: usages,
    ev.RealtimeAudioChunk: audio_chunks,
    ev.RealtimeVideoChunk: video_chunks,
    tr.TextBlock: text_blocks,
    tr.TranscriptBlock: transcript_blocks,
    tr.UserMessage: user_messages,
    tr.AssistantMessage: assistant_messages,
    tr.Committed: st.builds(tr.Committed, message=messages),
    tr.Revised: st.builds(tr.Revised, item_id=message_ids, message=messages),
    **TRANSCRIPT_EVENT_STRATEGIES,
    ev.InputTranscriptPartial: st.builds(ev.InputTranscriptPartial, text=texts),
    ev.InputTranscriptFinal: st.builds(ev.InputTranscriptFinal, text=texts),
    ev.InputTranscriptFinalForItem: st.builds(
        ev.InputTranscriptFinalForItem,
        item_id=ids,
        previous_item_id=optional(ids),
        content_index=counts,
        text=texts,
    ),
    ev.TurnStarted: st.builds(ev.TurnStarted),
    ev.TurnCommitted: st.builds(ev.TurnCommitted),
    ev.TurnCompleted: st.builds(
        ev.TurnCompleted, response_id=ids, stop_reason=stop_reasons, usage=usages
    ),
    ev.OutputTextDelta: st.builds(ev.OutputTextDelta, delta=texts),
    ev.OutputTextDeltaForItem: item_delta(ev.OutputTextDeltaForItem),
    ev.OutputAudioTranscriptDeltaForItem: item_delta(ev.OutputAudioTranscriptDeltaForItem),
    ev.AssistantTranscriptFinal: st.builds(
        ev.AssistantTranscriptFinal,
        response_id=ids,
        item_id=ids,
        previous_item_id=optional(ids),
        content_index=counts,
        text=texts,
    ),
    ev.OutputAudioChunk: st.builds(
        ev.OutputAudioChunk,
        chunk=audio_chunks,
        response_id=optional(ids),
        item_id=optional(ids),
        content_index=counts,
    ),
    ev.OutputVideoChunk: st.builds(
        ev.OutputVideoChunk, chunk=video_chunks, response_id=optional(ids), item_id=optional(ids)
    ),
    ev.Interrupted: st.builds(ev.Interrupted, response_id=optional(ids)),
    ev.ToolCallRequested: st.builds(
        ev.ToolCallRequested, call_id=ids, tool_name=ids, arguments=json_values
    ),
    ev.AssistantTranscriptTruncated: st.builds(
        ev.AssistantTranscriptTruncated,
        response_id=optional(ids),
        item_id=ids,
        content_index=counts,
        audio_played_ms=counts,
        truncated_text=optional(texts),
    ),
    ev.RealtimeTranscript: st.builds(ev.RealtimeTranscript, event=transcript_events),
    ev.ProviderError: st.builds(ev.ProviderError, code=texts, message=texts, fatal=st.booleans()),
    ev.ToolCallCancelled: st.builds(ev.ToolCallCancelled, call_id=ids),
    ev.Reconnecting: st.builds(ev.Reconnecting, provider=texts, reason=texts),
    ev.Reconnected: st.builds(
        ev.Reconnected,
        provider=texts,
        reason=texts,
        gap_ms=ints,
        attempts=ints,
        input_held=ints,
        input_dropped=ints,
        restore_conversation=st.booleans(),
    ),
    ev.ReconnectFailed: st.builds(
        ev.ReconnectFailed,
        provider=texts,
        reason=texts,
        attempts=ints,
        error=texts,
        input_dropped=ints,
    ),
    ev.TextInput: st.builds(ev.TextInput, text=texts),
    ev.AudioInput: st.builds(ev.AudioInput, chunk=audio_chunks),
    ev.VideoInput: st.builds(ev.VideoInput, chunk=video_chunks),
    pub.InputTranscriptPartial: st.builds(pub.InputTranscriptPartial, text=texts),
    pub.InputTranscriptFinal: st.builds(
        pub.InputTranscriptFinal, text=texts, item_id=optional(ids)
    ),
    pub.TurnStarted: st.builds(pub.TurnStarted),
    pub.TurnCommitted: st.builds(pub.TurnCommitted),
    pub.TurnCompleted: st.builds(
        pub.TurnCompleted, response_id=ids, stop_reason=stop_reasons, usage=usages
    ),
    pub.OutputTextDelta: st.builds(
        pub.OutputTextDelta, delta=texts, response_id=optional(ids), item_id=optional(ids)
    ),
    pub.OutputAudioTranscriptDelta: st.builds(
        pub.OutputAudioTranscriptDelta, delta=texts, response_id=ids, item_id=ids
    ),
    pub.OutputAudioChunk: st.builds(
        pub.OutputAudioChunk,
        chunk=audio_chunks,
        response_id=optional(ids),
        item_id=optional(ids),
        content_index=counts,
    ),
    pub.OutputVideoChunk: st.builds(
        pub.OutputVideoChunk, chunk=video_chunks, response_id=optional(ids), item_id=optional(ids)
    ),
    pub.Interrupted: st.builds(pub.Interrupted, response_id=optional(ids)),
    pub.ToolCallRequested: st.builds(pub.ToolCallRequested, call_id=ids, tool_name=ids),
    pub.AssistantTranscriptTruncated: st.builds(
        pub.AssistantTranscriptTruncated,
        item_id=ids,
        audio_played_ms=counts,
        truncated_text=optional(texts),
    ),
    pub.ProviderError: st.builds(pub.ProviderError, code=texts, message=texts, fatal=st.booleans()),
    pub.ToolCallCancelled: st.builds(pub.ToolCallCancelled, call_id=ids),
    pub.Reconnecting: st.builds(pub.Reconnecting, provider=texts, reason=texts),
    pub.Reconnected: st.builds(
        pub.Reconnected,
        provider=texts,
        reason=texts,
        gap_ms=ints,
        attempts=ints,
        input_held=ints,
        input_dropped=ints,
    ),
    pub.ReconnectFailed: st.builds(
        pub.ReconnectFailed,
        provider=texts,
        reason=texts,
        attempts=ints,
        error=texts,
        input_dropped=ints,
    ),
    pub.TranscriptCommitted: st.builds(pub.TranscriptCommitted, message=messages),
    pub.TranscriptRevised: st.builds(pub.TranscriptRevised, item_id=message_ids, message=messages),
    pub.MediaDropped: st.builds(pub.MediaDropped, dropped=counts, dropped_ms=durations_ms),
    pub.ToolCallCompleted: st.builds(pub.ToolCallCompleted, call_id=ids),
    pub.ToolCallFailed: st.builds(pub.ToolCallFailed, call_id=ids, error=texts),
    pub.ToolCallTimedOut: st.builds(pub.ToolCallTimedOut, call_id=ids, elapsed_ms=counts),
    pub.SessionClosed: st.builds(pub.SessionClosed, reason=texts, error=optional(texts)),
    pub.RecordingFailed: st.builds(pub.RecordingFailed, error=texts, fatal=st.booleans()),
    pub.ResponseLatency: st.builds(
        pub.ResponseLatency,
        response_id=ids,
        stop_reason=st.sampled_from(ev.StopReason),
        since=optional(st.sampled_from(["turn_committed", "tool_result"])),
        first_audio_ms=optional(finite_floats),
        first_text_ms=optional(finite_floats),
        completed_ms=optional(finite_floats),
        tool_ms=optional(finite_floats),
    ),
}


def test_strategies_cover_every_wire_class() -> None:
    assert set(STRATEGIES) == set(ALL_CLASSES)


# Per class, a modest number of examples keeps the suite quick; the long
# variants (``--run-slow``) draw many more across all classes.
PER_CLASS = settings(max_examples=40, deadline=None)
LONG = settings(max_examples=3000, deadline=None)


def check_round_trip(cls: type, obj: Any) -> None:
    text = codec.to_json(obj)
    assert codec.from_json(text, type=cls) == obj
    assert codec.from_dict(codec.to_dict(obj), type=cls) == obj
    if cls in TAGGED_CLASSES:
        assert codec.from_json(text, type=union_of(cls)) == obj


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=name_of)
@PER_CLASS
@given(data=st.data())
def test_generated_instances_round_trip(cls: type, data: st.DataObject) -> None:
    check_round_trip(cls, data.draw(STRATEGIES[cls]))


@pytest.mark.slow
@LONG
@given(data=st.data())
def test_generated_instances_round_trip_long(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(ALL_CLASSES))
    check_round_trip(cls, data.draw(STRATEGIES[cls]))


# Property-based: mutated documents only ever decode, or raise DecodeError.

_ALL_TAGS = sorted({codec.wire_tag(cls) for cls in TAGGED_CLASSES})


def nested_list(depth: int) -> object:
    value: object = []
    for _ in range(depth):
        value = [value]
    return value


garbage = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    st.floats(),
    st.text(max_size=6),
    st.sampled_from(_ALL_TAGS),
    st.binary(max_size=6),
    st.lists(ints, max_size=3),
    st.dictionaries(st.text(max_size=4), ints, max_size=3),
    st.tuples(ints),
    st.just(NotJson()),
    st.integers(min_value=1, max_value=80).map(nested_list),
)


def locations(value: object) -> list[tuple[Any, Any]]:
    """Every (container, key) pair inside ``value``."""
    found: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            found.append((value, key))
            found.extend(locations(child))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.append((value, index))
            found.extend(locations(child))
    return found


@st.composite
def mutated_documents(draw: st.DrawFn, cls: type) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(codec.to_dict(draw(STRATEGIES[cls])))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        # The tag has its own operation, so that the fields get most of the mutations.
        places = [(c, k) for c, k in locations(document) if not (c is document and k == "type")]
        operation = draw(st.sampled_from(["drop", "replace", "add", "nest", "retag"]))
        if operation == "retag" or not places:
            document["type"] = draw(st.sampled_from(_ALL_TAGS) | garbage)
            continue
        container, key = draw(st.sampled_from(places))
        if operation == "drop" and isinstance(container, dict):
            del container[key]
        elif operation == "add":
            dicts = [document, *(c[k] for c, k in places if isinstance(c[k], dict))]
            target: dict[Any, Any] = draw(st.sampled_from(dicts))
            target[draw(st.text(max_size=5) | ints)] = draw(garbage)
        elif operation == "nest":
            container[key] = draw(st.sampled_from([[container[key]], {"v": container[key]}]))
        else:
            container[key] = draw(garbage)
    return document


def check_mutated_document(cls: type, data: st.DataObject) -> None:
    document = data.draw(mutated_documents(cls))
    target = data.draw(st.sampled_from([cls, union_of(cls)]))
    before = repr(document)
    try:
        result = codec.from_dict(document, type=target)
    except codec.DecodeError as error:
        assert error.path.startswith("$")
        assert str(error).startswith(f"{error.path}: ")
    else:
        assert isinstance(result, typing.get_args(target) or target)
        assert codec.from_dict(codec.to_dict(result), type=target) == result
    assert repr(document) == before


@pytest.mark.parametrize("cls", TAGGED_CLASSES, ids=name_of)
@PER_CLASS
@given(data=st.data())
def test_mutated_documents_decode_or_raise_decode_error(cls: type, data: st.DataObject) -> None:
    check_mutated_document(cls, data)


@pytest.mark.slow
@LONG
@given(data=st.data())
def test_mutated_documents_decode_or_raise_decode_error_long(data: st.DataObject) -> None:
    check_mutated_document(data.draw(st.sampled_from(TAGGED_CLASSES)), data)


# A document is decoded by a decoder generated for its class, and only a document
# that one refuses is decoded again by the cattrs converter, to explain the
# failure. Both must take exactly the same documents, as the same objects.


def targets_of(cls: type) -> list[Any]:
    if cls in TAGGED_CLASSES:
        return [cls, union_of(cls)]
    if cls in (tr.TextBlock, tr.TranscriptBlock):
        return [cls, tr.Block]
    return [cls]


def check_generated_decoder_alone(cls: type, data: st.DataObject) -> None:
    obj = data.draw(STRATEGIES[cls])
    target = data.draw(st.sampled_from(targets_of(cls)))
    decoder = codec._decoder(target)
    assert decoder.fast(codec.to_dict(obj), decoder.target) == obj
    assert decoder.fast(json.loads(codec.to_json(obj)), decoder.target) == obj


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=name_of)
@PER_CLASS
@given(data=st.data())
def test_generated_decoders_take_every_valid_document_alone(cls: type, data: st.DataObject) -> None:
    check_generated_decoder_alone(cls, data)


def test_valid_documents_are_never_decoded_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: object, data: object) -> object:
        raise AssertionError(f"decoded again: {data!r}")

    monkeypatch.setattr(codec._Decoder, "explain", refuse)
    for example in EXAMPLES:
        text = codec.to_json(example)
        for target in targets_of(type(example)):
            assert codec.from_json(text, type=target) == example
            assert codec.from_dict(codec.to_dict(example), type=target) == example


# Decoders build an instance by filling its fields' slots, as attrs' __init__
# does, only where that __init__ does nothing more; other classes are called.


def test_every_wire_class_is_built_by_filling_its_slots() -> None:
    assert [name_of(cls) for cls in ALL_CLASSES if codec._slot_setters(cls) is None] == []


def test_classes_whose_init_does_more_are_called(monkeypatch: pytest.MonkeyPatch) -> None:
    def positive(instance: object, attribute: object, value: int) -> None:
        if value < 1:
            raise ValueError("not positive")

    @attrs.frozen(kw_only=True)
    class Validated:
        n: int = attrs.field(validator=positive)

    def magnitude(value: int) -> int:
        return abs(value)

    @attrs.frozen(kw_only=True)
    class Converted:
        n: int = attrs.field(converter=magnitude)

    @attrs.frozen(kw_only=True)
    class PostInit:
        n: int

        def __attrs_post_init__(self) -> None:
            positive(self, None, self.n)

    @attrs.frozen(kw_only=True, cache_hash=True)
    class CachedHash:
        n: int

    @attrs.frozen(kw_only=True, init=False)
    class OwnInit:
        n: int

        def __init__(self, *, n: int) -> None:
            self.__attrs_init__(n=abs(n))

    @attrs.frozen(kw_only=True)
    class Plain:
        n: int

    monkeypatch.setattr(codec._FAST, "_built", {})
    for cls in (Validated, Converted, PostInit, CachedHash, OwnInit):
        assert codec._slot_setters(cls) is None, cls
    assert codec._slot_setters(Plain) is not None

    def decode(cls: type, data: dict[str, Any]) -> Any:
        return codec._FAST.hook(cls)(data, cls)

    for cls in (Validated, PostInit):
        with pytest.raises(ValueError, match="not positive"):
            decode(cls, {"n": 0})
    assert decode(Converted, {"n": -2}) == Converted(n=2)
    assert decode(OwnInit, {"n": -3}) == OwnInit(n=3)
    cached = decode(CachedHash, {"n": 3})
    assert (cached, hash(cached)) == (CachedHash(n=3), hash(CachedHash(n=3)))
    assert decode(Plain, {"n": 3}) == Plain(n=3)


def test_objects_of_dict_subclasses_decode() -> None:
    data = collections.OrderedDict(codec.to_dict(ASSISTANT_MESSAGE))
    data["blocks"] = [collections.OrderedDict(block) for block in data["blocks"]]
    assert codec.from_dict(data, type=tr.Message) == ASSISTANT_MESSAGE


def outcome(decode: Callable[[], object]) -> tuple[bool, object]:
    try:
        return True, decode()
    except Exception:
        return False, None


# Values at the edges of what the fields take: empty ids, ranges' bounds, the
# other scalar types, and values of other fields.
edge_values = st.sampled_from(
    ["", " ", "AAE=", "end_turn", "user", -1, 0, 1, 2**64, -0.5, 0.0, 1.5, True, False, None]
) | st.sampled_from([[], [""], ["a"], {}, {"item_id": "a", "text": "x"}])


@st.composite
def documents_near_the_edges(draw: st.DrawFn, cls: type) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(codec.to_dict(draw(STRATEGIES[cls])))
    places = [(c, k) for c, k in locations(document) if not (c is document and k == "type")]
    if places:
        container, key = draw(st.sampled_from(places))
        container[key] = draw(edge_values)
    return document


def check_decoders_agree(cls: type, data: st.DataObject) -> None:
    document = data.draw(mutated_documents(cls) | documents_near_the_edges(cls))
    target = data.draw(st.sampled_from(targets_of(cls)))
    decoder = codec._decoder(target)
    fast = outcome(lambda: decoder.fast(document, decoder.target))
    explained = outcome(lambda: decoder.explain(document))
    assert fast == explained, document


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=name_of)
@PER_CLASS
@given(data=st.data())
def test_generated_decoders_and_the_converter_take_the_same_documents(
    cls: type, data: st.DataObject
) -> None:
    check_decoders_agree(cls, data)


@pytest.mark.slow
@LONG
@given(data=st.data())
def test_generated_decoders_and_the_converter_take_the_same_documents_long(
    data: st.DataObject,
) -> None:
    check_decoders_agree(data.draw(st.sampled_from(ALL_CLASSES)), data)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_mutated_json_text_decodes_or_raises_decode_error(data: st.DataObject) -> None:
    cls = data.draw(st.sampled_from(typing.get_args(ev.RealtimeSessionEvent)))
    text = codec.to_json(data.draw(STRATEGIES[cls]))
    position = data.draw(st.integers(min_value=0, max_value=len(text)))
    operation = data.draw(st.sampled_from(["truncate", "delete", "insert"]))
    if operation == "truncate":
        text = text[:position]
    elif operation == "delete":
        text = text[:position] + text[position + 1 :]
    else:
        text = text[:position] + data.draw(st.sampled_from('{}[]",:0-eE.\\ntf ')) + text[position:]
    try:
        result = codec.from_json(text)
    except codec.DecodeError as error:
        assert error.path.startswith("$")
    else:
        assert codec.from_json(codec.to_json(result)) == result


def test_decoded_messages_hold_tuples_and_stay_frozen() -> None:
    # Arrays become the tuples the classes declare, so decoded messages hash like built ones.
    decoded = codec.from_json(codec.to_json(ASSISTANT_MESSAGE), type=tr.Message)
    assert decoded == ASSISTANT_MESSAGE
    assert isinstance(decoded, tr.AssistantMessage)
    assert type(decoded.item_ids) is tuple
    assert type(decoded.blocks) is tuple
    assert hash(decoded) == hash(ASSISTANT_MESSAGE)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        decoded.response_id = "other"  # type: ignore[misc]


# What release 0.1.0 wrote (tests/fixtures/v0_1_0, made by the script there) still
# reads, means the same, and is written back the same.

V0_1_0 = Path(__file__).parent / "fixtures" / "v0_1_0"
V0_1_0_SESSIONS = sorted(
    path.name.removesuffix(".recording.jsonl") for path in V0_1_0.glob("*.recording.jsonl")
)
V0_1_0_PUBLIC_LINES = sorted(
    [path.name for path in V0_1_0.glob("*.replay.jsonl")] + ["every_class.public.jsonl"]
)
V0_1_0_WIRE_TARGETS: dict[str, Any] = {
    "events": ev.RealtimeSessionEvent,
    "public": pub.RealtimeEvent,
    "transcript": tr.RealtimeTranscriptEvent,
    "messages": tr.Message,
    "inputs": ev.RealtimeInputChunk,
    "changes": tr.TranscriptChange,
}


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_0_1_0_fixtures_are_all_there() -> None:
    assert len(V0_1_0_SESSIONS) == 7
    assert "every_class" in V0_1_0_SESSIONS
    assert {path.stem for path in (V0_1_0 / "wire").glob("*.jsonl")} == set(V0_1_0_WIRE_TARGETS)


@pytest.mark.parametrize("name", V0_1_0_SESSIONS)
async def test_a_0_1_0_recording_replays_to_the_transcript_it_recorded(name: str) -> None:
    recorded = read_events(V0_1_0 / f"{name}.recording.jsonl")
    expected = [
        codec.from_json(line, type=tr.Message)
        for line in lines_of(V0_1_0 / f"{name}.transcript.jsonl")
    ]
    session, _ = await replay(recorded)
    # 0.1.0 lost the usage of a response cancelled by a barge-in, which the
    # provider reports after it; a replay now keeps it, as reported, and that alone.
    reported = {
        event.response_id: event.usage
        for event in recorded
        if isinstance(event, ev.TurnCompleted) and event.stop_reason is ev.StopReason.CANCELLED
    }
    assert len(session.transcript) == len(expected)
    for replayed, recorded_message in zip(session.transcript, expected, strict=True):
        if (
            isinstance(recorded_message, tr.AssistantMessage)
            and recorded_message.stop_reason is ev.StopReason.CANCELLED
            and recorded_message.usage is None
            # On the response's first message only: usage is counted once.
            and recorded_message.response_id in reported
        ):
            assert isinstance(replayed, tr.AssistantMessage)
            assert replayed.usage == reported[replayed.response_id]
            replayed = attrs.evolve(replayed, usage=None)
        if isinstance(recorded_message, tr.AssistantMessage):
            reported.pop(recorded_message.response_id, None)
        assert codec.to_json(replayed) == codec.to_json(recorded_message)
        assert replayed == recorded_message


@pytest.mark.parametrize("name", V0_1_0_SESSIONS)
def test_a_0_1_0_recording_is_written_back_the_same(name: str) -> None:
    lines = lines_of(V0_1_0 / f"{name}.recording.jsonl")
    assert [codec.to_json(codec.from_json(line)) for line in lines] == lines


@pytest.mark.parametrize("name", V0_1_0_PUBLIC_LINES)
def test_0_1_0_replay_json_lines_decode_as_public_events(name: str) -> None:
    lines = lines_of(V0_1_0 / name)
    decoded = [codec.from_json(line, type=pub.RealtimeEvent) for line in lines]
    assert isinstance(decoded[-1], pub.SessionClosed)
    assert [codec.to_json(event) for event in decoded] == lines


def test_0_1_0_recordings_and_json_lines_hold_every_0_1_0_event_class() -> None:
    recorded = read_events(V0_1_0 / "every_class.recording.jsonl")
    provider_classes = {type(event) for event in recorded}
    transcript_classes = {
        type(event.event) for event in recorded if isinstance(event, ev.RealtimeTranscript)
    }
    public_lines = lines_of(V0_1_0 / "every_class.public.jsonl")
    public_classes = {type(codec.from_json(line, type=pub.RealtimeEvent)) for line in public_lines}
    golden = {cls for cls, _ in V0_1_0_TAGS}
    assert provider_classes == golden & set(typing.get_args(ev.RealtimeSessionEvent))
    assert transcript_classes == golden & set(typing.get_args(tr.RealtimeTranscriptEvent))
    assert public_classes == golden & set(typing.get_args(pub.RealtimeEvent))


@pytest.mark.parametrize("union", sorted(V0_1_0_WIRE_TARGETS))
def test_0_1_0_wire_lines_of_every_class_decode_and_are_written_back_the_same(
    union: str,
) -> None:
    target = V0_1_0_WIRE_TARGETS[union]
    lines = lines_of(V0_1_0 / "wire" / f"{union}.jsonl")
    decoded = [codec.from_json(line, type=target) for line in lines]
    assert [codec.to_json(obj) for obj in decoded] == lines
    assert {type(obj) for obj in decoded} == {
        cls for cls, _ in V0_1_0_TAGS if cls in typing.get_args(target)
    }


# The tag of every class that 0.1.0 wrote, as it wrote it: a class may be
# renamed, its tag may not change.
V0_1_0_TAGS: tuple[tuple[type, str], ...] = (
    (ev.InputTranscriptPartial, "input_transcript_partial"),
    (ev.InputTranscriptFinal, "input_transcript_final"),
    (ev.InputTranscriptFinalForItem, "input_transcript_final_for_item"),
    (ev.TurnStarted, "turn_started"),
    (ev.TurnCommitted, "turn_committed"),
    (ev.TurnCompleted, "turn_completed"),
    (ev.OutputTextDelta, "output_text_delta"),
    (ev.OutputTextDeltaForItem, "output_text_delta_for_item"),
    (ev.OutputAudioTranscriptDeltaForItem, "output_audio_transcript_delta_for_item"),
    (ev.AssistantTranscriptFinal, "assistant_transcript_final"),
    (ev.OutputAudioChunk, "output_audio_chunk"),
    (ev.OutputVideoChunk, "output_video_chunk"),
    (ev.Interrupted, "interrupted"),
    (ev.ToolCallRequested, "tool_call_requested"),
    (ev.AssistantTranscriptTruncated, "assistant_transcript_truncated"),
    (ev.RealtimeTranscript, "realtime_transcript"),
    (ev.ProviderError, "provider_error"),
    (ev.ToolCallCancelled, "tool_call_cancelled"),
    (pub.InputTranscriptPartial, "input_transcript_partial"),
    (pub.InputTranscriptFinal, "input_transcript_final"),
    (pub.TurnStarted, "turn_started"),
    (pub.TurnCommitted, "turn_committed"),
    (pub.TurnCompleted, "turn_completed"),
    (pub.OutputTextDelta, "output_text_delta"),
    (pub.OutputAudioTranscriptDelta, "output_audio_transcript_delta"),
    (pub.OutputAudioChunk, "output_audio_chunk"),
    (pub.OutputVideoChunk, "output_video_chunk"),
    (pub.Interrupted, "interrupted"),
    (pub.ToolCallRequested, "tool_call_requested"),
    (pub.AssistantTranscriptTruncated, "assistant_transcript_truncated"),
    (pub.ProviderError, "provider_error"),
    (pub.ToolCallCancelled, "tool_call_cancelled"),
    (pub.TranscriptCommitted, "transcript_committed"),
    (pub.TranscriptRevised, "transcript_revised"),
    (pub.MediaDropped, "media_dropped"),
    (pub.ToolCallCompleted, "tool_call_completed"),
    (pub.ToolCallFailed, "tool_call_failed"),
    (pub.ToolCallTimedOut, "tool_call_timed_out"),
    (pub.SessionClosed, "session_closed"),
    (tr.ItemObserved, "item_observed"),
    (tr.ItemSkipped, "item_skipped"),
    (tr.UserTranscriptFinal, "user_transcript_final"),
    (tr.AssistantTextDelta, "assistant_text_delta"),
    (tr.AssistantTranscriptDelta, "assistant_transcript_delta"),
    (tr.AssistantTranscriptTruncated, "assistant_transcript_truncated"),
    (tr.AssistantTranscriptFinalText, "assistant_transcript_final_text"),
    (tr.AssistantTurnCompleted, "assistant_turn_completed"),
    (tr.AssistantTurnInterrupted, "assistant_turn_interrupted"),
    (tr.UserMessage, "user_message"),
    (tr.AssistantMessage, "assistant_message"),
    (ev.TextInput, "text_input"),
    (ev.AudioInput, "audio_input"),
    (ev.VideoInput, "video_input"),
    (tr.Committed, "committed"),
    (tr.Revised, "revised"),
)


@pytest.mark.parametrize(("cls", "tag"), V0_1_0_TAGS, ids=lambda value: str(value))
def test_every_0_1_0_class_keeps_its_tag(cls: type, tag: str) -> None:
    assert codec.wire_tag(cls) == tag


def test_0_1_0_wire_lines_carry_the_golden_tags() -> None:
    # The golden table above is what 0.1.0 wrote, not just what the codec says now.
    written = {
        json.loads(line)["type"]
        for path in (V0_1_0 / "wire").glob("*.jsonl")
        for line in lines_of(path)
    }
    assert written == {tag for _, tag in V0_1_0_TAGS}
