"""A session log on Redis Streams, through coredis (the ``redis`` extra).

Layout, per session (the ``{session id}`` hash tag keeps one session's keys on
one Redis Cluster shard)::

    PREFIX:{SESSION}:control   stream, id "{seq}-0", fields c m t e        kept whole
    PREFIX:{SESSION}:media     stream, id "{seq}-0", fields c m t d r e    MAXLEN ~
    PREFIX:{SESSION}:state     "open:HEARTBEAT_MS" (PX heartbeat timeout), "closed", "detached"

Every write renews the expiry of all three keys (``retention_s``), so a
session's log goes away that long after its last write, whether it closed or
its worker crashed.

Why coredis: it is the Redis client built on anyio, so the log works on asyncio
and trio alike (redis-py is asyncio only), its pool gives a blocked ``XREAD``
its own connection, and cancelling one drops that connection instead of
leaving it mid-reply.

Why a Lua script for appends: the Python client's cost per command (~20 µs in a
pipeline, ~200 µs per round trip on this machine) would dominate a publisher
otherwise; one script call per flush appends every pending entry of every
session published from this process, and Redis runs it in ~3 µs per entry. The
script skips entries already in the log (their id is not above the stream's
top), which is what makes a retried flush idempotent.
"""

from __future__ import annotations

from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, Self, final

import anyio
import anyio.abc

from ._errors import LogUnavailable
from ._log import LogEntry, LogRead, LogWrite, SessionState, SessionStatus

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Mapping

    import coredis

_APPEND_SCRIPT: Final = """
local a = 1
local refused = 0
for k = 1, #KEYS, 3 do
  local state, state_ms, retention_ms, maxlen = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local nc, nm = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  a = a + 6
  for _ = 1, nc do
    local r = redis.pcall('XADD', KEYS[k], ARGV[a],
      'c', ARGV[a + 1], 'm', ARGV[a + 2], 't', ARGV[a + 3], 'e', ARGV[a + 4])
    if type(r) == 'table' and r.err then refused = refused + 1 end
    a = a + 5
  end
  for _ = 1, nm do
    local r = redis.pcall('XADD', KEYS[k + 1], 'MAXLEN', '~', maxlen, ARGV[a],
      'c', ARGV[a + 1], 'm', ARGV[a + 2], 't', ARGV[a + 3], 'd', ARGV[a + 4],
      'r', ARGV[a + 5], 'e', ARGV[a + 6])
    if type(r) == 'table' and r.err then refused = refused + 1 end
    a = a + 7
  end
  redis.call('SET', KEYS[k + 2], state, 'PX', state_ms)
  redis.call('PEXPIRE', KEYS[k], retention_ms)
  redis.call('PEXPIRE', KEYS[k + 1], retention_ms)
end
return refused
"""

# Blocked reads each hold a connection of the pool: leave room for many readers.
_DEFAULT_MAX_CONNECTIONS: Final = 1024
_CONNECT_TIMEOUT_S: Final = 2.0
_DEFAULT_FLUSH_INTERVAL_S: Final = 0.002


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _connection_failures() -> tuple[type[BaseException], ...]:
    import coredis.exceptions

    return (coredis.exceptions.ConnectionError, TimeoutError, OSError)


def _sole_exception(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    inner: BaseException = group
    while isinstance(inner, BaseExceptionGroup):
        if len(inner.exceptions) != 1:
            return None
        inner = inner.exceptions[0]
    return inner


def _entry(identifier: str | bytes, fields: Mapping[Any, Any]) -> LogEntry:
    # The client answers in bytes (RedisLog refuses one that decodes responses).
    response_id = fields.get(b"r")
    return LogEntry(
        seq=int(identifier[: identifier.index(b"-")]),  # type: ignore[arg-type]
        control=int(fields[b"c"]),
        media=int(fields[b"m"]),
        media_ms=float(fields[b"t"]),
        payload=fields[b"e"],
        duration_ms=float(fields.get(b"d", 0.0)),
        response_id=response_id.decode() if response_id else None,
    )


@final
class RedisLog(anyio.AsyncContextManagerMixin):
    """A :class:`~realtime_session.remote.SessionLog` on Redis Streams.

    ``RedisLog("redis://127.0.0.1:6379")`` creates and owns a coredis client;
    ``RedisLog(client)`` uses one the application made and entered itself.
    Use it as an async context manager: it runs the task that writes what the
    publishers of this process append, coalescing their batches into one
    command per round trip::

        async with RedisLog("redis://127.0.0.1:6379") as log:
            async with publish(session, log):
                ...

    Needs the ``redis`` extra (``pip install -e '.[redis]'`` from a checkout).

    :param prefix: the first part of every key this log uses.
    :param max_connections: the size of the connection pool it creates (each
        blocked read holds one connection while it waits).
    :param flush_interval_s: the least time between two flushes of appended
        entries. Under load the entries of every session published from this
        process wait up to this long and share one round trip; after a quiet
        spell an append goes out at once. 0 flushes whenever the previous flush
        returned.
    """

    def __init__(
        self,
        client: str | coredis.Redis[bytes],
        *,
        prefix: str = "realtime_session",
        max_connections: int = _DEFAULT_MAX_CONNECTIONS,
        flush_interval_s: float = _DEFAULT_FLUSH_INTERVAL_S,
    ) -> None:
        try:
            import coredis
        except ImportError as error:  # pragma: no cover - depends on the installation
            raise ImportError(
                "RedisLog needs coredis, in the redis extra: pip install -e '.[redis]' from a checkout"
            ) from error
        if "{" in prefix or "}" in prefix:
            raise ValueError(f"prefix must not contain braces, got {prefix!r}")
        self._url = client if isinstance(client, str) else None
        self._client: coredis.Redis[bytes] = (
            coredis.Redis.from_url(
                client,
                decode_responses=False,
                max_connections=max_connections,
                connect_timeout=_CONNECT_TIMEOUT_S,
            )
            if isinstance(client, str)
            else client
        )
        if self._client.decode_responses:
            raise ValueError("RedisLog needs a client with decode_responses=False")
        self._prefix = prefix
        self._flush_interval_s = flush_interval_s
        self._script = self._client.register_script(_APPEND_SCRIPT)
        self._failures = _connection_failures()
        self._queued: list[tuple[str, LogWrite, Callable[[BaseException | None], object]]] = []
        self._pending: anyio.Event | None = None
        self._running = False

    def __repr__(self) -> str:
        return f"<RedisLog {self._url or self._client!r} prefix={self._prefix!r}>"

    @property
    def client(self) -> coredis.Redis[bytes]:
        """The coredis client this log talks through."""
        return self._client

    def keys(self, session_id: str) -> tuple[str, str, str]:
        """The control stream, media stream and state keys of ``session_id``."""
        if not session_id or "{" in session_id or "}" in session_id:
            raise ValueError(f"a session id must be non-empty and without braces: {session_id!r}")
        base = f"{self._prefix}:{{{session_id}}}"
        return f"{base}:control", f"{base}:media", f"{base}:state"

    @asynccontextmanager
    async def __asynccontextmanager__(self) -> AsyncGenerator[Self]:
        try:
            async with AsyncExitStack() as stack:
                if self._url is not None:
                    await stack.enter_async_context(self._client)
                task_group = await stack.enter_async_context(anyio.create_task_group())
                self._running = True
                task_group.start_soon(self._write, name="RedisLog writer")
                try:
                    yield self
                finally:
                    self._running = False
                    task_group.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # Our writer and coredis's connection tasks never raise into their groups:
            # one exception is the body's own, so hand it back as it was raised.
            leaf = _sole_exception(group)
            if leaf is None:
                raise
            raise leaf from None

    # -- appending ------------------------------------------------------------

    def append(
        self, session_id: str, write: LogWrite, done: Callable[[BaseException | None], object]
    ) -> None:
        if not self._running:
            raise RuntimeError("RedisLog must be entered (async with) before appending")
        self.keys(session_id)  # validates the id before anything is queued
        self._queued.append((session_id, write, done))
        pending = self._pending
        if pending is not None:
            self._pending = None
            pending.set()

    async def _write(self) -> None:
        """The writer task: one script call per round of queued writes, all sessions at once."""
        flush: list[tuple[str, LogWrite, Callable[[BaseException | None], object]]] = []
        try:
            next_flush_at = 0.0
            while True:
                if not self._queued:
                    self._pending = anyio.Event()
                    await self._pending.wait()
                # At most one flush per interval: under load the writes of many sessions
                # share a round trip, which costs the client far more than the entries
                # it carries; a write after a quiet spell goes out at once.
                if anyio.current_time() < next_flush_at:
                    await anyio.sleep_until(next_flush_at)
                next_flush_at = anyio.current_time() + self._flush_interval_s
                flush, self._queued = self._queued, []
                keys: list[str] = []
                args: list[str | bytes | int | float] = []
                for session_id, write, _ in flush:
                    keys.extend(self.keys(session_id))
                    self._encode(write, args)
                error: BaseException | None = None
                try:
                    await self._script(keys=keys, args=args)
                except Exception as failure:
                    error = LogUnavailable(f"cannot append to {self!r}: {failure}")
                    error.__cause__ = failure
                for _, _, done in flush:
                    done(error)
                flush = []
        finally:
            # Closed with writes still queued or on their way: tell their owners.
            for _, _, done in flush + self._queued:
                done(LogUnavailable(f"{self!r} was closed"))
            self._queued = []

    @staticmethod
    def _encode(write: LogWrite, args: list[str | bytes | int | float]) -> None:
        status = write.status
        if status is SessionStatus.OPEN:
            state = f"open:{_ms(write.heartbeat_s)}"
            state_ms = _ms(write.heartbeat_timeout_s)
        else:
            state = status.value
            state_ms = _ms(write.retention_s)
        args += (
            state,
            state_ms,
            _ms(write.retention_s),
            write.media_maxlen,
            len(write.control),
            len(write.media),
        )
        for entry in write.control:
            args += (f"{entry.seq}-0", entry.control, entry.media, entry.media_ms, entry.payload)
        for entry in write.media:
            args += (
                f"{entry.seq}-0",
                entry.control,
                entry.media,
                entry.media_ms,
                entry.duration_ms,
                entry.response_id or "",
                entry.payload,
            )

    # -- reading --------------------------------------------------------------

    async def read(
        self,
        session_id: str,
        *,
        after_control: int,
        after_media: int | None,
        count: int,
        block_s: float | None,
    ) -> LogRead:
        control_key, media_key, _ = self.keys(session_id)
        try:
            reply = await self._client.xread(
                {control_key: f"{after_control}-0"}
                if after_media is None
                else {control_key: f"{after_control}-0", media_key: f"{after_media}-0"},
                count=count,
                block=None if block_s is None else _ms(block_s),
            )
        except self._failures as error:
            raise LogUnavailable(f"cannot read from {self!r}: {error}") from error
        if not reply:
            return LogRead(control=(), media=())
        return LogRead(
            control=[
                _entry(e.identifier, e.field_values) for e in reply.get(control_key.encode(), ())
            ],
            media=[_entry(e.identifier, e.field_values) for e in reply.get(media_key.encode(), ())],
        )

    async def last(self, session_id: str) -> tuple[LogEntry | None, LogEntry | None]:
        control_key, media_key, _ = self.keys(session_id)
        try:
            async with self._client.pipeline(transaction=False) as pipeline:
                control = pipeline.xrevrange(control_key, count=1)
                media = pipeline.xrevrange(media_key, count=1)
            newest = await control, await media
        except self._failures as error:
            raise LogUnavailable(f"cannot read from {self!r}: {error}") from error
        return tuple(  # type: ignore[return-value]
            _entry(entries[0].identifier, entries[0].field_values) if entries else None
            for entries in newest
        )

    async def state(self, session_id: str) -> SessionState:
        _, _, state_key = self.keys(session_id)
        try:
            value = await self._client.get(state_key)
        except self._failures as error:
            raise LogUnavailable(f"cannot read from {self!r}: {error}") from error
        if value is None:
            return SessionState(status=SessionStatus.MISSING)
        status, _, heartbeat_ms = value.decode().partition(":")
        return SessionState(
            status=SessionStatus(status),
            heartbeat_s=int(heartbeat_ms) / 1000 if heartbeat_ms else None,
        )
