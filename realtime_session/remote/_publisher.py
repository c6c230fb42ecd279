"""Publishing a session's public events to a session log.

:func:`publish` subscribes to the session like any other subscriber. No task
waits on that subscription: when the session queues events there, the
publisher asks the log for a write (if none is asked for yet), and when the log
takes the write, the publisher takes what is queued then, numbered and
encoded, into a bounded buffer. A write thus carries everything published
until the log sends it, and a live call costs no task switch per event (on a
publisher's process that is most of what publishing would cost). One task
renews the heartbeat when the call is quiet and retries after a failure. The
session never waits for it: its subscription is an ordinary one. When the log
cannot be reached, the publisher keeps the buffer (within ``max_buffer``) and
retries; what does not fit is dropped, oldest media first, and the numbering
keeps the hole, so readers see it: media as ``MediaDropped``, control events as
``SubscriberLagged``. Nothing is lost silently.
"""

from __future__ import annotations

import itertools
from collections import deque
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final, final

import anyio
import anyio.abc
import attrs

from .. import codec, public
from .._errors import SubscriberLagged
from .._log import library_logger
from ._log import LogEntry, LogWrite, SessionStatus

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Sequence

    import structlog.typing

    from .._session import RealtimeSession
    from .._subscription import Subscription
    from ._log import SessionLog

# Entries per lane in one append: bounds a flush's size after an outage.
_BATCH: Final = 1024
# The publisher's own subscription: wide enough that only a starved process lags.
_OWN_MEDIA_BUFFER: Final = 4096
_OWN_MAX_PENDING: Final = 100_000
_RETRY_FIRST_S: Final = 0.05

_MEDIA_TYPES: Final = (public.OutputAudioChunk, public.OutputVideoChunk)


@final
@attrs.frozen(kw_only=True)
class PublisherStats:
    """A snapshot of a publisher's counters.

    ``appended`` counts entries the log confirmed; ``buffered`` those waiting
    for it; ``dropped_control`` and ``dropped_media`` those the bounded buffer
    let go while the log was unreachable (readers see them as lag and as
    ``MediaDropped``); ``flushed_media`` counts chunks of interrupted responses
    that a barge-in flushed before they reached the log (as it flushes them
    for any subscriber); ``failed_appends`` counts appends that failed and were
    retried.
    """

    appended: int
    buffered: int
    dropped_control: int
    dropped_media: int
    flushed_media: int
    failed_appends: int


@final
class Publisher:
    """The running publication of one session, yielded by :func:`publish`."""

    def __init__(
        self,
        session: RealtimeSession,
        log: SessionLog,
        *,
        session_id: str,
        media: bool,
        heartbeat_s: float,
        heartbeat_timeout_s: float,
        retention_s: float,
        media_maxlen: int,
        max_buffer: int,
    ) -> None:
        self._session = session
        self._log_target = log
        self._session_id = session_id
        self._heartbeat_s = heartbeat_s
        self._heartbeat_timeout_s = heartbeat_timeout_s
        self._retention_s = retention_s
        self._media_maxlen = media_maxlen
        self._max_buffer = max_buffer
        self._media = media
        self._logger: structlog.typing.FilteringBoundLogger = library_logger().bind(
            session_id=session_id
        )
        self._fault: Exception | None = None
        self._subscription: Subscription = self._subscribe()
        self._control: deque[LogEntry] = deque()
        self._media_entries: deque[LogEntry] = deque()
        self._seq = 0
        self._control_count = 0
        self._media_count = 0
        self._media_ms = 0.0
        self._closing = False  # SessionClosed is buffered
        self._detaching = False
        self._ended = False  # the subscription delivered SessionClosed
        self._finished = anyio.Event()
        # A write asked of the log, and the write it took (None until it takes it).
        self._requested = False
        self._in_flight: LogWrite | None = None
        self._submitting = False
        self._final_written = False
        self._unreachable = False
        self._retry_s = _RETRY_FIRST_S
        self._retry_at = 0.0
        self._timer_wake: anyio.Event | None = None
        self._wrote = False
        self._flushed_before = 0
        self._flushed: anyio.Event | None = None
        self._appended = 0
        self._written = False
        self._dropped_control = 0
        self._dropped_media = 0
        self._failed_appends = 0

    @property
    def session_id(self) -> str:
        """The id readers pass to :func:`~realtime_session.remote.subscribe`."""
        return self._session_id

    @property
    def stats(self) -> PublisherStats:
        queued = self._subscription.statistics()
        return PublisherStats(
            appended=self._appended,
            buffered=len(self._control)
            + len(self._media_entries)
            + queued.queued_control
            + queued.queued_media,
            dropped_control=self._dropped_control,
            dropped_media=self._dropped_media,
            flushed_media=self._flushed_before + self._subscription.flushed_media,
            failed_appends=self._failed_appends,
        )

    async def wait_flushed(self) -> None:
        """Wait until everything published so far is in the log.

        Useful before announcing the session to readers; it waits as long as
        the log is unreachable.
        """
        while (
            self._control
            or self._media_entries
            or not self._written
            or self._subscription.statistics().queued_control
            or self._subscription.statistics().queued_media
        ):
            if self._finished.is_set():
                return
            if self._flushed is None:
                self._flushed = anyio.Event()
            await self._flushed.wait()

    def _subscribe(self) -> Subscription:
        subscription = self._session.events(
            media=self._media, media_buffer=_OWN_MEDIA_BUFFER, max_pending=_OWN_MAX_PENDING
        )
        subscription._notify(self._queued)
        return subscription

    def _queued(self) -> None:
        """The session queued events for us (or ended the subscription): ask for a write.

        It runs in the session's task, from the session's publishing: it must not
        raise there.
        """
        try:
            if self._requested:
                # The write on its way takes what is queued when it leaves, unless that
                # outgrows the buffer's bound first (a write that hangs): then it is
                # taken now, and the buffer sheds.
                queued = self._subscription._queued()
                if queued + len(self._control) + len(self._media_entries) > self._max_buffer:
                    self._take()
                return
            if self._retry_at:
                # The log is away: take the events now, so the buffer's bound holds.
                self._take()
            self._submit()
        except Exception as error:
            self._failed(error)

    def _failed(self, error: Exception) -> None:
        """A fault (a bug) while taking events: this publisher stops, the call goes on.

        Nothing after the fault is published; the timer's task (not the session's,
        which may be publishing right now) detaches the publisher, so readers get
        ``PublisherLost`` after the last event written.
        """
        if self._fault is None:
            self._fault = error
            self._logger.error("remote_publisher_failed", exc_info=error)
            self._wake_timer()

    # -- taking the session's events: numbered, encoded entries ------------------

    def _lagged(self, lagged: SubscriberLagged) -> None:
        # Only a starved process gets here. The events the session released are gone:
        # number them as lost, so readers see the hole as lag.
        self._logger.error("remote_publisher_lagged", pending=lagged.pending)
        self._seq += lagged.pending
        self._control_count += lagged.pending
        self._dropped_control += lagged.pending
        self._flushed_before += self._subscription.flushed_media
        self._subscription = self._subscribe()

    def _add(self, event: public.RealtimeEvent) -> None:
        if type(event) is public.MediaDropped:
            # Our own subscription dropped chunks: they are numbered as missing.
            self._seq += event.dropped
            self._media_count += event.dropped
            self._media_ms += event.dropped_ms
            self._dropped_media += event.dropped
            return
        self._seq += 1
        payload = codec.to_json_bytes(event)
        if isinstance(event, _MEDIA_TYPES):
            duration_ms = (
                event.chunk.duration_ms or 0.0
                if isinstance(event, public.OutputAudioChunk)
                else 0.0
            )
            self._media_count += 1
            self._media_ms += duration_ms
            self._media_entries.append(
                LogEntry(
                    seq=self._seq,
                    control=self._control_count,
                    media=self._media_count,
                    media_ms=self._media_ms,
                    payload=payload,
                    duration_ms=duration_ms,
                    response_id=event.response_id,
                )
            )
        else:
            self._control_count += 1
            self._control.append(
                LogEntry(
                    seq=self._seq,
                    control=self._control_count,
                    media=self._media_count,
                    media_ms=self._media_ms,
                    payload=payload,
                )
            )
            if type(event) is public.SessionClosed:
                self._closing = True
        if len(self._control) + len(self._media_entries) > self._max_buffer:
            self._shed()

    def _shed(self) -> None:
        """Drop the oldest buffered entry not on its way to the log: media first, then
        control (readers see the hole)."""
        in_flight = self._in_flight
        skip_media = len(in_flight.media) if in_flight is not None else 0
        skip_control = len(in_flight.control) if in_flight is not None else 0
        if len(self._media_entries) > skip_media:
            del self._media_entries[skip_media]
            self._dropped_media += 1
        elif len(self._control) > skip_control + 1:  # never the newest: SessionClosed stays
            del self._control[skip_control]
            self._dropped_control += 1

    def _take(self) -> None:
        """Take what the session queued for us into the buffer."""
        # Asked first, so that the usual end of a take costs no WouldBlock raised.
        while self._fault is None and self._subscription._ready():
            try:
                event = self._subscription.receive_nowait()
            except anyio.WouldBlock:
                return
            except anyio.EndOfStream:
                self._ended = True
                return
            except SubscriberLagged as lagged:
                self._lagged(lagged)
                continue
            self._add(event)

    # -- writing: buffered entries into the log, and the heartbeat ----------------

    def _submit(self, *, heartbeat: bool = False) -> None:
        """Ask the log for a write, if none is asked for and there is something to write."""
        if self._requested or self._submitting or self._final_written:
            return
        self._submitting = True
        try:
            # A failure (perhaps reported before append() returned) sets a time to
            # retry at: until then the timer, not this loop, tries again. A log that
            # writes before append() returns (the memory log) comes back here for
            # the next batch, without recursing.
            while (
                not self._requested
                and not self._final_written
                and not (self._retry_at and anyio.current_time() < self._retry_at)
            ):
                if not (
                    self._control
                    or self._media_entries
                    or (self._fault is None and self._subscription._ready())
                    or heartbeat
                    or self._closing
                    or self._detaching
                    or self._ended
                ):
                    return
                heartbeat = False
                self._requested = True
                try:
                    self._log_target.append(
                        self._session_id, self._take_write, self._appended_or_failed
                    )
                except Exception as error:
                    if self._requested:
                        self._appended_or_failed(error)
        finally:
            self._submitting = False

    def _take_write(self) -> LogWrite:
        """The write the log asked for: what is buffered now, up to a batch per lane.

        It takes what the session queued for us first, so the write carries
        everything published until the log sends it.
        """
        try:
            self._take()
        except Exception as error:
            # Not the log's fault, and not to be raised into it (it writes for others
            # too): this publisher fails, and writes what it holds.
            self._failed(error)
        buffered_control, buffered_media = self._control, self._media_entries
        control = (
            list(buffered_control)
            if len(buffered_control) <= _BATCH
            else list(itertools.islice(buffered_control, _BATCH))
        )
        media = (
            list(buffered_media)
            if len(buffered_media) <= _BATCH
            else list(itertools.islice(buffered_media, _BATCH))
        )
        status = SessionStatus.OPEN
        if len(control) == len(buffered_control) and len(media) == len(buffered_media):
            if self._closing:
                status = SessionStatus.CLOSED
            elif self._detaching or self._ended:
                status = SessionStatus.DETACHED
        write = LogWrite(
            control=control,
            media=media,
            status=status,
            heartbeat_s=self._heartbeat_s,
            heartbeat_timeout_s=self._heartbeat_timeout_s,
            retention_s=self._retention_s,
            media_maxlen=self._media_maxlen,
        )
        self._in_flight = write
        return write

    def _appended_or_failed(self, error: BaseException | None) -> None:
        write = self._in_flight  # None when the log failed before taking it
        self._in_flight = None
        self._requested = False
        if error is not None:
            now = anyio.current_time()
            self._failed_appends += 1
            if not self._unreachable:
                self._unreachable = True
                self._logger.warning(
                    "remote_log_unreachable",
                    error_type=type(error).__name__,
                    buffered=self.stats.buffered,
                    exc_info=error,
                )
            self._retry_at = now + self._retry_s
            self._retry_s = min(self._retry_s * 2, self._heartbeat_s)
            self._wake_timer()
            return
        if self._unreachable:
            self._unreachable = False
            self._logger.info("remote_log_reachable", stats=attrs.asdict(self.stats))
        assert write is not None, "a log reported a write it did not take"
        self._retry_s = _RETRY_FIRST_S
        self._retry_at = 0.0
        self._wrote = True  # the timer reads the clock: one read per interval, not per write
        self._confirm(self._control, write.control)
        self._confirm(self._media_entries, write.media)
        self._appended += len(write.control) + len(write.media)
        self._written = True
        if write.status is not SessionStatus.OPEN:
            self._final_written = True
            self._finished.set()
        if self._flushed is not None and not (self._control or self._media_entries):
            self._flushed.set()
            self._flushed = None
        self._submit()  # what collected meanwhile

    async def _timer(self) -> None:
        """Retries after a failure, and renews the heartbeat while the call is quiet."""
        deadline = anyio.current_time()
        while True:
            if self._fault is not None and not self._detaching:
                self._detach()
            if self._retry_at:
                deadline = min(deadline, self._retry_at)
            self._timer_wake = anyio.Event()
            with anyio.move_on_at(deadline):
                await self._timer_wake.wait()
            self._timer_wake = None
            now = anyio.current_time()
            if self._wrote:
                # Something was written since the last look: the heartbeat is fresh.
                self._wrote = False
                deadline = now + self._heartbeat_s / 2
                continue
            if self._requested:
                deadline = now + self._heartbeat_s
                continue
            if self._retry_at and now >= self._retry_at:
                self._retry_at = 0.0
                self._submit(heartbeat=True)
            elif now >= deadline:
                self._submit(heartbeat=True)
                deadline = now + self._heartbeat_s

    def _wake_timer(self) -> None:
        wake = self._timer_wake
        if wake is not None:
            wake.set()

    @staticmethod
    def _confirm(buffer: deque[LogEntry], written: Sequence[LogEntry]) -> None:
        # The buffer may have shed some of them meanwhile: remove by sequence number.
        if written:
            top = written[-1].seq
            while buffer and buffer[0].seq <= top:
                buffer.popleft()

    async def _run(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        try:
            async with anyio.create_task_group() as task_group:
                task_status.started()
                task_group.start_soon(self._timer, name=f"publish {self._session_id}: timer")
                self._queued()  # what the session published before this task started
                await self._finished.wait()
                task_group.cancel_scope.cancel()
        finally:
            self._subscription.close()
            self._finished.set()
            if self._flushed is not None:
                self._flushed.set()

    def _detach(self) -> None:
        # What the session queued for us is taken before the subscription is closed
        # (closing releases it); the next write marks the session detached after it.
        self._detaching = True
        try:
            self._take()
        except Exception as error:
            self._failed(error)
        self._subscription.close()


@asynccontextmanager
async def publish(
    session: RealtimeSession,
    log: SessionLog,
    *,
    session_id: str | None = None,
    media: bool = True,
    heartbeat_s: float = 1.0,
    heartbeat_timeout_s: float | None = None,
    retention_s: float = 3600.0,
    media_maxlen: int = 1000,
    max_buffer: int = 10_000,
    close_timeout_s: float = 5.0,
) -> AsyncGenerator[Publisher]:
    """Publish ``session``'s public events to ``log`` while the context is open.

    It subscribes when entered: enter it before the session starts (or before
    the session's body awaits anything) to publish the whole call. Control
    events and media chunks go to two lanes; the media lane keeps about the
    last ``media_maxlen`` chunks, the control lane is kept whole. The log keeps
    everything for ``retention_s`` after the last write, so late readers can
    read the whole call after it ended.

    Leaving the context after the session closed waits (up to
    ``close_timeout_s``) until ``SessionClosed`` is in the log. Leaving it while
    the session still runs marks the session *detached*: readers then get
    :class:`~realtime_session.remote.PublisherLost` after the last event
    published. So enter it outside the session's own ``async with``::

        session = RealtimeSession(provider_events)
        async with RedisLog(url) as log, publish(session, log), session:
            ...

    The session never waits for the log. When the log cannot be reached, up to
    ``max_buffer`` entries wait for it; beyond that the oldest are dropped, media
    first, and readers see the gap.

    :param session_id: the id readers subscribe to (default: ``session.session_id``).
    :param media: ``False`` publishes control events only (no audio or video).
    :param heartbeat_s: how often the publisher tells the log it is alive when
        there is nothing to write; readers use it to tell a quiet call from a
        vanished worker.
    :param heartbeat_timeout_s: how long the log trusts one heartbeat (default:
        three intervals). Readers learn of a vanished publisher within about this
        plus one interval.
    """
    if heartbeat_s <= 0:
        raise ValueError(f"heartbeat_s must be > 0, got {heartbeat_s!r}")
    timeout_s = 3 * heartbeat_s if heartbeat_timeout_s is None else heartbeat_timeout_s
    if timeout_s < 2 * heartbeat_s:
        raise ValueError(
            f"heartbeat_timeout_s ({timeout_s!r}) must be at least twice heartbeat_s "
            f"({heartbeat_s!r}): a heartbeat may come up to 1.5 intervals after a write"
        )
    if media_maxlen < 1 or max_buffer < 1 or retention_s <= 0:
        raise ValueError("media_maxlen and max_buffer must be >= 1, retention_s > 0")
    session_id = session.session_id if session_id is None else session_id
    if not session_id or not session_id.isprintable() or any(c in session_id for c in "{} "):
        raise ValueError(
            f"a session id must be printable, without spaces or braces, got {session_id!r}"
        )
    publisher = Publisher(
        session,
        log,
        session_id=session_id,
        media=media,
        heartbeat_s=heartbeat_s,
        heartbeat_timeout_s=timeout_s,
        retention_s=retention_s,
        media_maxlen=media_maxlen,
        max_buffer=max_buffer,
    )
    async with anyio.create_task_group() as task_group:
        await task_group.start(publisher._run, name=f"publish {publisher.session_id}")
        try:
            yield publisher
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(close_timeout_s):
                if not session.closed:
                    publisher._detach()
                await publisher._finished.wait()
            task_group.cancel_scope.cancel()
