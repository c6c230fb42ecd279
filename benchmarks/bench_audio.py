"""Resampling: soxr (what ``realtime_session.audio`` uses) beside the alternatives.

The task of a voice bot: 16 kHz microphone audio to a 24 kHz API, and 24 kHz
model audio to a 48 kHz sound card, in 20 ms chunks as they come, and whole
clips. Each resampler is fed the same signal in the same run (a sum of three
sines, 300 Hz to 3.4 kHz, the telephone band, 60 s long) and judged on:

- speed: seconds of audio resampled per second of CPU, for whole clips and for
  20 ms chunks through its streaming interface where it has one;
- quality: the signal-to-error ratio (dB) of its output against the same
  sines computed exactly at the target rate, away from the edges.

Baselines: ``numpy.interp`` (linear interpolation, the floor of any resampler
and what a hand-rolled one usually is). ``scipy.signal.resample_poly`` and
``samplerate`` (libsamplerate) are measured when installed; they are not
dependencies of this project, so they are reported as missing otherwise.

Min / median / max over the repeats. ``--quick`` uses a 10 s signal.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import statistics
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import soxr

from realtime_session import audio

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

_TONES = ((300.0, 0.3), (1000.0, 0.2), (3400.0, 0.1))
_PAIRS = ((16000, 24000), (24000, 48000), (24000, 8000))


def _signal(rate: int, seconds: float) -> npt.NDArray[np.float64]:
    t = np.arange(int(rate * seconds)) / rate
    return np.asarray(sum(a * np.sin(2 * np.pi * f * t) for f, a in _TONES), dtype=np.float64)


def _snr_db(out: npt.NDArray[np.float64], to_hz: int, seconds: float) -> float:
    ideal = _signal(to_hz, seconds)
    n = min(len(ideal), len(out))
    edge = to_hz // 10  # filters ring at the ends
    error = out[edge : n - edge] - ideal[edge : n - edge]
    signal = ideal[edge : n - edge]
    return round(10 * float(np.log10(np.sum(signal**2) / max(np.sum(error**2), 1e-30))), 1)


def _linear(x: npt.NDArray[np.float64], a: int, b: int) -> npt.NDArray[np.float64]:
    n = int(len(x) * b / a)
    return np.interp(np.arange(n) * a / b, np.arange(len(x)), x)


def _whole_clip_resamplers() -> dict[
    str, Callable[[npt.NDArray[np.float64], int, int], Any] | None
]:
    resamplers: dict[str, Callable[[npt.NDArray[np.float64], int, int], Any] | None] = {
        # What the module does: PCM16 in, PCM16 out (16-bit quantisation caps its SNR).
        "audio.resample (soxr, PCM16)": lambda x, a, b: audio.pcm16_to_float(
            audio.resample(audio.float_to_pcm16(x), a, b)
        ).astype(np.float64),
        # The resampler alone, on floats, as the others are measured.
        "soxr (float)": lambda x, a, b: soxr.resample(x, a, b, quality="HQ"),
        "numpy.interp (baseline)": _linear,
        "scipy.signal.resample_poly": None,
        "samplerate": None,
    }
    try:
        signal = importlib.import_module("scipy.signal")
        resamplers["scipy.signal.resample_poly"] = lambda x, a, b: signal.resample_poly(
            x, b // np.gcd(a, b), a // np.gcd(a, b)
        )
    except ImportError:
        pass
    try:
        samplerate = importlib.import_module("samplerate")
        resamplers["samplerate"] = lambda x, a, b: samplerate.resample(x, b / a, "sinc_best")
    except ImportError:
        pass
    return resamplers


def _stream(pieces: list[bytes], from_hz: int, to_hz: int) -> bytes:
    resampler = audio.Resampler(from_hz, to_hz)
    return b"".join(resampler.process(piece) for piece in pieces) + resampler.flush()


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[list[float], Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times, result


def run(quick: bool = False) -> list[dict[str, object]]:
    seconds = 10.0 if quick else 60.0
    repeats = 3 if quick else 5
    records: list[dict[str, object]] = []
    resamplers = _whole_clip_resamplers()
    for from_hz, to_hz in _PAIRS:
        x = _signal(from_hz, seconds)
        record: dict[str, object] = {"benchmark": "resample", "from_hz": from_hz, "to_hz": to_hz}
        for name, resample in resamplers.items():
            if resample is None:
                record[name] = "not installed"
                continue
            times, out = _timed(functools.partial(resample, x, from_hz, to_hz), repeats)
            speed = [seconds / t for t in times]
            record[name] = {
                "audio_s_per_s": {
                    "min": round(min(speed)),
                    "median": round(statistics.median(speed)),
                    "max": round(max(speed)),
                },
                "snr_db": _snr_db(np.asarray(out, dtype=np.float64), to_hz, seconds),
            }
        # Streaming, 20 ms at a time: what a bot does with live audio.
        pcm = audio.float_to_pcm16(x)
        pieces = list(audio.chunk_pcm16(pcm, sample_rate_hz=from_hz, chunk_ms=20))

        times, out_bytes = _timed(functools.partial(_stream, pieces, from_hz, to_hz), repeats)
        speed = [seconds / t for t in times]
        record["audio.Resampler (soxr, PCM16), 20 ms chunks"] = {
            "audio_s_per_s": {
                "min": round(min(speed)),
                "median": round(statistics.median(speed)),
                "max": round(max(speed)),
            },
            "snr_db": _snr_db(audio.pcm16_to_float(out_bytes).astype(np.float64), to_hz, seconds),
        }
        records.append(record)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a 10 s signal, fewer repeats")
    arguments = parser.parse_args()
    for record in run(quick=arguments.quick):
        print(json.dumps(record))


if __name__ == "__main__":
    main()
