"""Reading a session's public events from a session log, with the session's lane semantics.

A :class:`RemoteSubscription` reads the two lanes of a session from the log in
batches, merges them back into the session's order and hands them out one at
a time, as :meth:`RealtimeSession.events` does in process.

**Merging.** A read returns at most ``count`` entries per lane, and a server
may answer a blocked read with one lane only; so an entry that was published
earlier can be missing from a reply that holds a later entry of the other lane.
Every entry says how many entries of each lane its publisher had numbered
through it (see :mod:`realtime_session.remote._log`). The reader hands out the
earliest entry it holds only when it has accounted for every entry of the
other lane before it (read it, or learned it is gone); otherwise it reads
again, without blocking, and what that read does not return no longer
exists. So no reply shape can let a later event overtake an earlier one.

**Gaps.** The lane numbers are dense. A media number skipped (trimmed by the
log's cap, or dropped by the publisher) becomes a ``MediaDropped`` marker with
the chunks' count and duration; so does media this reader's own buffer let go
when it fell more than ``media_buffer`` chunks behind. A control number
skipped (lost with a restarted server, or by a publisher that could not reach
the log for too long) fails the subscription with ``SubscriberLagged`` at that
point: every control event before it was delivered, none after it is.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Final, Literal, Self, TypeAlias, TypeVar, final

import anyio
import anyio.lowlevel
import attrs

from .. import codec, public
from .._errors import SubscriberLagged
from ._errors import LogUnavailable, PublisherLost, SessionNotFound
from ._log import LogEntry, SessionStatus

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from types import TracebackType

    from ._log import LogRead, SessionLog

_T = TypeVar("_T")

# Entries per lane and per read.
_READ_COUNT: Final = 512
# How long a blocked read waits before the reader checks the publisher's heartbeat,
# until the log told it the publisher's own interval.
_DEFAULT_BLOCK_S: Final = 1.0
_RETRY_FIRST_S: Final = 0.05
_RETRY_MAX_S: Final = 1.0


@final
@attrs.frozen(kw_only=True)
class LogPosition:
    """A place in a session's log: just after the entry numbered ``seq``.

    :attr:`RemoteSubscription.position` is the position after the last event it
    delivered; passing it as ``start=`` to :func:`subscribe` resumes exactly
    there. ``LogPosition()`` is the beginning.
    """

    seq: int = 0
    control: int = 0
    media: int = 0
    media_ms: float = 0.0


@final
@attrs.frozen(kw_only=True)
class RemoteSubscriptionStatistics:
    """A snapshot of what a :class:`RemoteSubscription` holds and has done
    (:meth:`RemoteSubscription.statistics`).

    The fields it shares with :class:`~realtime_session.SubscriptionStatistics`
    mean the same; what is queued here was read from the log and waits in this
    process. What the log holds beyond the last read is not known without
    reading it (a subscription that does not read costs nothing).

    :param queued_control: control events read from the log, not yet received.
    :param queued_media: media chunks read from the log and held, not yet received.
    :param pending_control: control events known to come after the last one
        received: those queued, and any found missing from the log (reported as
        ``SubscriberLagged`` when reached). What ``max_pending`` bounds.
    :param max_pending: the control events it may fall behind by before it
        lags (``None``: no bound; the log holds them).
    :param media_buffer: the media chunks it may hold before it drops the oldest.
    :param delivered: events received so far, ``MediaDropped`` markers included.
    :param dropped_media: media chunks it will never deliver: trimmed from the
        log, dropped by the publisher, or by its own buffer.
    :param flushed_media: media chunks discarded because an ``Interrupted`` for
        their response came first.
    :param tasks_waiting_receive: tasks in :meth:`RemoteSubscription.receive`
        waiting for the log.
    :param position: the position after the last event received.
    """

    queued_control: int
    queued_media: int
    pending_control: int
    max_pending: int | None
    media_buffer: int
    delivered: int
    dropped_media: int
    flushed_media: int
    tasks_waiting_receive: int
    position: LogPosition


Start: TypeAlias = Literal["beginning", "live"] | LogPosition


def _position(entry: LogEntry) -> LogPosition:
    return LogPosition(
        seq=entry.seq, control=entry.control, media=entry.media, media_ms=entry.media_ms
    )


def _decode(entry: LogEntry) -> public.RealtimeEvent:
    return codec.from_json(entry.payload, type=public.RealtimeEvent)


@final
class RemoteSubscription:
    """A session's public events read from a session log: a remote ``session.events()``.

    Created by :func:`subscribe`. An async iterator and an async context
    manager, with the in-process :class:`~realtime_session.Subscription`'s
    semantics:

    - every control event in the session's order, or
      :class:`~realtime_session.SubscriberLagged` where that is no longer
      possible (the reader fell more than ``max_pending`` events behind, or
      events are missing from the log), after every event before that point;
    - media chunks best effort: chunks trimmed from the log, dropped by the
      publisher, or let go by this reader's own ``media_buffer`` when it fell
      behind are counted (:attr:`dropped_media`) and marked with one
      :class:`~realtime_session.public.MediaDropped` where they stood, with
      their count and duration;
    - when it reads an ``Interrupted``, media of that response still waiting
      for this reader is discarded (:attr:`flushed_media`), not delivered;
    - ``SessionClosed`` is the last event; iteration ends after it;
    - if the publisher vanished (its heartbeat lapsed) or stopped publishing
      before the session closed, :class:`~realtime_session.remote.PublisherLost`
      once everything the log holds was delivered.

    Reading is pulled from the log: a reader that does not read costs the
    publisher nothing, and the log, not this process, holds what it has not read
    yet. A receive that finds nothing waits on a blocked read, cancellable at
    any time without losing an event. :meth:`statistics` tells what it holds,
    how far behind it is known to be, and what it delivered.
    """

    def __init__(
        self,
        log: SessionLog,
        session_id: str,
        *,
        start: Start,
        media: bool,
        media_buffer: int,
        max_pending: int | None,
        reconnect_timeout_s: float,
    ) -> None:
        if media_buffer < 1:
            raise ValueError(f"media_buffer must be >= 1, got {media_buffer!r}")
        if max_pending is not None and max_pending < 1:
            raise ValueError(f"max_pending must be >= 1 or None, got {max_pending!r}")
        if start not in ("beginning", "live") and not isinstance(start, LogPosition):
            raise ValueError(f"start must be 'beginning', 'live' or a LogPosition, got {start!r}")
        self._log = log
        self._session_id = session_id
        self._start = start
        self._media_enabled = media
        self._media_buffer = media_buffer
        self._max_pending = max_pending
        self._reconnect_timeout_s = reconnect_timeout_s
        self._started = False
        self._lock = anyio.Lock()
        self._control: deque[tuple[LogEntry, public.RealtimeEvent]] = deque()
        self._media: deque[LogEntry] = deque()
        # Interrupted events read but not delivered yet: (seq, response id).
        self._interrupts: list[tuple[int, str | None]] = []
        self._cursor_control = 0
        self._cursor_media = 0
        # What has been read or accounted for, per lane (see the module docstring).
        self._known_control = 0
        self._known_media = 0
        self._known_media_ms = 0.0
        self._position = LogPosition()
        # A stalled head: the other lane's count it needs.
        self._needs: tuple[str, int, float] | None = None
        self._pending_drops = 0
        self._pending_drop_ms = 0.0
        self._last_drop = 0
        self._dropped = 0
        self._flushed = 0
        self._failure: Exception | None = None
        self._ended = False
        self._block_s = _DEFAULT_BLOCK_S
        self._grace_until = 0.0
        self._delivered = 0
        self._waiting = 0

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def dropped_media(self) -> int:
        """Media chunks this reader will never get: trimmed, dropped by the publisher, or by
        its own buffer."""
        return self._dropped

    @property
    def flushed_media(self) -> int:
        """Media chunks discarded because an ``Interrupted`` for their response came first."""
        return self._flushed

    @property
    def position(self) -> LogPosition:
        """The position after the last event delivered (pass it as ``start=`` to resume)."""
        return self._position

    def statistics(self) -> RemoteSubscriptionStatistics:
        """What is queued in this process, how far behind it is known to be, and what was
        delivered, dropped and flushed so far."""
        return RemoteSubscriptionStatistics(
            queued_control=len(self._control),
            queued_media=len(self._media),
            pending_control=max(0, self._known_control - self._position.control),
            max_pending=self._max_pending,
            media_buffer=self._media_buffer,
            delivered=self._delivered,
            dropped_media=self._dropped,
            flushed_media=self._flushed,
            tasks_waiting_receive=self._waiting,
            position=self._position,
        )

    # -- delivery ------------------------------------------------------------------

    def receive_nowait(self) -> public.RealtimeEvent:
        """Return the next event if it was already read from the log.

        :raises ~anyio.WouldBlock: if the log must be read first.
        :raises ~anyio.EndOfStream: after ``SessionClosed``, or after :meth:`aclose`.
        :raises ~realtime_session.SubscriberLagged: at a control event this reader
            cannot have.
        :raises ~realtime_session.remote.PublisherLost: once everything was
            delivered, if the publisher is gone.
        """
        if self._failure is not None:
            raise self._failure
        control = self._control
        media = self._media
        if control and (not media or control[0][0].seq < media[0].seq):
            entry, event = control[0]
            if self._known_media < entry.media and self._media_enabled:
                self._needs = ("media", entry.media, entry.media_ms)
                raise anyio.WouldBlock
            missing = entry.control - 1 - self._position.control
            is_media = False
        elif media:
            entry = media[0]
            if self._known_control < entry.control:
                self._needs = ("control", entry.control, 0.0)
                raise anyio.WouldBlock
            missing = entry.control - self._position.control
            is_media = True
        elif self._ended:
            raise anyio.EndOfStream
        else:
            raise anyio.WouldBlock
        self._needs = None
        if self._pending_drops and (
            entry.media > self._last_drop if is_media else entry.media >= self._last_drop
        ):
            marker = public.MediaDropped(
                dropped=self._pending_drops, dropped_ms=max(0.0, self._pending_drop_ms)
            )
            self._pending_drops = 0
            self._pending_drop_ms = 0.0
            self._delivered += 1
            return marker
        if missing > 0:
            lagged = SubscriberLagged(
                missing,
                self._max_pending or 0,
                reason=(
                    f"{missing} control events after #{self._position.control} are missing "
                    f"from the log of session {self._session_id} (lost by the log or by a "
                    "publisher that could not reach it)"
                ),
            )
            self._fail(lagged)
            raise lagged
        self._position = _position(entry)
        self._delivered += 1
        if is_media:
            media.popleft()
            return _decode(entry)
        control.popleft()
        if type(event) is public.Interrupted:
            self._interrupts = [item for item in self._interrupts if item[0] > entry.seq]
        elif type(event) is public.SessionClosed:
            self._ended = True
            self._release()
        return event

    async def receive(self) -> public.RealtimeEvent:
        """Wait for the next event, reading the log when nothing is held.

        Cancellation is safe at any point: an entry counts as read only once
        the reply holding it was processed, and an event is taken only when
        returned. Concurrent receivers share the reads and never hang.

        :raises ~anyio.EndOfStream: after ``SessionClosed`` was delivered.
        :raises ~realtime_session.SubscriberLagged: see :meth:`receive_nowait`.
        :raises ~realtime_session.remote.PublisherLost: see :meth:`receive_nowait`.
        :raises ~realtime_session.remote.SessionNotFound: at the first read, if
            the log holds nothing for the session.
        :raises ~realtime_session.remote.LogUnavailable: if the log stayed
            unreachable for ``reconnect_timeout_s``.
        """
        await anyio.lowlevel.checkpoint()
        while True:
            try:
                return self.receive_nowait()
            except anyio.WouldBlock:
                pass
            self._waiting += 1
            try:
                async with self._lock:
                    try:
                        return self.receive_nowait()
                    except anyio.WouldBlock:
                        await self._read_more()
            finally:
                self._waiting -= 1

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> public.RealtimeEvent:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> Self:
        """Take the start position now (for ``start="live"``: what the log holds now)."""
        async with self._lock:
            await self._begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop reading; later steps end the iteration. Idempotent."""
        self._ended = True
        self._release()

    def __repr__(self) -> str:
        state = "failed" if self._failure else "ended" if self._ended else "open"
        return (
            f"<RemoteSubscription {self._session_id} {state} at {self._position.seq} "
            f"dropped_media={self._dropped} flushed_media={self._flushed}>"
        )

    def _fail(self, failure: Exception) -> None:
        self._failure = failure
        self._release()

    def _release(self) -> None:
        self._control.clear()
        self._media.clear()
        self._interrupts.clear()
        self._pending_drops = 0

    # -- reading the log --------------------------------------------------------

    async def _begin(self) -> None:
        if self._started:
            return
        log, session_id = self._log, self._session_id
        start = self._start
        state = await self._retrying(lambda: log.state(session_id))
        if state.heartbeat_s is not None:
            self._block_s = state.heartbeat_s
        if isinstance(start, LogPosition):
            position = start
        else:
            newest = [
                entry
                for entry in await self._retrying(lambda: log.last(session_id))
                if entry is not None
            ]
            if not newest and state.status is SessionStatus.MISSING:
                raise SessionNotFound(session_id)
            position = LogPosition()
            if start == "live" and newest:
                last = max(newest, key=lambda entry: entry.seq)
                position = _position(last)
                if state.status is SessionStatus.CLOSED and last is newest[0]:
                    # Subscribed after the end: it still gets the session's last word,
                    # as an in-process subscription does.
                    position = attrs.evolve(position, seq=last.seq - 1, control=last.control - 1)
        self._position = position
        self._cursor_control = self._cursor_media = position.seq
        self._known_control = position.control
        self._known_media = position.media
        self._known_media_ms = position.media_ms
        self._started = True

    async def _read_more(self) -> None:
        if self._ended or self._failure is not None:
            return
        await self._begin()
        needs = self._needs
        if needs is not None:
            # The earliest entry held waits for the other lane: read without blocking.
            # What this read does not return no longer exists.
            read = await self._read(block_s=None)
            self._take(read)
            lane, count, media_ms = needs
            if lane == "media" and not read.media and self._known_media < count:
                self._drop_range(count, media_ms)
            elif lane == "control" and not read.control and self._known_control < count:
                self._known_control = count  # lost: delivery reports the gap
            return
        read = await self._read(block_s=self._block_s)
        if read.control or read.media:
            self._take(read)
        else:
            await self._check_publisher()

    async def _read(self, *, block_s: float | None) -> LogRead:
        return await self._retrying(
            lambda: self._log.read(
                self._session_id,
                after_control=self._cursor_control,
                after_media=self._cursor_media if self._media_enabled else None,
                count=_READ_COUNT,
                block_s=block_s,
            )
        )

    async def _retrying(self, operation: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``operation``, retrying while the log is unreachable, up to the reconnect timeout."""
        deadline: float | None = None
        delay = _RETRY_FIRST_S
        while True:
            try:
                result = await operation()
            except LogUnavailable:
                now = anyio.current_time()
                if deadline is None:
                    deadline = now + self._reconnect_timeout_s
                elif now >= deadline:
                    raise
                await anyio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_S)
                continue
            if deadline is not None:
                # Back after an outage: a restarted server lost the heartbeat, which
                # the publisher renews within its interval. Do not mistake that for a crash.
                self._grace_until = anyio.current_time() + 3 * self._block_s
            return result

    def _take(self, read: LogRead) -> None:
        """Account for a reply: numbers, gaps, flushes, the reader's media buffer, lag."""
        for entry in read.control:
            event = _decode(entry)
            self._cursor_control = entry.seq
            self._known_control = max(self._known_control, entry.control)
            if type(event) is public.Interrupted:
                self._interrupts.append((entry.seq, event.response_id))
                self._flush_held(entry.seq, event.response_id)
            self._control.append((entry, event))
        for entry in read.media:
            self._cursor_media = entry.seq
            if entry.media <= self._known_media:
                continue
            if entry.media > self._known_media + 1:
                self._drop_range(entry.media - 1, entry.media_ms - entry.duration_ms)
            self._known_media = entry.media
            self._known_media_ms = entry.media_ms
            if any(
                entry.seq < seq and (response_id is None or response_id == entry.response_id)
                for seq, response_id in self._interrupts
            ):
                self._flushed += 1
                continue
            self._media.append(entry)
            if len(self._media) > self._media_buffer:
                lost = self._media.popleft()
                self._count_drops(1, lost.duration_ms, lost.media)
        if self._max_pending is not None and self._failure is None:
            pending = self._known_control - self._position.control
            if pending > self._max_pending:
                self._fail(SubscriberLagged(pending, self._max_pending))

    def _flush_held(self, seq: int, response_id: str | None) -> None:
        held = self._media
        kept = [
            entry
            for entry in held
            if entry.seq > seq or (response_id is not None and entry.response_id != response_id)
        ]
        if len(kept) != len(held):
            self._flushed += len(held) - len(kept)
            held.clear()
            held.extend(kept)

    def _drop_range(self, through: int, through_ms: float) -> None:
        """Media numbered up to ``through`` that the log no longer has: count them."""
        count = through - self._known_media
        if count <= 0:
            return
        self._count_drops(count, through_ms - self._known_media_ms, through)
        self._known_media = through
        self._known_media_ms = through_ms

    def _count_drops(self, count: int, duration_ms: float, through: int) -> None:
        self._dropped += count
        self._pending_drops += count
        self._pending_drop_ms += duration_ms
        self._last_drop = max(self._last_drop, through)

    async def _check_publisher(self) -> None:
        """Nothing new for a whole heartbeat interval: is the publisher still there?"""
        state = await self._retrying(lambda: self._log.state(self._session_id))
        status = state.status
        if status is SessionStatus.OPEN:
            if state.heartbeat_s is not None:
                self._block_s = state.heartbeat_s
            return
        if status is SessionStatus.MISSING and anyio.current_time() < self._grace_until:
            return  # the log was just unreachable; the publisher renews its heartbeat soon
        # The state may have changed after the read that found nothing: look once more.
        read = await self._read(block_s=None)
        if read.control or read.media:
            self._take(read)
            return
        if status is SessionStatus.CLOSED:
            self._fail(
                SubscriberLagged(
                    0,
                    self._max_pending or 0,
                    reason=(
                        f"session {self._session_id} closed, but the log no longer holds its "
                        f"events after #{self._position.control}"
                    ),
                )
            )
        elif status is SessionStatus.DETACHED:
            self._fail(
                PublisherLost(
                    self._session_id, "the publisher stopped publishing before the session closed"
                )
            )
        else:
            self._fail(
                PublisherLost(
                    self._session_id,
                    "its publisher's heartbeat lapsed: the worker vanished without closing it",
                )
            )


def subscribe(
    log: SessionLog,
    session_id: str,
    *,
    start: Start = "live",
    media: bool = True,
    media_buffer: int = 256,
    max_pending: int | None = None,
    reconnect_timeout_s: float = 30.0,
) -> RemoteSubscription:
    """Subscribe to a session published to ``log``, from any process.

    The subscription is an async iterator and an async context manager, with
    the semantics of ``session.events()`` (see :class:`RemoteSubscription`)::

        async with RedisLog("redis://127.0.0.1:6379") as log:
            async with subscribe(log, session_id, start="beginning") as events:
                async for event in events:
                    ...

    :param start: ``"live"`` (default): events published after the subscription
        is entered (or first read); ``"beginning"``: the whole call, as far as
        the log still holds it; a :class:`LogPosition`: resume after it.
    :param media: ``False`` reads no media chunks at all.
    :param media_buffer: media chunks the reader may fall behind by before the
        oldest are dropped (and marked), so that a slow listener stays live.
    :param max_pending: fail with ``SubscriberLagged`` when the reader falls
        more than this many control events behind the publisher. ``None``
        (default): the log holds the control lane whole while the session lives,
        so a slow reader costs the publisher nothing and loses nothing.
    :param reconnect_timeout_s: how long to keep retrying an unreachable log
        before raising :class:`~realtime_session.remote.LogUnavailable`.
    """
    return RemoteSubscription(
        log,
        session_id,
        start=start,
        media=media,
        media_buffer=media_buffer,
        max_pending=max_pending,
        reconnect_timeout_s=reconnect_timeout_s,
    )
