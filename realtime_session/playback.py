"""Audio in and out at the edges of a session, and the clock between a player and the session.

A sound card plays on a thread of its own: PortAudio calls back from its
audio thread, a telephony socket is written from another. That thread knows
what was actually heard; the session needs to know it (``report_playback``)
to cut the transcript at a barge-in. But :meth:`RealtimeSession.report_playback`
belongs to the event loop's thread, and an audio callback must never wait for
the event loop. :class:`PlaybackClock` is the bridge: the audio thread calls
:meth:`~PlaybackClock.advance` (a short lock, never a wait), and the loop side
reports the positions to the session, every few milliseconds while
:meth:`~PlaybackClock.reporting` runs, or whenever it calls
:meth:`~PlaybackClock.drain`.

:class:`WavFilePlayer` is a sound card that writes to a WAV file: a device
thread takes 20 ms blocks at real-time pace and reports each through a
clock, exactly as a PortAudio callback would. :class:`WavFileMicrophone`
reads a WAV file as a microphone would deliver it: chunks of 20 ms at
real-time pace. Both convert sample rates when the file's differs from the
session's, which needs the ``audio`` extra.
"""

from __future__ import annotations

import math
import os
import threading
import time
import wave
from collections import deque
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final, final

import anyio
import anyio.to_thread

from . import public
from ._media import RealtimeAudioChunk

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from ._session import RealtimeSession
    from ._subscription import Subscription
    from .audio import Resampler

__all__ = ("PlaybackClock", "WavFileMicrophone", "WavFilePlayer")

_SAMPLE_WIDTH: Final = 2  # PCM16


@final
class PlaybackClock:
    """Playback positions reported from any thread, delivered to the session on its own.

    :meth:`advance` and :meth:`set_position` may be called from any thread (an
    audio callback); they take a lock for a dictionary update and never block
    on the event loop. :meth:`drain` and :meth:`reporting` run on the event
    loop's thread and pass the positions that moved to
    ``session.report_playback``. Positions only move forward, per item.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._positions: dict[str, float] = {}
        self._moved: dict[str, float] = {}

    def advance(self, item_id: str, played_ms: float) -> float:
        """Record that ``played_ms`` more of ``item_id`` was played; return its position.

        Safe from any thread; never waits for the event loop.
        """
        if not played_ms >= 0 or not math.isfinite(played_ms):
            raise ValueError(f"played_ms must be finite and >= 0, got {played_ms!r}")
        with self._lock:
            position = self._positions.get(item_id, 0.0) + played_ms
            self._positions[item_id] = position
            self._moved[item_id] = position
        return position

    def set_position(self, item_id: str, position_ms: float) -> None:
        """Record an absolute position (for players that count it themselves); thread-safe."""
        if not position_ms >= 0 or not math.isfinite(position_ms):
            raise ValueError(f"position_ms must be finite and >= 0, got {position_ms!r}")
        with self._lock:
            if position_ms > self._positions.get(item_id, -1.0):
                self._positions[item_id] = position_ms
                self._moved[item_id] = position_ms

    def position(self, item_id: str) -> float:
        """How much of ``item_id`` has been played, in ms (0 if nothing yet)."""
        with self._lock:
            return self._positions.get(item_id, 0.0)

    def drain(self, session: RealtimeSession) -> int:
        """Report every position that moved since the last drain; return how many.

        Call it on the event loop's thread (``report_playback`` belongs there).
        """
        with self._lock:
            moved, self._moved = self._moved, {}
        for item_id, position in moved.items():
            session.report_playback(item_id, position)
        return len(moved)

    @asynccontextmanager
    async def reporting(
        self, session: RealtimeSession, *, interval_s: float = 0.01
    ) -> AsyncIterator[PlaybackClock]:
        """Drain into ``session`` every ``interval_s`` while the context is open, and once at the end.

        A barge-in is cut at the last position reported, so the interval bounds
        how stale that position can be.
        """
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s!r}")

        async def report() -> None:
            while True:
                self.drain(session)
                await anyio.sleep(interval_s)

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(report, name="playback clock")
            try:
                yield self
            finally:
                task_group.cancel_scope.cancel()
                self.drain(session)


@final
class _Queued:
    __slots__ = ("data", "item_id", "response_id")

    def __init__(self, data: bytes, response_id: str | None, item_id: str | None) -> None:
        self.data = data
        self.response_id = response_id
        self.item_id = item_id


@final
class WavFilePlayer:
    """A sound card that plays a session's audio into a WAV file, reporting through a clock.

    ``await player.play(subscription)`` takes the subscription's audio and
    queues it for the device: a thread that, like a PortAudio callback, takes
    ``block_ms`` of audio every ``block_ms`` (divided by ``speed``), writes it
    to the file and tells ``clock`` how much of which item it played. On
    ``Interrupted`` the player drops what it holds of that response, as a
    player must (the session flushes only what the subscription still held).
    After ``SessionClosed`` it plays out what is queued and returns; the file
    is complete when :meth:`play` returns, also when it is cancelled.

    The WAV file is PCM16 at ``sample_rate_hz`` with ``channels``; audio at
    another rate is resampled (the ``audio`` extra), audio with another
    channel count or not PCM is skipped and counted in :attr:`skipped_chunks`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: PlaybackClock,
        sample_rate_hz: int = 24000,
        channels: int = 1,
        block_ms: float = 20.0,
        speed: float = 1.0,
    ) -> None:
        if not speed > 0 or not block_ms > 0:
            raise ValueError("speed and block_ms must be > 0")
        self.path = os.fspath(path)
        self.clock = clock
        self.sample_rate_hz = sample_rate_hz
        self.channels = channels
        self.block_ms = block_ms
        self.speed = speed
        self._lock = threading.Lock()
        self._queue: deque[_Queued] = deque()
        self._resamplers: dict[tuple[int, str | None, str | None], Resampler] = {}
        self.played_ms = 0.0
        self.flushed_ms = 0.0
        self.skipped_chunks = 0

    @property
    def _frame_bytes(self) -> int:
        return _SAMPLE_WIDTH * self.channels

    def _ms(self, size: int) -> float:
        return size / self._frame_bytes * 1000.0 / self.sample_rate_hz

    async def play(self, subscription: Subscription) -> None:
        """Play the subscription's audio until the session closes and the queue is played out."""
        ending = threading.Event()  # nothing more will come: play out the queue
        stop = threading.Event()  # stop now (cancelled, or the reader failed)
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(self._run_device, ending, stop, name="wav player device")
            try:
                async with subscription:
                    async for event in subscription:
                        if isinstance(event, public.OutputAudioChunk):
                            self._enqueue(event)
                        elif isinstance(event, public.Interrupted):
                            self._flush(event.response_id)
                self._flush_resamplers()
            except BaseException:
                stop.set()
                raise
            finally:
                ending.set()

    async def _run_device(self, ending: threading.Event, stop: threading.Event) -> None:
        try:
            # Not abandoned on cancellation: the thread sees ``stop`` within a block
            # and closes the file, so it is complete when play() returns.
            await anyio.to_thread.run_sync(self._device, ending, stop)
        finally:
            stop.set()

    def _enqueue(self, event: public.OutputAudioChunk) -> None:
        chunk = event.chunk
        if chunk.duration_ms is None or chunk.channels != self.channels:
            self.skipped_chunks += 1
            return
        data = chunk.data
        if chunk.sample_rate_hz != self.sample_rate_hz:
            key = (chunk.sample_rate_hz, event.response_id, event.item_id)
            resampler = self._resamplers.get(key)
            if resampler is None:
                from .audio import Resampler

                # One resampler per item: its filter state belongs to one stream.
                self._flush_resamplers()
                resampler = self._resamplers[key] = Resampler(
                    chunk.sample_rate_hz, self.sample_rate_hz, channels=self.channels
                )
            data = resampler.process(data)
        with self._lock:
            self._queue.append(_Queued(data, event.response_id, event.item_id))

    def _flush_resamplers(self) -> None:
        """Queue what the resamplers still hold: the end of their items."""
        resamplers, self._resamplers = self._resamplers, {}
        for (_, response_id, item_id), resampler in resamplers.items():
            data = resampler.flush()
            with self._lock:
                self._queue.append(_Queued(data, response_id, item_id))

    def _flush(self, response_id: str | None) -> None:
        for key in [k for k in self._resamplers if response_id in (None, k[1])]:
            del self._resamplers[key]  # what they hold was never going to be heard
        with self._lock:
            kept: deque[_Queued] = deque()
            for queued in self._queue:
                if response_id is None or queued.response_id == response_id:
                    self.flushed_ms += self._ms(len(queued.data))
                else:
                    kept.append(queued)
            self._queue = kept

    def _take_block(self, size: int) -> list[_Queued]:
        """Up to ``size`` bytes from the head of the queue, split where needed."""
        taken: list[_Queued] = []
        with self._lock:
            while size > 0 and self._queue:
                head = self._queue[0]
                if len(head.data) <= size:
                    self._queue.popleft()
                    taken.append(head)
                    size -= len(head.data)
                else:
                    taken.append(_Queued(head.data[:size], head.response_id, head.item_id))
                    head.data = head.data[size:]
                    size = 0
        return taken

    def _device(self, ending: threading.Event, stop: threading.Event) -> None:
        """The device thread: one block every ``block_ms / speed`` seconds, like an audio callback."""
        frames = max(1, round(self.sample_rate_hz * self.block_ms / 1000.0))
        block_bytes = frames * self._frame_bytes
        period = self.block_ms / 1000.0 / self.speed
        with open(self.path, "wb") as file, wave.open(file, "wb") as wav:
            wav.setnchannels(self.channels)
            wav.setsampwidth(_SAMPLE_WIDTH)
            wav.setframerate(self.sample_rate_hz)
            deadline = time.monotonic()
            while not stop.is_set():
                pieces = self._take_block(block_bytes)
                if not pieces and ending.is_set():
                    return
                for piece in pieces:
                    wav.writeframes(piece.data)
                    ms = self._ms(len(piece.data))
                    self.played_ms += ms
                    if piece.item_id is not None:
                        self.clock.advance(piece.item_id, ms)
                deadline += period
                delay = deadline - time.monotonic()
                if delay > 0:
                    stop.wait(delay)
                elif delay < -period:
                    deadline = time.monotonic()  # fell behind (a stall): do not rush


@final
class WavFileMicrophone:
    """A microphone that speaks a WAV file: PCM16 chunks of ``chunk_ms`` at real-time pace.

    ``async for chunk in mic:`` yields :class:`~realtime_session.events.RealtimeAudioChunk`
    at ``sample_rate_hz`` (default: the file's own; another rate is resampled,
    which needs the ``audio`` extra), mono (a stereo file is mixed down, also
    with the extra), one every ``chunk_ms / speed`` seconds, followed by
    ``trailing_silence_ms`` of silence: a provider's voice activity detection
    needs to hear the user stop. :meth:`send_to` sends the chunks to a session.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sample_rate_hz: int | None = None,
        chunk_ms: float = 20.0,
        speed: float = 1.0,
        trailing_silence_ms: float = 0.0,
    ) -> None:
        if not speed > 0 or not chunk_ms > 0 or not trailing_silence_ms >= 0:
            raise ValueError("speed and chunk_ms must be > 0, trailing_silence_ms >= 0")
        self.path = os.fspath(path)
        with wave.open(self.path, "rb") as wav:
            if wav.getsampwidth() != _SAMPLE_WIDTH or wav.getcomptype() != "NONE":
                raise ValueError(f"{self.path}: not 16-bit PCM (a microphone file must be)")
            self.file_rate_hz = wav.getframerate()
            file_channels = wav.getnchannels()
            data = wav.readframes(wav.getnframes())
        self.sample_rate_hz = sample_rate_hz or self.file_rate_hz
        if file_channels != 1:
            from .audio import float_to_pcm16, pcm16_to_float

            data = float_to_pcm16(pcm16_to_float(data, channels=file_channels).mean(axis=1))
        if self.sample_rate_hz != self.file_rate_hz:
            from .audio import resample

            data = resample(data, self.file_rate_hz, self.sample_rate_hz)
        silence_frames = round(self.sample_rate_hz * trailing_silence_ms / 1000.0)
        self._data = data + bytes(silence_frames * _SAMPLE_WIDTH)
        self.chunk_ms = chunk_ms
        self.speed = speed

    @property
    def duration_ms(self) -> float:
        """How long the file speaks, trailing silence included."""
        return len(self._data) / _SAMPLE_WIDTH * 1000.0 / self.sample_rate_hz

    async def __aiter__(self) -> AsyncIterator[RealtimeAudioChunk]:
        step = max(1, round(self.sample_rate_hz * self.chunk_ms / 1000.0)) * _SAMPLE_WIDTH
        period = self.chunk_ms / 1000.0 / self.speed
        start = anyio.current_time()
        for n, offset in enumerate(range(0, len(self._data), step)):
            await anyio.sleep_until(start + n * period)
            yield RealtimeAudioChunk(
                data=self._data[offset : offset + step], sample_rate_hz=self.sample_rate_hz
            )

    async def send_to(self, session: RealtimeSession) -> int:
        """Send the file to ``session`` as audio input, paced; return how many chunks went."""
        from .events import AudioInput

        sent = 0
        async for chunk in self:
            await session.send_input(AudioInput(chunk=chunk))
            sent += 1
        return sent
