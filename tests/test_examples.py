"""The examples run as shown: each as a program, and the OpenAI bot against a loopback server."""

from __future__ import annotations

import importlib
import io
import os
import re
import subprocess
import sys
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import pytest
from test_ws_transport import Handler, Peer, loopback

import realtime_session
from realtime_session import events as ev
from realtime_session import transcript as tr
from realtime_session.providers import load_trace, read_trace
from realtime_session.recording import read_events

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
TRACES = Path(realtime_session.__file__).parent / "traces"

Backend = tuple[str, dict[str, object]]

DEMO_INTERRUPTED_ANSWER = (
    "It's twenty-one degrees and sunny in Lisbon, with a light breeze from the river "
    "and clear skies all afternoon."
)


def run_example(
    name: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=env,
        check=False,
    )


def wav_duration_s(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1
        assert wav.getsampwidth() == 2
        assert wav.getframerate() == 24000
        return wav.getnframes() / wav.getframerate()


def audio_of(trace: Path) -> list[bytes]:
    """The payloads of the trace's audio chunks (24 kHz mono PCM16: 48 bytes per ms)."""
    return [
        item.event.chunk.data
        for item in load_trace(trace)
        if isinstance(item.event, ev.OutputAudioChunk)
    ]


# -- voice_bot.py ------------------------------------------------------------------------------


def test_voice_bot_prints_captions_and_writes_the_heard_audio(tmp_path: Path) -> None:
    out_wav = tmp_path / "bot.wav"
    result = run_example("voice_bot.py", str(out_wav), "--speed", "20")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "you: What's the weather in Lisbon?",
        "bot: Let me check.",
        "  (calling get_weather)",
        f"bot: {DEMO_INTERRUPTED_ANSWER} [interrupted]",
    ]
    assert "bot: You're welcome. Enjoy the sunshine!" in lines
    transcript = lines[lines.index("transcript (what was said, as the user heard it):") + 1 :]
    # The recording's truncation (600 ms) cuts the interrupted answer to its heard words.
    assert transcript[:5] == [
        "user: What's the weather in Lisbon?",
        "assistant: Let me check.",
        "assistant: It's twenty-one",
        "user: Great, thanks! That's all I needed.",
        "assistant: You're welcome. Enjoy the sunshine!",
    ]
    assert (
        "session -> provider: submit_tool_result(call_id='call_HnXoA3qjud57uKhK', "
        "output={'city': 'Lisbon', 'temperature': 21, 'unit': 'celsius', 'conditions': 'sunny'})"
    ) in transcript
    truncate = next(line for line in transcript if "truncate_assistant_output" in line)
    played = re.search(r"audio_played_ms=(\d+)", truncate)
    assert played is not None
    assert 0 < int(played.group(1)) <= 1000
    wrote = re.fullmatch(r"wrote ([\d.]+) s of assistant audio to (.+)", lines[-1])
    assert wrote is not None
    assert Path(wrote.group(2)) == out_wav
    # The WAV holds what the player played: the audio flushed at the barge-in is not in it.
    duration = wav_duration_s(out_wav)
    assert duration == pytest.approx(float(wrote.group(1)), abs=0.005)
    received_s = sum(len(chunk) for chunk in audio_of(TRACES / "openai_demo.jsonl")) / 48000
    assert 0 < duration < received_s


def test_voice_bot_plays_another_trace(tmp_path: Path) -> None:
    out_wav = tmp_path / "gemini.wav"
    result = run_example(
        "voice_bot.py",
        str(out_wav),
        "--trace",
        str(TRACES / "gemini_voice_turn.jsonl"),
        "--speed",
        "20",
    )
    assert result.returncode == 0, result.stderr
    assert "you: What's the capital of Portugal?" in result.stdout
    assert "bot: The capital of Portugal is Lisbon." in result.stdout
    assert "assistant: Madrid is the capital of Spain." in result.stdout
    assert wav_duration_s(out_wav) > 0


def test_voice_bot_keeps_what_the_user_heard_of_an_answer_they_talked_over(
    tmp_path: Path,
) -> None:
    # Gemini cannot truncate. The user talks 25 ms (of the call's time) after the
    # answer's 600 ms of audio could have finished playing: the transcript keeps
    # what the player played, the whole answer if it got to the end, never nothing.
    result = run_example(
        "voice_bot.py",
        str(tmp_path / "gemini.wav"),
        "--trace",
        str(TRACES / "gemini_interruption.jsonl"),
        "--speed",
        "4",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    transcript = lines[lines.index("transcript (what was said, as the user heard it):") + 1 :]
    assert transcript[0] == "user: Book a table for two at eight tonight."
    assert transcript[1].startswith("assistant: Sure,")
    assert "Sure, I'll look for a table for two at eight.".startswith(transcript[1][11:])
    assert transcript[2] == "user: Wait, make it three people."


# -- record_and_replay.py --------------------------------------------------------------------


@pytest.mark.parametrize("trace", [None, "gemini_interruption.jsonl", "openai_demo.jsonl"])
def test_record_and_replay_reproduces_the_transcript(trace: str | None, tmp_path: Path) -> None:
    recording = tmp_path / "recording.jsonl"
    recording.write_text("left over from an earlier run\n", encoding="utf-8")
    args = [str(recording)] + (["--trace", str(TRACES / trace)] if trace else [])
    result = run_example("record_and_replay.py", *args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"live session, recorded to {recording}:"
    replayed_at = next(i for i, line in enumerate(lines) if line.startswith("replayed from"))
    live, replayed = lines[1:replayed_at], lines[replayed_at + 1 : -1]
    assert live
    assert live == replayed
    assert lines[-1] == "the transcripts are identical"
    # The file was started afresh and holds one session's events, one per line.
    events = read_events(recording)
    assert lines[replayed_at] == f"replayed from the recording ({len(events)} events):"
    assert len(recording.read_text(encoding="utf-8").splitlines()) == len(events)


def test_record_and_replay_default_is_the_barge_in_call(tmp_path: Path) -> None:
    result = run_example("record_and_replay.py", str(tmp_path / "r.jsonl"))
    assert result.returncode == 0, result.stderr
    assert "  assistant: Once upon" in result.stdout.splitlines()
    assert "  user: Actually, what time is it in Tokyo?" in result.stdout.splitlines()


# -- --trace takes the bundled traces by name ---------------------------------------------------

BUNDLED = sorted(path.stem for path in TRACES.glob("*.jsonl"))


@pytest.mark.parametrize("name", ["gemini_voice_turn", "gemini_voice_turn.jsonl"])
def test_voice_bot_trace_takes_a_bundled_trace_by_name(name: str, tmp_path: Path) -> None:
    result = run_example(
        "voice_bot.py", str(tmp_path / "out.wav"), "--trace", name, "--speed", "50"
    )
    assert result.returncode == 0, result.stderr
    assert "you: What's the capital of Portugal?" in result.stdout


@pytest.mark.parametrize("name", ["openai_demo", "gemini_interruption.jsonl"])
def test_record_and_replay_trace_takes_a_bundled_trace_by_name(name: str, tmp_path: Path) -> None:
    result = run_example("record_and_replay.py", str(tmp_path / "r.jsonl"), "--trace", name)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "the transcripts are identical"


@pytest.mark.parametrize("example", ["voice_bot.py", "record_and_replay.py"])
def test_trace_help_names_the_bundled_traces_and_an_unknown_one_is_a_usage_error(
    example: str, tmp_path: Path
) -> None:
    help_text = " ".join(run_example(example, "--help").stdout.split())
    for name in BUNDLED:
        assert name in help_text
    result = run_example(example, str(tmp_path / "x"), "--trace", "no_such_call")
    assert result.returncode == 2
    assert "no_such_call" in result.stderr
    assert "openai_demo" in result.stderr
    assert "Traceback" not in result.stderr


# -- openai_bot.py ----------------------------------------------------------------------------


def test_openai_bot_without_a_key_says_so_and_exits_2(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "OPENAI_API_KEY"}
    result = run_example("openai_bot.py", "Hello?", "--wav", str(tmp_path / "x.wav"), env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "OPENAI_API_KEY is not set" in result.stderr
    assert not (tmp_path / "x.wav").exists()


@pytest.fixture
def openai_bot(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    # The examples are scripts, importable from their own directory.
    monkeypatch.syspath_prepend(str(EXAMPLES))
    yield importlib.import_module("openai_bot")


def tool_call_server(received_by_test: list[Any]) -> Handler:
    """A server that plays the recorded tool-call conversation in answer to the bot.

    The model speaks when the client asks for a response (after the prompt,
    then after the tool result), as the real server does.
    """
    payloads = [dict(record.payload) for record in read_trace(TRACES / "openai_tool_call.jsonl")]
    split = next(i for i, p in enumerate(payloads) if p["type"] == "response.done") + 1

    async def handler(peer: Peer) -> None:
        await peer.receive_until("response.create")  # the prompt
        for payload in payloads[:split]:
            await peer.send(payload)
        await peer.receive_until("response.create")  # the tool result
        for payload in payloads[split:]:
            await peer.send(payload)
        await peer.close_code_seen()
        received_by_test.extend(peer.received)

    return handler


def assert_bot_conversation(received: list[Any], prompt: str) -> None:
    """What the bot sent: its setup, the prompt, the tool's real result, continuations."""
    session_update, prompt_item, first_create, tool_output, second_create = received
    assert session_update["type"] == "session.update"
    assert [tool["name"] for tool in session_update["session"]["tools"]] == ["get_weather"]
    assert prompt_item == {
        "type": "conversation.item.create",
        "item": {
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": prompt}],
        },
    }
    assert first_create == second_create == {"type": "response.create"}
    assert tool_output == {
        "type": "conversation.item.create",
        "item": {
            "type": "function_call_output",
            "call_id": "call_dKPdrLoR46gWHi2r",
            "output": (
                '{"city": "Lisbon", "temperature": 21, "unit": "celsius", "conditions": "sunny"}'
            ),
        },
    }


async def test_openai_bot_wiring_against_a_loopback_server(
    anyio_backend: Backend, openai_bot: ModuleType, tmp_path: Path
) -> None:
    received: list[Any] = []
    out = io.StringIO()
    prompt = "What's the weather in Lisbon?"
    with anyio.fail_after(30):
        async with loopback(anyio_backend, tool_call_server(received)) as (url, _):
            report = await openai_bot.run_bot(
                [prompt],
                api_key="sk-test",
                url=url,
                wav_path=tmp_path / "bot.wav",
                speed=50.0,
                out=out,
            )
    assert_bot_conversation(received, prompt)
    assert report.answers == 1
    assert report.closed_reason == "closed"
    assert [(type(message), message.text) for message in report.transcript] == [
        (tr.UserMessage, "What's the weather like in Lisbon right now?"),
        (tr.AssistantMessage, "Let me check that for you."),
        (tr.AssistantMessage, "It's twenty-one degrees and sunny in Lisbon."),
    ]
    assert out.getvalue().splitlines() == [
        f"you: {prompt}",
        "bot: Let me check that for you.",
        "  (calling get_weather)",
        "bot: It's twenty-one degrees and sunny in Lisbon.",
        "  (session closed: closed)",
    ]
    # Every chunk of the answer was played into the file before the bot closed.
    received_ms = sum(len(chunk) / 48 for chunk in audio_of(TRACES / "openai_tool_call.jsonl"))
    assert report.audio_ms == pytest.approx(received_ms)
    assert wav_duration_s(tmp_path / "bot.wav") * 1000 == pytest.approx(received_ms)


async def test_openai_bot_stops_when_the_server_ends_the_session(
    anyio_backend: Backend, openai_bot: ModuleType, tmp_path: Path
) -> None:
    async def hang_up(peer: Peer) -> None:
        await peer.receive_until("response.create")
        await peer.close()

    out = io.StringIO()
    with anyio.fail_after(30):
        async with loopback(anyio_backend, hang_up) as (url, _):
            report = await openai_bot.run_bot(
                ["Hello?", "Anyone there?"],
                api_key="sk-test",
                url=url,
                wav_path=tmp_path / "bot.wav",
                out=out,
            )
    assert report.answers == 0
    assert report.closed_reason == "provider_closed"
    assert out.getvalue().splitlines() == ["you: Hello?", "  (session closed: provider_closed)"]
    assert wav_duration_s(tmp_path / "bot.wav") == 0


async def test_openai_bot_as_a_program_against_a_loopback_server(
    anyio_backend: Backend, tmp_path: Path
) -> None:
    received: list[Any] = []
    prompt = "What's the weather in Lisbon?"
    env = {**os.environ, "OPENAI_API_KEY": "sk-test"}
    out_wav = tmp_path / "bot.wav"
    with anyio.fail_after(60):
        async with loopback(anyio_backend, tool_call_server(received)) as (url, _):
            result = await anyio.run_process(
                [
                    sys.executable,
                    str(EXAMPLES / "openai_bot.py"),
                    "--url",
                    url,
                    "--wav",
                    str(out_wav),
                    "--speed",
                    "50",
                    prompt,
                ],
                env=env,
                check=False,
            )
    stdout = result.stdout.decode()
    assert result.returncode == 0, result.stderr.decode()
    assert_bot_conversation(received, prompt)
    lines = stdout.splitlines()
    assert lines[:4] == [
        f"you: {prompt}",
        "bot: Let me check that for you.",
        "  (calling get_weather)",
        "bot: It's twenty-one degrees and sunny in Lisbon.",
    ]
    assert lines[lines.index("transcript:") + 1 :][:3] == [
        "user: What's the weather like in Lisbon right now?",
        "assistant: Let me check that for you.",
        "assistant: It's twenty-one degrees and sunny in Lisbon.",
    ]
    assert lines[-1].startswith("wrote ")
    assert lines[-1].endswith(f" s of assistant audio to {out_wav}")
    assert wav_duration_s(out_wav) > 0


async def test_openai_bot_reports_a_connection_it_cannot_open(tmp_path: Path) -> None:
    # A port nobody listens on: the connection is refused at once.
    with anyio.fail_after(60):
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        await listener.aclose()
        result = await anyio.run_process(
            [
                sys.executable,
                str(EXAMPLES / "openai_bot.py"),
                "--url",
                f"ws://127.0.0.1:{port}",
                "--wav",
                str(tmp_path / "x.wav"),
            ],
            env={**os.environ, "OPENAI_API_KEY": "sk-test"},
            check=False,
        )
    assert result.returncode == 1
    assert result.stdout == b""
    assert b"openai_bot: " in result.stderr
    assert b"Traceback" not in result.stderr
