"""The command line: ``demo`` and ``replay``, in process and as ``python -m realtime_session``."""

from __future__ import annotations

import io
import json
import math
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import pytest

import realtime_session
from realtime_session import SessionConfig, codec, public
from realtime_session import events as ev
from realtime_session.__main__ import main
from realtime_session._observed import trace_session
from realtime_session.providers import load_trace, read_trace
from realtime_session.providers._trace import open_trace

if TYPE_CHECKING:
    from collections.abc import Sequence

ROOT = Path(__file__).resolve().parent.parent
TRACES = Path(realtime_session.__file__).parent / "traces"
FAST = "5"  # demo speed for the tests: the five-second call in about one second

TRANSCRIPTS: dict[str, list[str]] = {
    "openai_demo": [
        "user: What's the weather in Lisbon?",
        "assistant: Let me check.",
        "assistant: It's twenty-one",
        "user: Great, thanks! That's all I needed.",
        "assistant: You're welcome. Enjoy the sunshine!",
    ],
    "openai_barge_in": [
        "user: Tell me a story about a lighthouse.",
        "assistant: Once upon",
        "user: Actually, what time is it in Tokyo?",
        "assistant: It's just past midnight in Tokyo.",
    ],
    "openai_tool_call": [
        "user: What's the weather like in Lisbon right now?",
        "assistant: Let me check that for you.",
        "assistant: It's twenty-one degrees and sunny in Lisbon.",
    ],
    "openai_voice_turn": [
        "user: Tell me a fun fact about octopuses.",
        "assistant: Octopuses have three hearts and blue blood.",
    ],
    "gemini_voice_turn": [
        "user: What's the capital of Portugal?",
        "assistant: The capital of Portugal is Lisbon.",
        "user: And of Spain?",
        "assistant: Madrid is the capital of Spain.",
    ],
    # The first answer's audio had played out, by the trace's clock, before the
    # user talked over it: it is kept whole.
    "gemini_interruption": [
        "user: Book a table for two at eight tonight.",
        "assistant: Sure, I'll look for a table for two at eight.",
        "user: Wait, make it three people.",
        "assistant: No problem, a table for three at eight.",
    ],
}

# The full answer the user talked over in the demo call; the transcript keeps what was heard.
DEMO_INTERRUPTED_ANSWER = (
    "It's twenty-one degrees and sunny in Lisbon, with a light breeze from the river "
    "and clear skies all afternoon."
)


def run_cli(argv: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    capsys.readouterr()  # only what main() prints counts
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def trace(name: str) -> str:
    return str(TRACES / f"{name}.jsonl")


def transcript_part(stdout: str) -> list[str]:
    """The replay printout up to the blank line before the stats."""
    lines = stdout.splitlines()
    return lines[: lines.index("")]


def stat(stdout: str, name: str) -> int:
    match = re.search(rf"\b{name}=(\d+)\b", stdout)
    assert match is not None, f"no {name} in {stdout!r}"
    return int(match.group(1))


# -- demo --------------------------------------------------------------------------------------


def demo_section(stdout: str, title: str) -> list[str]:
    lines = stdout.splitlines()
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_demo_plays_the_call_with_its_tool_call_barge_in_and_drops(
    backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["demo", "--speed", FAST, "--backend", backend], capsys)
    assert code == 0, err
    lines = out.splitlines()

    # The live transcript, in conversation order, among the event lines.
    spoken = [line for line in lines if line.startswith(("user:", "assistant:"))]
    live, final = spoken[:5], spoken[5:]
    assert live[:2] == TRANSCRIPTS["openai_demo"][:2]
    assert live[3:] == TRANSCRIPTS["openai_demo"][3:]

    # The tool runs for real and its result goes back to the provider.
    assert any("model calls tool get_weather (call_HnXoA3qjud57uKhK)" in line for line in lines)
    result = '{"city": "Lisbon", "temperature": 21, "unit": "celsius", "conditions": "sunny"}'
    assert any(
        f"session -> provider: result of call_HnXoA3qjud57uKhK: {result}" in line for line in lines
    )
    assert any(line.endswith("tool get_weather completed") for line in lines)
    assert any("response resp_3NR0esNm5CsiqyM9kvKax done (tool_use)" in line for line in lines)

    # The barge-in: flushed audio, a truncation at the player's position, the heard prefix.
    assert any(
        "barge-in: the user talked over resp_cDkxYZxsKgCnB6nhdddVk" in line for line in lines
    )
    assert any("queued audio flushed: player" in line for line in lines)
    sent = re.search(r"session -> provider: truncate item_jRmeA6mOOCrlwBVLuOJm5 at (\d+) ms", out)
    assert sent is not None, out
    played_ms = int(sent.group(1))
    # The player had played 15 chunks of 40 ms when the user spoke (the recording says 600).
    assert 0 < played_ms <= 1000
    assert f"provider: item_jRmeA6mOOCrlwBVLuOJm5 truncated at {played_ms} ms" in out
    # Cut to the words of the heard audio, at 2.5 words per second (SPEC §3.4).
    words = min(20, math.floor(played_ms / 1000 * 2.5 + 0.5))
    heard = " ".join(DEMO_INTERRUPTED_ANSWER.split()[:words])
    assert live[2] == f"assistant: {heard}"
    assert DEMO_INTERRUPTED_ANSWER not in out
    assert any("response resp_cDkxYZxsKgCnB6nhdddVk cancelled" in line for line in lines)

    # The stalled listener loses audio, and the session says so while it happens.
    assert any(
        re.search(r"stalled listener: \d+ audio chunks? dropped \(\d+ so far\)", line)
        for line in lines
    )
    assert any(line.endswith("session closed: provider_closed") for line in lines)

    summary = demo_section(out, "summary")
    dropped = re.search(r"media: (\d+) chunks? dropped, (\d+) flushed at barge-in", summary[1])
    assert dropped is not None, summary
    assert int(dropped.group(1)) > 0
    assert int(dropped.group(2)) > 0
    assert re.search(r"1 tool call\b", summary[0])
    assert re.search(r"player: played [\d.]+ s of audio in \d+ chunks, 0 dropped", summary[2])
    stalled = re.search(
        r"stalled listener: all \d+ control events, \d+ audio chunks?, "
        r"\d+ MediaDropped markers? for (\d+) lost chunks?",
        summary[3],
    )
    assert stalled is not None, summary
    # Every drop of the session was the stalled listener's, and its markers account for all.
    assert int(stalled.group(1)) == int(dropped.group(1))
    assert summary[4] == "  provider commands: submit_tool_result x1, truncate_assistant_output x1"

    # The final transcript is the canonical one: the live lines, in order.
    assert demo_section(out, "transcript") == live
    assert final == live


def test_demo_logs_to_stderr_and_never_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["demo", "--speed", "50", "-v"], capsys)
    assert code == 0
    # With -v the session's info lines are logged, to stderr only.
    assert "session_started" in err
    assert "session_closed" in err
    assert "session_started" not in out
    assert "session_closed" not in out
    assert not re.search(r"\[(debug|info|warning|error)\s*\]", out)


def test_demo_without_verbose_logs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["demo", "--speed", "50"], capsys)
    assert code == 0
    assert err == ""


def test_no_command_runs_the_demo(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("realtime_session._cli.DEFAULT_SPEED", 50.0)
    code, out, _ = run_cli([], capsys)
    assert code == 0
    assert out.startswith("realtime_session demo:")
    assert "played at 50x real time" in out
    assert demo_section(out, "transcript")[0] == TRANSCRIPTS["openai_demo"][0]


def test_demo_stalled_buffer_bounds_the_stalled_listener(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run_cli(["demo", "--speed", "50", "--stalled-buffer", "1000"], capsys)
    assert code == 0
    # With room for the whole call nothing is dropped: the drops come from the small buffer.
    assert "stalled listener: reads nothing until the end, media buffer of 1000 chunks" in out
    assert "  media: 0 chunks dropped" in out
    assert not re.search(r"audio chunks? dropped \(", out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--speed", "0"], "argument --speed: must be a number > 0"),
        (["demo", "--speed", "fast"], "argument --speed: not a number"),
        (["demo", "--stalled-buffer", "0"], "argument --stalled-buffer: must be an integer >= 1"),
        (["demo", "--backend", "curio"], "argument --backend: invalid choice"),
        (["dance"], "invalid choice: 'dance'"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(argv, capsys)
    assert code == 2
    assert out == ""
    assert message in err


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_ctrl_c_exits_130_without_a_traceback(
    backend: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def interrupted_demo(**_: object) -> int:
        async def press_ctrl_c() -> None:
            raise KeyboardInterrupt

        # Raised in a task, as a signal lands: the task group wraps it in a group.
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(press_ctrl_c)
            await anyio.sleep_forever()
        return 0

    monkeypatch.setattr("realtime_session._cli.run_demo", interrupted_demo)
    code, out, err = run_cli(["demo", "--backend", backend], capsys)
    assert code == 130
    assert out == err == ""


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["replay", "--help"], capsys)
    assert code == 0
    assert "--format {openai,gemini,events}" in out


# -- replay --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TRANSCRIPTS))
def test_replay_prints_the_canonical_transcript_and_stats(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["replay", trace(name)], capsys)
    assert code == 0
    assert transcript_part(out) == TRANSCRIPTS[name]
    events = load_trace(trace(name))
    assert stat(out, "events_in") == len(events)
    assert stat(out, "rejected") == 0
    assert stat(out, "media_dropped") == 0
    assert stat(out, "pending_items") == 0
    assert out.splitlines()[-1] == "closed: provider_closed"


@pytest.mark.parametrize(
    ("name", "format"),
    [
        ("openai_demo", "openai"),
        ("openai_tool_call", "openai"),
        ("gemini_voice_turn", "gemini"),
        ("gemini_interruption", "gemini"),
    ],
)
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_replay_with_an_explicit_format_and_backend(
    name: str, format: str, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        ["replay", trace(name), "--format", format, "--backend", backend], capsys
    )
    assert code == 0
    assert transcript_part(out) == TRANSCRIPTS[name]


@pytest.mark.parametrize(
    ("name", "format", "found"),
    [
        ("openai_voice_turn", "events", "an OpenAI Realtime server event"),
        ("openai_voice_turn", "gemini", "an OpenAI Realtime server event"),
        ("gemini_voice_turn", "openai", "a Gemini Live server message"),
    ],
)
def test_replay_refuses_a_format_the_first_line_contradicts(
    name: str, format: str, found: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["replay", trace(name), "--format", format], capsys)
    assert code == 2
    assert out == ""
    assert f"{name}.jsonl, line 1: this is {found}, not " in err


def test_replay_with_a_format_for_an_unrecognisable_first_line_reads_it_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A Gemini message with a field detection does not know: --format says how to read it.
    lines = (TRACES / "gemini_voice_turn.jsonl").read_text(encoding="utf-8").splitlines()
    path = write(tmp_path / "newer.jsonl", '{"someFutureField": {}}', *lines)
    code, _, err = run_cli(["replay", path], capsys)
    assert code == 2
    assert "newer.jsonl, line 1: cannot tell the trace format" in err
    code, out, _ = run_cli(["replay", path, "--format", "gemini"], capsys)
    assert code == 0
    assert transcript_part(out) == TRANSCRIPTS["gemini_voice_turn"]


def record(trace_path: str, recording: Path) -> list[str]:
    """Run a trace through a session that records to ``recording``, as ``replay`` runs it.

    Its transcript lines are returned.
    """

    async def run() -> list[str]:
        loaded = open_trace(trace_path, None)
        config = SessionConfig(record_to=recording)
        _, session = trace_session(loaded.events, loaded.format, config=config)
        async with session:
            await session.wait_closed()
        return [
            f"{'user' if isinstance(m, realtime_session.transcript.UserMessage) else 'assistant'}: "
            f"{m.text}"
            for m in session.transcript
        ]

    return anyio.run(run)


@pytest.mark.parametrize("name", ["openai_demo", "gemini_interruption"])
@pytest.mark.parametrize("format", [[], ["--format", "events"]])
def test_replay_accepts_a_session_recording(
    name: str, format: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "recording.jsonl"
    live = record(trace(name), recording)
    code, out, _ = run_cli(["replay", str(recording), *format], capsys)
    assert code == 0
    assert transcript_part(out) == live == TRANSCRIPTS[name]


def test_replay_of_a_recording_cut_off_mid_line_warns_and_replays_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recording = tmp_path / "recording.jsonl"
    record(trace("openai_voice_turn"), recording)
    lines = recording.read_text(encoding="utf-8").splitlines()
    # A crash while the last event (the response's completion) was being written.
    torn = tmp_path / "torn.jsonl"
    torn.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:25], encoding="utf-8")
    code, out, err = run_cli(["replay", str(torn)], capsys)
    assert code == 0
    assert f"torn.jsonl, line {len(lines)}: ignoring the unterminated last line" in err
    assert stat(out, "events_in") == len(lines) - 1
    # Without its completion the answer never committed: the user's question remains.
    assert transcript_part(out) == TRANSCRIPTS["openai_voice_turn"][:1]
    assert stat(out, "pending_items") == 1


def test_replay_of_a_timed_events_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events_trace = tmp_path / "timed.jsonl"
    with events_trace.open("w", encoding="utf-8") as file:
        for item in load_trace(trace("openai_tool_call")):
            file.write(json.dumps({"t": item.t, "event": codec.to_dict(item.event)}) + "\n")
    code, out, _ = run_cli(["replay", str(events_trace)], capsys)
    assert code == 0
    assert transcript_part(out) == TRANSCRIPTS["openai_tool_call"]


@pytest.mark.parametrize("name", sorted(TRANSCRIPTS))
def test_replay_json_prints_every_public_event_as_a_json_line(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["replay", trace(name), "--json"], capsys)
    assert code == 0
    decoded = [codec.from_json(line, type=public.RealtimeEvent) for line in out.splitlines()]
    assert decoded[-1] == public.SessionClosed(reason="provider_closed")
    assert not any(isinstance(event, public.MediaDropped) for event in decoded)
    committed = [
        f"{'user' if isinstance(e.message, realtime_session.transcript.UserMessage) else 'assistant'}"
        f": {e.message.text}"
        for e in decoded
        if isinstance(e, public.TranscriptCommitted)
    ]
    assert committed == TRANSCRIPTS[name]

    # Audio included: every chunk of the trace, except queued chunks of an interrupted
    # response, which a barge-in flushes before anyone plays them.
    sent = [
        item.event.chunk.data
        for item in load_trace(trace(name))
        if isinstance(item.event, ev.OutputAudioChunk)
    ]
    printed = [e.chunk.data for e in decoded if isinstance(e, public.OutputAudioChunk)]
    assert printed
    if any(isinstance(e, public.Interrupted) for e in decoded):
        assert len(printed) <= len(sent)
    else:
        assert printed == sent


def test_replay_json_round_trips_the_control_events(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["replay", trace("openai_tool_call"), "--json"], capsys)
    assert code == 0
    lines = out.splitlines()
    decoded = [codec.from_json(line, type=public.RealtimeEvent) for line in lines]
    assert [codec.to_json(event) for event in decoded] == lines
    assert decoded[:2] == [public.TurnStarted(), public.TurnCommitted()]
    assert (
        public.ToolCallRequested(call_id="call_dKPdrLoR46gWHi2r", tool_name="get_weather")
        in decoded
    )
    completions = [e for e in decoded if isinstance(e, public.TurnCompleted)]
    assert [c.stop_reason for c in completions] == [ev.StopReason.TOOL_USE, ev.StopReason.END_TURN]


def write(path: Path, *lines: str, end: str = "\n") -> str:
    path.write_text("\n".join(lines) + end, encoding="utf-8")
    return str(path)


def test_replay_of_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.jsonl"
    code, out, err = run_cli(["replay", str(missing)], capsys)
    assert code == 2
    assert out == ""
    assert f"{missing}: no such file" in err


def test_replay_of_a_directory_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["replay", str(tmp_path)], capsys)
    assert code == 2
    assert out == ""
    assert "is a directory" in err


@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_replay_of_a_malformed_line_names_it(
    as_json: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = (TRACES / "openai_voice_turn.jsonl").read_text(encoding="utf-8").splitlines()
    path = write(tmp_path / "bad.jsonl", good[0], good[1], '{"type": "response.done", ', good[3])
    code, out, err = run_cli(["replay", path, *as_json], capsys)
    assert code == 2
    assert out == ""
    assert "bad.jsonl, line 3: not valid JSON" in err


def test_replay_of_a_line_that_is_not_an_object_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "list.jsonl", '{"type": "turn_started"}', "[1, 2]")
    code, _, err = run_cli(["replay", path], capsys)
    assert code == 2
    assert "list.jsonl, line 2: expected a JSON object, found list" in err


def test_replay_of_an_undecodable_event_names_the_line_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path / "events.jsonl",
        '{"type": "turn_started"}',
        '{"type": "input_transcript_final", "text": 42}',
    )
    code, out, err = run_cli(["replay", path], capsys)
    assert code == 2
    assert out == ""
    assert "events.jsonl, line 2: " in err
    assert "$.text" in err


def test_replay_of_an_unknown_format_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "what.jsonl", '{"hello": "world"}')
    code, out, err = run_cli(["replay", path], capsys)
    assert code == 2
    assert out == ""
    assert "what.jsonl, line 1: cannot tell the trace format" in err


def test_replay_with_an_unknown_format_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["replay", trace("openai_demo"), "--format", "anthropic"], capsys)
    assert code == 2
    assert out == ""
    assert "argument --format: invalid choice: 'anthropic'" in err


def test_replay_of_an_empty_trace_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "empty.jsonl", "", end="")
    code, _, err = run_cli(["replay", path], capsys)
    assert code == 2
    assert "empty.jsonl, line 1: the trace is empty" in err


def test_replay_of_binary_garbage_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "binary.jsonl"
    path.write_bytes(b'{"type": "turn_started"}\n\xff\xfe\x00\n')
    code, _, err = run_cli(["replay", str(path)], capsys)
    assert code == 2
    assert "binary.jsonl, line 2: not UTF-8 text" in err


def test_replay_of_a_trace_whose_provider_fails_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path / "fatal.jsonl",
        codec.to_json(ev.InputTranscriptFinalForItem(item_id="u1", text="Hello?")),
        codec.to_json(ev.ProviderError(code="server_error", message="boom", fatal=True)),
    )
    code, out, _ = run_cli(["replay", path], capsys)
    assert code == 1
    assert transcript_part(out) == ["user: Hello?"]
    assert out.splitlines()[-1] == "closed: failed (provider error server_error: boom)"


def test_replay_prints_multiline_text_with_the_role_on_every_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path / "lines.jsonl",
        codec.to_json(ev.InputTranscriptFinalForItem(item_id="u1", text="Two\nlines")),
        codec.to_json(
            ev.OutputTextDeltaForItem(
                response_id="r1", delta_id="d1", item_id="a1", previous_item_id="u1", delta="A\nB"
            )
        ),
        codec.to_json(ev.TurnCompleted(response_id="r1")),
    )
    code, out, _ = run_cli(["replay", path], capsys)
    assert code == 0
    assert transcript_part(out) == ["user: Two", "user: lines", "assistant: A", "assistant: B"]


# -- as a program ----------------------------------------------------------------------------------


def python_m(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "realtime_session", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def test_python_m_realtime_session_demo() -> None:
    result = python_m("demo", "--speed", FAST)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == "realtime_session demo: a recorded OpenAI Realtime call (openai_demo.jsonl)"
    assert demo_section(result.stdout, "transcript")[:2] == TRANSCRIPTS["openai_demo"][:2]
    assert "barge-in: the user talked over resp_cDkxYZxsKgCnB6nhdddVk" in result.stdout


def test_python_m_realtime_session_replay_and_errors() -> None:
    result = python_m("replay", trace("gemini_voice_turn"))
    assert result.returncode == 0, result.stderr
    assert transcript_part(result.stdout) == TRANSCRIPTS["gemini_voice_turn"]

    missing = python_m("replay", "no/such/trace.jsonl")
    assert missing.returncode == 2
    assert missing.stdout == ""
    assert "python -m realtime_session replay: error: no/such/trace.jsonl: no such file" in (
        missing.stderr
    )


def test_replay_json_into_a_pipe_closed_early_exits_quietly() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "realtime_session", "replay", trace("openai_demo"), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        first = process.stdout.readline()
        # Like `| head -1`: the reader goes away while audio lines are still coming.
        process.stdout.close()
        stderr = process.stderr.read()
        code = process.wait(timeout=60)
    assert json.loads(first) == {"type": "turn_started"}
    assert code == 0
    assert b"Traceback" not in stderr


def test_the_console_script_runs_main() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    target = pyproject["project"]["scripts"]["realtime-session"]
    assert target == "realtime_session.__main__:main"
    module_name, _, attribute = target.partition(":")
    module = __import__(module_name, fromlist=[attribute])
    assert getattr(module, attribute) is main


# -- misuse ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["garbage without a newline", '{"type": "turn_comp'])
def test_replay_of_a_lone_unterminated_bad_line_exits_2(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A torn last line is forgiven only after a line that was written whole.
    path = write(tmp_path / "lone.jsonl", text, end="")
    code, out, err = run_cli(["replay", path], capsys)
    assert code == 2
    assert out == ""
    assert "lone.jsonl, line 1: " in err
    assert "ignoring" not in err


def test_replay_dash_reads_the_trace_from_standard_input() -> None:
    for name in ("gemini_interruption", "openai_tool_call"):
        result = subprocess.run(
            [sys.executable, "-m", "realtime_session", "replay", "-"],
            input=(TRACES / f"{name}.jsonl").read_text(encoding="utf-8"),
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert transcript_part(result.stdout) == TRANSCRIPTS[name]


def test_replay_dash_names_standard_input_in_errors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = (TRACES / "openai_voice_turn.jsonl").read_text(encoding="utf-8").splitlines()
    piped = "\n".join([good[0], '{"type": "response.done", ', good[2]]) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(piped.encode())))
    code, out, err = run_cli(["replay", "-", "--format", "openai"], capsys)
    assert code == 2
    assert out == ""
    assert "replay: error: <stdin>, line 2: not valid JSON" in err


# A stand-in for a machine without trio: importing it fails as if it were not installed.
WITHOUT_TRIO = textwrap.dedent(
    """
    import importlib.abc
    import sys

    class NoTrio(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "trio" or name.startswith("trio."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, NoTrio())
    from realtime_session.__main__ import main

    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.parametrize("command", [["demo"], ["replay", trace("openai_voice_turn")]])
def test_backend_trio_without_trio_says_how_to_install_it(command: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_TRIO, *command, "--backend", "trio"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert "trio" in line
    assert "pip install" in line
    assert "Traceback" not in result.stderr


def test_demo_times_are_the_recording_s_own_times(capsys: pytest.CaptureFixture[str]) -> None:
    # Far faster than this machine can keep up with: wall time times the speed would
    # run ahead of the recording, while the trace's own times stay what they are.
    code, out, err = run_cli(["demo", "--speed", "1000"], capsys)
    assert code == 0, err
    recorded = sorted({f"{record.t:5.2f}" for record in read_trace(trace("openai_demo"))})
    shown = re.findall(r"^  \[([ \d.]+)s\] (.*)$", out, flags=re.MULTILINE)
    assert shown
    for stamp, line in shown:
        assert stamp in recorded, (stamp, line)
    stamps = [float(stamp) for stamp, _ in shown]
    assert stamps == sorted(stamps)
    # The events the recording times, at the recording's time.
    assert ("0.30", "user started speaking") in [(s.strip(), line) for s, line in shown]
    assert shown[-1][1] == "session closed: provider_closed"
    assert float(shown[-1][0]) == pytest.approx(4.965, abs=0.01)
