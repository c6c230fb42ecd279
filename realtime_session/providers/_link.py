"""One provider session over as many WebSocket connections as it takes.

A call lasts longer than a provider connection: Gemini Live announces the end
of a connection with ``goAway`` and offers handles to resume the session on a
new one; OpenAI Realtime connections end at a time limit or drop. A
:class:`ProviderLink` reads the current connection, translates its frames
into the one event stream the session consumes, and, under a
:class:`ReconnectPolicy`, replaces a connection that ended unexpectedly (or
announced its end) with a new one, so the session goes on with its
transcript and subscriptions.

What moves between connections is the provider's business (a resumption
handle, the conversation restored from the transcript); a small
:class:`LinkDialect` per provider says how, and the provider's
:class:`~._conversation.ConversationState` says whether the server announced
the end of a connection and what to resume with. The link owns the rest: when
to reconnect, the backoff, the input held during the gap, and the events that
tell the session it happened (``Reconnecting``, ``Reconnected``,
``ReconnectFailed``).

:func:`connect_link` is what every adapter's ``connect()`` does: a link over
WebSockets, with the adapter's command object sending through it.

Input sent during the gap is held, in order, up to
``ReconnectPolicy.max_held_input_bytes`` (beyond that the oldest is dropped),
and sent once on the new connection, after its conversation was restored;
both numbers travel in ``Reconnected``. Input sent after ``Reconnected``, while
the held input is still on its way, queues behind it and is never dropped, so
those numbers are final. A message the old connection took (its send
returned) is never sent again. Other messages during the gap refer to the old
connection (a cancel, a truncation) and are not sent.
"""

from __future__ import annotations

import contextlib
import math
import random
from collections import deque
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, final

import anyio
import anyio.abc
import attrs

from .. import _json
from .. import events as ev
from .._log import ModuleLogger
from ._errors import ProviderConnectionError
from ._ws import open_websocket

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
    from contextlib import AbstractAsyncContextManager

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from ._conversation import ConversationState
    from ._ws import WebSocketChannel

__all__ = (
    "RECOVERABLE_CLOSE_CODES",
    "LinkDialect",
    "ProviderLink",
    "ReconnectPolicy",
    "connect_link",
)

_Commands = TypeVar("_Commands")

_log = ModuleLogger()

RECOVERABLE_CLOSE_CODES: Final = frozenset({1001, 1005, 1006, 1011, 1012, 1013, 1014, 1015})
"""Close codes worth a new connection: the server went away, restarted, failed or was
overloaded, or the network dropped (RFC 6455 §7.4.1; the same set as OpenAI's own SDK).
Any other code (a policy violation, a bad key, a frame over the size limit) ends the
session: a new connection would meet the same refusal."""


def _positive(_instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"ReconnectPolicy.{attribute.name} must be > 0, got {value!r}")


def _at_least_one(_instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"ReconnectPolicy.{attribute.name} must be an int >= 1, got {value!r}")


@final
@attrs.frozen(kw_only=True)
class ReconnectPolicy:
    """How a ``connect()`` replaces a connection that ended before the session did.

    The budget (``attempts``, ``give_up_after_s``) is spent until a connection
    proves *stable*: one that stays up for ``stable_after_s`` carried the call,
    and the next loss starts afresh, with every attempt and a new give-up
    clock. A connection that ends sooner, however many frames it carried, only
    spent its attempt: the next one waits its backoff and the clock keeps
    running from the loss of the last stable connection. Time, not frames,
    because a server failing the same way on every connection (it accepts,
    answers the setup, sends a frame, drops) would otherwise be retried at once
    and forever; lasting connections (Gemini's end about every ten minutes with
    ``goAway``) each start afresh, so a long call is never cut short by the
    attempts it needed hours ago. A session that keeps losing its connections
    therefore fails at most ``give_up_after_s`` plus ``stable_after_s`` (plus
    opening a connection) after the last stable one was lost.

    :param attempts: connections tried, the first at once, before giving up.
    :param initial_backoff_s: the wait before the second attempt; it doubles
        before each further one, up to ``max_backoff_s``, less a random 0-25 %
        so that many clients cut off together do not return together.
    :param max_backoff_s: the longest wait between two attempts.
    :param give_up_after_s: no attempt starts later than this after the last
        stable connection was lost.
    :param stable_after_s: how long a connection must stay up (after its
        setup) to count as having carried the call: longer than any backoff,
        far shorter than a provider connection lives.
    :param max_held_input_bytes: user input held during the gap, as encoded
        messages (1 MiB holds about 16 s of 24 kHz PCM16, base64 in JSON); past
        it the oldest held message is dropped, and counted.
    :param restore_timeout_s: how long the held input waits for the
        conversation to be restored on a new OpenAI connection (the session
        restores it at once; a consumer without a session never does).
    """

    attempts: int = attrs.field(default=5, validator=_at_least_one)
    initial_backoff_s: float = attrs.field(default=0.5, validator=_positive)
    max_backoff_s: float = attrs.field(default=8.0, validator=_positive)
    give_up_after_s: float = attrs.field(default=30.0, validator=_positive)
    stable_after_s: float = attrs.field(default=10.0, validator=_positive)
    max_held_input_bytes: int = attrs.field(default=1 << 20, validator=_at_least_one)
    restore_timeout_s: float = attrs.field(default=5.0, validator=_positive)

    def backoff_s(self, attempt: int) -> float:
        """The wait before attempt number ``attempt`` (the first one has none)."""
        if attempt <= 1:
            return 0.0
        base: float = min(self.initial_backoff_s * 2.0 ** (attempt - 2), self.max_backoff_s)
        return base * (0.75 + 0.25 * random.random())


class LinkDialect(Protocol):
    """What a provider adapter tells the link about its wire."""

    @property
    def provider(self) -> str:
        """The provider's name in events and logs."""

    @property
    def conversation(self) -> ConversationState:
        """The conversation the provider's translator keeps."""

    @property
    def restores_conversation(self) -> bool:
        """Whether a new connection starts with an empty conversation that the session
        restores from its transcript (OpenAI), rather than resuming it (Gemini)."""

    @property
    def awaits_setup(self) -> bool:
        """Whether a connection is usable only after a setup reply from the server."""

    def opening_messages(self, *, resuming: bool) -> list[Mapping[str, Any]]:
        """The messages that open a connection (a setup, a session configuration)."""

    def is_setup_reply(self, message: object) -> bool:
        """Whether a decoded server message completes the setup."""

    def translate(self, message: Any) -> list[ev.RealtimeSessionEvent]:
        """Translate one decoded server message."""

    def connection_lost(self) -> list[ev.RealtimeSessionEvent]:
        """Close what was in flight on the connection that ended."""

    def handover_due(self) -> bool:
        """Whether to move to a new connection now, before the server closes this one."""


@final
class _Connection:
    """An open, set-up connection, held by a task of the link until released."""

    __slots__ = ("channel", "early", "opened_at", "released")

    def __init__(self, channel: WebSocketChannel, early: list[str | bytes]) -> None:
        self.channel = channel
        # Frames that arrived before the setup was complete: translated first.
        self.early = early
        self.opened_at = anyio.current_time()
        self.released = anyio.Event()


def _describe_close(channel: WebSocketChannel) -> str:
    code = channel.close_code
    return "the server closed the connection" + (f" (code {code})" if code is not None else "")


@final
class ProviderLink:
    """The event stream and the sending side of one provider session, across connections.

    ``open_channel`` opens one WebSocket; ``policy`` says whether and how to
    replace one that ended (``None``: a lost connection ends the stream with
    a fatal ``ProviderError``, as a plain connection would). Commands send
    through :meth:`send` (messages about the conversation on this
    connection) and :meth:`send_input` (user input, held during a gap).
    """

    def __init__(
        self,
        dialect: LinkDialect,
        *,
        open_channel: Callable[[], AbstractAsyncContextManager[WebSocketChannel]],
        policy: ReconnectPolicy | None,
        open_timeout: float,
        buffer: int,
    ) -> None:
        if buffer < 0:
            raise ValueError(f"buffer must not be negative, got {buffer}")
        self._dialect = dialect
        self._provider = dialect.provider
        self._conversation = dialect.conversation
        self._open_channel = open_channel
        self._policy = policy
        self._open_timeout = open_timeout
        self._buffer = buffer
        #: Runs after every server frame (commands that wait for a response to end).
        self.after_frame: Callable[[], Awaitable[None]] | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._events: MemoryObjectSendStream[ev.RealtimeSessionEvent] | None = None
        # The connection messages go to; None while it is being replaced.
        self._channel: WebSocketChannel | None = None
        # Why nothing can be sent any more, once the session's provider side ended.
        self._ended: str | None = None
        self._closed = False
        self._holding = False
        self._restoring = False
        self._flushing = False
        self._held: deque[str] = deque()
        self._held_bytes = 0
        self._dropped_count = 0
        # The reconnection budget spent since the last stable connection was lost
        # (see ReconnectPolicy): attempts made, and when that loss was.
        self._attempts_spent = 0
        self._unstable_since: float | None = None

    # -- the sending side ----------------------------------------------------------

    async def send(self, text: str) -> None:
        """Send a message about the conversation on the current connection.

        While the connection is being replaced there is no conversation to
        address (the new one is resumed or restored as it was), so the message
        is not sent.
        """
        channel = self._usable_channel()
        if channel is None:
            _log.info("message_for_a_replaced_connection_not_sent", provider=self._provider)
            return
        await channel.send_text(text)

    async def send_input(self, text: str) -> None:
        """Send user input; during a gap it is held and sent on the next connection."""
        if self._holding:
            self._usable_channel()  # raises once the link ended
            self._hold(text)
            return
        channel = self._usable_channel()
        if channel is None:
            self._hold(text)
            return
        try:
            await channel.send_text(text)
        except anyio.BrokenResourceError:
            if self._policy is None:
                raise
            # The connection died under this message: it goes to the next one.
            self._hold(text)

    async def conversation_restored(self) -> None:
        """The new connection holds the conversation again: send the held input."""
        if self._restoring:
            self._restoring = False
            await self._flush_held()

    async def aclose(self) -> None:
        """Close the current connection and refuse further messages. Idempotent."""
        self._closed = True
        channel = self._channel
        if channel is not None:
            await channel.aclose()

    def _usable_channel(self) -> WebSocketChannel | None:
        if self._closed:
            raise anyio.ClosedResourceError
        if self._ended is not None:
            raise anyio.BrokenResourceError(self._ended)
        return self._channel

    def _hold(self, text: str) -> None:
        assert self._policy is not None
        self._holding = True
        self._held.append(text)
        self._held_bytes += len(text)
        if self._channel is not None:
            # The gap is over and its counts were reported: this queues behind the
            # held input, which is on its way, and is not dropped.
            return
        while self._held_bytes > self._policy.max_held_input_bytes and len(self._held) > 1:
            self._held_bytes -= len(self._held.popleft())
            self._dropped_count += 1

    async def _flush_held(self) -> None:
        """Send the held input, in order, to the current connection; then stop holding.

        Input sent meanwhile joins the end of the queue, so order holds. If the
        connection breaks on the way, the rest waits for the next one.
        """
        if self._flushing:
            return
        self._flushing = True
        try:
            channel = self._channel
            while self._held and channel is not None and channel is self._channel:
                # Out of the queue while it is sent: a drop for the bound meanwhile must
                # take the oldest message still waiting, not this one.
                text = self._held.popleft()
                self._held_bytes -= len(text)
                try:
                    await channel.send_text(text)
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    self._held.appendleft(text)
                    self._held_bytes += len(text)
                    return
            if channel is not None and channel is self._channel and not self._restoring:
                self._holding = False
        finally:
            self._flushing = False

    # -- the reading side --------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[MemoryObjectReceiveStream[ev.RealtimeSessionEvent]]:
        """Open the first connection, then yield the event stream while the link runs.

        Raises :class:`ProviderConnectionError` if the first connection cannot
        be opened and set up. Leaving stops the link and closes its connection;
        an exception from the body propagates unchanged (not wrapped in a group).
        """
        send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](self._buffer)
        failure: BaseException | None = None
        with receive:
            async with anyio.create_task_group() as task_group:
                self._task_group = task_group
                try:
                    first = await self._open(resuming=False)
                    self._channel = first.channel
                    task_group.start_soon(self._supervise, first, send)
                    yield receive
                except BaseException as exc:
                    # Re-raised below, outside the task group, so that it is not wrapped.
                    failure = exc
                finally:
                    send.close()
                    task_group.cancel_scope.cancel()
        if failure is not None:
            raise failure

    async def _open(self, *, resuming: bool) -> _Connection:
        assert self._task_group is not None
        connection: _Connection = await self._task_group.start(self._hold_connection, resuming)
        return connection

    async def _hold_connection(
        self, resuming: bool, *, task_status: anyio.abc.TaskStatus[_Connection]
    ) -> None:
        provider = self._provider
        async with self._open_channel() as channel:
            for message in self._dialect.opening_messages(resuming=resuming):
                await _send_opening(channel, message, provider=provider)
            early: list[str | bytes] = []
            if self._dialect.awaits_setup:
                problem = f"no answer within {self._open_timeout:g} s"
                with anyio.move_on_after(self._open_timeout):
                    problem = await self._await_setup(channel, early) or ""
                if problem:
                    raise ProviderConnectionError(
                        f"the {provider} session was not set up: {problem}"
                    )
            connection = _Connection(channel, early)
            task_status.started(connection)
            await connection.released.wait()

    async def _await_setup(self, channel: WebSocketChannel, early: list[str | bytes]) -> str | None:
        """Read until the setup reply; ``None`` once it came, else why it never will."""
        while True:
            try:
                frame = await channel.receive()
            except anyio.EndOfStream:
                return _describe_close(channel)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
                return f"the connection was lost: {exc}"
            early.append(frame)
            try:
                message = _json.parse(frame)
            except _json.JsonError:
                continue
            if self._dialect.is_setup_reply(message):
                return None

    async def _supervise(
        self, connection: _Connection, events: MemoryObjectSendStream[ev.RealtimeSessionEvent]
    ) -> None:
        self._events = events
        next_connection: _Connection | None = connection
        async with events:
            while next_connection is not None:
                next_connection = await self._serve(next_connection)

    async def _serve(self, connection: _Connection) -> _Connection | None:
        """Read one connection until it ends; the connection that replaces it, if any."""
        channel = self._channel = connection.channel
        for frame in connection.early:
            if not await self._on_frame(frame):
                return None
        connection.early.clear()
        while True:
            try:
                frame = await channel.receive()
            except anyio.EndOfStream:
                # A clean close ends the session, unless the server said it was only
                # this connection (an announced close, a server going away).
                reason = self._closing_announced()
                if reason is None and channel.close_code in RECOVERABLE_CLOSE_CODES:
                    reason = "connection_lost"
                if reason is None or self._policy is None:
                    _log.info("provider_connection_closed", provider=self._provider)
                    connection.released.set()
                    return None
                return await self._replace(connection, reason, _describe_close(channel))
            except anyio.ClosedResourceError:
                return None
            except anyio.BrokenResourceError as exc:
                code = channel.close_code
                if self._policy is None or not (code is None or code in RECOVERABLE_CLOSE_CODES):
                    await self._lost_for_good(connection, str(exc))
                    return None
                reason = self._closing_announced() or "connection_lost"
                return await self._replace(connection, reason, str(exc))
            if not await self._on_frame(frame):
                return None
            if self._policy is not None and self._dialect.handover_due():
                return await self._replace(
                    connection,
                    "go_away",
                    "the server announced it will close the connection",
                    handover=True,
                )

    def _closing_announced(self) -> str | None:
        closing = self._conversation.closing
        return closing.reason if closing is not None else None

    def _cannot_resume(self) -> str | None:
        """Why a new connection could not carry the session on, or ``None``."""
        if self._dialect.restores_conversation or self._conversation.resumption_handle is not None:
            return None
        return "the server sent no session resumption handle to resume with"

    async def _on_frame(self, frame: str | bytes) -> bool:
        """Translate and deliver one frame; ``False`` once the session closed its end."""
        events: list[ev.RealtimeSessionEvent]
        try:
            message = _json.parse(frame)
        except _json.JsonError as exc:
            events = [
                ev.ProviderError(
                    code="invalid_json", message=f"a {self._provider} message is {exc}"
                )
            ]
        else:
            events = self._dialect.translate(message)
        if not await self._deliver(events):
            return False
        if self.after_frame is not None:
            # On a broken connection the next receive reports the loss.
            with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
                await self.after_frame()
        return True

    async def _deliver(self, events: Sequence[ev.RealtimeSessionEvent]) -> bool:
        """Write events in order; ``False`` once the session closed its end of the stream."""
        send = self._events
        assert send is not None
        try:
            for event in events:
                try:
                    send.send_nowait(event)
                except anyio.WouldBlock:
                    # The session is behind: wait rather than drop, the stream is lossless.
                    await send.send(event)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return False
        return True

    async def _lost_for_good(self, connection: _Connection, detail: str) -> None:
        """End the stream with a fatal error: the connection is gone and stays gone."""
        connection.released.set()
        self._channel = None
        self._ended = f"the {self._provider} connection was lost: {detail}"
        dropped = self._dropped_count + len(self._held)
        self._held.clear()
        _log.warning(
            "provider_connection_lost", provider=self._provider, error=detail, input_dropped=dropped
        )
        await self._deliver(
            [ev.ProviderError(code="connection_lost", message=self._ended, fatal=True)]
        )

    async def _replace(
        self, old: _Connection, reason: str, detail: str, *, handover: bool = False
    ) -> _Connection | None:
        """Move the session to a new connection, or end the stream if that cannot be done.

        In a ``handover`` the old connection is still open: it is closed only
        once the new one is set up. A lost one is released at once.
        """
        policy = self._policy
        assert policy is not None
        refusal = self._cannot_resume()
        gap_started = anyio.current_time()
        unstable_since = self._unstable_since
        if unstable_since is None or gap_started - old.opened_at >= policy.stable_after_s:
            # The lost connection carried the call (or is the first lost): start afresh.
            self._attempts_spent = 0
            self._unstable_since = unstable_since = gap_started
        self._channel = None
        self._holding = True
        self._restoring = False
        self._dropped_count = 0
        if not handover:
            old.released.set()
        _log.warning("provider_reconnecting", provider=self._provider, reason=reason, detail=detail)
        events: list[ev.RealtimeSessionEvent] = [
            ev.Reconnecting(provider=self._provider, reason=reason)
        ]
        events += self._dialect.connection_lost()
        if not await self._deliver(events):
            old.released.set()
            return None
        attempt = self._attempts_spent
        error = refusal or (
            f"the new connections ended again within {policy.stable_after_s:g} s of opening"
        )
        new: _Connection | None = None
        while refusal is None and attempt < policy.attempts:
            wait = policy.backoff_s(attempt + 1)
            elapsed = anyio.current_time() - unstable_since
            if elapsed + wait > policy.give_up_after_s:
                break
            await anyio.sleep(wait)
            attempt += 1
            try:
                new = await self._open(resuming=True)
                break
            except ProviderConnectionError as exc:
                error = str(exc)
                _log.warning(
                    "provider_reconnect_attempt_failed",
                    provider=self._provider,
                    attempt=attempt,
                    error=error,
                )
        self._attempts_spent = attempt
        old.released.set()
        held, dropped = len(self._held), self._dropped_count
        if new is None:
            dropped += len(self._held)
            self._held.clear()
            self._held_bytes = 0
            self._ended = (
                f"the {self._provider} connection was lost ({reason}) and could not be "
                f"re-established: {error}"
            )
            _log.error(
                "provider_reconnect_gave_up",
                provider=self._provider,
                reason=reason,
                attempts=attempt,
                error=error,
            )
            await self._deliver(
                [
                    ev.ReconnectFailed(
                        provider=self._provider,
                        reason=reason,
                        attempts=attempt,
                        error=error,
                        input_dropped=dropped,
                    )
                ]
            )
            return None
        gap_ms = math.floor((anyio.current_time() - gap_started) * 1000)
        restore = self._dialect.restores_conversation
        _log.info(
            "provider_reconnected",
            provider=self._provider,
            reason=reason,
            attempts=attempt,
            gap_ms=gap_ms,
            input_held=held,
            input_dropped=dropped,
        )
        self._channel = new.channel
        self._restoring = restore
        reconnected = ev.Reconnected(
            provider=self._provider,
            reason=reason,
            gap_ms=gap_ms,
            attempts=attempt,
            input_held=held,
            input_dropped=dropped,
            restore_conversation=restore,
        )
        if not await self._deliver([reconnected]):
            new.released.set()
            return None
        if restore:
            assert self._task_group is not None
            self._task_group.start_soon(self._restore_deadline, new.channel, policy)
        else:
            await self._flush_held()
        return new

    async def _restore_deadline(self, channel: WebSocketChannel, policy: ReconnectPolicy) -> None:
        await anyio.sleep(policy.restore_timeout_s)
        if self._restoring and self._channel is channel:
            _log.warning(
                "conversation_not_restored",
                provider=self._provider,
                timeout_s=policy.restore_timeout_s,
            )
            self._restoring = False
            await self._flush_held()


async def _send_opening(
    channel: WebSocketChannel, message: Mapping[str, Any], *, provider: str
) -> None:
    """Send a session setup; a connection that dies here never opened."""
    text = _json.dumps(message, what=f"the {provider} session configuration")
    try:
        await channel.send_text(text)
    except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
        raise ProviderConnectionError(
            f"the {provider} connection closed before the session setup was sent: {exc}"
        ) from exc


@asynccontextmanager
async def connect_link(
    dialect: LinkDialect,
    commands: Callable[[ProviderLink], _Commands],
    *,
    url: str,
    headers: Mapping[str, str],
    max_message_size: int,
    open_timeout: float,
    send_timeout: float,
    reconnect: ReconnectPolicy | None,
    buffer: int,
) -> AsyncIterator[tuple[MemoryObjectReceiveStream[ev.RealtimeSessionEvent], _Commands]]:
    """Run a provider session over WebSockets to ``url``: what each adapter's ``connect()`` does.

    ``commands`` makes the adapter's command object, sending through the link.
    Yields ``(events, commands)`` once the first connection is open and set up;
    see :meth:`ProviderLink.running` for what entering raises and leaving does.
    """
    link = ProviderLink(
        dialect,
        open_channel=partial(
            open_websocket,
            url,
            headers=headers,
            max_message_size=max_message_size,
            open_timeout=open_timeout,
            send_timeout=send_timeout,
        ),
        policy=reconnect,
        open_timeout=open_timeout,
        buffer=buffer,
    )
    made = commands(link)
    async with link.running() as events:
        yield events, made
