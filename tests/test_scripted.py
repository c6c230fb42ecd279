"""The scripted provider: feeding, pacing, command recording, and trace loading."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import anyio
import pytest
from trio.testing import MockClock

from realtime_session import ProviderCommands, codec
from realtime_session import events as ev
from realtime_session.providers import (
    ReceivedCommand,
    ScriptedProvider,
    TimedEvent,
    TraceFormat,
    TraceFormatError,
    detect_trace_format,
    load_trace,
    read_trace,
)

FIXTURES = Path(__file__).parent / "fixtures"
BUNDLED = Path(__file__).parents[1] / "realtime_session" / "traces"
TRACES = [
    "openai_voice_turn",
    "openai_tool_call",
    "openai_barge_in",
    "openai_demo",
    "gemini_voice_turn",
    "gemini_interruption",
]

EVENTS: list[ev.RealtimeSessionEvent] = [
    ev.TurnStarted(),
    ev.TurnCommitted(),
    ev.OutputTextDeltaForItem(response_id="r", delta_id="d1", item_id="i", delta="Hi"),
    ev.TurnCompleted(response_id="r"),
]


# -- feeding -------------------------------------------------------------------------------


async def test_feeds_the_events_in_order_and_then_ends_the_stream() -> None:
    async with ScriptedProvider(EVENTS).run() as stream:
        received = [event async for event in stream]
    assert received == EVENTS


async def test_feed_works_in_a_task_group_of_your_own() -> None:
    provider = ScriptedProvider(EVENTS)
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](0)
    async with anyio.create_task_group() as tg, receive:
        tg.start_soon(provider.feed, send)
        received = [event async for event in receive]
    assert received == EVENTS


async def test_hold_open_keeps_the_stream_open_until_the_context_exits() -> None:
    async with ScriptedProvider(EVENTS, hold_open=True).run() as stream:
        for _ in EVENTS:
            await stream.receive()
        with anyio.move_on_after(0.05) as scope:
            await stream.receive()
        assert scope.cancelled_caught
    with pytest.raises(anyio.ClosedResourceError):
        await stream.receive()


async def test_a_reader_that_closes_early_stops_the_feeder_quietly() -> None:
    provider = ScriptedProvider(EVENTS * 10, buffer=0)
    async with provider.run() as stream:
        assert await stream.receive() == EVENTS[0]
        await stream.aclose()
        await anyio.sleep(0.01)


async def test_an_exception_in_the_body_propagates_unwrapped() -> None:
    with pytest.raises(KeyError, match="boom"):
        async with ScriptedProvider(EVENTS, hold_open=True).run():
            raise KeyError("boom")


def test_speed_must_be_positive_and_finite() -> None:
    for speed in (0.0, -1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="speed"):
            ScriptedProvider(EVENTS, speed=speed)


# -- pacing ----------------------------------------------------------------------------------------

TIMED = [
    TimedEvent(t=0.0, event=ev.TurnStarted()),
    TimedEvent(t=0.5, event=ev.TurnCommitted()),
    TimedEvent(
        event=ev.OutputTextDeltaForItem(response_id="r", delta_id="d", item_id="i", delta="x")
    ),
    TimedEvent(t=2.0, event=ev.TurnCompleted(response_id="r")),
]


@pytest.mark.parametrize(
    "anyio_backend",
    [pytest.param(("trio", {"clock": MockClock(autojump_threshold=0)}), id="trio-virtual-clock")],
)
@pytest.mark.parametrize(
    ("speed", "expected"),
    [
        pytest.param(1.0, [0.0, 0.5, 0.5, 2.0], id="real-time"),
        pytest.param(2.0, [0.0, 0.25, 0.25, 1.0], id="twice-as-fast"),
        pytest.param(0.5, [0.0, 1.0, 1.0, 4.0], id="half-speed"),
        pytest.param(None, [0.0, 0.0, 0.0, 0.0], id="unpaced"),
    ],
)
async def test_timed_events_are_delivered_at_t_divided_by_speed(
    speed: float | None, expected: list[float]
) -> None:
    start = anyio.current_time()
    async with ScriptedProvider(TIMED, speed=speed).run() as stream:
        arrivals = [anyio.current_time() - start async for _ in stream]
    assert arrivals == pytest.approx(expected)


async def test_real_time_pacing_never_delivers_early() -> None:
    script = [
        TimedEvent(t=0.0, event=ev.TurnStarted()),
        TimedEvent(t=0.06, event=ev.TurnCommitted()),
    ]
    start = anyio.current_time()
    async with ScriptedProvider(script, speed=1.0).run() as stream:
        await stream.receive()
        await stream.receive()
        # A lower bound only: a busy machine may deliver late, never early.
        assert anyio.current_time() - start >= 0.055


# -- commands -----------------------------------------------------------------------------------------


async def test_every_command_is_recorded_with_its_arguments() -> None:
    provider = ScriptedProvider([])
    chunk = ev.AudioInput(chunk=ev.RealtimeAudioChunk(data=b"\0\0"))
    await provider.send_input(chunk)
    await provider.commit_turn()
    await provider.interrupt()
    await provider.truncate_assistant_output("item_a", 0, 800)
    await provider.submit_tool_result("call_1", {"temperature_c": 21})
    await provider.submit_tool_error("call_2", "no such city")
    await provider.aclose()
    await provider.aclose()
    assert provider.commands_received == [
        ReceivedCommand(name="send_input", args={"chunk": chunk}),
        ReceivedCommand(name="commit_turn"),
        ReceivedCommand(name="interrupt"),
        ReceivedCommand(
            name="truncate_assistant_output",
            args={"item_id": "item_a", "content_index": 0, "audio_played_ms": 800},
        ),
        ReceivedCommand(
            name="submit_tool_result", args={"call_id": "call_1", "output": {"temperature_c": 21}}
        ),
        ReceivedCommand(
            name="submit_tool_error", args={"call_id": "call_2", "error": "no such city"}
        ),
        ReceivedCommand(name="aclose"),
    ]
    assert provider.commands_named("truncate_assistant_output") == [
        {"item_id": "item_a", "content_index": 0, "audio_played_ms": 800}
    ]
    with pytest.raises(anyio.ClosedResourceError):
        await provider.commit_turn()


async def test_a_command_named_in_failures_is_recorded_and_then_raises() -> None:
    provider = ScriptedProvider(
        [], failures={"truncate_assistant_output": RuntimeError("too long")}
    )
    with pytest.raises(RuntimeError, match="too long"):
        await provider.truncate_assistant_output("item_a", 0, 99_000)
    await provider.commit_turn()
    assert [command.name for command in provider.commands_received] == [
        "truncate_assistant_output",
        "commit_turn",
    ]


def test_truncation_support_can_be_switched_off() -> None:
    default: ProviderCommands = ScriptedProvider([])
    gemini_like: ProviderCommands = ScriptedProvider([], supports_truncation=False)
    assert getattr(default, "supports_truncation", True) is True
    assert getattr(gemini_like, "supports_truncation", True) is False


@pytest.mark.parametrize(
    ("name", "format", "truncates"),
    [
        ("gemini_interruption", None, False),
        ("gemini_voice_turn", "gemini", False),
        ("openai_barge_in", None, True),
        ("openai_voice_turn", "openai", True),
    ],
)
def test_truncation_support_is_what_the_traces_provider_does(
    name: str, format: TraceFormat | None, truncates: bool
) -> None:
    # Gemini Live cannot truncate: a session must cut its own transcript, not wait.
    provider: ProviderCommands = ScriptedProvider(FIXTURES / f"{name}.jsonl", format=format)
    assert getattr(provider, "supports_truncation", True) is truncates
    forced = ScriptedProvider(FIXTURES / f"{name}.jsonl", supports_truncation=not truncates)
    assert forced.supports_truncation is not truncates


# -- traces ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", TRACES)
def test_bundled_traces_are_the_fixtures_and_stay_small(name: str) -> None:
    fixture = (FIXTURES / f"{name}.jsonl").read_bytes()
    assert (BUNDLED / f"{name}.jsonl").read_bytes() == fixture
    assert len(fixture) < 200_000


def test_the_fixtures_are_reproduced_by_their_generator(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_traces", FIXTURES / "make_traces.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    vars(module)["TARGETS"] = (tmp_path,)
    module.main()
    for name in TRACES:
        assert (tmp_path / f"{name}.jsonl").read_bytes() == (
            FIXTURES / f"{name}.jsonl"
        ).read_bytes()


@pytest.mark.parametrize(
    ("name", "expected"),
    [(name, "gemini" if name.startswith("gemini") else "openai") for name in TRACES],
)
def test_trace_format_is_detected_from_the_first_line(name: str, expected: str) -> None:
    first = read_trace(FIXTURES / f"{name}.jsonl")[0]
    assert detect_trace_format(first.payload) == expected


def test_detection_tells_codec_events_from_provider_events() -> None:
    assert detect_trace_format({"type": "turn_started"}) == "events"
    assert detect_trace_format({"type": "error", "error": {}}) == "openai"
    assert detect_trace_format({"serverContent": {}, "usageMetadata": {}}) == "gemini"
    with pytest.raises(ValueError, match="trace format"):
        detect_trace_format({"hello": 1})


def test_a_provider_trace_loads_with_each_lines_time() -> None:
    timed = load_trace(FIXTURES / "openai_voice_turn.jsonl")
    times = [event.t for event in timed]
    assert all(t is not None for t in times)
    assert times == sorted(times)  # type: ignore[type-var]
    assert isinstance(timed[0].event, ev.TurnStarted)
    assert timed[0].t == 0.6
    provider = ScriptedProvider(FIXTURES / "openai_voice_turn.jsonl")
    assert list(provider.events) == timed


def test_an_events_trace_is_decoded_with_the_wire_codec(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    lines = [
        json.dumps({"t": 0.25, "event": codec.to_dict(EVENTS[0])}),
        "",
        json.dumps(codec.to_dict(EVENTS[1])),
        json.dumps({"event": codec.to_dict(EVENTS[2])}),
        json.dumps({"t": 3, "event": codec.to_dict(EVENTS[3])}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert load_trace(path) == [
        TimedEvent(t=0.25, event=EVENTS[0]),
        TimedEvent(event=EVENTS[1]),
        TimedEvent(event=EVENTS[2]),
        TimedEvent(t=3.0, event=EVENTS[3]),
    ]


@pytest.mark.parametrize(
    ("lines", "line", "reason"),
    [
        pytest.param(['{"type": "turn_started"}', "{oops"], 2, "not valid JSON", id="bad-json"),
        pytest.param(['{"type": "turn_started"}', "[1, 2]"], 2, "JSON object", id="not-an-object"),
        pytest.param(
            ['{"t": "soon", "event": {"type": "turn_started"}}'],
            1,
            "'t' must be a number",
            id="t-string",
        ),
        pytest.param(
            ['{"t": -1, "event": {"type": "turn_started"}}'], 1, "not negative", id="t-negative"
        ),
        pytest.param(
            ['{"t": NaN, "event": {"type": "turn_started"}}'], 1, "not valid JSON", id="t-nan"
        ),
        pytest.param(
            ['{"t": 1, "event": 5}'], 1, "'event' must be a JSON object", id="event-not-object"
        ),
        pytest.param(
            ['{"type": "turn_started"}', "", '{"type": "turn_completed"}'],
            3,
            "response_id",
            id="codec-error",
        ),
        pytest.param(
            ['{"hello": "world"}'], 1, "cannot tell the trace format", id="unknown-format"
        ),
        pytest.param([], 1, "empty", id="empty"),
    ],
)
def test_a_malformed_trace_line_is_reported_with_its_number(
    tmp_path: Path, lines: list[str], line: int, reason: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(TraceFormatError, match=reason) as caught:
        load_trace(path)
    assert caught.value.line == line
    assert caught.value.path == str(path)
    assert f"line {line}" in str(caught.value)


def test_an_unknown_format_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"type": "turn_started"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="format"):
        load_trace(path, "mp3")  # type: ignore[arg-type]


def test_invalid_json_names_the_file_line_and_the_column_only(tmp_path: Path) -> None:
    path = tmp_path / "trace.jsonl"
    path.write_text('{"type": "turn_started"}\n{"type": oops}\n', encoding="utf-8")
    with pytest.raises(TraceFormatError) as caught:
        load_trace(path, format="events")
    assert caught.value.line == 2
    assert caught.value.reason == "not valid JSON: Expecting value at column 10"
