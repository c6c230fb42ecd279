"""The event vocabulary against the specification's tables.

The expected tables below are transcribed from the specification (§1.1, §1.2,
§1.3, §2.1): a class name, then each field with its default (``REQUIRED`` when
it has none).
"""

from __future__ import annotations

import ast
import enum
import inspect
import typing

import attrs
import pytest

import realtime_session
from realtime_session import (
    audio,
    codec,
    events,
    playback,
    public,
    recording,
    remote,
    timeline,
    tools,
    transcript,
)
from realtime_session import events as ev
from realtime_session import public as pub
from realtime_session import transcript as tr

if typing.TYPE_CHECKING:
    from types import ModuleType

REQUIRED: typing.Final = attrs.NOTHING

FieldTable = dict[str, dict[str, object]]

EVENT_FIELDS: FieldTable = {
    "InputTranscriptPartial": {"text": REQUIRED},
    "InputTranscriptFinal": {"text": REQUIRED},
    "InputTranscriptFinalForItem": {
        "item_id": REQUIRED,
        "previous_item_id": None,
        "content_index": 0,
        "text": REQUIRED,
    },
    "TurnStarted": {},
    "TurnCommitted": {},
    "TurnCompleted": {
        "response_id": REQUIRED,
        "stop_reason": ev.StopReason.END_TURN,
        "usage": ev.Usage(),
    },
    "OutputTextDelta": {"delta": REQUIRED},
    "OutputTextDeltaForItem": {
        "response_id": REQUIRED,
        "delta_id": REQUIRED,
        "item_id": REQUIRED,
        "previous_item_id": None,
        "content_index": 0,
        "delta": REQUIRED,
    },
    "OutputAudioTranscriptDeltaForItem": {
        "response_id": REQUIRED,
        "delta_id": REQUIRED,
        "item_id": REQUIRED,
        "previous_item_id": None,
        "content_index": 0,
        "delta": REQUIRED,
    },
    "AssistantTranscriptFinal": {
        "response_id": REQUIRED,
        "item_id": REQUIRED,
        "previous_item_id": None,
        "content_index": 0,
        "text": REQUIRED,
    },
    "OutputAudioChunk": {
        "chunk": REQUIRED,
        "response_id": None,
        "item_id": None,
        "content_index": 0,
    },
    "OutputVideoChunk": {"chunk": REQUIRED, "response_id": None, "item_id": None},
    "Interrupted": {"response_id": None},
    "ToolCallRequested": {"call_id": REQUIRED, "tool_name": REQUIRED, "arguments": REQUIRED},
    "AssistantTranscriptTruncated": {
        "response_id": None,
        "item_id": REQUIRED,
        "content_index": 0,
        "audio_played_ms": REQUIRED,
        "truncated_text": None,
    },
    "RealtimeTranscript": {"event": REQUIRED},
    "ProviderError": {"code": REQUIRED, "message": REQUIRED, "fatal": False},
    "ToolCallCancelled": {"call_id": REQUIRED},
    "Reconnecting": {"provider": REQUIRED, "reason": REQUIRED},
    "Reconnected": {
        "provider": REQUIRED,
        "reason": REQUIRED,
        "gap_ms": REQUIRED,
        "attempts": REQUIRED,
        "input_held": 0,
        "input_dropped": 0,
        "restore_conversation": False,
    },
    "ReconnectFailed": {
        "provider": REQUIRED,
        "reason": REQUIRED,
        "attempts": REQUIRED,
        "error": REQUIRED,
        "input_dropped": 0,
    },
}

SUPPORTING_FIELDS: FieldTable = {
    "RealtimeAudioChunk": {
        "data": REQUIRED,
        "sample_rate_hz": 24000,
        "channels": 1,
        "mime_type": "audio/pcm",
    },
    "RealtimeVideoChunk": {"data": REQUIRED, "mime_type": "image/jpeg"},
    "Usage": {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_tokens": None,
        "cache_read_tokens": None,
    },
    "TextInput": {"text": REQUIRED},
    "AudioInput": {"chunk": REQUIRED},
    "VideoInput": {"chunk": REQUIRED},
}

# §1.2 writes the projections with field names only; where it gives no default,
# a field carried over from an optional provider field keeps that field's
# default from §1.1 (the projected value may be absent), and the rest are required.
PUBLIC_FIELDS: FieldTable = {
    "InputTranscriptPartial": {"text": REQUIRED},
    "InputTranscriptFinal": {"text": REQUIRED, "item_id": None},
    "TurnStarted": {},
    "TurnCommitted": {},
    "TurnCompleted": {
        "response_id": REQUIRED,
        "stop_reason": ev.StopReason.END_TURN,
        "usage": ev.Usage(),
    },
    "OutputTextDelta": {"delta": REQUIRED, "response_id": None, "item_id": None},
    "OutputAudioTranscriptDelta": {
        "delta": REQUIRED,
        "response_id": REQUIRED,
        "item_id": REQUIRED,
    },
    "OutputAudioChunk": {
        "chunk": REQUIRED,
        "response_id": None,
        "item_id": None,
        "content_index": 0,
    },
    "OutputVideoChunk": {"chunk": REQUIRED, "response_id": None, "item_id": None},
    "Interrupted": {"response_id": None},
    "ToolCallRequested": {"call_id": REQUIRED, "tool_name": REQUIRED},
    "AssistantTranscriptTruncated": {
        "item_id": REQUIRED,
        "audio_played_ms": REQUIRED,
        "truncated_text": None,
    },
    "ProviderError": {"code": REQUIRED, "message": REQUIRED, "fatal": False},
    "ToolCallCancelled": {"call_id": REQUIRED},
    "TranscriptCommitted": {"message": REQUIRED},
    "TranscriptRevised": {"item_id": REQUIRED, "message": REQUIRED},
    "MediaDropped": {"dropped": REQUIRED, "dropped_ms": REQUIRED},
    "ToolCallCompleted": {"call_id": REQUIRED},
    "ToolCallFailed": {"call_id": REQUIRED, "error": REQUIRED},
    "ToolCallTimedOut": {"call_id": REQUIRED, "elapsed_ms": REQUIRED},
    "SessionClosed": {"reason": REQUIRED, "error": None},
    "RecordingFailed": {"error": REQUIRED, "fatal": False},
    "Reconnecting": {"provider": REQUIRED, "reason": REQUIRED},
    "Reconnected": {
        "provider": REQUIRED,
        "reason": REQUIRED,
        "gap_ms": REQUIRED,
        "attempts": REQUIRED,
        "input_held": 0,
        "input_dropped": 0,
    },
    "ReconnectFailed": {
        "provider": REQUIRED,
        "reason": REQUIRED,
        "attempts": REQUIRED,
        "error": REQUIRED,
        "input_dropped": 0,
    },
    "ResponseLatency": {
        "response_id": REQUIRED,
        "stop_reason": ev.StopReason.END_TURN,
        "since": None,
        "first_audio_ms": None,
        "first_text_ms": None,
        "completed_ms": None,
        "tool_ms": None,
    },
}

TRANSCRIPT_EVENT_FIELDS: FieldTable = {
    "ItemObserved": {
        "item_id": REQUIRED,
        "previous_item_id": None,
        "role": REQUIRED,
        "response_id": None,
    },
    "ItemSkipped": {"item_id": REQUIRED, "previous_item_id": None},
    "UserTranscriptFinal": {
        "item_id": REQUIRED,
        "previous_item_id": None,
        "content_index": 0,
        "text": REQUIRED,
    },
    "AssistantTextDelta": {
        "response_id": REQUIRED,
        "delta_id": REQUIRED,
        "item_id": REQUIRED,
        "previous_item_id": None,
        "content_index": 0,
        "delta": REQUIRED,
    },
    "AssistantTranscriptDelta": {
        "response_id": REQUIRED,
        "delta_id": REQUIRED,
        "item_id": REQUIRED,
        "previous_item_id": None,
        "content_index": 0,
        "delta": REQUIRED,
    },
    "AssistantTranscriptTruncated": {
        "response_id": REQUIRED,
        "item_id": REQUIRED,
        "content_index": 0,
        "text": REQUIRED,
        "audio_played_ms": None,
        "estimated": False,
    },
    "AssistantTranscriptFinalText": {
        "response_id": REQUIRED,
        "item_id": REQUIRED,
        "content_index": 0,
        "text": REQUIRED,
    },
    "AssistantTurnCompleted": {
        "response_id": REQUIRED,
        "stop_reason": REQUIRED,
        "usage": REQUIRED,
    },
    "AssistantTurnInterrupted": {"response_id": REQUIRED},
    "AssistantTranscriptHeardInFull": {"response_id": REQUIRED, "item_id": REQUIRED},
    "OrphansReleased": {"item_ids": REQUIRED},
}

MESSAGE_FIELDS: FieldTable = {
    "UserMessage": {"item_id": REQUIRED, "text": REQUIRED},
    "AssistantMessage": {
        "response_id": REQUIRED,
        "item_ids": REQUIRED,
        "blocks": REQUIRED,
        "stop_reason": REQUIRED,
        "usage": None,
    },
    "TextBlock": {"item_id": REQUIRED, "text": REQUIRED},
    "TranscriptBlock": {
        "item_id": REQUIRED,
        "text": REQUIRED,
        "truncated": False,
        "estimated": False,
        "audio_played_ms": None,
    },
    "Committed": {"message": REQUIRED},
    "Revised": {"item_id": REQUIRED, "message": REQUIRED},
}

TABLES: list[tuple[ModuleType, FieldTable]] = [
    (events, EVENT_FIELDS),
    (events, SUPPORTING_FIELDS),
    (public, PUBLIC_FIELDS),
    (transcript, TRANSCRIPT_EVENT_FIELDS),
    (transcript, MESSAGE_FIELDS),
]

CLASS_ROWS = [
    pytest.param(module, name, fields, id=f"{module.__name__.rpartition('.')[2]}.{name}")
    for module, table in TABLES
    for name, fields in table.items()
]


def _short(module: ModuleType) -> str:
    return module.__name__.rpartition(".")[2]


@pytest.mark.parametrize(("module", "name", "expected"), CLASS_ROWS)
def test_class_has_exactly_the_specified_fields_and_defaults(
    module: ModuleType, name: str, expected: dict[str, object]
) -> None:
    cls = getattr(module, name)
    actual = {field.name: field.default for field in attrs.fields(cls)}
    assert actual == expected


@pytest.mark.parametrize(("module", "name", "expected"), CLASS_ROWS)
def test_class_is_frozen_slotted_keyword_only_and_final(
    module: ModuleType, name: str, expected: dict[str, object]
) -> None:
    cls = getattr(module, name)
    assert "__slots__" in vars(cls)
    instance = object.__new__(cls)
    assert not hasattr(instance, "__dict__")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        instance.probe = 1
    for field in attrs.fields(cls):
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            setattr(instance, field.name, None)
    parameters = inspect.signature(cls).parameters.values()
    assert all(parameter.kind is inspect.Parameter.KEYWORD_ONLY for parameter in parameters)
    assert getattr(cls, "__final__", False) is True


UNIONS = [
    pytest.param(events.RealtimeSessionEvent, events, set(EVENT_FIELDS), id="RealtimeSessionEvent"),
    pytest.param(
        events.RealtimeInputChunk,
        events,
        {"TextInput", "AudioInput", "VideoInput"},
        id="RealtimeInputChunk",
    ),
    pytest.param(public.RealtimeEvent, public, set(PUBLIC_FIELDS), id="RealtimeEvent"),
    pytest.param(
        transcript.RealtimeTranscriptEvent,
        transcript,
        set(TRANSCRIPT_EVENT_FIELDS),
        id="RealtimeTranscriptEvent",
    ),
    pytest.param(transcript.Message, transcript, {"UserMessage", "AssistantMessage"}, id="Message"),
    pytest.param(transcript.Block, transcript, {"TextBlock", "TranscriptBlock"}, id="Block"),
    pytest.param(
        transcript.TranscriptChange, transcript, {"Committed", "Revised"}, id="TranscriptChange"
    ),
]


@pytest.mark.parametrize(("union", "module", "names"), UNIONS)
def test_union_has_exactly_the_specified_members(
    union: object, module: ModuleType, names: set[str]
) -> None:
    assert set(typing.get_args(union)) == {getattr(module, name) for name in names}


@pytest.mark.parametrize(
    ("enum_class", "values"),
    [
        pytest.param(
            ev.StopReason,
            {
                "END_TURN": "end_turn",
                "TOOL_USE": "tool_use",
                "MAX_TOKENS": "max_tokens",
                "STOP_SEQUENCE": "stop_sequence",
                "CONTENT_FILTER": "content_filter",
                "CANCELLED": "cancelled",
            },
            id="StopReason",
        ),
        pytest.param(
            tr.RealtimeTranscriptRole,
            {"USER": "user", "ASSISTANT": "assistant"},
            id="RealtimeTranscriptRole",
        ),
    ],
)
def test_enum_has_exactly_the_specified_values(
    enum_class: type[enum.Enum], values: dict[str, str]
) -> None:
    assert issubclass(enum_class, enum.Enum)
    assert {member.name: member.value for member in enum_class} == values


def test_assistant_message_text_joins_blocks_without_separator() -> None:
    message = tr.AssistantMessage(
        response_id="r",
        item_ids=("a", "b"),
        blocks=(
            tr.TextBlock(item_id="a", text="Hello, "),
            tr.TranscriptBlock(item_id="b", text="you"),
        ),
        stop_reason=ev.StopReason.END_TURN,
    )
    assert message.text == "Hello, you"


# Projection (§1.2), one case per row of the table (one per stop reason for TurnCompleted).

_AUDIO = ev.RealtimeAudioChunk(data=b"\x01\x02" * 480, sample_rate_hz=16000)
_VIDEO = ev.RealtimeVideoChunk(data=b"\xff\xd8\xff", mime_type="image/png")
_USAGE = ev.Usage(input_tokens=12, output_tokens=34, cache_read_tokens=5)
_ARGUMENTS: ev.JsonValue = {"city": "secret-city-name", "nested": [{"token": "secret-token"}]}

PROJECTION_ROWS = [
    pytest.param(
        ev.InputTranscriptPartial(text="hel"),
        pub.InputTranscriptPartial(text="hel"),
        id="InputTranscriptPartial",
    ),
    pytest.param(
        ev.InputTranscriptFinal(text="hello"),
        pub.InputTranscriptFinal(text="hello", item_id=None),
        id="InputTranscriptFinal",
    ),
    pytest.param(
        ev.InputTranscriptFinalForItem(
            item_id="item_u", previous_item_id="item_0", content_index=2, text="hello"
        ),
        pub.InputTranscriptFinal(text="hello", item_id="item_u"),
        id="InputTranscriptFinalForItem",
    ),
    pytest.param(ev.TurnStarted(), pub.TurnStarted(), id="TurnStarted"),
    pytest.param(ev.TurnCommitted(), pub.TurnCommitted(), id="TurnCommitted"),
    *(
        pytest.param(
            ev.TurnCompleted(response_id="resp_1", stop_reason=reason, usage=_USAGE),
            pub.TurnCompleted(response_id="resp_1", stop_reason=reason, usage=_USAGE),
            id=f"TurnCompleted-{reason.value}",
        )
        for reason in ev.StopReason
    ),
    pytest.param(
        ev.OutputTextDelta(delta="Hi"),
        pub.OutputTextDelta(delta="Hi", response_id=None, item_id=None),
        id="OutputTextDelta",
    ),
    pytest.param(
        ev.OutputTextDeltaForItem(
            response_id="resp_1",
            delta_id="d_7",
            item_id="item_a",
            previous_item_id="item_u",
            content_index=1,
            delta="Hi",
        ),
        pub.OutputTextDelta(delta="Hi", response_id="resp_1", item_id="item_a"),
        id="OutputTextDeltaForItem",
    ),
    pytest.param(
        ev.OutputAudioTranscriptDeltaForItem(
            response_id="resp_1",
            delta_id="d_8",
            item_id="item_a",
            previous_item_id="item_u",
            content_index=1,
            delta="Hi there",
        ),
        pub.OutputAudioTranscriptDelta(delta="Hi there", response_id="resp_1", item_id="item_a"),
        id="OutputAudioTranscriptDeltaForItem",
    ),
    pytest.param(
        ev.AssistantTranscriptFinal(response_id="resp_1", item_id="item_a", text="Hi there."),
        None,
        id="AssistantTranscriptFinal",
    ),
    pytest.param(
        ev.OutputAudioChunk(chunk=_AUDIO, response_id="resp_1", item_id="item_a", content_index=3),
        pub.OutputAudioChunk(chunk=_AUDIO, response_id="resp_1", item_id="item_a", content_index=3),
        id="OutputAudioChunk",
    ),
    pytest.param(
        ev.OutputVideoChunk(chunk=_VIDEO, response_id="resp_1", item_id="item_v"),
        pub.OutputVideoChunk(chunk=_VIDEO, response_id="resp_1", item_id="item_v"),
        id="OutputVideoChunk",
    ),
    pytest.param(
        ev.Interrupted(response_id="resp_1"),
        pub.Interrupted(response_id="resp_1"),
        id="Interrupted",
    ),
    pytest.param(
        ev.Interrupted(), pub.Interrupted(response_id=None), id="Interrupted-every-response"
    ),
    pytest.param(
        ev.ToolCallRequested(call_id="call_1", tool_name="weather", arguments=_ARGUMENTS),
        pub.ToolCallRequested(call_id="call_1", tool_name="weather"),
        id="ToolCallRequested",
    ),
    pytest.param(
        ev.AssistantTranscriptTruncated(
            response_id="resp_1",
            item_id="item_a",
            content_index=1,
            audio_played_ms=1500,
            truncated_text="Hi",
        ),
        pub.AssistantTranscriptTruncated(
            item_id="item_a", audio_played_ms=1500, truncated_text="Hi"
        ),
        id="AssistantTranscriptTruncated",
    ),
    pytest.param(
        ev.RealtimeTranscript(event=tr.ItemSkipped(item_id="fc_1", previous_item_id="item_a")),
        None,
        id="RealtimeTranscript",
    ),
    pytest.param(
        ev.ProviderError(code="rate_limited", message="slow down", fatal=True),
        pub.ProviderError(code="rate_limited", message="slow down", fatal=True),
        id="ProviderError",
    ),
    pytest.param(
        ev.ToolCallCancelled(call_id="call_1"),
        pub.ToolCallCancelled(call_id="call_1"),
        id="ToolCallCancelled",
    ),
    pytest.param(
        ev.Reconnecting(provider="gemini", reason="go_away"),
        pub.Reconnecting(provider="gemini", reason="go_away"),
        id="Reconnecting",
    ),
    pytest.param(
        ev.Reconnected(
            provider="openai",
            reason="connection_lost",
            gap_ms=812,
            attempts=2,
            input_held=40,
            input_dropped=1,
            restore_conversation=True,
        ),
        pub.Reconnected(
            provider="openai",
            reason="connection_lost",
            gap_ms=812,
            attempts=2,
            input_held=40,
            input_dropped=1,
        ),
        id="Reconnected",
    ),
    pytest.param(
        ev.ReconnectFailed(
            provider="openai",
            reason="connection_lost",
            attempts=5,
            error="refused",
            input_dropped=3,
        ),
        pub.ReconnectFailed(
            provider="openai",
            reason="connection_lost",
            attempts=5,
            error="refused",
            input_dropped=3,
        ),
        id="ReconnectFailed",
    ),
]


@pytest.mark.parametrize(("event", "expected"), PROJECTION_ROWS)
def test_projection_row(event: ev.RealtimeSessionEvent, expected: pub.RealtimeEvent | None) -> None:
    projected = event.to_public_event()
    assert projected == expected
    # attrs equality already requires the same class; this says which one on failure.
    assert type(projected) is type(expected)
    assert events.to_public_event(event) == projected


def test_projection_table_covers_every_provider_event() -> None:
    covered = {type(param.values[0]) for param in PROJECTION_ROWS}
    assert covered == set(typing.get_args(events.RealtimeSessionEvent))


def test_tool_arguments_never_reach_the_public_event() -> None:
    event = ev.ToolCallRequested(call_id="call_1", tool_name="weather", arguments=_ARGUMENTS)
    projected = event.to_public_event()
    assert isinstance(projected, pub.ToolCallRequested)
    assert {field.name for field in attrs.fields(pub.ToolCallRequested)} == {"call_id", "tool_name"}
    assert codec.to_dict(projected) == {
        "type": "tool_call_requested",
        "call_id": "call_1",
        "tool_name": "weather",
    }
    wire = codec.to_json(projected)
    assert "secret" not in wire
    assert "arguments" not in wire


@pytest.mark.parametrize(
    ("chunk", "expected_ms"),
    [
        pytest.param(ev.RealtimeAudioChunk(data=bytes(960)), 20.0, id="24k-mono-20ms"),
        pytest.param(
            ev.RealtimeAudioChunk(data=bytes(1920), channels=2), 20.0, id="24k-stereo-20ms"
        ),
        pytest.param(
            ev.RealtimeAudioChunk(data=bytes(640), sample_rate_hz=16000), 20.0, id="16k-mono-20ms"
        ),
        pytest.param(
            ev.RealtimeAudioChunk(data=bytes(1280), sample_rate_hz=16000, channels=2),
            20.0,
            id="16k-stereo-20ms",
        ),
        pytest.param(
            ev.RealtimeAudioChunk(data=bytes(48000), sample_rate_hz=24000),
            1000.0,
            id="24k-one-second",
        ),
        pytest.param(
            ev.RealtimeAudioChunk(data=bytes(48000), sample_rate_hz=16000), 1500.0, id="16k-1.5s"
        ),
        pytest.param(ev.RealtimeAudioChunk(data=b""), 0.0, id="empty"),
        pytest.param(
            ev.RealtimeAudioChunk(data=bytes(960), mime_type="audio/opus"), None, id="opus"
        ),
        pytest.param(
            ev.RealtimeAudioChunk(data=bytes(960), mime_type="audio/mpeg"), None, id="mp3"
        ),
    ],
)
def test_audio_chunk_duration(chunk: ev.RealtimeAudioChunk, expected_ms: float | None) -> None:
    if expected_ms is None:
        assert chunk.duration_ms is None
    else:
        assert chunk.duration_ms == pytest.approx(expected_ms)


# ``__all__``: every public module lists exactly the public names it defines or re-exports.


def _defined_or_reexported(module: ModuleType) -> set[str]:
    """Public names ``module`` defines, or re-exports from the package's private modules.

    From the source: top-level classes, functions and assignments (type aliases
    included), and imports from inside the package in the redundant alias form
    (``from ._x import Y as Y``), the form that marks a re-export. Plain imports
    (names a module only uses) and names from outside the package
    (``annotations``, ``Any``, ``attrs`` ...) never count.
    """
    names: set[str] = set()
    tree = ast.parse(inspect.getsource(module))
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.ImportFrom) and (
            node.level > 0 or (node.module or "").startswith("realtime_session")
        ):
            names.update(alias.name for alias in node.names if alias.asname == alias.name)
    return {name for name in names if not name.startswith("_")}


PUBLIC_MODULES = [
    pytest.param(module, id=module.__name__)
    for module in (
        realtime_session,
        events,
        public,
        transcript,
        codec,
        recording,
        remote,
        timeline,
        audio,
        playback,
        tools,
    )
]


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_all_is_a_tuple_of_existing_unique_names(module: ModuleType) -> None:
    exported = module.__all__
    assert isinstance(exported, tuple)
    assert len(set(exported)) == len(exported)
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize("module", PUBLIC_MODULES)
def test_all_lists_exactly_what_the_module_defines(module: ModuleType) -> None:
    assert set(module.__all__) == _defined_or_reexported(module)


def test_all_includes_the_type_aliases() -> None:
    assert {"RealtimeSessionEvent", "RealtimeInputChunk", "JsonValue"} <= set(events.__all__)
    assert "RealtimeEvent" in public.__all__
    assert {"RealtimeTranscriptEvent", "Message", "Block", "TranscriptChange"} <= set(
        transcript.__all__
    )
