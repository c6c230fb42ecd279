"""Provider adapters: wire frames to provider-neutral events, one frame at a time.

What a live call costs before the session sees an event: each text frame, as
the WebSocket hands it over, is read by the package's strict JSON reader and
translated. For each provider, one spoken response after another, each of 50
transcript deltas and 50 audio deltas of 100 ms (24 kHz PCM16, 4,800 bytes), in
the provider's own wire shapes (checked once with the official SDK's types):

* ``openai``: ``response.created``, ``response.output_item.added``, then
  ``response.output_audio_transcript.delta`` and ``response.output_audio.delta``
  alternating, then ``response.done``;
* ``gemini``: ``serverContent`` with ``outputTranscription`` and with a
  ``modelTurn`` of ``inlineData`` alternating, then ``turnComplete``.

The baseline reads the same frames in the same process, alternating with the
adapter pass by pass: ``json.loads`` of the frame, then
``base64.b64decode(..., validate=True)`` of its audio, the floor of reading a
frame at all (no checks, no events). ``ratio`` is the baseline's CPU time per
frame over the adapter's (above 1: the adapter is faster). Figures are µs of
CPU per frame, min / median / max of the passes, the garbage collector paused
during a pass, as ``timeit`` does.

Run ``python benchmarks/bench_adapters.py [--quick]``; it prints JSON.
"""

from __future__ import annotations

import base64
import collections
import json
import statistics
from typing import TYPE_CHECKING, Any, Final

from figures import command_line, paired_cpu_rates, spread

from realtime_session import _json
from realtime_session import events as ev
from realtime_session.providers.gemini import GeminiLiveTranslator
from realtime_session.providers.openai import OpenAIRealtimeTranslator

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pydantic

DELTAS: Final = 50
AUDIO: Final = base64.b64encode(bytes(range(256)) * 18 + bytes(192)).decode()  # 4,800 bytes


def openai_frames(responses: int) -> list[str]:
    frames: list[dict[str, Any]] = []
    for r in range(responses):
        response_id, item_id = f"resp_{r}", f"item_{r}"
        common = {"response_id": response_id, "item_id": item_id, "output_index": 0}
        frames.append(
            {
                "type": "response.created",
                "event_id": f"event_{r}_c",
                "response": {"id": response_id, "object": "realtime.response", "output": []},
            }
        )
        frames.append(
            {
                "type": "response.output_item.added",
                "event_id": f"event_{r}_i",
                "response_id": response_id,
                "output_index": 0,
                "item": {"id": item_id, "type": "message", "role": "assistant", "content": []},
            }
        )
        for d in range(DELTAS):
            frames.append(
                {
                    "type": "response.output_audio_transcript.delta",
                    "event_id": f"event_{r}_t{d}",
                    **common,
                    "content_index": 0,
                    "delta": "word ",
                }
            )
            frames.append(
                {
                    "type": "response.output_audio.delta",
                    "event_id": f"event_{r}_a{d}",
                    **common,
                    "content_index": 0,
                    "delta": AUDIO,
                }
            )
        frames.append(
            {
                "type": "response.done",
                "event_id": f"event_{r}_d",
                "response": {
                    "id": response_id,
                    "object": "realtime.response",
                    "status": "completed",
                    "output": [],
                },
            }
        )
    return [json.dumps(frame) for frame in frames]


def gemini_frames(responses: int) -> list[str]:
    frames: list[dict[str, Any]] = []
    for _ in range(responses):
        for _ in range(DELTAS):
            frames.append({"serverContent": {"outputTranscription": {"text": "word "}}})
            part = {"inlineData": {"mimeType": "audio/pcm;rate=24000", "data": AUDIO}}
            frames.append({"serverContent": {"modelTurn": {"parts": [part]}}})
        frames.append({"serverContent": {"turnComplete": True}})
    return [json.dumps(frame) for frame in frames]


def _check_with_the_sdks(openai: Sequence[str], gemini: Sequence[str]) -> None:
    """Every frame is one the provider's SDK reads as the message it is meant to be."""
    from google.genai import types as genai
    from openai.types import realtime

    models: dict[str, type[pydantic.BaseModel]] = {
        "response.created": realtime.ResponseCreatedEvent,
        "response.output_item.added": realtime.ResponseOutputItemAddedEvent,
        "response.output_audio_transcript.delta": realtime.ResponseAudioTranscriptDeltaEvent,
        "response.output_audio.delta": realtime.ResponseAudioDeltaEvent,
        "response.done": realtime.ResponseDoneEvent,
    }
    for frame in openai:
        message = json.loads(frame)
        models[message["type"]].model_validate(message)
    for frame in gemini:
        assert genai.LiveServerMessage.model_validate_json(frame).server_content is not None


def _translate_all(make: Callable[[], Any]) -> Callable[[Sequence[str]], None]:
    def translate_all(frames: Sequence[str]) -> None:
        translate = make().translate  # a fresh translator: each pass is a new connection
        parse = _json.parse
        for frame in frames:
            translate(parse(frame))

    return translate_all


def _openai_floor(frames: Sequence[str]) -> None:
    loads, b64decode = json.loads, base64.b64decode
    for frame in frames:
        message = loads(frame)
        if message["type"] == "response.output_audio.delta":
            b64decode(message["delta"], validate=True)


def _gemini_floor(frames: Sequence[str]) -> None:
    loads, b64decode = json.loads, base64.b64decode
    for frame in frames:
        content = loads(frame)["serverContent"]
        turn = content.get("modelTurn")
        if turn is not None:
            b64decode(turn["parts"][0]["inlineData"]["data"], validate=True)


def _kinds(translator: Any, frames: Sequence[str]) -> collections.Counter[type]:
    return collections.Counter(
        type(event) for frame in frames for event in translator.translate(_json.parse(frame))
    )


def _measure(
    provider: str,
    frames: list[str],
    make: Callable[[], Any],
    floor: Callable[[Sequence[str]], None],
    repeats: int,
) -> dict[str, object]:
    # Measure only work that is right: each response's deltas, chunks and end.
    responses = len(frames) // (2 * DELTAS + (3 if provider == "openai" else 1))
    kinds = _kinds(make(), frames)
    assert kinds[ev.OutputAudioTranscriptDeltaForItem] == DELTAS * responses, kinds
    assert kinds[ev.OutputAudioChunk] == DELTAS * responses, kinds
    assert kinds[ev.TurnCompleted] == responses, kinds
    assert ev.ProviderError not in kinds, kinds
    # One item, the whole call, once per timed run: rates are calls per second.
    rates, baseline_rates = paired_cpu_rates(
        (_translate_all(make), [frames]), (floor, [frames]), 1, repeats
    )
    ours = [1e6 / (rate * len(frames)) for rate in rates]
    baseline = [1e6 / (rate * len(frames)) for rate in baseline_rates]
    return {
        "name": "adapters",
        "backend": "none",
        "provider": provider,
        "frames": len(frames),
        "events": sum(kinds.values()),
        "repeats": repeats,
        "baseline": "json.loads of each frame, then base64.b64decode(validate=True) of its audio",
        "adapter_us_per_frame": spread(ours, 2),
        "baseline_us_per_frame": spread(baseline, 2),
        "ratio": round(statistics.median(baseline) / statistics.median(ours), 2),
    }


def run(quick: bool = False) -> list[dict[str, object]]:
    responses, repeats = (20, 3) if quick else (100, 7)
    openai, gemini = openai_frames(responses), gemini_frames(responses)
    _check_with_the_sdks(openai[: 2 * DELTAS + 3], gemini[: 2 * DELTAS + 1])
    return [
        _measure("openai", openai, OpenAIRealtimeTranslator, _openai_floor, repeats),
        _measure("gemini", gemini, GeminiLiveTranslator, _gemini_floor, repeats),
    ]


if __name__ == "__main__":
    command_line(run, __doc__, "fewer, shorter passes")
