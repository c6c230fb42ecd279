"""A model of a listener: what a real-time player would have played of a recorded call.

A recorded call says when each audio chunk arrived, when the user barged in
and (from the provider's truncation) how much of an item was heard. It does
not say what the speaker played. :class:`ListenerModel` plays the audio the
session published as a sound card would: each chunk from when it arrived, or
right after the one before it, at real-time pace, holding at most
``media_buffer`` chunks in its queue (dropping the oldest beyond that, as a
subscription's media lane does). A barge-in cuts the chunk playing at that
instant and flushes the queued audio of the interrupted response; a
truncation reported by the provider, which records what the real player had
played, caps the item's audio at that position.

The model is pure (no I/O, no clock): the timeline and ``replay --wav`` feed
it the call's events with their times.
"""

from __future__ import annotations

import math
from collections import deque
from typing import TYPE_CHECKING, Final, final

import attrs

if TYPE_CHECKING:
    from . import public

__all__ = ("AudioSpan", "ListenerModel", "MediaDrop")

_SAMPLE_BYTES: Final = 2  # PCM16


@final
@attrs.define(kw_only=True)
class AudioSpan:
    """Audio of one item played (or flushed) back to back, from ``start`` to ``end`` seconds."""

    start: float
    end: float
    response_id: str | None
    item_id: str | None
    chunks: int
    # For a flushed span: when the barge-in flushed it.
    flushed_at: float | None = None

    @property
    def ms(self) -> float:
        return (self.end - self.start) * 1000.0


@final
@attrs.frozen(kw_only=True)
class MediaDrop:
    """Chunks the listener's media buffer dropped at ``t`` (oldest first, as a subscription does)."""

    t: float
    dropped: int
    dropped_ms: float


@final
class _Queued:
    __slots__ = ("arrival", "data", "event", "frame_bytes", "ms", "rate")

    def __init__(self, arrival: float, event: public.OutputAudioChunk) -> None:
        chunk = event.chunk
        self.arrival = arrival
        self.event = event
        self.data = chunk.data
        self.ms = chunk.duration_ms or 0.0
        self.rate = chunk.sample_rate_hz
        self.frame_bytes = _SAMPLE_BYTES * max(1, chunk.channels)


@final
class _Piece:
    """A played chunk (possibly cut): when it played and the bytes heard."""

    __slots__ = ("data", "end", "item_id", "response_id", "source", "start")

    def __init__(self, source: _Queued, start: float) -> None:
        self.source = source
        self.start = start
        self.end = start + source.ms / 1000.0
        self.data = source.data
        self.item_id = source.event.item_id
        self.response_id = source.event.response_id

    def cut_at(self, t: float) -> None:
        """Keep only what played before ``t`` (whole frames)."""
        source = self.source
        keep_s = max(0.0, t - self.start)
        frames = math.floor(keep_s * source.rate + 1e-9)
        self.data = self.data[: frames * source.frame_bytes]
        self.end = self.start + frames / source.rate if source.rate > 0 else self.start

    def keep_ms(self, ms: float) -> None:
        source = self.source
        frames = max(0, math.floor(ms * source.rate / 1000.0 + 1e-9))
        self.data = self.data[: frames * source.frame_bytes]
        self.end = self.start + frames / source.rate if source.rate > 0 else self.start

    @property
    def ms(self) -> float:
        source = self.source
        if source.rate <= 0:
            return 0.0
        return len(self.data) / source.frame_bytes * 1000.0 / source.rate


@final
class ListenerModel:
    """Plays a call's published audio at real-time pace, as a listener would have heard it.

    Feed it in time order: :meth:`arrive` for each published audio chunk,
    :meth:`interrupt` for each ``Interrupted``, :meth:`truncate` for each
    truncation, then :meth:`finish`. Chunks without a PCM duration are not
    played (counted in :attr:`unplayable`).

    :param media_buffer: chunks the player may hold queued; beyond it the oldest
        is dropped (``None``: unbounded).
    """

    def __init__(self, *, media_buffer: int | None = None) -> None:
        self._media_buffer = media_buffer
        self._queue: deque[_Queued] = deque()
        self._busy_until = 0.0
        self._pieces: list[_Piece] = []
        self._flushed: list[AudioSpan] = []
        self.drops: list[MediaDrop] = []
        self.unplayable = 0
        self._finished = False

    def arrive(self, t: float, event: public.OutputAudioChunk) -> None:
        """A chunk the session published at ``t`` seconds."""
        self._advance(t)
        if event.chunk.duration_ms is None:
            self.unplayable += 1
            return
        buffer = self._media_buffer
        if buffer is not None and len(self._queue) >= buffer:
            lost = self._queue.popleft()
            last = self.drops[-1] if self.drops else None
            if last is not None and last.t == t:
                self.drops[-1] = MediaDrop(
                    t=t, dropped=last.dropped + 1, dropped_ms=last.dropped_ms + lost.ms
                )
            else:
                self.drops.append(MediaDrop(t=t, dropped=1, dropped_ms=lost.ms))
        self._queue.append(_Queued(t, event))

    def interrupt(self, t: float, response_id: str | None) -> None:
        """The user barged in at ``t`` on ``response_id`` (``None``: on everything queued)."""
        self._advance(t)
        if self._pieces:
            last = self._pieces[-1]
            if last.end > t and (response_id is None or last.response_id == response_id):
                last.cut_at(t)
                self._busy_until = max(last.end, t)
        kept: deque[_Queued] = deque()
        start = max(self._busy_until, t)
        for queued in self._queue:
            if response_id is None or queued.event.response_id == response_id:
                span_start = max(start, queued.arrival)
                self._add_flushed(span_start, span_start + queued.ms / 1000.0, queued, t)
                start = span_start + queued.ms / 1000.0
            else:
                kept.append(queued)
        self._queue = kept

    def truncate(self, t: float, item_id: str, audio_played_ms: float) -> None:
        """The provider recorded that only ``audio_played_ms`` of ``item_id`` was played."""
        self._advance(t)
        heard = 0.0
        for piece in self._pieces:
            if piece.item_id != item_id:
                continue
            remaining = max(0.0, audio_played_ms - heard)
            if piece.ms > remaining:
                piece.keep_ms(remaining)
            heard += piece.ms
        # Audio of the item still queued was not heard either.
        kept: deque[_Queued] = deque()
        for queued in self._queue:
            if queued.event.item_id == item_id:
                self._add_flushed(t, t + queued.ms / 1000.0, queued, t)
            else:
                kept.append(queued)
        self._queue = kept

    def finish(self) -> None:
        """The call ended: play out what is queued."""
        if not self._finished:
            self._finished = True
            self._advance(math.inf)

    # -- results --------------------------------------------------------------

    def played_spans(self) -> list[AudioSpan]:
        """What played, merged into spans of back-to-back audio of one item."""
        spans: list[AudioSpan] = []
        for piece in self._pieces:
            if piece.end <= piece.start:
                continue
            last = spans[-1] if spans else None
            if (
                last is not None
                and last.item_id == piece.item_id
                and last.response_id == piece.response_id
                and piece.start - last.end < 1e-6
            ):
                last.end = piece.end
                last.chunks += 1
            else:
                spans.append(
                    AudioSpan(
                        start=piece.start,
                        end=piece.end,
                        response_id=piece.response_id,
                        item_id=piece.item_id,
                        chunks=1,
                    )
                )
        return spans

    def flushed_spans(self) -> list[AudioSpan]:
        """Audio a barge-in discarded, placed where it would have played."""
        return list(self._flushed)

    def heard(self) -> list[public.OutputAudioChunk]:
        """The audio the listener heard, in playing order, each chunk cut to what was heard."""
        heard: list[public.OutputAudioChunk] = []
        for piece in self._pieces:
            if not piece.data:
                continue
            event = piece.source.event
            if piece.data is not event.chunk.data:
                event = attrs.evolve(event, chunk=attrs.evolve(event.chunk, data=piece.data))
            heard.append(event)
        return heard

    # -- internals ------------------------------------------------------------

    def _advance(self, now: float) -> None:
        """Start every queued chunk due to start by ``now`` (an idle player takes a chunk at once)."""
        queue = self._queue
        while queue:
            queued = queue[0]
            start = max(self._busy_until, queued.arrival)
            if start > now:
                return
            queue.popleft()
            piece = _Piece(queued, start)
            self._pieces.append(piece)
            self._busy_until = piece.end

    def _add_flushed(self, start: float, end: float, queued: _Queued, at: float) -> None:
        event = queued.event
        last = self._flushed[-1] if self._flushed else None
        if (
            last is not None
            and last.item_id == event.item_id
            and last.flushed_at == at
            and abs(last.end - start) < 1e-6
        ):
            last.end = end
            last.chunks += 1
            return
        self._flushed.append(
            AudioSpan(
                start=start,
                end=end,
                response_id=event.response_id,
                item_id=event.item_id,
                chunks=1,
                flushed_at=at,
            )
        )
