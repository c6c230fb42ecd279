"""The adapters' wire against the official SDKs' own types and converters.

Every key a translator reads is recorded while it translates the bundled
traces and a sample of every message shape it handles; each must be a field
the SDK defines for that message (for Gemini, one that survives the SDK's
own receive path: its converter, then strict validation). Every client
message a command object sends must validate as the SDK's client message,
and the bundled traces must validate as the SDK's server messages. A field
renamed or removed in the SDK therefore fails here.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import pydantic
import pytest
from google.genai import _common
from google.genai import _live_converters as live_converters
from google.genai import types as genai
from google.genai._api_client import BaseApiClient
from openai.types.beta.realtime import realtime_client_event as beta_client
from openai.types.beta.realtime import realtime_server_event as beta_server
from openai.types.realtime import realtime_client_event as ga_client
from openai.types.realtime import realtime_server_event as ga_server

from realtime_session import events as ev
from realtime_session import transcript as tr
from realtime_session.providers import (
    GeminiLiveCommands,
    GeminiLiveTranslator,
    OpenAIRealtimeCommands,
    OpenAIRealtimeTranslator,
    read_trace,
)
from realtime_session.providers.gemini import _GeminiDialect
from realtime_session.providers.openai import _OpenAIDialect

ROOT = Path(__file__).resolve().parent.parent
TRACE_FILES = sorted(
    [
        *(ROOT / "realtime_session" / "traces").glob("*.jsonl"),
        *(ROOT / "tests" / "fixtures").glob("*.jsonl"),
    ]
)
GEMINI_TRACES = [path for path in TRACE_FILES if path.name.startswith("gemini_")]
OPENAI_TRACES = [path for path in TRACE_FILES if path.name.startswith("openai_")]
PCM = base64.b64encode(b"\x01\x00" * 480).decode()

Path_ = tuple[str, ...]


# -- recording what a translator reads ------------------------------------------------------------


class Reads:
    """Every key path read, with a value seen there (``MISSING`` when it was absent)."""

    MISSING: typing.Final = object()

    def __init__(self) -> None:
        self.values: dict[Path_, object] = {}

    def note(self, path: Path_, value: object) -> None:
        if value is not Reads.MISSING or path not in self.values:
            self.values[path] = value


class TracedList(list[Any]):
    pass


class Traced(Mapping[str, Any]):
    """A read-only view of a decoded message that records each key looked up."""

    def __init__(self, data: Mapping[str, Any], path: Path_, reads: Reads) -> None:
        self._data = data
        self._path = path
        self._reads = reads

    def _wrap(self, key: str, value: Any) -> Any:
        return wrap(value, (*self._path, key), self._reads)

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        self._reads.note((*self._path, key), value)
        return self._wrap(key, value)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._data:
            return self[key]
        self._reads.note((*self._path, key), Reads.MISSING)
        return default

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._reads.note((*self._path, key), self._data.get(key, Reads.MISSING))
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def wrap(value: Any, path: Path_, reads: Reads) -> Any:
    if isinstance(value, Mapping):
        return Traced(value, path, reads)
    if isinstance(value, list):
        return TracedList(wrap(item, (*path, "[]"), reads) for item in value)
    return value


def probe(path: Path_, value: object) -> Any:
    """A message holding ``value`` at ``path`` and nothing else."""
    for key in reversed(path):
        value = [value] if key == "[]" else {key: value}
    return value


def leaves(value: object) -> Iterator[object]:
    yield value
    if isinstance(value, Mapping):
        for item in value.values():
            yield from leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item)


def as_bytes(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value.translate(str.maketrans("-_", "+/")), validate=True)
    except (binascii.Error, ValueError):
        return None


def preserved(value: object, dumped: object) -> bool:
    """Whether every scalar of ``value`` made it into ``dumped`` (keys may be renamed)."""
    scalars = [leaf for leaf in leaves(value) if not isinstance(leaf, Mapping | list)]
    found = list(leaves(dumped))
    return all(
        any(
            leaf == scalar or (as_bytes(leaf) is not None and as_bytes(leaf) == as_bytes(scalar))
            for leaf in found
        )
        for scalar in scalars
    )


# -- Gemini Live: server messages -----------------------------------------------------------------


def call(**fields: Any) -> dict[str, Any]:
    return {"toolCall": {"functionCalls": [fields]}}


GEMINI_SAMPLES: list[dict[str, Any]] = [
    {"setupComplete": {"sessionId": "s-1"}},
    {"voiceActivity": {"type": "ACTIVITY_START", "audioOffset": "1.5s"}},
    {"serverContent": {"inputTranscription": {"text": "Book a", "finished": False}}},
    {"serverContent": {"interimInputTranscription": {"text": "Book a tab"}}},
    {"serverContent": {"inputTranscription": {"text": " table", "finished": True}}},
    {
        "serverContent": {
            "modelTurn": {
                "parts": [
                    {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": PCM}},
                    {"inlineData": {"mimeType": "image/jpeg", "data": "/9g="}},
                    {"text": "thinking", "thought": True},
                    {"text": "Sure."},
                ]
            },
            "outputTranscription": {"text": "Sure."},
        }
    },
    call(
        id="fc-1",
        name="book",
        willContinue=True,
        partialArgs=[{"jsonPath": "$.city", "stringValue": "Lis", "willContinue": True}],
    ),
    call(
        id="fc-1",
        partialArgs=[
            {"jsonPath": "$.city", "stringValue": "bon"},
            {"jsonPath": "$.seats", "numberValue": 2},
            {"jsonPath": "$.outside", "boolValue": True},
            {"jsonPath": "$.note", "nullValue": "NULL_VALUE"},
        ],
        willContinue=False,
    ),
    call(id="fc-2", name="lookup", args={"q": "x"}),
    {"toolCallCancellation": {"ids": ["fc-2"]}},
    {"serverContent": {"interrupted": True}},
    {"voiceActivity": {"type": "ACTIVITY_END"}},
    {
        "serverContent": {
            "turnComplete": True,
            "turnCompleteReason": "RESPONSE_REJECTED",
            "generationComplete": True,
        },
        "usageMetadata": {
            "promptTokenCount": 10,
            "cachedContentTokenCount": 2,
            "responseTokenCount": 5,
            "toolUsePromptTokenCount": 1,
            "thoughtsTokenCount": 3,
            "totalTokenCount": 19,
        },
    },
    {"usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 4}},
    {"goAway": {"timeLeft": "10s"}},
    {"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": True}},
]


def gemini_messages() -> list[dict[str, Any]]:
    traced = [dict(record.payload) for path in GEMINI_TRACES for record in read_trace(path)]
    return [*traced, *GEMINI_SAMPLES]


def gemini_receive(message: Mapping[str, Any], *, vertex: bool = False) -> genai.LiveServerMessage:
    """The SDK's own receive path for a wire message, with unknown fields refused.

    ``vertex`` takes the Vertex AI endpoint's converter: its wire differs in
    places (``candidatesTokenCount`` for the Gemini API's ``responseTokenCount``).
    """
    convert = (
        live_converters._LiveServerMessage_from_vertex
        if vertex
        else live_converters._LiveServerMessage_from_mldev
    )
    return genai.LiveServerMessage.model_validate_json(json.dumps(convert(dict(message))))


def gemini_receive_either(message: Mapping[str, Any]) -> list[genai.LiveServerMessage]:
    """What either endpoint's receive path makes of ``message`` (empty: neither takes it)."""
    received = []
    for vertex in (False, True):
        try:
            received.append(gemini_receive(message, vertex=vertex))
        except pydantic.ValidationError:
            continue
    return received


def test_the_gemini_samples_are_valid_sdk_messages() -> None:
    for message in GEMINI_SAMPLES:
        assert gemini_receive_either(message), message


@pytest.mark.parametrize("path", GEMINI_TRACES, ids=lambda path: path.name)
def test_bundled_gemini_traces_are_sdk_server_messages(path: Path) -> None:
    for record in read_trace(path):
        gemini_receive(record.payload)


def test_every_field_the_gemini_translator_reads_is_on_the_sdk_wire() -> None:
    reads = Reads()
    translator = GeminiLiveTranslator()
    for message in gemini_messages():
        translator.translate(Traced(message, (), reads))
    assert ("voiceActivity", "type") in reads.values
    assert ("serverContent", "turnCompleteReason") in reads.values
    unknown = []
    for path, value in sorted(reads.values.items()):
        candidates = [value] if value is not Reads.MISSING else ["x", True, 1, {}]
        if not any(_survives(path, candidate) for candidate in candidates):
            unknown.append(".".join(path))
    assert not unknown, f"read by the translator, not carried by the SDK: {unknown}"


def _survives(path: Path_, value: object) -> bool:
    return any(
        preserved(value, message.model_dump(mode="json", exclude_none=True))
        for message in gemini_receive_either(probe(path, value))
    )


@pytest.mark.parametrize("reason", list(genai.TurnCompleteReason))
def test_every_sdk_turn_complete_reason_is_a_deliberate_stop(
    reason: genai.TurnCompleteReason,
) -> None:
    translator = GeminiLiveTranslator()
    translator.translate({"serverContent": {"outputTranscription": {"text": "I"}}})
    out = translator.translate(
        {"serverContent": {"turnComplete": True, "turnCompleteReason": reason.value}}
    )
    (completed,) = [event for event in out if isinstance(event, ev.TurnCompleted)]
    errors = [event for event in out if isinstance(event, ev.ProviderError)]
    if completed.stop_reason is ev.StopReason.CONTENT_FILTER:
        assert [error.code for error in errors] == [reason.value.lower()]
    else:
        # Not a refusal: only these end a turn as it was, or with an error saying why.
        assert reason.value in {
            "TURN_COMPLETE_REASON_UNSPECIFIED",
            "NEED_MORE_INPUT",
            "MALFORMED_FUNCTION_CALL",
        }, f"{reason.value} has no stop reason of its own"


# -- Gemini Live: client messages -----------------------------------------------------------------


class Wire:
    def __init__(self) -> None:
        self.frames: list[str] = []

    async def __call__(self, frame: str) -> None:
        self.frames.append(frame)


def _sent_by_gemini_commands() -> list[str]:
    wire = Wire()
    translator = GeminiLiveTranslator()
    translator.translate(
        {"toolCall": {"functionCalls": [{"id": "fc-1", "name": "book", "args": {}}]}}
    )

    async def run() -> None:
        for manual in (False, True):
            commands = GeminiLiveCommands(wire, translator, manual_activity=manual)
            audio = ev.RealtimeAudioChunk(data=b"\x01\x00" * 160, sample_rate_hz=16000)
            await commands.send_input(ev.AudioInput(chunk=audio))
            await commands.send_input(ev.VideoInput(chunk=ev.RealtimeVideoChunk(data=b"\xff\xd8")))
            await commands.send_input(ev.TextInput(text="hello"))
            if manual:
                await commands.interrupt()
            await commands.commit_turn()
        commands = GeminiLiveCommands(wire, translator)
        await commands.submit_tool_result("fc-1", {"booked": True})
        await commands.submit_tool_result("fc-1", "done")
        await commands.submit_tool_error("fc-1", "ValueError")

    anyio.run(run)
    setup = {"model": "models/gemini-live-2.5-flash-preview", "inputAudioTranscription": {}}
    translator.translate({"sessionResumptionUpdate": {"newHandle": "h-1", "resumable": True}})
    dialect = _GeminiDialect(translator, setup, warn_go_away=False)
    openings = [*dialect.opening_messages(resuming=False), *dialect.opening_messages(resuming=True)]
    return [*wire.frames, *(json.dumps(message) for message in openings)]


GEMINI_CLIENT_FRAMES = _sent_by_gemini_commands()


def _snake(value: Any, key: str = "") -> Any:
    """Keys in snake case, media decoded: how the SDK's mixed-case wire compares to ours."""
    if isinstance(value, Mapping):
        return {re.sub(r"(?<!^)(?=[A-Z])", "_", k).lower(): _snake(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(item) for item in value]
    if key == "data" and isinstance(value, str):
        return as_bytes(value)
    return value


@pytest.mark.parametrize("frame", GEMINI_CLIENT_FRAMES, ids=lambda frame: frame[:60])
def test_gemini_client_messages_are_what_the_sdk_sends(frame: str) -> None:
    # Strict: an unknown key anywhere fails validation.
    message = genai.LiveClientMessage.model_validate_json(frame)
    sdk_wire = _common.encode_unserializable_types(
        _common.convert_to_dict(
            live_converters._LiveClientMessage_to_mldev(BaseApiClient(api_key="k"), message)
        )
    )
    assert _snake(json.loads(json.dumps(sdk_wire))) == _snake(json.loads(frame))


def test_the_gemini_setup_asks_for_resumption_and_resumes_with_the_handle() -> None:
    first, resumed = (json.loads(frame) for frame in GEMINI_CLIENT_FRAMES[-2:])
    first_setup = genai.LiveClientMessage.model_validate(first).setup
    assert first_setup is not None
    assert first_setup.session_resumption is not None
    assert first_setup.session_resumption.handle is None
    setup = genai.LiveClientMessage.model_validate(resumed).setup
    assert setup is not None and setup.session_resumption is not None
    assert setup.session_resumption.handle == "h-1"


def test_gemini_realtime_input_kinds_are_the_sdk_fields() -> None:
    kinds = {
        key for frame in GEMINI_CLIENT_FRAMES for key in json.loads(frame).get("realtimeInput", {})
    }
    fields = genai.LiveClientRealtimeInput.model_fields
    assert kinds == {"audio", "video", "text", "activityStart", "activityEnd", "audioStreamEnd"}
    assert {re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower() for kind in kinds} <= set(fields)


# -- OpenAI Realtime: server events ---------------------------------------------------------------


def _members(union: Any) -> tuple[type[pydantic.BaseModel], ...]:
    args = typing.get_args(union)
    if typing.get_origin(union) is typing.Annotated:
        args = typing.get_args(args[0])
    return args


def _by_type(union: Any) -> dict[str, type[pydantic.BaseModel]]:
    table: dict[str, type[pydantic.BaseModel]] = {}
    for member in _members(union):
        for literal in typing.get_args(member.model_fields["type"].annotation):
            table[literal] = member
    return table


GA_SERVER = _by_type(ga_server.RealtimeServerEvent)
BETA_SERVER = _by_type(beta_server.RealtimeServerEvent)
# Sent by OpenAI-compatible servers, not by OpenAI: no SDK type to check against.
NOT_IN_THE_SDK = frozenset({"response.cancelled"})


def server(type_: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "event_id": "event_1", **fields}


def _delta(type_: str, **fields: Any) -> dict[str, Any]:
    ids = {"response_id": "resp_1", "item_id": "item_a", "output_index": 0, "content_index": 0}
    return server(type_, **ids, **fields)


FUNCTION_CALL = {
    "id": "item_c",
    "type": "function_call",
    "call_id": "call_1",
    "name": "lookup",
    "arguments": "{}",
    "status": "completed",
}
MCP_CALL = {
    "id": "item_m",
    "type": "mcp_call",
    "name": "search",
    "server_label": "docs",
    "arguments": "{}",
}
OPENAI_SAMPLES: list[dict[str, Any]] = [
    server("input_audio_buffer.speech_started", item_id="item_u", audio_start_ms=10),
    server("input_audio_buffer.committed", item_id="item_u", previous_item_id=None),
    server("input_audio_buffer.cleared"),
    server(
        "conversation.item.created",
        previous_item_id=None,
        item={
            "id": "item_t",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": "Hi"}],
        },
    ),
    server("conversation.item.added", previous_item_id="item_t", item=MCP_CALL),
    server("conversation.item.done", previous_item_id="item_t", item=FUNCTION_CALL),
    server("conversation.item.input_audio_transcription.delta", item_id="item_u", delta="Hi"),
    server(
        "conversation.item.input_audio_transcription.failed",
        item_id="item_u",
        content_index=0,
        error={"code": "bad_audio", "message": "no speech", "type": "error"},
    ),
    server("response.created", response={"id": "resp_1", "status": "in_progress"}),
    server("response.output_item.added", response_id="resp_1", output_index=0, item=FUNCTION_CALL),
    server("response.output_item.done", response_id="resp_1", output_index=0, item=FUNCTION_CALL),
    _delta("response.audio.delta", delta=PCM),
    _delta("response.audio_transcript.delta", delta="Hel"),
    _delta("response.audio_transcript.done", transcript="Hello"),
    _delta("response.output_text.delta", delta="Hel"),
    _delta("response.output_text.done", text="Hello"),
    _delta("response.text.delta", delta="Hel"),
    _delta("response.text.done", text="Hello"),
    server(
        "response.function_call_arguments.done",
        response_id="resp_1",
        item_id="item_c",
        output_index=0,
        call_id="call_1",
        name="lookup",
        arguments="{}",
    ),
    server("conversation.item.truncated", item_id="item_a", content_index=0, audio_end_ms=10),
    server(
        "response.done",
        response={
            "id": "resp_2",
            "status": "incomplete",
            "status_details": {"type": "incomplete", "reason": "max_output_tokens"},
            "output": [FUNCTION_CALL, MCP_CALL],
            "usage": {"input_tokens": 1, "input_token_details": {"cached_tokens": 0}},
        },
    ),
    server(
        "response.done",
        response={
            "id": "resp_3",
            "status": "failed",
            "status_details": {"type": "failed", "error": {"type": "server", "code": "boom"}},
        },
    ),
    server("error", error={"type": "invalid_request_error", "code": "x", "message": "bad"}),
    server(
        "session.updated",
        session={
            "type": "realtime",
            "audio": {
                "input": {"format": {"type": "audio/pcm", "rate": 24000}, "transcription": None},
                "output": {"format": {"type": "audio/pcmu"}},
            },
        },
    ),
]
# The beta session shape: its own type, sent as session.updated by beta endpoints.
BETA_SESSION = server(
    "session.updated",
    session={
        "id": "sess_1",
        "output_audio_format": "g711_ulaw",
        "input_audio_format": "pcm16",
        "input_audio_transcription": None,
    },
)


def openai_messages() -> list[dict[str, Any]]:
    traced = [dict(record.payload) for path in OPENAI_TRACES for record in read_trace(path)]
    return [*traced, *OPENAI_SAMPLES, BETA_SESSION]


def _resolves(annotation: Any, path: Path_) -> bool:
    """Whether ``path`` names a field below a value of type ``annotation``."""
    if not path:
        return True
    origin = typing.get_origin(annotation)
    if annotation in (Any, object) or origin in (dict, Mapping) or annotation is dict:
        return True
    if origin is typing.Annotated:
        return _resolves(typing.get_args(annotation)[0], path)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_resolves(arm, path) for arm in typing.get_args(annotation))
    if origin is list:
        return path[0] == "[]" and _resolves(typing.get_args(annotation)[0], path[1:])
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        field = annotation.model_fields.get(path[0])
        return field is not None and _resolves(field.annotation, path[1:])
    return False


def test_every_field_the_openai_translator_reads_is_in_the_sdk_types() -> None:
    unknown: list[str] = []
    for message in openai_messages():
        event_type = message["type"]
        if event_type in NOT_IN_THE_SDK:
            continue
        reads = Reads()
        OpenAIRealtimeTranslator().translate(Traced(message, (), reads))
        models = [table[event_type] for table in (GA_SERVER, BETA_SERVER) if event_type in table]
        assert models, f"{event_type} is not an SDK server event"
        unknown.extend(
            f"{event_type}: {'.'.join(path)}"
            for path in reads.values
            if not any(_resolves(model, path) for model in models)
        )
    assert not unknown, f"read by the translator, not in the SDK: {sorted(set(unknown))}"


def _extras(value: object, where: str = "$") -> Iterator[str]:
    if isinstance(value, pydantic.BaseModel):
        for key in value.model_extra or {}:
            yield f"{where}.{key}"
        for name in type(value).model_fields:
            yield from _extras(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _extras(item, f"{where}[{index}]")


def _openai_server_model(message: Mapping[str, Any]) -> pydantic.BaseModel:
    """The GA event the message is, else the beta one."""
    models = [
        table[message["type"]] for table in (GA_SERVER, BETA_SERVER) if message["type"] in table
    ]
    for model in models[:-1]:
        try:
            return model.model_validate(message)
        except pydantic.ValidationError:
            continue
    return models[-1].model_validate(message)


@pytest.mark.parametrize("path", OPENAI_TRACES, ids=lambda path: path.name)
def test_bundled_openai_traces_are_sdk_server_events(path: Path) -> None:
    for record in read_trace(path):
        model = _openai_server_model(record.payload)
        assert not list(_extras(model)), (record.payload["type"], list(_extras(model)))


def test_the_openai_samples_are_sdk_server_events() -> None:
    for message in [*OPENAI_SAMPLES, BETA_SESSION]:
        model = _openai_server_model(message)
        assert not list(_extras(model)), (message["type"], list(_extras(model)))


# -- OpenAI Realtime: client events ---------------------------------------------------------------


def _sent_by_openai_commands(ga: bool) -> list[dict[str, Any]]:
    wire = Wire()
    translator = OpenAIRealtimeTranslator()
    session = OPENAI_SAMPLES[-1] if ga else BETA_SESSION
    translator.translate(session)
    translator.translate(server("response.created", response={"id": "resp_1"}))
    translator.translate(
        server(
            "response.output_item.added", response_id="resp_1", output_index=0, item=FUNCTION_CALL
        )
    )
    translator.translate(
        server(
            "response.done",
            response={"id": "resp_1", "status": "completed", "output": [FUNCTION_CALL]},
        )
    )
    translator.translate(server("response.created", response={"id": "resp_2"}))

    async def run() -> None:
        commands = OpenAIRealtimeCommands(wire, translator)
        audio = ev.RealtimeAudioChunk(data=b"\x01\x00" * 240)
        await commands.send_input(ev.TextInput(text="Hi"))
        await commands.commit_turn()
        await commands.interrupt()
        await commands.interrupt()
        await commands.truncate_assistant_output("item_a", 0, 640)
        await commands.submit_tool_result("call_1", {"temperature_c": 21})
        await commands.submit_tool_error("call_1", "ValueError")
        await commands.restore_conversation(
            (
                tr.UserMessage(item_id="item_u", text="Hi"),
                tr.AssistantMessage(
                    response_id="resp_0",
                    item_ids=("item_x",),
                    blocks=(tr.TranscriptBlock(item_id="item_x", text="Hello", truncated=True),),
                    stop_reason=ev.StopReason.CANCELLED,
                ),
            )
        )
        await commands.send_input(ev.AudioInput(chunk=audio))

    anyio.run(run)
    config = {"type": "realtime", "instructions": "Be brief."} if ga else {"voice": "alloy"}
    openings = _OpenAIDialect(translator, config).opening_messages(resuming=True)
    return [*(json.loads(frame) for frame in wire.frames), *openings]


GA_CLIENT = pydantic.TypeAdapter(ga_client.RealtimeClientEvent)
BETA_CLIENT = pydantic.TypeAdapter(beta_client.RealtimeClientEvent)


@pytest.mark.parametrize(
    ("ga", "adapter"), [(True, GA_CLIENT), (False, BETA_CLIENT)], ids=["ga", "beta"]
)
def test_openai_client_events_are_sdk_client_events(ga: bool, adapter: Any) -> None:
    sent = _sent_by_openai_commands(ga)
    kinds = {message["type"] for message in sent}
    assert {
        "conversation.item.create",
        "input_audio_buffer.commit",
        "response.create",
        "response.cancel",
        "conversation.item.truncate",
        "session.update",
    } <= kinds
    for message in sent:
        model = adapter.validate_python(message)
        assert not list(_extras(model)), (message, list(_extras(model)))
        assert model.model_dump(mode="json", exclude_unset=True) == message
