"""Audio a voice bot needs: PCM16 and float, resampling, G.711, chunking by duration.

Needs the ``audio`` extra (``pip install -e '.[audio]'`` in a checkout): numpy for
the conversions and `soxr <https://github.com/dofuuz/python-soxr>`_ (the SoX
resampler) for resampling. Realtime APIs speak little-endian 16-bit PCM
(OpenAI Realtime 24 kHz in and out; Gemini Live 16 kHz in, 24 kHz out),
telephony speaks G.711 μ-law or A-law at 8 kHz, and sound cards often want
float samples at 48 kHz: these functions convert between them.

PCM16 is ``bytes`` (``RealtimeAudioChunk.data``), interleaved when there is
more than one channel. Float samples are ``numpy.float32`` arrays in
``[-1.0, 1.0)``, shaped ``(frames,)`` for mono and ``(frames, channels)``
otherwise.

Resampling a stream chunk by chunk with :func:`resample` would click at every
chunk boundary (each call starts the filter afresh): use a
:class:`Resampler`, which keeps the filter's state between chunks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal, TypeAlias, final

from ._media import RealtimeAudioChunk
from .providers._errors import MissingDependencyError

try:
    import numpy as np
    import soxr
except ImportError as error:  # pragma: no cover - exercised in a subprocess test
    raise MissingDependencyError(
        "realtime_session.audio", extra="audio", module=error.name or "numpy"
    ) from error

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy.typing as npt

__all__ = (
    "SAMPLE_RATES",
    "Quality",
    "Resampler",
    "alaw_decode",
    "alaw_encode",
    "chunk_pcm16",
    "float_to_pcm16",
    "pcm16_to_float",
    "resample",
    "resample_chunk",
    "split_chunk",
    "ulaw_decode",
    "ulaw_encode",
)

SAMPLE_RATES: Final = (8000, 16000, 24000, 48000)
"""The rates voice APIs, telephony and sound cards use; any positive rate is accepted."""

Quality: TypeAlias = Literal["VHQ", "HQ", "MQ", "LQ", "QQ"]
"""soxr's quality presets, best to fastest (``"HQ"`` is the default)."""

_PCM16: Final = np.dtype(np.int16).newbyteorder("<")

# G.711, as in the ITU's reference (the Sun g711.c everyone ships): segment ends.
_ULAW_SEG_END: Final = np.array([0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF], np.int32)
_ALAW_SEG_END: Final = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF], np.int32)
_ULAW_BIAS: Final = 0x84
_ULAW_CLIP: Final = 8159


def _samples(data: bytes, channels: int) -> npt.NDArray[np.int16]:
    if channels < 1:
        raise ValueError(f"channels must be >= 1, got {channels}")
    frame = 2 * channels
    if len(data) % frame:
        raise ValueError(
            f"PCM16 with {channels} channel(s) comes in {frame}-byte frames; got {len(data)} bytes"
        )
    samples = np.frombuffer(data, dtype=_PCM16)
    return samples.reshape(-1, channels) if channels > 1 else samples


def pcm16_to_float(data: bytes, *, channels: int = 1) -> npt.NDArray[np.float32]:
    """PCM16 bytes as float32 samples in ``[-1.0, 1.0)`` (``-32768`` is ``-1.0``)."""
    return _samples(data, channels).astype(np.float32) / np.float32(32768.0)


def float_to_pcm16(samples: npt.ArrayLike) -> bytes:
    """Float samples (clipped to ``[-1.0, 1.0]``) as PCM16 bytes, rounded to the nearest step."""
    values = np.asarray(samples, dtype=np.float32)
    scaled = np.rint(np.clip(values, -1.0, 1.0) * 32768.0)
    pcm: npt.NDArray[np.int16] = np.clip(scaled, -32768, 32767).astype(_PCM16)
    return pcm.tobytes()


def _check_rate(name: str, rate: int) -> None:
    if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
        raise ValueError(f"{name} must be a positive int (Hz), got {rate!r}")


def resample(
    data: bytes, from_hz: int, to_hz: int, *, channels: int = 1, quality: Quality = "HQ"
) -> bytes:
    """Resample a whole PCM16 clip from ``from_hz`` to ``to_hz``.

    For a stream of chunks use :class:`Resampler`: this starts afresh each call.
    """
    _check_rate("from_hz", from_hz)
    _check_rate("to_hz", to_hz)
    samples = _samples(data, channels)
    if from_hz == to_hz or not len(samples):
        return data
    out: npt.NDArray[np.int16] = soxr.resample(samples, from_hz, to_hz, quality=quality)
    return np.ascontiguousarray(out, dtype=_PCM16).tobytes()


def resample_chunk(
    chunk: RealtimeAudioChunk, to_hz: int, *, quality: Quality = "HQ"
) -> RealtimeAudioChunk:
    """A PCM16 chunk at another rate (the same chunk if it is already at ``to_hz``)."""
    if chunk.duration_ms is None:
        raise ValueError(f"only PCM16 chunks can be resampled, not {chunk.mime_type!r}")
    if chunk.sample_rate_hz == to_hz:
        return chunk
    data = resample(
        chunk.data, chunk.sample_rate_hz, to_hz, channels=chunk.channels, quality=quality
    )
    return RealtimeAudioChunk(
        data=data, sample_rate_hz=to_hz, channels=chunk.channels, mime_type=chunk.mime_type
    )


@final
class Resampler:
    """Resamples a PCM16 stream chunk by chunk, keeping the filter's state between chunks.

    ``process(data)`` returns what is ready so far (a resampling filter holds
    back a few milliseconds); ``flush()`` returns the rest at the end of the
    stream. Not thread-safe: one stream, one owner.
    """

    def __init__(
        self, from_hz: int, to_hz: int, *, channels: int = 1, quality: Quality = "HQ"
    ) -> None:
        _check_rate("from_hz", from_hz)
        _check_rate("to_hz", to_hz)
        self.from_hz = from_hz
        self.to_hz = to_hz
        self.channels = channels
        self._stream = (
            soxr.ResampleStream(from_hz, to_hz, channels, dtype="int16", quality=quality)
            if from_hz != to_hz
            else None
        )

    def process(self, data: bytes) -> bytes:
        """Resample the next piece of the stream."""
        samples = _samples(data, self.channels)
        if self._stream is None:
            return data
        return np.ascontiguousarray(self._stream.resample_chunk(samples), _PCM16).tobytes()

    def flush(self) -> bytes:
        """The end of the stream: what the filter still held."""
        if self._stream is None:
            return b""
        empty = np.zeros((0, self.channels) if self.channels > 1 else 0, dtype=_PCM16)
        return np.ascontiguousarray(self._stream.resample_chunk(empty, last=True), _PCM16).tobytes()


# -- G.711 ----------------------------------------------------------------------------------


def ulaw_encode(data: bytes) -> bytes:
    """PCM16 to G.711 μ-law, one byte per sample (the ITU reference algorithm)."""
    pcm = _samples(data, 1).astype(np.int32) >> 2
    mask = np.where(pcm < 0, 0x7F, 0xFF)
    magnitude = np.minimum(np.abs(pcm), _ULAW_CLIP) + (_ULAW_BIAS >> 2)
    segment = np.searchsorted(_ULAW_SEG_END, magnitude, side="left")
    kept = np.minimum(segment, 7)
    code = np.where(segment >= 8, 0x7F, (kept << 4) | ((magnitude >> (kept + 1)) & 0x0F))
    return (code ^ mask).astype(np.uint8).tobytes()


def ulaw_decode(data: bytes) -> bytes:
    """G.711 μ-law to PCM16."""
    code = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    magnitude = (((code & 0x0F) << 3) + _ULAW_BIAS) << ((code & 0x70) >> 4)
    pcm = np.where(code & 0x80, _ULAW_BIAS - magnitude, magnitude - _ULAW_BIAS)
    return pcm.astype(_PCM16).tobytes()


def alaw_encode(data: bytes) -> bytes:
    """PCM16 to G.711 A-law, one byte per sample (the ITU reference algorithm)."""
    pcm = _samples(data, 1).astype(np.int32) >> 3
    negative = pcm < 0
    mask = np.where(negative, 0x55, 0xD5)
    magnitude = np.where(negative, -pcm - 1, pcm)
    segment = np.searchsorted(_ALAW_SEG_END, magnitude, side="left")
    shift = np.where(segment < 2, 1, segment)
    code = np.where(
        segment >= 8, 0x7F, (np.minimum(segment, 7) << 4) | ((magnitude >> shift) & 0x0F)
    )
    return (code ^ mask).astype(np.uint8).tobytes()


def alaw_decode(data: bytes) -> bytes:
    """G.711 A-law to PCM16."""
    code = np.frombuffer(data, dtype=np.uint8).astype(np.int32) ^ 0x55
    segment = (code & 0x70) >> 4
    magnitude = ((code & 0x0F) << 4) + np.where(segment == 0, 8, 0x108)
    magnitude = np.where(segment > 1, magnitude << np.maximum(segment - 1, 0), magnitude)
    pcm = np.where(code & 0x80, magnitude, -magnitude)
    return pcm.astype(_PCM16).tobytes()


# -- chunking -------------------------------------------------------------------------------


def chunk_pcm16(
    data: bytes, *, sample_rate_hz: int, chunk_ms: float, channels: int = 1
) -> Iterator[bytes]:
    """Split PCM16 into pieces of ``chunk_ms`` (whole frames); the last may be shorter."""
    _check_rate("sample_rate_hz", sample_rate_hz)
    if not chunk_ms > 0:
        raise ValueError(f"chunk_ms must be > 0, got {chunk_ms!r}")
    frame = 2 * channels
    if len(data) % frame:
        raise ValueError(f"PCM16 with {channels} channel(s) comes in {frame}-byte frames")
    step = max(1, round(sample_rate_hz * chunk_ms / 1000.0)) * frame
    for start in range(0, len(data), step):
        yield data[start : start + step]


def split_chunk(chunk: RealtimeAudioChunk, chunk_ms: float) -> Iterator[RealtimeAudioChunk]:
    """A PCM16 chunk as chunks of ``chunk_ms`` each (the last may be shorter)."""
    if chunk.duration_ms is None:
        raise ValueError(f"only PCM16 chunks can be split, not {chunk.mime_type!r}")
    for piece in chunk_pcm16(
        chunk.data, sample_rate_hz=chunk.sample_rate_hz, chunk_ms=chunk_ms, channels=chunk.channels
    ):
        yield RealtimeAudioChunk(
            data=piece,
            sample_rate_hz=chunk.sample_rate_hz,
            channels=chunk.channels,
            mime_type=chunk.mime_type,
        )
