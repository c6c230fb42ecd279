"""Media payloads shared by provider events, public events and input commands."""

from __future__ import annotations

from typing import Final, final

import attrs

#: The names of little-endian 16-bit PCM, as providers and players spell it.
PCM16_MIME_TYPES: Final = frozenset({"audio/pcm", "audio/pcm16", "audio/l16"})


def base_mime_type(mime_type: str) -> str:
    """The type without its parameters, in lower case: ``audio/pcm`` for ``Audio/PCM;rate=16000``."""
    return mime_type.split(";", 1)[0].strip().lower()


@final
@attrs.frozen(kw_only=True)
class RealtimeAudioChunk:
    """A chunk of audio, decoded once at the edge: ``data`` holds raw bytes.

    ``audio/pcm`` means little-endian 16-bit PCM (2 bytes per sample per channel),
    the format both OpenAI Realtime and Gemini Live speak.
    """

    data: bytes
    sample_rate_hz: int = 24000
    channels: int = 1
    mime_type: str = "audio/pcm"

    @property
    def duration_ms(self) -> float | None:
        """How long this chunk plays, in milliseconds; ``None`` unless the chunk is PCM16.

        Also ``None`` for a chunk whose rate or channel count is not positive, rather
        than a division by zero: such a chunk came from bad input and has no duration.
        """
        mime = self.mime_type  # checked as it is first: the usual spelling, and per chunk
        if mime not in PCM16_MIME_TYPES and base_mime_type(mime) not in PCM16_MIME_TYPES:
            return None
        frame_bytes = 2 * self.channels
        if frame_bytes <= 0 or self.sample_rate_hz <= 0:
            return None
        return len(self.data) * 1000.0 / (frame_bytes * self.sample_rate_hz)


@final
@attrs.frozen(kw_only=True)
class RealtimeVideoChunk:
    """One encoded video frame (a JPEG image by default)."""

    data: bytes
    mime_type: str = "image/jpeg"
