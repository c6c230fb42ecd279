"""The WebSocket transport shared by the OpenAI and Gemini adapters.

:func:`open_websocket` opens the connection with the ``websockets`` library:
its asyncio implementation under asyncio, its trio implementation under trio,
always with an explicit maximum message size (provider messages that echo
audio exceed the library's 1 MiB default). Reading and translating what
arrives, across as many connections as a session takes, is
:mod:`._link`'s business.

``websockets`` is an optional dependency (the ``ws`` extra): it is imported
when a connection is opened, never at module import.
"""

from __future__ import annotations

import logging
import sys
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, final

import anyio
import anyio.abc

from .._log import ModuleLogger
from ._errors import MissingDependencyError, ProviderConnectionError

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping

    from websockets.trio.client import ClientConnection as TrioConnection
    from websockets.trio.client import connect as TrioConnect

__all__ = (
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_SEND_TIMEOUT",
    "WebSocketChannel",
    "open_websocket",
)

_log = ModuleLogger()

DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024
"""16 MiB: room for item echoes that carry audio, still a bound on a hostile peer."""

DEFAULT_SEND_TIMEOUT = 10.0
"""Seconds a frame may take to reach the network before the peer counts as gone.

A server that stops reading fills the socket buffers, and a send then waits for
room that never comes; past this bound the connection is dropped instead.
"""

_CLOSE_TIMEOUT_S = 2.0


def _running_under_trio() -> bool:
    # Only a program that imported trio can be running it; this keeps trio optional.
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True


def _redact(url: str) -> str:
    # A query string may carry credentials; error messages and logs never show it.
    return url.split("?", 1)[0]


_CREDENTIAL_HEADERS: Final = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-goog-api-key",
        "api-key",
        "x-api-key",
    }
)
_REDACTED: Final = "[redacted]"


@final
class _ClientLogger(logging.LoggerAdapter[logging.Logger]):
    """websockets' own client logger, minus credentials and conversation.

    At DEBUG, websockets logs the handshake, every request header (the API key
    included) and the URL's query string, and the start and end of every
    frame (what was said, tool arguments and results). Passed to its
    ``connect()``, this logs the same lines with credential headers as
    ``[redacted]``, the query string left out, any other occurrence of a
    credential replaced, and data frames as their type and size only. Level and
    handlers stay those of ``websockets.client``, the application's to set.
    """

    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        super().__init__(logging.getLogger("websockets.client"))
        secrets = {
            part
            for name, value in headers.items()
            if name.lower() in _CREDENTIAL_HEADERS
            # "Bearer sk-...": the token alone may show up elsewhere.
            for part in (value, value.rpartition(" ")[2])
            if part
        }
        query = url.partition("?")[2]
        self._secrets = sorted({*secrets, query} - {""}, key=len, reverse=True)

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            # Attributed to the line in websockets that logged it, not to this method.
            kwargs.setdefault("stacklevel", 2)
            self.logger.log(level, msg, *self._scrub(msg, args), **kwargs)

    def _scrub(self, msg: object, args: Iterable[object]) -> list[object]:
        from websockets.frames import DATA_OPCODES, Frame

        scrubbed: list[object] = list(args)
        if msg in ("> %s: %s", "< %s: %s") and str(scrubbed[0]).lower() in _CREDENTIAL_HEADERS:
            scrubbed[1] = _REDACTED
        elif msg == "> GET %s HTTP/1.1":
            scrubbed[0] = _redact(str(scrubbed[0]))
        for index, arg in enumerate(scrubbed):
            if isinstance(arg, Frame) and arg.opcode in DATA_OPCODES:
                more = "" if arg.fin else ", continued"
                scrubbed[index] = f"{arg.opcode.name} [{len(arg.data)} bytes{more}]"
            elif isinstance(arg, str):
                for secret in self._secrets:
                    arg = arg.replace(secret, _REDACTED)
                scrubbed[index] = arg
        return scrubbed


async def _hold_trio_connection(
    connect: TrioConnect,
    release: anyio.Event,
    *,
    task_status: anyio.abc.TaskStatus[TrioConnection] = anyio.TASK_STATUS_IGNORED,
) -> None:
    guard = anyio.CancelScope()
    with guard:
        async with connect as connection:
            # From here on the connection's own tasks (it runs a reader in a nursery)
            # ignore the caller's cancellation, so that the closing handshake still
            # runs when the caller is cancelled. Releasing ends the connection.
            guard.shield = True
            task_status.started(connection)
            await release.wait()
            # Leaving ``connect`` runs the library's own close and waits for its
            # reader; after a reset that can wait forever, and nothing outside
            # can cancel a shielded scope, so it gets a deadline of its own.
            guard.deadline = anyio.current_time() + 2 * _CLOSE_TIMEOUT_S


@asynccontextmanager
async def _trio_connection(connect: TrioConnect) -> AsyncIterator[TrioConnection]:
    """Open a trio WebSocket whose lifetime the caller's cancellation cannot cut short.

    A trio connection lives in a nursery; cancelling the caller would cancel its
    reader and drop the TCP connection without a close frame. Held in a task of
    its own, shielded once open, it stays alive until the caller has closed it.
    """
    release = anyio.Event()
    failure: BaseException | None = None
    # Failures are re-raised outside the task group, so that they are not wrapped in a group.
    async with anyio.create_task_group() as tg:
        try:
            connection: TrioConnection = await tg.start(_hold_trio_connection, connect, release)
        except BaseException as exc:
            failure = exc
        else:
            try:
                yield connection
            except BaseException as exc:
                failure = exc
            finally:
                with anyio.CancelScope(shield=True):
                    with anyio.move_on_after(2 * _CLOSE_TIMEOUT_S):
                        await connection.aclose()
                    release.set()
    if failure is not None:
        raise failure


@final
class WebSocketChannel:
    """One open WebSocket connection, the same under asyncio and trio.

    :meth:`receive` raises ``anyio.EndOfStream`` when the peer closed the
    connection cleanly (close code 1000 or 1001), ``anyio.BrokenResourceError``
    when it dropped (no close frame, an error close code, a network failure),
    and ``anyio.ClosedResourceError`` once :meth:`aclose` was called here.
    :meth:`send_text` raises the last two likewise.

    Neither waits forever on a peer that stopped taking part: a frame that
    cannot be sent within ``send_timeout`` drops the connection, and a
    connection this end failed (a frame over the size limit) is dropped when
    the peer does not finish the closing handshake within the close timeout.
    """

    __slots__ = (
        "_abort",
        "_close",
        "_closed",
        "_closed_ok_type",
        "_closed_type",
        "_closing",
        "_failure",
        "_recv",
        "_send",
        "_send_timeout",
        "close_code",
    )

    def __init__(
        self,
        *,
        recv: Callable[[], Awaitable[str | bytes]],
        send: Callable[[str], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
        abort: Callable[[], Awaitable[None]],
        closing: Callable[[], bool],
        closed_type: type[Exception],
        closed_ok_type: type[Exception],
        send_timeout: float,
    ) -> None:
        self._recv = recv
        self._send = send
        self._close = close
        self._abort = abort
        self._closing = closing
        self._closed_type = closed_type
        self._closed_ok_type = closed_ok_type
        self._send_timeout = send_timeout
        self._closed = False
        # Why this end dropped the connection, once it did.
        self._failure: str | None = None
        #: How the connection ended: the close code the peer sent, else the one this
        #: end sent, else ``None`` (the connection dropped without a closing handshake).
        self.close_code: int | None = None

    async def receive(self) -> str | bytes:
        """The next message, text or binary."""
        if self._closed:
            raise anyio.ClosedResourceError
        try:
            while True:
                # Cancelling a receive loses nothing; it lets a stuck close be noticed.
                with anyio.move_on_after(_CLOSE_TIMEOUT_S):
                    return await self._recv()
                if self._closing():
                    # This end failed the connection and the peer has not closed
                    # it: the library's close gives up after its close timeout.
                    await self._close()
        except self._closed_type as exc:
            # The peer's code; when the peer sent none, the one this end failed with.
            close = getattr(exc, "rcvd", None) or getattr(exc, "sent", None)
            self.close_code = getattr(close, "code", None)
            if self._closed:
                raise anyio.ClosedResourceError from exc
            if self._failure is not None:
                raise anyio.BrokenResourceError(self._failure) from exc
            if isinstance(exc, self._closed_ok_type):
                raise anyio.EndOfStream from exc
            raise anyio.BrokenResourceError(str(exc)) from exc

    async def send_text(self, text: str) -> None:
        """Send one text frame.

        If the frame cannot be handed to the network within the send timeout,
        the peer stopped reading: the connection is dropped (the receiving side
        then reports it lost) and this raises ``anyio.BrokenResourceError``, as
        does every later send.
        """
        if self._closed:
            raise anyio.ClosedResourceError
        if self._failure is not None:
            raise anyio.BrokenResourceError(self._failure)
        with anyio.move_on_after(self._send_timeout) as deadline:
            try:
                await self._send(text)
            except self._closed_type as exc:
                raise anyio.BrokenResourceError(self._failure or str(exc)) from exc
        if deadline.cancelled_caught:
            if self._failure is None:
                self._failure = (
                    f"the server stopped reading: a frame could not be sent "
                    f"within {self._send_timeout:g} s"
                )
                _log.warning("provider_send_timed_out", timeout_s=self._send_timeout)
                with anyio.CancelScope(shield=True):
                    await self._abort()
            raise anyio.BrokenResourceError(self._failure)

    async def aclose(self) -> None:
        """Run the closing handshake (bounded by a short timeout). Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._close()


@asynccontextmanager
async def open_websocket(
    url: str,
    *,
    headers: Mapping[str, str],
    max_message_size: int,
    open_timeout: float,
    send_timeout: float | None = None,
) -> AsyncIterator[WebSocketChannel]:
    """Open a WebSocket to ``url``; leaving the context closes it.

    Raises :class:`MissingDependencyError` without ``websockets``, and
    :class:`ProviderConnectionError` when the server cannot be reached or
    refuses the handshake. The closing handshake on exit is shielded from
    cancellation and bounded by a short timeout, so leaving never hangs and
    never skips the close. ``send_timeout`` (default
    :data:`DEFAULT_SEND_TIMEOUT`) bounds each send, see :class:`WebSocketChannel`.
    """
    if max_message_size <= 0:
        raise ValueError(f"max_message_size must be positive, got {max_message_size}")
    if send_timeout is None:
        send_timeout = DEFAULT_SEND_TIMEOUT
    if not send_timeout > 0:
        raise ValueError(f"send_timeout must be positive, got {send_timeout}")
    under_trio = _running_under_trio()
    try:
        import websockets.exceptions as ws_exceptions
        from websockets.protocol import State
    except ImportError as exc:
        raise MissingDependencyError(
            "The WebSocket transport", extra="ws", module="websockets"
        ) from exc
    async with AsyncExitStack() as stack:
        try:
            if under_trio:
                try:
                    from websockets.trio.client import connect as trio_connect
                except ImportError as exc:
                    raise MissingDependencyError(
                        "The WebSocket transport under trio",
                        extra="ws",
                        module="websockets",
                        problem="is installed in a version without its trio implementation",
                    ) from exc
                trio_conn = await stack.enter_async_context(
                    _trio_connection(
                        trio_connect(
                            url,
                            additional_headers=dict(headers),
                            max_size=max_message_size,
                            open_timeout=open_timeout,
                            close_timeout=_CLOSE_TIMEOUT_S,
                            logger=_ClientLogger(url, headers),
                        )
                    )
                )
                channel = WebSocketChannel(
                    recv=trio_conn.recv,
                    send=trio_conn.send,
                    close=trio_conn.aclose,
                    abort=trio_conn.stream.aclose,
                    closing=lambda: trio_conn.state is State.CLOSING,
                    closed_type=ws_exceptions.ConnectionClosed,
                    closed_ok_type=ws_exceptions.ConnectionClosedOK,
                    send_timeout=send_timeout,
                )
            else:
                from websockets.asyncio.client import connect as asyncio_connect

                asyncio_conn = await stack.enter_async_context(
                    asyncio_connect(
                        url,
                        additional_headers=dict(headers),
                        max_size=max_message_size,
                        open_timeout=open_timeout,
                        close_timeout=_CLOSE_TIMEOUT_S,
                        logger=_ClientLogger(url, headers),
                    )
                )

                async def abort_asyncio() -> None:
                    asyncio_conn.transport.abort()

                channel = WebSocketChannel(
                    recv=asyncio_conn.recv,
                    send=asyncio_conn.send,
                    close=asyncio_conn.close,
                    abort=abort_asyncio,
                    closing=lambda: asyncio_conn.state is State.CLOSING,
                    closed_type=ws_exceptions.ConnectionClosed,
                    closed_ok_type=ws_exceptions.ConnectionClosedOK,
                    send_timeout=send_timeout,
                )
        except (OSError, TimeoutError, ws_exceptions.WebSocketException) as exc:
            raise ProviderConnectionError(
                f"could not open the WebSocket to {_redact(url)}: {exc}"
            ) from exc
        try:
            yield channel
        finally:
            with anyio.CancelScope(shield=True):
                await channel.aclose()
