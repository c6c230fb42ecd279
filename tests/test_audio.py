"""Audio conversions against known vectors: PCM16/float, resampling, G.711, chunking."""

from __future__ import annotations

import itertools
import subprocess
import sys
import warnings

import numpy as np
import pytest

from realtime_session import audio
from realtime_session.events import RealtimeAudioChunk

ALL_PCM16 = np.arange(-32768, 32768, dtype=np.int16).tobytes()


def sine(freq_hz: float, rate: int, seconds: float = 1.0, amplitude: float = 0.5) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return audio.float_to_pcm16(amplitude * np.sin(2 * np.pi * freq_hz * t))


def dominant_frequency(data: bytes, rate: int) -> float:
    """The strongest frequency, refined between FFT bins (parabolic interpolation)."""
    samples = audio.pcm16_to_float(data)
    window = np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(samples * window))
    peak = int(np.argmax(spectrum[1:-1])) + 1
    left, mid, right = np.log(spectrum[peak - 1 : peak + 2] + 1e-12)
    offset = 0.5 * (left - right) / (left - 2 * mid + right)
    return float((peak + offset) * rate / len(samples))


def rms(data: bytes) -> float:
    return float(np.sqrt(np.mean(audio.pcm16_to_float(data) ** 2)))


# -- PCM16 and float ----------------------------------------------------------------------------


def test_pcm16_float_round_trip_is_exact() -> None:
    samples = audio.pcm16_to_float(ALL_PCM16)
    assert samples.dtype == np.float32
    assert samples.min() == -1.0
    assert samples.max() == pytest.approx(32767 / 32768)
    assert audio.float_to_pcm16(samples) == ALL_PCM16


def test_float_to_pcm16_clips() -> None:
    assert np.frombuffer(audio.float_to_pcm16([2.0, -2.0, 0.0]), "<i2").tolist() == [
        32767,
        -32768,
        0,
    ]


def test_stereo_is_interleaved_frames() -> None:
    data = np.array([[1, -1], [2, -2], [3, -3]], dtype="<i2").tobytes()
    samples = audio.pcm16_to_float(data, channels=2)
    assert samples.shape == (3, 2)
    assert audio.float_to_pcm16(samples) == data
    with pytest.raises(ValueError, match="4-byte frames; got 6 bytes"):
        audio.pcm16_to_float(data[:6], channels=2)


# -- resampling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("from_hz", "to_hz"), list(itertools.permutations(audio.SAMPLE_RATES, 2)))
@pytest.mark.parametrize("freq_hz", [440.0, 1000.0, 3000.0])
def test_a_sine_keeps_its_frequency_and_level_through_resampling(
    from_hz: int, to_hz: int, freq_hz: float
) -> None:
    source = sine(freq_hz, from_hz)
    out = audio.resample(source, from_hz, to_hz)
    assert len(out) // 2 == pytest.approx(to_hz, abs=2)  # one second
    assert dominant_frequency(out, to_hz) == pytest.approx(freq_hz, rel=0.01)
    assert rms(out) == pytest.approx(rms(source), rel=0.05)


def test_resampling_to_a_lower_rate_removes_what_it_cannot_carry() -> None:
    # 6 kHz is above 8 kHz's Nyquist frequency: it must not fold back as a 2 kHz alias.
    out = audio.resample(sine(6000.0, 24000), 24000, 8000)
    assert rms(out) < 0.01


def test_a_stream_resampled_chunk_by_chunk_matches_the_whole_clip() -> None:
    source = sine(440.0, 16000, seconds=2.0)
    resampler = audio.Resampler(16000, 24000)
    pieces = [
        resampler.process(piece)
        for piece in audio.chunk_pcm16(source, sample_rate_hz=16000, chunk_ms=20)
    ]
    streamed = b"".join(pieces) + resampler.flush()
    whole = audio.resample(source, 16000, 24000)
    assert len(streamed) == pytest.approx(len(whole), abs=8)
    n = min(len(streamed), len(whole)) // 2
    a = audio.pcm16_to_float(streamed[: n * 2])
    b = audio.pcm16_to_float(whole[: n * 2])
    # No clicks at the 20 ms boundaries: the streamed signal is the same signal.
    assert float(np.max(np.abs(a[2400:-2400] - b[2400:-2400]))) < 0.01


def test_resample_chunk_keeps_the_chunk_format() -> None:
    chunk = RealtimeAudioChunk(data=sine(440.0, 16000, 0.1), sample_rate_hz=16000)
    out = audio.resample_chunk(chunk, 24000)
    assert (out.sample_rate_hz, out.channels, out.mime_type) == (24000, 1, "audio/pcm")
    assert out.duration_ms == pytest.approx(100.0, abs=0.1)
    assert audio.resample_chunk(out, 24000) is out
    with pytest.raises(ValueError, match="positive int"):
        audio.resample(b"", 0, 24000)


# -- G.711 --------------------------------------------------------------------------------------

# Values from ITU-T G.711's tables (as 16-bit PCM): code -> decoded sample.
ULAW_REFERENCE = {0x00: -32124, 0x0F: -16764, 0x7E: -8, 0x7F: 0, 0x80: 32124, 0xFE: 8, 0xFF: 0}
ALAW_REFERENCE = {0xD5: 8, 0x55: -8, 0xAA: 32256, 0x2A: -32256, 0x80: 5504, 0xD4: 24, 0xC5: 264}


@pytest.mark.parametrize(
    ("decode", "reference"),
    [(audio.ulaw_decode, ULAW_REFERENCE), (audio.alaw_decode, ALAW_REFERENCE)],
    ids=["ulaw", "alaw"],
)
def test_g711_decodes_the_reference_values(decode: object, reference: dict[int, int]) -> None:
    assert callable(decode)
    decoded = np.frombuffer(decode(bytes(reference)), "<i2").tolist()
    assert decoded == list(reference.values())


def quantisation_step(codes: bytes, law: str) -> np.ndarray:
    """The width, in 16-bit units, of the G.711 interval each code stands for.

    Eight segments, each twice as wide as the one before: μ-law's steps are
    2**(s+3); A-law's first two segments share the smallest step, 16.
    """
    code = np.frombuffer(codes, np.uint8).astype(np.int64)
    if law == "ulaw":
        segment = ((code ^ 0xFF) & 0x70) >> 4
        return np.asarray(2 ** (segment + 3))
    segment = ((code ^ 0x55) & 0x70) >> 4
    return np.asarray(2 ** (np.maximum(segment, 1) + 3))


@pytest.mark.parametrize(
    ("law", "encode", "decode", "clip"),
    [
        ("ulaw", audio.ulaw_encode, audio.ulaw_decode, 32124),
        ("alaw", audio.alaw_encode, audio.alaw_decode, 32256),
    ],
)
def test_g711_round_trips_within_its_quantisation(
    law: str, encode: object, decode: object, clip: int
) -> None:
    assert callable(encode)
    assert callable(decode)
    codes = encode(ALL_PCM16)
    assert len(codes) == 65536
    original = np.frombuffer(ALL_PCM16, "<i2").astype(np.int64)
    back = np.frombuffer(decode(codes), "<i2").astype(np.int64)
    inside = np.abs(original) <= clip
    error = np.abs(back - original)[inside]
    step = quantisation_step(codes, law)[inside]
    # A code decodes to the middle of its interval: at most half a step away (μ-law
    # drops the 2 lowest bits before it quantises, so it may be up to 3 further).
    slack = 3 if law == "ulaw" else 0
    assert np.all(error <= step // 2 + slack)
    assert error.max() == step.max() // 2 + slack  # and the bound is reached
    assert np.all(np.abs(back[~inside]) == clip)  # beyond full scale it clips
    # Coding is idempotent: a decoded value encodes to the same code.
    assert encode(decode(codes)) == codes
    # And monotonic: louder input never decodes quieter.
    assert np.all(np.diff(back) >= 0)


def test_g711_matches_cpython_audioop_where_it_exists() -> None:
    if sys.version_info >= (3, 13):
        pytest.skip("audioop left the standard library in Python 3.13")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import audioop

    codes = bytes(range(256))
    assert audio.ulaw_encode(ALL_PCM16) == audioop.lin2ulaw(ALL_PCM16, 2)
    assert audio.alaw_encode(ALL_PCM16) == audioop.lin2alaw(ALL_PCM16, 2)
    assert audio.ulaw_decode(codes) == audioop.ulaw2lin(codes, 2)
    assert audio.alaw_decode(codes) == audioop.alaw2lin(codes, 2)


# -- chunking -----------------------------------------------------------------------------------


def test_chunking_by_duration() -> None:
    one_second = bytes(48000)  # 24 kHz mono PCM16
    pieces = list(audio.chunk_pcm16(one_second, sample_rate_hz=24000, chunk_ms=20))
    assert [len(piece) for piece in pieces] == [960] * 50
    uneven = list(audio.chunk_pcm16(bytes(2 * 1000), sample_rate_hz=8000, chunk_ms=30))
    assert [len(piece) for piece in uneven] == [480, 480, 480, 480, 80]
    stereo = list(audio.chunk_pcm16(bytes(4 * 480), sample_rate_hz=48000, chunk_ms=5, channels=2))
    assert [len(piece) for piece in stereo] == [960, 960]
    chunk = RealtimeAudioChunk(data=bytes(4800), sample_rate_hz=24000)
    assert [c.duration_ms for c in audio.split_chunk(chunk, 40)] == [40.0, 40.0, 20.0]


def test_without_the_audio_extra_the_import_names_the_install_command() -> None:
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('numpy', 'soxr'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import realtime_session\n"
        "try:\n"
        "    import realtime_session.audio\n"
        "except ImportError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", blocker], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        "MissingDependencyError realtime_session.audio needs the 'numpy' package, which is not "
        "installed; it comes with the 'audio' extra: pip install -e '.[audio]'"
    )
