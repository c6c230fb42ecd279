"""A stand-in for a speaker: plays a session's audio into a WAV file, in real time.

The voice bot examples use it where a real bot would hand audio to a sound
card. Like a sound card it takes time: each chunk takes its own duration to
play (divided by ``speed``), chunks queued behind it play back to back, and
after each chunk the player tells the session how far it got with
``session.report_playback(item_id, played_ms)``. That position is what the
session cuts the transcript at when the user barges in, so it must be what
was actually played, not what was received.
"""

from __future__ import annotations

import os
import wave
from typing import TYPE_CHECKING, Final, final

import anyio

from realtime_session import public

if TYPE_CHECKING:
    from realtime_session import RealtimeSession, Subscription

__all__ = ("WavPlayer",)

_SAMPLE_WIDTH: Final = 2  # PCM16
# How late a queued chunk may start before the player stops keeping time with the previous one.
_MAX_CATCH_UP_S: Final = 0.05


@final
class WavPlayer:
    """Plays the audio of a subscription into ``path`` and reports playback to ``session``.

    The WAV file takes the format of the first chunk (24 kHz mono PCM16 for
    OpenAI Realtime); chunks in another format, or not PCM at all, are counted
    in :attr:`skipped_chunks` and not played.
    """

    def __init__(
        self, session: RealtimeSession, path: str | os.PathLike[str], *, speed: float = 1.0
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self._session = session
        self._path = os.fspath(path)
        self._speed = speed
        self._format: tuple[int, int] | None = None
        self._positions: dict[str, float] = {}
        self._busy_until = 0.0
        self.played_ms = 0.0
        self.played_chunks = 0
        self.skipped_chunks = 0

    @property
    def path(self) -> str:
        return self._path

    async def run(self, subscription: Subscription) -> None:
        """Play until the subscription ends (it ends after the session closed).

        The file is complete when this returns, also when it is cancelled.
        """
        with wave.open(self._path, "wb") as wav:
            # Parameters must be set before the header is written; the first
            # chunk may still change them (nothing has been written yet).
            wav.setparams((1, _SAMPLE_WIDTH, 24000, 0, "NONE", "not compressed"))
            async with subscription:
                while True:
                    try:
                        event = subscription.receive_nowait()
                        queued = True
                    except anyio.WouldBlock:
                        queued = False
                        try:
                            event = await subscription.receive()
                        except anyio.EndOfStream:
                            return
                    except anyio.EndOfStream:
                        return
                    if isinstance(event, public.OutputAudioChunk):
                        await self._play(wav, event, gapless=queued)

    async def _play(
        self, wav: wave.Wave_write, event: public.OutputAudioChunk, *, gapless: bool
    ) -> None:
        chunk = event.chunk
        duration_ms = chunk.duration_ms
        chunk_format = (chunk.channels, chunk.sample_rate_hz)
        if self._format is None and duration_ms is not None:
            self._format = chunk_format
            wav.setnchannels(chunk.channels)
            wav.setframerate(chunk.sample_rate_hz)
        if duration_ms is None or chunk_format != self._format:
            self.skipped_chunks += 1
            return
        # A small write to a local file: a real player would hand the samples to
        # the sound card's callback instead.
        wav.writeframes(chunk.data)
        now = anyio.current_time()
        continues = gapless and now - self._busy_until < _MAX_CATCH_UP_S
        start = self._busy_until if continues else now
        self._busy_until = start + duration_ms / 1000 / self._speed
        await anyio.sleep_until(self._busy_until)
        self.played_chunks += 1
        self.played_ms += duration_ms
        if event.item_id is not None:
            position = self._positions.get(event.item_id, 0.0) + duration_ms
            self._positions[event.item_id] = position
            self._session.report_playback(event.item_id, position)
