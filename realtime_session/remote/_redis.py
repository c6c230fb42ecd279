"""A session log on Redis Streams, through coredis (the ``redis`` extra).

Layout, per session (the ``{session id}`` hash tag keeps one session's keys on
one Redis Cluster shard)::

    PREFIX:{SESSION}:control   stream, id "{seq}-0", fields h e     kept whole
    PREFIX:{SESSION}:media     stream, id "{seq}-0", fields h e     MAXLEN ~
    PREFIX:{SESSION}:state     "open:HEARTBEAT_MS" (PX heartbeat timeout), "closed", "detached"

``e`` is the encoded public event; ``h`` the entry's numbers, space-separated:
``seq control media media_ms`` on the control lane, ``seq control media
media_ms duration_ms response_id`` on the media lane (the response id last, so
it may hold spaces; empty when there is none).

Every write renews the expiry of all three keys (``retention_s``), so a
session's log goes away that long after its last write, whether it closed or
its worker crashed.

Why coredis: it is the Redis client built on anyio, so the log works on asyncio
and trio alike (redis-py is asyncio only), its pool gives a blocked ``XREAD``
its own connection, and cancelling one drops that connection instead of
leaving it mid-reply.

Why a Lua script for appends: a round trip costs the client far more than the
entries it carries, so one script call per flush appends every pending entry of
every session published from this process, and Redis runs it in ~3 µs per
entry. Appends to a single server go through a connection the log's writer
task owns (see :mod:`realtime_session.remote._connection` for why not through
coredis). On a Redis Cluster a script may only touch the keys of one hash
slot, so there a flush is one pipeline of one script call per session, which
the cluster client sends to each shard in one round trip. An entry travels as
two arguments (its numbers in one string, and its payload) and a session's
write as one more. The script skips entries already in the log (their id is
not above the stream's top), which is what makes a retried flush idempotent.
"""

from __future__ import annotations

import functools
import hashlib
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, Self, final

import anyio
import anyio.abc

from ._connection import AppendConnection
from ._errors import LogUnavailable
from ._log import LogEntry, LogRead, LogWrite, SessionState, SessionStatus

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable, Mapping

    import coredis

    # A session's pending write: its keys, how to take the write, whom to tell.
    _Queued = tuple[
        tuple[bytes, bytes, bytes],
        Callable[[], LogWrite],
        Callable[[BaseException | None], object],
    ]
    # One script call: its keys and its arguments.
    _Call = tuple[list[bytes], list[bytes]]

_APPEND_SCRIPT: Final = """
local a = 1
local refused = 0
for k = 1, #KEYS, 3 do
  local state, state_ms, retention_ms, maxlen, nc, nm =
    string.match(ARGV[a], '^(%S+) (%d+) (%d+) (%d+) (%d+) (%d+)$')
  a = a + 1
  for _ = 1, tonumber(nc) do
    local h = ARGV[a]
    local r = redis.pcall('XADD', KEYS[k], string.match(h, '^%d+') .. '-0', 'h', h, 'e', ARGV[a + 1])
    if type(r) == 'table' and r.err then refused = refused + 1 end
    a = a + 2
  end
  for _ = 1, tonumber(nm) do
    local h = ARGV[a]
    local r = redis.pcall('XADD', KEYS[k + 1], 'MAXLEN', '~', maxlen,
      string.match(h, '^%d+') .. '-0', 'h', h, 'e', ARGV[a + 1])
    if type(r) == 'table' and r.err then refused = refused + 1 end
    a = a + 2
  end
  redis.call('SET', KEYS[k + 2], state, 'PX', state_ms)
  redis.call('PEXPIRE', KEYS[k], retention_ms)
  redis.call('PEXPIRE', KEYS[k + 1], retention_ms)
end
return refused
"""
_APPEND_SHA: Final = hashlib.sha1(_APPEND_SCRIPT.encode()).hexdigest().encode()

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


def _entry(fields: Mapping[Any, Any]) -> LogEntry:
    # The client answers in bytes (RedisLog refuses one that decodes responses).
    numbers = fields[b"h"].split(b" ", 5)
    media = len(numbers) > 4
    return LogEntry(
        seq=int(numbers[0]),
        control=int(numbers[1]),
        media=int(numbers[2]),
        media_ms=float(numbers[3]),
        payload=fields[b"e"],
        duration_ms=float(numbers[4]) if media else 0.0,
        response_id=numbers[5].decode() or None if media else None,
    )


@functools.lru_cache(maxsize=4096)
def _keys(prefix: str, session_id: str) -> tuple[str, str, str]:
    # Checked and built once per live session, not once per write.
    if not session_id or "{" in session_id or "}" in session_id:
        raise ValueError(f"a session id must be non-empty and without braces: {session_id!r}")
    base = f"{prefix}:{{{session_id}}}"
    return f"{base}:control", f"{base}:media", f"{base}:state"


@functools.lru_cache(maxsize=4096)
def _key_arguments(prefix: str, session_id: str) -> tuple[bytes, bytes, bytes]:
    control, media, state = _keys(prefix, session_id)
    return control.encode(), media.encode(), state.encode()


@functools.lru_cache(maxsize=64)
def _open_header(
    heartbeat_s: float, heartbeat_timeout_s: float, retention_s: float, media_maxlen: int
) -> bytes:
    # The same for every write of a publisher while its session is open (keyed without
    # the status: an enum's hash is a Python call).
    return b"open:%d %d %d %d" % (
        _ms(heartbeat_s),
        _ms(heartbeat_timeout_s),
        _ms(retention_s),
        media_maxlen,
    )


def _write_header(write: LogWrite) -> bytes:
    if write.status is SessionStatus.OPEN:
        return _open_header(
            write.heartbeat_s, write.heartbeat_timeout_s, write.retention_s, write.media_maxlen
        )
    retention_ms = _ms(write.retention_s)
    return b"%s %d %d %d" % (
        write.status.value.encode(),
        retention_ms,
        retention_ms,
        write.media_maxlen,
    )


def _payload(payload: str | bytes) -> bytes:
    return payload.encode() if isinstance(payload, str) else payload


def _encode(write: LogWrite, args: list[bytes]) -> None:
    """Append the script arguments of ``write`` (see ``_APPEND_SCRIPT``) to ``args``."""
    control, media = write.control, write.media
    args.append(b"%b %d %d" % (_write_header(write), len(control), len(media)))
    # Formatted as bytes at once: a float's %r is its str(), as the reader parses it.
    for entry in control:
        args += (
            b"%d %d %d %r" % (entry.seq, entry.control, entry.media, entry.media_ms),
            _payload(entry.payload),
        )
    for entry in media:
        args += (
            b"%d %d %d %r %r %b"
            % (
                entry.seq,
                entry.control,
                entry.media,
                entry.media_ms,
                entry.duration_ms,
                (entry.response_id or "").encode(),
            ),
            _payload(entry.payload),
        )


@final
class RedisLog(anyio.AsyncContextManagerMixin):
    """A :class:`~realtime_session.remote.SessionLog` on Redis Streams.

    ``RedisLog("redis://127.0.0.1:6379")`` creates and owns a coredis client;
    ``RedisLog(client)`` uses one the application made and entered itself: a
    ``coredis.Redis``, or a ``coredis.RedisCluster`` for a Redis Cluster (each
    session's keys share a hash tag, so one session lives on one shard).
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
    :param append_timeout_s: how long a flush waits for the server's reply (up
        to one and a half times this) before the log drops its connection, the
        publishers keep the entries and retry them on a new one (default: the
        client's ``stream_timeout``, or 10 s). A server that stopped, or a
        connection a network dropped without a word, then costs seconds, not
        the quarter of an hour the kernel would keep retransmitting. On a Redis
        Cluster the cluster client's own ``stream_timeout`` applies instead.
    """

    def __init__(
        self,
        client: str | coredis.Redis[bytes] | coredis.RedisCluster[bytes],
        *,
        prefix: str = "realtime_session",
        max_connections: int = _DEFAULT_MAX_CONNECTIONS,
        flush_interval_s: float = _DEFAULT_FLUSH_INTERVAL_S,
        append_timeout_s: float | None = None,
    ) -> None:
        try:
            import coredis
            import coredis.exceptions
        except ImportError as error:  # pragma: no cover - depends on the installation
            raise ImportError(
                "RedisLog needs coredis, in the redis extra: pip install -e '.[redis]' from a checkout"
            ) from error
        if "{" in prefix or "}" in prefix:
            raise ValueError(f"prefix must not contain braces, got {prefix!r}")
        if append_timeout_s is not None and not append_timeout_s > 0:
            raise ValueError(f"append_timeout_s must be > 0, got {append_timeout_s!r}")
        self._url = client if isinstance(client, str) else None
        self._client: coredis.Redis[bytes] | coredis.RedisCluster[bytes] = (
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
        self._cluster = isinstance(self._client, coredis.RedisCluster)
        self._connection = (
            None
            if isinstance(self._client, coredis.RedisCluster)
            else AppendConnection.for_pool(
                self._client.connection_pool, _CONNECT_TIMEOUT_S, append_timeout_s
            )
        )
        self._prefix = prefix
        self._flush_interval_s = flush_interval_s
        self._failures = _connection_failures()
        self._no_script = coredis.exceptions.NoScriptError
        self._queued: list[_Queued] = []
        self._pending: anyio.Event | None = None
        self._running = False

    def __repr__(self) -> str:
        # The client's repr names the server, never the credentials a URL may hold.
        return f"<RedisLog {self._client!r} prefix={self._prefix!r}>"

    @property
    def client(self) -> coredis.Redis[bytes] | coredis.RedisCluster[bytes]:
        """The coredis client this log talks through."""
        return self._client

    def keys(self, session_id: str) -> tuple[str, str, str]:
        """The control stream, media stream and state keys of ``session_id``."""
        return _keys(self._prefix, session_id)

    @asynccontextmanager
    async def __asynccontextmanager__(self) -> AsyncGenerator[Self]:
        try:
            async with AsyncExitStack() as stack:
                if self._url is not None:
                    await stack.enter_async_context(self._client)
                task_group = await stack.enter_async_context(anyio.create_task_group())
                self._running = True
                task_group.start_soon(self._write, name="RedisLog writer")
                if self._connection is not None:
                    task_group.start_soon(self._connection.watch, name="RedisLog reply watch")
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
        self,
        session_id: str,
        take: Callable[[], LogWrite],
        done: Callable[[BaseException | None], object],
    ) -> None:
        if not self._running:
            raise RuntimeError("RedisLog must be entered (async with) before appending")
        # Checks the id before anything is queued.
        self._queued.append((_key_arguments(self._prefix, session_id), take, done))
        pending = self._pending
        if pending is not None:
            self._pending = None
            pending.set()

    async def _write(self) -> None:
        """The writer task: one script call per round of queued writes, all sessions at once."""
        flush: list[_Queued] = []
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
                calls: list[_Call] = []
                keys: list[bytes] = []
                args: list[bytes] = []
                for session_keys, take, _ in flush:
                    if self._cluster and keys:
                        calls.append((keys, args))
                        keys, args = [], []
                    keys += session_keys
                    # Taken now, not when asked: what each session published meanwhile
                    # goes with this round trip too.
                    _encode(take(), args)
                calls.append((keys, args))
                error: BaseException | None = None
                try:
                    await self._append(calls)
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
            if self._connection is not None:
                await self._connection.aclose()

    async def _append(self, calls: list[_Call]) -> None:
        # The client's own Script helper costs a retry wrapper per call: the fallback is
        # done here, for the one case that needs it.
        try:
            await self._call(calls)
        except self._no_script:
            # A restarted server (or SCRIPT FLUSH) lost the script: load it once more
            # (on a cluster, the client loads it on every shard).
            await self._client.script_load(_APPEND_SCRIPT)
            await self._call(calls)

    async def _call(self, calls: list[_Call]) -> None:
        if self._connection is not None:
            keys, args = calls[0]
            await self._connection.call((b"EVALSHA", _APPEND_SHA, b"%d" % len(keys), *keys, *args))
            return
        if len(calls) == 1:
            keys, args = calls[0]
            await self._client.evalsha(_APPEND_SHA, keys, args)
            return
        async with self._client.pipeline(transaction=False) as pipeline:
            for keys, args in calls:
                pipeline.evalsha(_APPEND_SHA, keys, args)

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
            control=[_entry(e.field_values) for e in reply.get(control_key.encode(), ())],
            media=[_entry(e.field_values) for e in reply.get(media_key.encode(), ())],
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
            _entry(entries[0].field_values) if entries else None for entries in newest
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
