"""examples/voice_call.py end to end, per provider, against a loopback server.

Audio in (a WAV file spoken as a microphone would), audio out (a sound card
thread reporting playback through a clock), captions, a tool declared from its
signature and run for real, and a barge-in cut at what the player had played.
The server replays a recorded call, waits where a real server waits for the
client, and records everything the client sent.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import wave
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import numpy as np
from test_ws_transport import Backend, loopback, trace_payloads
from wsserver import Expect, Message, Pause, ScriptedServer, client_sent

from realtime_session import audio

if TYPE_CHECKING:
    from collections.abc import Sequence

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "voice_call.py"
# The pause between the answer's audio and the user cutting in: the player has
# been playing for about this long when the barge-in arrives.
CUT_IN_AFTER_S = 0.8

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": 'the city\'s name, e.g. "Lisbon"'},
        "unit": {
            "type": "string",
            "enum": ["celsius", "fahrenheit"],
            "default": "celsius",
            "description": "the temperature scale to answer in",
        },
    },
    "required": ["city"],
    "additionalProperties": False,
}
LISBON = {"city": "Lisbon", "temperature": 21, "unit": "celsius", "conditions": "sunny"}


def write_question(path: Path, rate: int = 16000) -> bytes:
    """A second of a tone at ``rate``: what the user says."""
    samples = 0.3 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)
    data = audio.float_to_pcm16(samples)
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(data)
    return data


async def run_example(
    provider: str, url: str, tmp_path: Path, env_key: str
) -> tuple[anyio.abc.Process | Any, str, Path]:
    out = tmp_path / "heard.wav"
    env = {**os.environ, env_key: "test-key"}
    result = await anyio.run_process(
        [
            sys.executable,
            str(EXAMPLE),
            provider,
            "--mic",
            str(tmp_path / "question.wav"),
            "--out",
            str(out),
            "--url",
            url,
            "--mic-speed",
            "10",
        ],
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return result, result.stdout.decode(), out


def wav_ms(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 24000)
        return wav.getnframes() / 24.0


def received_audio_ms(messages: Sequence[Message], item_id: str) -> float:
    return sum(
        len(base64.b64decode(m["delta"])) / 48.0
        for m in messages
        if m.get("type") == "response.output_audio.delta" and m.get("item_id") == item_id
    )


# -- OpenAI Realtime ------------------------------------------------------------------------------


async def test_openai_voice_call(anyio_backend: Backend, tmp_path: Path) -> None:
    question = write_question(tmp_path / "question.wav")
    payloads = trace_payloads("openai_demo")

    def index(wanted: Any) -> int:
        return next(i for i, p in enumerate(payloads) if wanted(p))

    tool_done = index(lambda p: p["type"] == "response.done") + 1
    barge = index(
        lambda p: (
            p["type"] == "input_audio_buffer.speech_started"
            and p["item_id"] == "item_ug1dTorWLN3phv7lsDbcw"
        )
    )
    recorded_cut = index(lambda p: p["type"] == "conversation.item.truncated")
    interrupted_item = payloads[recorded_cut]["item_id"]

    def confirm(truncate: Message) -> list[Message]:
        return [
            {
                "type": "conversation.item.truncated",
                "event_id": "event_confirm",
                "item_id": truncate["item_id"],
                "content_index": truncate["content_index"],
                "audio_end_ms": truncate["audio_end_ms"],
            }
        ]

    def function_output(message: Message) -> bool:
        return (
            message.get("type") == "conversation.item.create"
            and message["item"].get("type") == "function_call_output"
        )

    server = ScriptedServer(
        [
            payloads[0],
            Expect("the session setup", client_sent("session.update")),
            payloads[1],
            Expect("the user's audio", client_sent("input_audio_buffer.append")),
            *payloads[2:tool_done],
            Expect("the tool's result", function_output),
            Expect("the continuation", client_sent("response.create")),
            *payloads[tool_done:barge],
            # The answer's audio twice over (2 s): the user cuts in well before its end.
            *[p for p in payloads[tool_done:barge] if p["type"] == "response.output_audio.delta"],
            Pause(CUT_IN_AFTER_S),
            payloads[barge],
            Expect("the cut", client_sent("conversation.item.truncate"), reply=confirm),
            *payloads[recorded_cut + 1 :],
        ]
    )
    with anyio.fail_after(60):
        async with loopback(anyio_backend, server) as (url, _):
            _, stdout, out = await run_example("openai", url, tmp_path, "OPENAI_API_KEY")
    assert server.failure is None
    sent = server.messages
    # The tool was declared from its signature, in the session's configuration.
    (setup,) = [m for m in sent if m["type"] == "session.update"]
    assert setup["session"]["tools"] == [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Today's weather for a city.",
            "parameters": WEATHER_PARAMETERS,
        }
    ]
    # Audio in: the file, resampled to 24 kHz, then a second of silence.
    spoken = b"".join(
        base64.b64decode(m["audio"]) for m in sent if m["type"] == "input_audio_buffer.append"
    )
    assert len(spoken) == 48000 + 48000
    assert spoken[-48000:] == bytes(48000)
    assert audio.resample(question, 16000, 24000)[:4800] == spoken[:4800]
    # The tool ran for real.
    (output,) = [m["item"] for m in sent if function_output(m)]
    assert json.loads(output["output"]) == LISBON
    # The barge-in was cut where the player was, not where the audio arrived.
    (cut,) = [m for m in sent if m["type"] == "conversation.item.truncate"]
    assert cut["item_id"] == interrupted_item
    received = 2 * received_audio_ms(payloads, interrupted_item)
    assert 0 < cut["audio_end_ms"] < received
    lines = stdout.splitlines()
    assert lines[:3] == [
        "you: What's the weather in Lisbon?",
        "bot: Let me check.",
        "  (calling get_weather)",
    ]
    assert lines[3].startswith("bot: It's twenty-one") and lines[3].endswith(" [you cut in]")
    transcript = lines[lines.index("transcript (as the user heard it):") + 1 :]
    assert transcript[0] == "user: What's the weather in Lisbon?"
    assert transcript[1] == "assistant: Let me check."
    # What the user heard of the interrupted answer: a prefix, never all of it.
    assert transcript[2].startswith("assistant: It's")
    assert not transcript[2].endswith("afternoon.")
    assert "assistant: You're welcome. Enjoy the sunshine!" in transcript
    # Audio out: what was played, less what the barge-in dropped.
    assert (
        0
        < wav_ms(out)
        < sum(
            len(base64.b64decode(p["delta"])) / 48.0
            for p in payloads
            if p["type"] == "response.output_audio.delta"
        )
    )


# -- Gemini Live ----------------------------------------------------------------------------------


def gemini_audio(n: int) -> list[Message]:
    chunks = [
        p for p in trace_payloads("gemini_voice_turn") if "modelTurn" in p.get("serverContent", {})
    ]
    return chunks[:n]


def said(text: str, kind: str = "outputTranscription") -> Message:
    return {"serverContent": {kind: {"text": text}}}


async def test_gemini_voice_call(anyio_backend: Backend, tmp_path: Path) -> None:
    question = write_question(tmp_path / "question.wav")
    answer_audio = gemini_audio(30) * 2  # about 2 s: the user cuts in well before its end
    server = ScriptedServer(
        [
            Expect(
                "the setup",
                lambda m: "setup" in m,
                reply=lambda m: [{"setupComplete": {}}],
            ),
            Expect("the user's audio", lambda m: "audio" in m.get("realtimeInput", {})),
            said("What's the weather in Lisbon?", "inputTranscription"),
            {
                "toolCall": {
                    "functionCalls": [
                        {"id": "fc-weather", "name": "get_weather", "args": {"city": "Lisbon"}}
                    ]
                }
            },
            Expect("the tool's result", lambda m: "toolResponse" in m),
            said("It's twenty-one"),
            said(" degrees and sunny"),
            said(" in Lisbon, with clear skies all afternoon."),
            *answer_audio,
            Pause(CUT_IN_AFTER_S),
            {"serverContent": {"interrupted": True}},
            said("Thanks, that's all.", "inputTranscription"),
            {"serverContent": {"turnComplete": True}},
            said("You're welcome."),
            *answer_audio[:5],
            {"serverContent": {"generationComplete": True}},
            {
                "serverContent": {"turnComplete": True},
                "usageMetadata": {"promptTokenCount": 300, "responseTokenCount": 40},
            },
        ],
        binary=True,
    )
    with anyio.fail_after(60):
        async with loopback(anyio_backend, server) as (url, _):
            _, stdout, out = await run_example("gemini", url, tmp_path, "GEMINI_API_KEY")
    assert server.failure is None
    sent = server.messages
    (setup,) = [m["setup"] for m in sent if "setup" in m]
    assert setup["tools"] == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Today's weather for a city.",
                    "parametersJsonSchema": WEATHER_PARAMETERS,
                }
            ]
        }
    ]
    # Audio in: the file at 16 kHz, as Gemini takes it, then a second of silence.
    inputs = [m["realtimeInput"]["audio"] for m in sent if "audio" in m.get("realtimeInput", {})]
    assert {i["mimeType"] for i in inputs} == {"audio/pcm;rate=16000"}
    spoken = b"".join(base64.b64decode(i["data"]) for i in inputs)
    assert spoken == question + bytes(32000)
    (response,) = [m["toolResponse"]["functionResponses"] for m in sent if "toolResponse" in m]
    assert response == [{"id": "fc-weather", "name": "get_weather", "response": LISBON}]
    lines = stdout.splitlines()
    # Gemini sends the user's final transcript late: at the model's turn boundary.
    assert lines[:2] == ["  (calling get_weather)", "you: What's the weather in Lisbon?"]
    assert lines[2].startswith("bot: It's twenty-one") and lines[2].endswith(" [you cut in]")
    transcript = lines[lines.index("transcript (as the user heard it):") + 1 :]
    assert transcript[0] == "user: What's the weather in Lisbon?"
    # Gemini cannot cut its audio: the session cut its own transcript at the
    # position the player reported, estimating the words heard by then.
    assert transcript[1].startswith("assistant: It's")
    assert not transcript[1].endswith("afternoon.")
    assert transcript[2:4] == ["user: Thanks, that's all.", "assistant: You're welcome."]
    received_ms = sum(
        len(base64.b64decode(p["serverContent"]["modelTurn"]["parts"][0]["inlineData"]["data"]))
        / 48.0
        for p in answer_audio
    )
    assert 0 < wav_ms(out) < received_ms
