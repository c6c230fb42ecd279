"""The engine seam: what a session log stores, and the operations a log offers.

A session's public events live in two append-only lanes, as in the session
itself: *control* (every event but media chunks, kept whole while the session
lives) and *media* (audio and video chunks, capped). Each entry carries the
encoded public event and the position of the whole session at that entry:

- ``seq``: the session-wide sequence number, increasing across both lanes. It is
  the entry's id in the log, so appending an entry twice is harmless: the log
  keeps the first and refuses the repeat, which makes a retried batch
  idempotent.
- ``control``, ``media``, ``media_ms``: how many control and media entries the
  publisher had numbered *through* this entry, and the total duration of that
  media. Both lane counters are dense (no number is skipped for an entry that
  exists), so a reader finds every gap in either lane from them: trimmed
  media, media its publisher could not keep, control entries lost with a
  restarted server. They also tell a reader, at any entry, how many entries of
  the *other* lane precede it, which is what lets it merge the two lanes back
  into the session's order whatever shape a read reply had (see
  :mod:`realtime_session.remote._subscriber`).

An engine implements :class:`SessionLog`; :class:`~realtime_session.remote.MemoryLog`
and :class:`~realtime_session.remote.RedisLog` are the two shipped here.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import Protocol, final

import attrs


@final
@attrs.frozen(kw_only=True)
class LogEntry:
    """One encoded public event in a session log (see the module docstring)."""

    seq: int
    control: int
    media: int
    media_ms: float
    #: The public event, encoded with :func:`realtime_session.codec.to_json_bytes` (or
    #: :func:`~realtime_session.codec.to_json`).
    payload: str | bytes
    #: Media only: the chunk's duration (0 when unknown) and its response.
    duration_ms: float = 0.0
    response_id: str | None = None


@final
@attrs.frozen(kw_only=True)
class LogRead:
    """What one read returned: entries after the cursors, oldest first, per lane.

    The two lanes are read in one atomic step: an entry that is absent from a
    lane's reply did not exist when the read happened. A lane's reply holds at
    most ``count`` entries; a full reply may have been cut short.
    """

    control: Sequence[LogEntry]
    media: Sequence[LogEntry]


class SessionStatus(enum.Enum):
    """What the log says about a session's publisher."""

    #: A publisher is alive: it renewed its heartbeat within the heartbeat timeout.
    OPEN = "open"
    #: The session closed; its ``SessionClosed`` is the last control entry.
    CLOSED = "closed"
    #: The publisher stopped publishing before the session closed.
    DETACHED = "detached"
    #: No heartbeat: the publisher vanished, or the session is unknown or expired.
    MISSING = "missing"


@final
@attrs.frozen(kw_only=True)
class SessionState:
    """A session's status, and the heartbeat interval its publisher promised."""

    status: SessionStatus
    heartbeat_s: float | None = None


@final
@attrs.frozen(kw_only=True)
class LogWrite:
    """One batch a publisher appends for a session, with the session's new state.

    ``status`` is :attr:`SessionStatus.OPEN` while the session lives: the log
    then keeps the heartbeat for ``heartbeat_timeout_s`` only, so it lapses if
    the publisher stops renewing it. Every write keeps the session's entries
    for ``retention_s`` after it (so a crashed worker's log expires too), and
    caps the media lane at about ``media_maxlen`` entries.
    """

    control: Sequence[LogEntry]
    media: Sequence[LogEntry]
    status: SessionStatus
    heartbeat_s: float
    heartbeat_timeout_s: float
    retention_s: float
    media_maxlen: int


class SessionLog(Protocol):
    """The operations :func:`~realtime_session.remote.publish` and
    :func:`~realtime_session.remote.subscribe` need from an engine.

    Implementations must be safe to use from many tasks at once on one event
    loop. Failures to reach the engine are reported as (or raise)
    :class:`~realtime_session.remote.LogUnavailable`.
    """

    def append(
        self,
        session_id: str,
        take: Callable[[], LogWrite],
        done: Callable[[BaseException | None], object],
    ) -> None:
        """Ask for a write to ``session_id`` and return at once, without waiting for it.

        The log calls ``take`` once, when it is about to apply or send the
        write, for the :class:`LogWrite` to apply: so a write carries what its
        caller had by then, not only what it had when it asked. (A log may
        coalesce the writes of many sessions into one round trip that leaves a
        while later.) The write's entries and state are applied atomically;
        entries whose ``seq`` is not above their lane's last one are already in
        the log (a retried batch) and are skipped. ``done`` is called once, on
        the same event loop, with ``None`` when the write is in the log or with
        the exception that kept it out, possibly before ``append`` returns and
        possibly without ``take`` having been called (the log was closed
        first). A caller asks again only after ``done``.
        """
        ...

    async def read(
        self,
        session_id: str,
        *,
        after_control: int,
        after_media: int | None,
        count: int,
        block_s: float | None,
    ) -> LogRead:
        """Entries with ``seq`` above the cursors, at most ``count`` per lane.

        ``after_media=None`` reads the control lane only.

        With ``block_s``, wait up to that long for the first entry when there is
        none yet (an empty read means the time ran out); without it, return at
        once. Cancelling a blocked read leaves the log usable.
        """
        ...

    async def last(self, session_id: str) -> tuple[LogEntry | None, LogEntry | None]:
        """The newest control entry and the newest media entry, if any."""
        ...

    async def state(self, session_id: str) -> SessionState:
        """The session's status as its publisher last recorded it."""
        ...
