"""The connection a :class:`~realtime_session.remote.RedisLog` appends through.

Why not through coredis, which the log uses for everything else: a command
through coredis costs about 155 µs of CPU on this project's machines, whatever
it carries (a writer task, a reader task and a request per command, each step
under its own cancel scope), and a publisher sends a few hundred appends a
second: that was half of what publishing a call cost. Appends need none of
that machinery: one task sends them, one at a time, and each reply is one
line. So the writer task owns this connection, writes the command and reads
its reply itself, about a tenth of the cost. It connects as the client's own
pool would (the same address, TLS context, credentials and database), so an
application configures one client, and it reconnects on the next append after
any failure.

A reply that never comes (a server that stopped, a connection a network
silently dropped, where the kernel would keep retransmitting for a quarter of
an hour) is bounded by :meth:`AppendConnection.watch`, a task that drops the
connection under a call left unanswered too long. It counts calls instead of
reading the clock or arming a cancel scope per call: a few hundred calls a
second pay nothing for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, NoReturn, final

import anyio
import anyio.abc
from anyio.streams.buffered import BufferedByteReceiveStream

if TYPE_CHECKING:
    from collections.abc import Sequence

    import coredis

# How a connection fails under a call (a timeout is an OSError).
_LOST: Final = (
    OSError,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    anyio.IncompleteRead,
    anyio.DelimiterNotFound,
)
# A reply to an append is an integer or an error line; anything longer is not ours.
_MAX_REPLY: Final = 65536
# The kinds of reply that are one line: an integer, a status, an error.
_ONE_LINE_REPLIES: Final = (b":", b"+", b"-")
# How long a call waits for its reply when the client sets no stream_timeout: long
# enough for a flush of every session's backlog after an outage.
_DEFAULT_REPLY_TIMEOUT_S: Final = 10.0


def pack(command: Sequence[bytes]) -> bytes:
    """``command`` as the Redis protocol frames it: an array of bulk strings."""
    parts = [b"*%d\r\n" % len(command)]
    for argument in command:
        parts += (b"$%d\r\n" % len(argument), argument, b"\r\n")
    return b"".join(parts)


@final
class AppendConnection:
    """One connection to the server behind ``pool``, used by one task at a time.

    Build it with :meth:`for_pool`, which returns ``None`` for a pool it does not
    know how to reach (the log then appends through the client).
    """

    def __init__(
        self,
        connect: anyio.abc.ByteStreamConnectable,
        settings: dict[str, Any],
        reply_timeout_s: float,
    ) -> None:
        self._connect = connect
        self._settings = settings
        self.reply_timeout_s = reply_timeout_s
        self._stream: anyio.abc.ByteStream | None = None
        self._reader: BufferedByteReceiveStream | None = None
        self._calls = 0  # calls begun, for the watch
        self._in_call = False
        self._timed_out = False

    @classmethod
    def for_pool(
        cls,
        pool: coredis.ConnectionPool[Any],
        connect_timeout_s: float,
        reply_timeout_s: float | None = None,
    ) -> AppendConnection | None:
        """A connection to the server behind ``pool``, or ``None`` if it cannot make one.

        ``reply_timeout_s`` bounds a call's wait for its reply (see :meth:`watch`);
        ``None`` takes the pool's ``stream_timeout``, or ``_DEFAULT_REPLY_TIMEOUT_S``.
        """
        from coredis.connection import (
            TCPConnection,
            TCPLocation,
            UnixDomainSocketConnection,
            UnixDomainSocketLocation,
        )

        location = pool.location
        settings: dict[str, Any] = dict(pool.connection_kwargs)
        if settings.get("noreply"):
            return None
        connect: anyio.abc.ByteStreamConnectable
        if pool.connection_class is TCPConnection and isinstance(location, TCPLocation):
            connect = anyio.as_connectable(
                (location.host, location.port),
                tls=settings.get("ssl_context") is not None,
                ssl_context=settings.get("ssl_context"),
                tls_standard_compatible=False,  # as coredis connects
            )
        elif pool.connection_class is UnixDomainSocketConnection and isinstance(
            location, UnixDomainSocketLocation
        ):
            connect = anyio.as_connectable(location.path)
        else:
            return None
        if settings.get("connect_timeout") is None:
            settings["connect_timeout"] = connect_timeout_s
        if reply_timeout_s is None:
            reply_timeout_s = settings.get("stream_timeout") or _DEFAULT_REPLY_TIMEOUT_S
        return cls(connect, settings, reply_timeout_s)

    async def call(self, command: Sequence[bytes]) -> bytes:
        """Send ``command`` and return its reply: an integer's digits, or a status.

        :raises coredis.exceptions.ResponseError: (or its subclass for the error
            code) the server refused the command; the connection stays usable.
        :raises coredis.exceptions.ConnectionError: or an ``OSError``: the
            connection failed; the next call reconnects.
        :raises TimeoutError: no reply came within the reply timeout (while
            :meth:`watch` runs); the next call reconnects.
        """
        if self._stream is None:
            await self._open()
        self._calls += 1
        self._in_call = True
        self._timed_out = False
        try:
            return await self._round_trip(command)
        except Exception as error:
            if self._timed_out:
                raise TimeoutError(
                    f"no reply from Redis within {self.reply_timeout_s:g} s"
                ) from error
            raise
        finally:
            self._in_call = False

    async def watch(self) -> NoReturn:
        """Drop the connection under a call that has waited for its reply too long.

        It looks every half reply timeout: a call it finds in progress three
        looks in a row has waited at least the timeout (at most one and a half
        times it), and the call then raises :class:`TimeoutError`. Run it in a
        task beside the one that calls.
        """
        seen = -1
        looks = 0
        while True:
            await anyio.sleep(self.reply_timeout_s / 2)
            if not self._in_call:
                seen = -1
                continue
            if self._calls != seen:
                seen, looks = self._calls, 1
                continue
            looks += 1
            if looks == 3:
                self._timed_out = True
                await self.aclose()  # the waiting call fails with the stream closed

    async def _round_trip(self, command: Sequence[bytes]) -> bytes:
        assert self._stream is not None
        assert self._reader is not None
        try:
            await self._stream.send(pack(command))
            line = await self._reader.receive_until(b"\r\n", _MAX_REPLY)
        except _LOST as error:
            await self.aclose()
            import coredis.exceptions

            raise coredis.exceptions.ConnectionError(
                f"connection to Redis lost: {error!r}"
            ) from error
        except BaseException:
            # Cancelled mid-reply: the stream's state is unknown; drop it.
            await self.aclose()
            raise
        if line[:1] not in _ONE_LINE_REPLIES:
            # More of it may follow, which the next call would read as its own reply.
            await self.aclose()
        return _reply(line)

    async def aclose(self) -> None:
        stream, self._stream, self._reader = self._stream, None, None
        if stream is not None:
            await anyio.aclose_forcefully(stream)

    async def _open(self) -> None:
        import coredis.exceptions

        try:
            with anyio.fail_after(self._settings["connect_timeout"]):
                stream = await self._connect.connect()
                self._stream = stream
                self._reader = BufferedByteReceiveStream(stream)
                for command in await self._handshake():
                    await self._round_trip(command)
        except coredis.exceptions.ResponseError:
            await self.aclose()
            raise
        except _LOST as error:
            await self.aclose()
            raise coredis.exceptions.ConnectionError(f"cannot connect to Redis: {error}") from error

    async def _handshake(self) -> list[list[bytes]]:
        settings = self._settings
        commands: list[list[bytes]] = []
        provider = settings.get("credential_provider")
        if provider is not None:
            credentials = await provider.get_credentials()
            commands.append([b"AUTH", credentials.username.encode(), credentials.password.encode()])
        elif settings.get("password"):
            username = settings.get("username") or "default"
            commands.append([b"AUTH", username.encode(), settings["password"].encode()])
        if settings.get("db"):
            commands.append([b"SELECT", b"%d" % settings["db"]])
        return commands


def _reply(line: bytes) -> bytes:
    kind, body = line[:1], line[1:]
    if kind in (b":", b"+"):
        return body
    import coredis.exceptions

    if kind == b"-":
        message = body.decode(errors="replace")
        code = message.split(" ", 1)[0]
        error_class: type[coredis.exceptions.ResponseError] = {
            "NOSCRIPT": coredis.exceptions.NoScriptError,
            "NOAUTH": coredis.exceptions.AuthenticationRequiredError,
            "WRONGPASS": coredis.exceptions.AuthenticationFailureError,
        }.get(code, coredis.exceptions.ResponseError)
        raise error_class(message)
    raise coredis.exceptions.ConnectionError(f"unexpected reply from Redis: {line[:80]!r}")
