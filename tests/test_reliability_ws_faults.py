"""WebSocket faults under a running session: a dropped connection, an oversized frame, a
server that stops reading.

The server speaks the WebSocket protocol by hand on 127.0.0.1, from a thread of its own,
so that it can misbehave the way a real network does: cut the TCP connection without a
closing handshake (a FIN or a reset), or stop reading altogether. In every case the
session must end as ``failed`` through a fatal ``ProviderError``, deliver everything that
arrived before the fault, and nothing may hang.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import struct
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Self

import anyio
import pytest

from realtime_session import RealtimeSession, SessionFailed, public
from realtime_session import events as ev
from realtime_session.providers import ReconnectPolicy, _ws, gemini, openai, read_trace

if TYPE_CHECKING:
    from types import TracebackType

    from anyio.streams.memory import MemoryObjectReceiveStream

    from realtime_session import ProviderCommands

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent / "fixtures"
Provider = Literal["openai", "gemini"]
PROVIDERS = ("openai", "gemini")
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Every fault must be noticed and reported well within this.
BOUND_S = 10.0


def _frame(payload: bytes, opcode: int) -> bytes:
    """One unmasked, final server frame."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + payload


class Peer:
    """The server end of the one connection, as blocking socket calls."""

    def __init__(
        self, connection: socket.socket, stop: threading.Event, go: threading.Event
    ) -> None:
        self._connection = connection
        self._stop = stop
        self._go = go

    def send(self, message: dict[str, Any], *, binary: bool = False) -> None:
        payload = json.dumps(message).encode()
        self._connection.sendall(_frame(payload, 0x2 if binary else 0x1))

    def receive(self) -> dict[str, Any]:
        """Read one (masked, unfragmented) client text frame and decode its JSON."""

        def exactly(size: int) -> bytes:
            data = b""
            while len(data) < size:
                chunk = self._connection.recv(size - len(data))
                if not chunk:
                    raise ConnectionError("the client closed mid-frame")
                data += chunk
            return data

        _, second = exactly(2)
        size = second & 0x7F
        if size == 126:
            (size,) = struct.unpack("!H", exactly(2))
        elif size == 127:
            (size,) = struct.unpack("!Q", exactly(8))
        mask = exactly(4)
        payload = bytes(byte ^ mask[i % 4] for i, byte in enumerate(exactly(size)))
        message: dict[str, Any] = json.loads(payload)
        return message

    def drop(self, *, reset: bool) -> None:
        """End the TCP connection without a closing handshake: a reset, or a bare FIN.

        For a FIN, what the client sends afterwards is read and discarded: closing a
        socket that holds unread data would turn the FIN into a reset.
        """
        if reset:
            self._connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
        else:
            self._connection.shutdown(socket.SHUT_WR)
            self.read_until_closed()
        self._connection.close()

    def read_until_closed(self) -> None:
        """Read (and discard) whatever the client sends until it goes away."""
        self._connection.settimeout(BOUND_S)
        while self._connection.recv(65536):
            pass

    def close(self) -> None:
        """Close cleanly (code 1000) and wait for the client's answer."""
        self._connection.sendall(_frame(struct.pack("!H", 1000), 0x8))
        self.read_until_closed()

    def wait_for_go(self) -> None:
        """Wait until the test says the client is ready for what comes next."""
        if not self._go.wait(BOUND_S):
            raise TimeoutError("the test never released the server")

    def stall(self) -> None:
        """Stop reading, and hold the connection open until the test is over."""
        self._stop.wait(BOUND_S * 3)


Script = Callable[[Peer], None]


class RawServer:
    """A WebSocket server on 127.0.0.1 (port chosen by the OS) running ``script``.

    It accepts one connection per script: ``script``, then each of ``then``
    in turn; with ``hold_next``, each later connection is accepted (its
    handshake answered) only once that event is set.
    """

    def __init__(
        self,
        script: Script,
        *,
        receive_buffer: int | None = None,
        then: Sequence[Script] = (),
        hold_next: threading.Event | None = None,
    ) -> None:
        self._scripts = (script, *then)
        self._hold_next = hold_next
        self._stop = threading.Event()
        self._go = threading.Event()
        self._listener = socket.socket()
        if receive_buffer is not None:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self._listener.settimeout(0.1)
        self.url = f"ws://127.0.0.1:{self._listener.getsockname()[1]}"
        self.errors: list[BaseException] = []
        self._thread = threading.Thread(target=self._serve, name="raw websocket server")

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(BOUND_S)
        self._listener.close()
        assert not self._thread.is_alive()
        assert not self.errors, self.errors

    def go(self) -> None:
        """Release a script waiting in :meth:`Peer.wait_for_go`."""
        self._go.set()

    def _serve(self) -> None:
        for index, script in enumerate(self._scripts):
            if index and self._hold_next is not None and not self._hold_next.wait(BOUND_S):
                self.errors.append(TimeoutError("the test never let the next connection in"))
                return
            if not self._serve_one(script):
                return

    def _serve_one(self, script: Script) -> bool:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                self.errors.append(exc)
                return False
            break
        else:
            return False
        try:
            connection.settimeout(BOUND_S)
            self._handshake(connection)
            script(Peer(connection, self._stop, self._go))
        except OSError:
            pass  # the client went away first: that is its right
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            connection.close()
        return True

    @staticmethod
    def _handshake(connection: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = connection.recv(4096)
            if not chunk:
                raise ConnectionError("the client closed during the handshake")
            request += chunk
        headers = request.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
        key = next(
            value.strip()
            for name, _, value in (line.partition(b":") for line in headers)
            if name.strip().lower() == b"sec-websocket-key"
        )
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        connection.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )


def payloads(name: str) -> list[dict[str, Any]]:
    return [dict(record.payload) for record in read_trace(FIXTURES / f"{name}.jsonl")]


def mid_response(provider: Provider) -> list[dict[str, Any]]:
    """A trace cut off in the middle of the model's spoken answer."""
    if provider == "openai":
        trace = payloads("openai_voice_turn")
        audio = [i for i, p in enumerate(trace) if p["type"] == "response.output_audio.delta"]
    else:
        trace = payloads("gemini_voice_turn")
        audio = [i for i, p in enumerate(trace) if "modelTurn" in p.get("serverContent", {})]
    return trace[: audio[len(audio) // 2]]


def translated(provider: Provider, frames: list[dict[str, Any]]) -> list[ev.RealtimeSessionEvent]:
    translator = (
        openai.OpenAIRealtimeTranslator() if provider == "openai" else gemini.GeminiLiveTranslator()
    )
    return [event for frame in frames for event in translator.translate(frame)]


@asynccontextmanager
async def connected(
    provider: Provider,
    url: str,
    *,
    max_message_size: int = _ws.DEFAULT_MAX_MESSAGE_SIZE,
    send_timeout: float = _ws.DEFAULT_SEND_TIMEOUT,
    reconnect: ReconnectPolicy | None = None,
) -> AsyncIterator[tuple[MemoryObjectReceiveStream[ev.RealtimeSessionEvent], ProviderCommands]]:
    """A connection to ``url``; without reconnection unless asked, as these faults are final."""
    if provider == "openai":
        async with openai.connect(
            api_key="k",
            url=url,
            max_message_size=max_message_size,
            send_timeout=send_timeout,
            reconnect=reconnect,
        ) as (events, openai_commands):
            yield events, openai_commands
    else:
        async with gemini.connect(
            api_key="k",
            url=url,
            max_message_size=max_message_size,
            open_timeout=BOUND_S,
            send_timeout=send_timeout,
            reconnect=reconnect,
        ) as (events, gemini_commands):
            yield events, gemini_commands


def setup_frames(provider: Provider) -> list[dict[str, Any]]:
    """What the server must say before the client considers the session open."""
    return [{"setupComplete": {}}] if provider == "gemini" else []


def _content(events: list[public.RealtimeEvent]) -> list[public.RealtimeEvent]:
    """What a subscriber saw, minus what the session minted itself and the fault's report."""
    minted = (
        public.TranscriptCommitted,
        public.TranscriptRevised,
        public.MediaDropped,
        public.SessionClosed,
        public.ProviderError,
    )
    return [event for event in events if not isinstance(event, minted)]


def assert_failed_by_a_fatal_error(seen: list[public.RealtimeEvent], *needles: str) -> str:
    """The subscription ended with a fatal ``ProviderError`` and then ``SessionClosed(failed)``."""
    *_, error, closed = seen
    assert isinstance(error, public.ProviderError), seen[-3:]
    assert error.fatal
    assert isinstance(closed, public.SessionClosed)
    assert closed.reason == "failed"
    assert closed.error is not None
    for needle in needles:
        assert needle in error.message, error.message
    return closed.error


@pytest.mark.parametrize("how", ["fin", "reset"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_connection_dropped_mid_response_fails_the_session_after_delivering_everything(
    anyio_backend: object, provider: Provider, how: str
) -> None:
    frames = mid_response(provider)

    def script(peer: Peer) -> None:
        if provider == "gemini":
            # As a real server: the setup first, so the drop comes mid-response
            # and not while the connection is still being set up.
            assert "setup" in peer.receive()
        for frame in frames:
            peer.send(frame, binary=provider == "gemini")
        peer.drop(reset=how == "reset")

    with RawServer(script) as server:
        with anyio.fail_after(BOUND_S):
            async with connected(provider, server.url) as (events, commands):
                session = RealtimeSession(events, commands=commands)
                # Room for every chunk (a Gemini frame may carry several): a
                # drop here would be the media lane working, not a lost frame.
                subscription = session.events(media_buffer=10_000)
                async with session:
                    seen = [event async for event in subscription]
                    with pytest.raises(SessionFailed, match="connection_lost") as caught:
                        await session.wait_closed()
    expected = [
        public_event
        for event in translated(provider, frames)
        if (public_event := event.to_public_event()) is not None
    ]
    delivered = _content(seen)
    if how == "fin":
        assert delivered == _content(expected)
    else:
        # A reset discards what the client's kernel had received and not yet
        # handed over, so only a prefix is guaranteed; it is delivered in order.
        assert delivered == _content(expected)[: len(delivered)]
    assert any(isinstance(event, public.OutputAudioChunk) for event in expected)
    error = assert_failed_by_a_fatal_error(seen, "connection was lost")
    assert caught.value.error == error


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_frame_over_the_size_limit_fails_the_session(
    anyio_backend: object, provider: Provider
) -> None:
    greeting = (
        {"type": "input_audio_buffer.speech_started", "item_id": "item_1"}
        if provider == "openai"
        else {"serverContent": {"inputTranscription": {"text": "hello"}}}
    )
    huge = dict(greeting)
    huge["padding"] = "x" * 4096

    def script(peer: Peer) -> None:
        for frame in [*setup_frames(provider), greeting]:
            peer.send(frame)
        peer.wait_for_go()
        peer.send(huge)
        peer.read_until_closed()

    with RawServer(script) as server:
        with anyio.fail_after(BOUND_S):
            async with connected(provider, server.url, max_message_size=1024) as (
                events,
                commands,
            ):
                session = RealtimeSession(events, commands=commands)
                subscription = session.events()
                async with session:
                    server.go()
                    seen = [event async for event in subscription]
                    with pytest.raises(SessionFailed, match="connection_lost"):
                        await session.wait_closed()
    first = translated(provider, [*setup_frames(provider), greeting])
    assert _content(seen) == [event.to_public_event() for event in first]
    assert_failed_by_a_fatal_error(seen, "1009")


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_server_that_stops_reading_fails_the_sender_and_the_session(
    anyio_backend: object, provider: Provider
) -> None:

    def script(peer: Peer) -> None:
        for frame in setup_frames(provider):
            peer.send(frame)
        peer.stall()

    chunk = ev.AudioInput(chunk=ev.RealtimeAudioChunk(data=bytes(4_800)))  # 100 ms
    with RawServer(script, receive_buffer=4096) as server:
        with anyio.fail_after(BOUND_S):
            async with connected(provider, server.url, send_timeout=0.5) as (events, commands):
                session = RealtimeSession(events, commands=commands)
                subscription = session.events()
                async with session:
                    sent = 0
                    with pytest.raises(anyio.BrokenResourceError, match="stopped reading"):
                        while True:
                            await session.send_input(chunk)
                            sent += 1
                    assert sent > 0  # the connection did carry audio before the server stalled
                    seen = [event async for event in subscription]
                    with pytest.raises(SessionFailed, match="connection_lost"):
                        await session.wait_closed()
                    # Later commands fail at once rather than wait for the dead peer.
                    with pytest.raises(anyio.BrokenResourceError):
                        await session.send_input(chunk)
    assert_failed_by_a_fatal_error(seen, "stopped reading")
