"""Hostile provider input: mutated recorded traces through both translators and a session.

Every payload starts as a real one from ``tests/fixtures`` and is then damaged: fields
dropped, values of the wrong type, 1 MB strings, 10,000-level nesting, invalid base64,
unknown or confused event types, NaN and infinities, keys that are not strings, frames
that are not JSON at all. Whatever arrives, a translator returns events (it never
raises), every event survives the wire codec, and a session fed the result keeps
delivering events and closes cleanly.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
import typing
from pathlib import Path
from typing import Any, Literal

import anyio
import pytest
from helpers import RecordingCommands, provider_stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realtime_session import RealtimeSession, SessionConfig, codec, public, recording
from realtime_session import events as ev
from realtime_session._json import parse as parse_json
from realtime_session.providers import gemini, openai, read_trace

FIXTURES = Path(__file__).parent / "fixtures"
Provider = Literal["openai", "gemini"]
Path_ = tuple[str | int, ...]

EVENT_CLASSES = typing.get_args(ev.RealtimeSessionEvent)
# Generous: a session takes microseconds per event; this only catches a wedged one.
RESPONSIVE_S = 5.0


def _traces(prefix: str) -> list[list[dict[str, Any]]]:
    return [
        [dict(record.payload) for record in read_trace(path)]
        for path in sorted(FIXTURES.glob(f"{prefix}_*.jsonl"))
    ]


TRACES: dict[Provider, list[list[dict[str, Any]]]] = {
    "openai": _traces("openai"),
    "gemini": _traces("gemini"),
}

OPENAI_TYPES = sorted(
    {payload["type"] for trace in TRACES["openai"] for payload in trace}
    | {
        "conversation.item.created",
        "conversation.item.input_audio_transcription.failed",
        "input_audio_buffer.cleared",
        "response.audio.delta",
        "response.audio_transcript.delta",
        "response.cancelled",
        "response.output_text.delta",
        "response.output_text.done",
        "response.text.delta",
        "error",
    }
)
GEMINI_FIELDS = sorted({key for trace in TRACES["gemini"] for payload in trace for key in payload})


def _nested_dict(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth):
        child: dict[str, Any] = {}
        node["a"] = child
        node = child
    return root


def _nested_list(depth: int) -> list[Any]:
    root: list[Any] = []
    node = root
    for _ in range(depth):
        child: list[Any] = []
        node.append(child)
        node = child
    return root


HUGE = "\u00e9" * 1_000_000
# Built once: constructing them per example would dominate the run time.
DEEP_DICT = _nested_dict(10_000)
DEEP_LIST = _nested_list(10_000)
BAD_BASE64 = ["!!!!", "AAA", "A===", "Zm9v\x00", "\u00e9\u00e9\u00e9\u00e9", "AA AA"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, 5e-324]),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(["", "   ", "\ud800", "\x00", HUGE, *BAD_BASE64]),
    st.binary(max_size=6),
)
garbage: st.SearchStrategy[object] = st.one_of(
    scalars,
    st.sampled_from([DEEP_DICT, DEEP_LIST]),
    st.lists(scalars, max_size=3),
    st.tuples(scalars),
    st.dictionaries(st.text(max_size=4), scalars, max_size=3),
    # Keys that are not strings: a decoder of our own would never make these.
    st.dictionaries(
        st.one_of(st.integers(), st.none(), st.booleans(), st.tuples(st.integers())),
        scalars,
        min_size=1,
        max_size=2,
    ),
)


def _shared(value: object) -> bool:
    """One of the prebuilt deep values, which damage must never modify."""
    return value is DEEP_DICT or value is DEEP_LIST


def _paths(value: object, prefix: Path_ = ()) -> list[Path_]:
    """The positions in a payload, the root included, down to a few levels."""
    found = [prefix]
    if len(prefix) >= 6 or _shared(value):
        return found
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_paths(child, (*prefix, index)))
    return found


def _parent(root: Any, path: Path_) -> Any:
    node = root
    for step in path[:-1]:
        node = node[step]
    return node


@st.composite
def mutated(draw: st.DrawFn, payload: dict[str, Any], provider: Provider) -> object:
    """``payload`` with one to three kinds of damage."""
    value: Any = copy.deepcopy(payload)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(value)
        path = draw(st.sampled_from(paths))
        operation = draw(
            st.sampled_from(
                ["drop", "replace", "replace", "add", "base64", "wrap", "retype", "graft"]
            )
        )
        if operation == "retype":
            if not isinstance(value, dict) or _shared(value):
                continue
            if provider == "openai":
                value["type"] = draw(st.sampled_from([*OPENAI_TYPES, "", "x.unknown", HUGE]))
            else:
                # Field confusion: one message's body under another message's key.
                body = (
                    draw(garbage)
                    if draw(st.booleans()) or not value
                    else value.pop(next(iter(value)))
                )
                value[draw(st.sampled_from([*GEMINI_FIELDS, "unknownField"]))] = body
            continue
        if operation == "add":
            target = _parent(value, path)[path[-1]] if path else value
            if isinstance(target, dict) and not _shared(target):
                key = draw(st.one_of(st.text(max_size=6), st.sampled_from([1, None, (1,)])))
                target[key] = draw(garbage)
            continue
        if not path:
            if operation in {"replace", "wrap"}:
                value = draw(garbage) if operation == "replace" else [value]
            continue
        parent = _parent(value, path)
        key = path[-1]
        if operation == "drop":
            del parent[key]
        elif operation == "replace":
            parent[key] = draw(garbage)
        elif operation == "base64":
            parent[key] = draw(st.sampled_from(BAD_BASE64))
        elif operation == "wrap":
            parent[key] = draw(st.sampled_from([[parent[key]], {"value": parent[key]}]))
        else:  # graft: a value from elsewhere in the same provider's traces
            trace = draw(st.sampled_from(TRACES[provider]))
            donor = draw(st.sampled_from(trace))
            donor_path = draw(st.sampled_from(_paths(donor)))
            graft: Any = donor
            for step in donor_path:
                graft = graft[step]
            parent[key] = copy.deepcopy(graft)
    result: object = value
    return result


@st.composite
def frame_sequences(draw: st.DrawFn, provider: Provider) -> list[object]:
    """A window of a recorded trace, each payload possibly damaged, with strays mixed in.

    The translators are stateful, so damage has to land in the middle of real
    conversations, not only on a fresh translator.
    """
    trace = draw(st.sampled_from(TRACES[provider]))
    start = draw(st.integers(0, len(trace) - 1))
    window = trace[start : start + draw(st.integers(1, 40))]
    frames: list[object] = []
    for payload in window:
        roll = draw(st.integers(0, 9))
        if roll < 3:
            frames.append(draw(mutated(payload, provider)))
        elif roll == 3:
            frames.append(draw(garbage))
        elif roll == 4:
            frames.extend([payload, payload])  # a replay
        else:
            frames.append(payload)
    return frames


def translator_for(
    provider: Provider,
) -> openai.OpenAIRealtimeTranslator | gemini.GeminiLiveTranslator:
    return (
        openai.OpenAIRealtimeTranslator() if provider == "openai" else gemini.GeminiLiveTranslator()
    )


def round_trips(event: ev.RealtimeSessionEvent) -> bool:
    try:
        return codec.from_json(codec.to_json(event)) == event
    except (ValueError, TypeError, RecursionError):
        return False


def translate_all(provider: Provider, frames: list[object]) -> list[ev.RealtimeSessionEvent]:
    """Translate like the WebSocket reader; check what comes out; return it."""
    translator = translator_for(provider)
    produced: list[ev.RealtimeSessionEvent] = []
    for frame in frames:
        events = translator.translate(frame)
        assert isinstance(events, list)
        for event in events:
            assert isinstance(event, EVENT_CLASSES), event
            assert round_trips(event), event
            projected = event.to_public_event()
            if projected is not None:
                wire = codec.to_json(projected)
                assert codec.from_json(wire, type=public.RealtimeEvent) == projected
        produced.extend(events)
    return produced


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
            HealthCheck.function_scoped_fixture,
        ],
    )


# -- translators ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "gemini"])
@fuzz_settings(60)
@given(data=st.data())
def test_translators_never_raise_and_every_event_survives_the_codec(
    provider: Provider, data: st.DataObject
) -> None:
    translate_all(provider, data.draw(frame_sequences(provider)))


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("provider", ["openai", "gemini"])
@fuzz_settings(3000)
@given(data=st.data())
def test_translators_never_raise_and_every_event_survives_the_codec_long(
    provider: Provider, data: st.DataObject
) -> None:
    translate_all(provider, data.draw(frame_sequences(provider)))


def _mangle_text(text: str, cut: int, splice: str) -> str:
    cut = cut % (len(text) + 1)
    return text[:cut] + splice + text[cut:]


@pytest.mark.parametrize("provider", ["openai", "gemini"])
@fuzz_settings(80)
@given(data=st.data())
def test_frames_that_are_damaged_as_text_never_reach_past_the_decoder_as_exceptions(
    provider: Provider, data: st.DataObject
) -> None:
    """What the reader does with a frame: decode it strictly, then translate it."""
    trace = data.draw(st.sampled_from(TRACES[provider]))
    text = json.dumps(data.draw(st.sampled_from(trace)))
    splice = data.draw(
        st.one_of(
            st.sampled_from(
                ["NaN", "Infinity", "-Infinity", "1e999", '"\\ud800"', "[" * 100_000, "}", ",", ""]
            ),
            st.text(max_size=8),
        )
    )
    mangled = _mangle_text(text, data.draw(st.integers(0, 10**6)), splice)
    frame: str | bytes = mangled
    if data.draw(st.booleans()):
        frame = mangled.encode("utf-8", "surrogatepass") + data.draw(st.binary(max_size=3))
    try:
        message = parse_json(frame)
    except (ValueError, RecursionError):
        return  # the reader turns this into a non-fatal ProviderError("invalid_json")
    translate_all(provider, [message])


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_the_extremes_one_at_a_time(provider: Provider) -> None:
    """Each kind of damage, deterministically, in every field of every kind of payload."""
    kinds: dict[object, dict[str, Any]] = {}
    for trace in TRACES[provider]:
        for payload in trace:
            kind = payload.get("type") or tuple(sorted(payload))
            kinds.setdefault(kind, payload)
    for payload in kinds.values():
        for path in _paths(payload)[1:]:
            if len(path) > 3:
                continue
            for value in (HUGE, DEEP_DICT, DEEP_LIST, math.nan, -math.inf, {1: "x"}, None):
                damaged = copy.deepcopy(payload)
                _parent(damaged, path)[path[-1]] = value
                translate_all(provider, [damaged])
    translate_all(provider, [None, 3, "text", b"\x00", [], DEEP_DICT, DEEP_LIST, {(1,): 2}])


# -- through a session ------------------------------------------------------------------------


async def _noop_tool(**arguments: object) -> str:
    return "ok"


async def check_session_survives(events: list[object]) -> None:
    """Feed ``events`` to a session with tools and a recording, then a sentinel, then close."""
    sentinel = ev.InputTranscriptPartial(text="sentinel: still listening")
    commands = RecordingCommands()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "session.jsonl"
        send, receive = provider_stream(64)
        session = RealtimeSession(
            receive,
            config=SessionConfig(record_to=path, tool_timeout_s=RESPONSIVE_S),
            commands=commands,
            tools={"get_weather": _noop_tool, "find_table": _noop_tool},
        )
        subscription = session.events(backpressure=True)
        seen: list[public.RealtimeEvent] = []
        heard = anyio.Event()

        async def read() -> None:
            async for event in subscription:
                seen.append(event)
                if event == public.InputTranscriptPartial(text=sentinel.text):
                    heard.set()

        with anyio.fail_after(4 * RESPONSIVE_S):
            async with session, anyio.create_task_group() as task_group:
                task_group.start_soon(read)
                with send:
                    for event in events:
                        await send.send(event)  # type: ignore[arg-type]
                    await send.send(sentinel)
                    with anyio.fail_after(RESPONSIVE_S):
                        await heard.wait()
                await session.wait_closed()
        assert seen[-1] == public.SessionClosed(reason="provider_closed")
        assert session.stats.events_in == len(events) + 1
        # Everything the session applied was recorded, and reads back in order.
        applied = [event for event in events if isinstance(event, EVENT_CLASSES)]
        assert recording.read_events(path) == [*applied, sentinel]


def _session_input(provider: Provider, frames: list[object]) -> list[object]:
    events: list[object] = []
    for event in translate_all(provider, frames):
        if isinstance(event, ev.ProviderError) and event.fatal:
            continue  # a fatal error ends the session by design; that is tested elsewhere
        events.append(event)
    # Objects that are not events at all are rejected by the session, not fatal.
    events.extend(frames[:2])
    return events


@pytest.mark.parametrize("provider", ["openai", "gemini"])
@fuzz_settings(12)
@given(data=st.data())
async def test_a_session_fed_garbage_stays_responsive_and_closes_cleanly(
    anyio_backend: object, provider: Provider, data: st.DataObject
) -> None:
    frames = data.draw(frame_sequences(provider))
    await check_session_survives(_session_input(provider, frames))


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("provider", ["openai", "gemini"])
@fuzz_settings(400)
@given(data=st.data())
async def test_a_session_fed_garbage_stays_responsive_and_closes_cleanly_long(
    anyio_backend: object, provider: Provider, data: st.DataObject
) -> None:
    frames = data.draw(frame_sequences(provider))
    await check_session_survives(_session_input(provider, frames))


# -- tool arguments JSON cannot carry ---------------------------------------------------------


def _gemini_tool_call(arguments: object) -> dict[str, Any]:
    return {"toolCall": {"functionCalls": [{"id": "call_1", "name": "lookup", "args": arguments}]}}


@pytest.mark.parametrize(
    "arguments",
    [
        {"x": math.nan},
        {"x": math.inf},
        {1: "key that is not a string"},
        {"x": (1, 2)},
        {"x": b"bytes"},
        _nested_dict(10_000),
    ],
    ids=["nan", "inf", "int-key", "tuple", "bytes", "deep"],
)
def test_gemini_tool_arguments_that_json_cannot_carry_do_not_escape_the_translator(
    arguments: object,
) -> None:
    events = gemini.GeminiLiveTranslator().translate(_gemini_tool_call(arguments))
    assert events
    assert all(round_trips(event) for event in events)


def _openai_tool_call(arguments: str) -> list[dict[str, Any]]:
    item = {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "lookup"}
    return [
        {"type": "response.created", "response": {"id": "resp_1"}},
        {"type": "response.output_item.added", "response_id": "resp_1", "item": item},
        {
            "type": "response.function_call_arguments.done",
            "response_id": "resp_1",
            "item_id": "fc_1",
            "call_id": "call_1",
            "arguments": arguments,
        },
    ]


@pytest.mark.parametrize("provider", ["openai", "gemini"])
async def test_a_recording_of_deeply_nested_tool_arguments_reads_back(
    anyio_backend: object, provider: Provider, tmp_path: Path
) -> None:
    nested = "[" * 300 + "]" * 300
    if provider == "openai":
        frames = [parse_json(json.dumps(frame)) for frame in _openai_tool_call(nested)]
    else:
        frames = [parse_json(json.dumps(_gemini_tool_call({"a": 1})).replace('{"a": 1}', nested))]
    events = translate_all(provider, frames)
    assert any(isinstance(event, ev.ToolCallRequested) for event in events)
    path = tmp_path / "session.jsonl"
    send, receive = provider_stream(len(events) + 1)
    async with RealtimeSession(receive, config=SessionConfig(record_to=path)) as session:
        with send:
            for event in events:
                send.send_nowait(event)
        with anyio.fail_after(RESPONSIVE_S):
            await session.wait_closed()
    assert recording.read_events(path) == events
