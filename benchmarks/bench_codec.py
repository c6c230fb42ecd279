"""Wire codec throughput: events encoded and decoded per second.

Three event sets: ``mixed`` (one of each common provider event, text and audio
alike), ``control`` (the same without its audio chunk: what the transcript lane
carries) and ``audio`` (20 ms chunks of 24 kHz PCM16 mono, 960 bytes each, the
bulk of a voice session's traffic). For each set the codec's JSON figures
(``to_json`` / ``from_json``) stand beside a baseline measured in the same run:
the standard library's ``json.dumps`` / ``json.loads`` of the same plain dicts,
which is the floor cost of writing or reading that JSON at all. That baseline
reads JSON only: it neither checks the document nor builds events, and leaves
audio as base64 text, where the codec decodes it to bytes. For the sets with
audio, ``decode_b64_ratio`` also sets ``from_json`` beside ``json.loads``
followed by the standard library's base64 decoding of the chunk
(``baseline_decode_b64_per_s``): still no checks and no events. The dict-level
figures (``to_dict`` / ``from_dict``, no JSON text) are reported too, and
``parse_per_s``, the codec's strict JSON parse alone (duplicate keys and the
non-finite constants refused): with ``decode_dict_per_s`` it splits
``from_json`` into parsing and structuring.

Each figure is reported as the min, median and max of several timed passes
after one warm-up pass, with the garbage collector paused during a pass, as
``timeit`` does; a figure's passes alternate with its baseline's. A pass is
timed in CPU time of its thread: on a shared machine the time spent waiting for
a core is nobody's work, and would only add noise to both.
``encode_ratio``, ``decode_ratio`` and ``decode_b64_ratio`` divide the codec's
median by its baseline's (above 1: faster than the standard library). Each
record names what its baselines do under ``baselines``.

One more record, ``base64``, sets the package's base64 (what the codec and the
provider adapters read and write media with) beside the standard library on the
same 20 ms chunks: ``encode_ratio`` against ``base64.b64encode(data).decode()``,
``decode_ratio`` against ``base64.b64decode(text, validate=True)`` (how the
adapters read a provider's audio) and ``decode_strict_ratio`` against
``binascii.a2b_base64(text, strict_mode=True)`` (how the codec reads it).

Run ``python benchmarks/bench_codec.py [--quick]``; it prints one JSON record per
set. ``run(quick=True)`` returns the same records to a driver.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import functools
import json
import random
import statistics
from typing import TYPE_CHECKING, Any

from figures import cpu_rate, paired_cpu_rates

from realtime_session import _base64, _json, codec
from realtime_session import events as ev
from realtime_session import transcript as tr

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

_AUDIO_CHUNK_BYTES = 960  # 20 ms at 24 kHz, 16-bit mono


def mixed_events() -> list[ev.RealtimeSessionEvent]:
    """One of each provider event a conversation commonly carries."""
    pcm = random.Random(0).randbytes(_AUDIO_CHUNK_BYTES)
    return [
        ev.InputTranscriptPartial(text="what's the weather"),
        ev.InputTranscriptFinalForItem(
            item_id="item_CQj4", previous_item_id="item_CQj3", text="What's the weather in Paris?"
        ),
        ev.TurnStarted(),
        ev.TurnCommitted(),
        ev.OutputTextDeltaForItem(
            response_id="resp_CQj5",
            delta_id="evt_0001",
            item_id="item_CQj6",
            previous_item_id="item_CQj4",
            delta="It is ",
        ),
        ev.OutputAudioTranscriptDeltaForItem(
            response_id="resp_CQj5", delta_id="evt_0002", item_id="item_CQj6", delta="sunny and "
        ),
        ev.AssistantTranscriptFinal(
            response_id="resp_CQj5", item_id="item_CQj6", text="It is sunny and 24 degrees."
        ),
        ev.OutputAudioChunk(
            chunk=ev.RealtimeAudioChunk(data=pcm), response_id="resp_CQj5", item_id="item_CQj6"
        ),
        ev.Interrupted(response_id="resp_CQj5"),
        ev.AssistantTranscriptTruncated(item_id="item_CQj6", audio_played_ms=1840),
        ev.ToolCallRequested(
            call_id="call_Pq1", tool_name="get_weather", arguments={"city": "Paris", "days": 3}
        ),
        ev.TurnCompleted(
            response_id="resp_CQj5",
            usage=ev.Usage(input_tokens=812, output_tokens=96, cache_read_tokens=640),
        ),
        ev.RealtimeTranscript(event=tr.ItemSkipped(item_id="fc_Pq1", previous_item_id="item_CQj6")),
    ]


def control_events() -> list[ev.RealtimeSessionEvent]:
    """The mixed set without its media chunks."""
    return [event for event in mixed_events() if not isinstance(event, ev.OutputAudioChunk)]


def audio_events() -> list[ev.RealtimeSessionEvent]:
    """One second of model audio as 20 ms chunks."""
    rng = random.Random(1)
    return [
        ev.OutputAudioChunk(
            chunk=ev.RealtimeAudioChunk(data=rng.randbytes(_AUDIO_CHUNK_BYTES)),
            response_id="resp_CQj5",
            item_id="item_CQj6",
        )
        for _ in range(50)
    ]


def _loads_and_base64(text: str) -> object:
    """``json.loads``, then the base64 of an audio chunk decoded as the standard library does."""
    data = json.loads(text)
    chunk = data.get("chunk")
    if chunk is not None:
        binascii.a2b_base64(chunk["data"], strict_mode=True)
    return data


def _paired_figures(
    record: dict[str, object],
    figures: Sequence[
        tuple[
            str,
            tuple[Callable[[Any], object], Sequence[object]],
            tuple[Callable[[Any], object], Sequence[object]],
        ]
    ],
    passes: int,
    repeats: int,
) -> None:
    """Each figure, its same-run baseline and the ratio of their medians, into ``record``."""
    for figure, measured, baseline in figures:
        rates, baseline_rates = paired_cpu_rates(measured, baseline, passes, repeats)
        record[f"{figure}_per_s"] = _spread(rates)
        record[f"baseline_{figure}_per_s"] = _spread(baseline_rates)
        record[f"{figure}_ratio"] = round(
            statistics.median(rates) / statistics.median(baseline_rates), 2
        )


def _spread(rates: list[float]) -> dict[str, float]:
    return {
        "min": round(min(rates)),
        "median": round(statistics.median(rates)),
        "max": round(max(rates)),
    }


def _measure(name: str, events: list[ev.RealtimeSessionEvent], *, quick: bool) -> dict[str, object]:
    dicts = [codec.to_dict(event) for event in events]
    texts = [codec.to_json(event) for event in events]
    # Measure only work that is right: every event survives the round trip.
    assert [codec.from_json(text) for text in texts] == events
    assert [json.loads(text) for text in texts] == dicts

    passes = max(1, (150 if quick else 1000) * 13 // len(events))
    repeats = 3 if quick else 7
    baselines = {
        "encode": "json.dumps of the same dicts",
        "decode": "json.loads of the same text: no checks, no events, base64 left as text",
    }
    record: dict[str, object] = {
        "name": "codec",
        "backend": "none",
        "set": name,
        "events": len(events),
        "repeats": repeats,
        "baselines": baselines,
    }
    _paired_figures(
        record,
        (
            ("encode", (codec.to_json, events), (json.dumps, dicts)),
            ("decode", (codec.from_json, texts), (json.loads, texts)),
        ),
        passes,
        repeats,
    )
    if any(isinstance(event, ev.OutputAudioChunk) for event in events):
        baselines["decode_b64"] = (
            "json.loads of the same text, then binascii.a2b_base64 of the chunk's data"
        )
        rates, baseline_rates = paired_cpu_rates(
            (codec.from_json, texts), (_loads_and_base64, texts), passes, repeats
        )
        record["baseline_decode_b64_per_s"] = _spread(baseline_rates)
        record["decode_b64_ratio"] = round(
            statistics.median(rates) / statistics.median(baseline_rates), 2
        )
    record["encode_dict_per_s"] = _spread(
        [cpu_rate(codec.to_dict, events, passes) for _ in range(repeats)]
    )
    record["decode_dict_per_s"] = _spread(
        [cpu_rate(codec.from_dict, dicts, passes) for _ in range(repeats)]
    )
    record["parse_per_s"] = _spread(
        [
            cpu_rate(functools.partial(_json.parse, unique_keys=True), texts, passes)
            for _ in range(repeats)
        ]
    )
    return record


def _measure_base64(*, quick: bool) -> dict[str, object]:
    chunks = [
        event.chunk.data for event in audio_events() if isinstance(event, ev.OutputAudioChunk)
    ]
    texts = [base64.b64encode(chunk).decode("ascii") for chunk in chunks]
    assert [_base64.decode(text) for text in texts] == chunks
    assert [_base64.decode_strict(text) for text in texts] == chunks
    assert [_base64.encode(chunk) for chunk in chunks] == texts
    passes = max(1, (150 if quick else 1000) * 13 // len(chunks))
    repeats = 3 if quick else 7
    record: dict[str, object] = {
        "name": "codec",
        "backend": "none",
        "set": "base64",
        "chunk_bytes": len(chunks[0]),
        "repeats": repeats,
        "baselines": {
            "encode": "base64.b64encode(data).decode()",
            "decode": "base64.b64decode(text, validate=True)",
            "decode_strict": "binascii.a2b_base64(text, strict_mode=True)",
        },
    }
    _paired_figures(
        record,
        (
            ("encode", (_base64.encode, chunks), (_stdlib_b64encode, chunks)),
            ("decode", (_base64.decode, texts), (_stdlib_b64decode, texts)),
            ("decode_strict", (_base64.decode_strict, texts), (_stdlib_a2b_strict, texts)),
        ),
        passes,
        repeats,
    )
    return record


def _stdlib_b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _stdlib_b64decode(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _stdlib_a2b_strict(text: str) -> bytes:
    return binascii.a2b_base64(text, strict_mode=True)


def run(quick: bool = False) -> list[dict[str, object]]:
    """Measure each event set; ``quick`` runs fewer, shorter passes (a few seconds)."""
    return [
        _measure("mixed", mixed_events(), quick=quick),
        _measure("control", control_events(), quick=quick),
        _measure("audio", audio_events(), quick=quick),
        _measure_base64(quick=quick),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter passes")
    arguments = parser.parse_args()
    for record in run(quick=arguments.quick):
        print(json.dumps(record))


if __name__ == "__main__":
    main()
