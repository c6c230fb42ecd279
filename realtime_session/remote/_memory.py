"""A session log in this process's memory: for tests and single-process use."""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, final

import anyio
import anyio.lowlevel

from ._log import LogEntry, LogRead, LogWrite, SessionState, SessionStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


def _seq(entry: LogEntry) -> int:
    return entry.seq


@final
class _Stored:
    __slots__ = (
        "alive_until",
        "changed",
        "control",
        "expires_at",
        "heartbeat_s",
        "media",
        "status",
    )

    def __init__(self) -> None:
        self.control: list[LogEntry] = []
        self.media: list[LogEntry] = []
        self.status = SessionStatus.OPEN
        self.heartbeat_s = 0.0
        self.alive_until = 0.0
        self.expires_at = 0.0
        self.changed: anyio.Event | None = None


def _append(lane: list[LogEntry], entries: Sequence[LogEntry]) -> None:
    top = lane[-1].seq if lane else 0
    for entry in entries:
        if entry.seq > top:  # a lower or equal id is a retried entry: already here
            lane.append(entry)
            top = entry.seq


def _after(lane: list[LogEntry], seq: int, count: int) -> list[LogEntry]:
    start = bisect.bisect_right(lane, seq, key=_seq)
    return lane[start : start + count]


@final
class MemoryLog:
    """A :class:`~realtime_session.remote.SessionLog` kept in this process's memory.

    It behaves like :class:`~realtime_session.remote.RedisLog` in every way a
    reader can observe (idempotent appends, blocking reads, media capped at
    ``media_maxlen`` entries, heartbeats that lapse, retention), on the event
    loop it is used from, so publishers and subscribers of one process can use
    it without a server. Media is capped exactly, where Redis caps about there.
    """

    def __init__(self) -> None:
        self._sessions: dict[str, _Stored] = {}

    def _get(self, session_id: str) -> _Stored | None:
        stored = self._sessions.get(session_id)
        if stored is not None and stored.expires_at <= anyio.current_time():
            del self._sessions[session_id]
            return None
        return stored

    def append(
        self,
        session_id: str,
        take: Callable[[], LogWrite],
        done: Callable[[BaseException | None], object],
    ) -> None:
        write = take()
        stored = self._get(session_id)
        if stored is None:
            stored = self._sessions[session_id] = _Stored()
        _append(stored.control, write.control)
        _append(stored.media, write.media)
        if len(stored.media) > write.media_maxlen:
            del stored.media[: len(stored.media) - write.media_maxlen]
        now = anyio.current_time()
        stored.status = write.status
        stored.heartbeat_s = write.heartbeat_s
        stored.alive_until = now + write.heartbeat_timeout_s
        stored.expires_at = now + write.retention_s
        changed = stored.changed
        if changed is not None:
            stored.changed = None
            changed.set()
        done(None)

    async def read(
        self,
        session_id: str,
        *,
        after_control: int,
        after_media: int | None,
        count: int,
        block_s: float | None,
    ) -> LogRead:
        await anyio.lowlevel.checkpoint()
        empty = LogRead(control=(), media=())
        with anyio.move_on_after(block_s or 0.0):
            while True:
                stored = self._get(session_id)
                if stored is not None:
                    control = _after(stored.control, after_control, count)
                    media = [] if after_media is None else _after(stored.media, after_media, count)
                    if control or media or block_s is None:
                        return LogRead(control=control, media=media)
                    if stored.changed is None:
                        stored.changed = anyio.Event()
                    await stored.changed.wait()
                elif block_s is None:
                    return empty
                else:
                    await anyio.sleep(min(block_s, 0.05))
        return empty

    async def last(self, session_id: str) -> tuple[LogEntry | None, LogEntry | None]:
        await anyio.lowlevel.checkpoint()
        stored = self._get(session_id)
        if stored is None:
            return None, None
        return (
            stored.control[-1] if stored.control else None,
            stored.media[-1] if stored.media else None,
        )

    async def state(self, session_id: str) -> SessionState:
        await anyio.lowlevel.checkpoint()
        stored = self._get(session_id)
        if stored is None:
            return SessionState(status=SessionStatus.MISSING)
        if stored.status is SessionStatus.OPEN and stored.alive_until <= anyio.current_time():
            return SessionState(status=SessionStatus.MISSING)
        return SessionState(status=stored.status, heartbeat_s=stored.heartbeat_s)
