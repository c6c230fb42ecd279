"""The WebSocket transport, against real WebSocket servers on 127.0.0.1 on both backends."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.lowlevel
import pytest
import websockets.asyncio.server
import websockets.trio.server
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from realtime_session import events as ev
from realtime_session.providers import (
    MissingDependencyError,
    ProviderConnectionError,
    gemini,
    load_trace,
    openai,
    read_trace,
)

if TYPE_CHECKING:
    from websockets.datastructures import Headers

FIXTURES = Path(__file__).parent / "fixtures"

Backend = tuple[str, dict[str, object]]


class Peer:
    """The server end of one connection, the same on both backends."""

    def __init__(
        self,
        connection: websockets.asyncio.server.ServerConnection
        | websockets.trio.server.ServerConnection,
    ) -> None:
        self._connection = connection
        self.received: list[Any] = []

    @property
    def headers(self) -> Headers:
        request = self._connection.request
        assert request is not None
        return request.headers

    async def send(self, message: Any) -> None:
        await self._connection.send(
            message if isinstance(message, str | bytes) else json.dumps(message)
        )

    async def receive(self) -> Any:
        message = json.loads(await self._connection.recv())
        self.received.append(message)
        return message

    async def receive_until(self, event_type: str) -> None:
        while (await self.receive()).get("type") != event_type:
            pass

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if isinstance(self._connection, websockets.trio.server.ServerConnection):
            await self._connection.aclose(code, reason)
        else:
            await self._connection.close(code, reason)

    async def drop(self) -> None:
        """Cut the TCP connection without a closing handshake."""
        if isinstance(self._connection, websockets.trio.server.ServerConnection):
            await self._connection.stream.aclose()
        else:
            self._connection.transport.abort()

    async def close_code_seen(self) -> int | None:
        """Wait for the client to close; the close code it sent."""
        try:
            while True:
                await self._connection.recv()
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else None


Handler = Callable[[Peer], Awaitable[None]]
RequestHook = Callable[[Any, Request], Response | None]


@asynccontextmanager
async def loopback(
    backend: Backend, handler: Handler, process_request: RequestHook | None = None
) -> AsyncIterator[tuple[str, list[Peer]]]:
    """A WebSocket server of the running backend on 127.0.0.1, port chosen by the OS."""
    peers: list[Peer] = []

    async def on_asyncio(connection: websockets.asyncio.server.ServerConnection) -> None:
        peers.append(peer := Peer(connection))
        await handler(peer)

    async def on_trio(connection: websockets.trio.server.ServerConnection) -> None:
        peers.append(peer := Peer(connection))
        await handler(peer)

    if backend[0] == "asyncio":
        async with websockets.asyncio.server.serve(
            on_asyncio, "127.0.0.1", 0, process_request=process_request
        ) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            yield f"ws://127.0.0.1:{port}", peers
        return
    async with anyio.create_task_group() as tg:
        trio_server: websockets.trio.server.Server = await tg.start(
            partial(
                websockets.trio.server.serve,
                on_trio,
                0,
                host="127.0.0.1",
                process_request=process_request,
            )
        )
        port = trio_server.listeners[0].socket.getsockname()[1]
        try:
            yield f"ws://127.0.0.1:{port}", peers
        finally:
            await trio_server.aclose()


async def collect(stream: Any) -> list[ev.RealtimeSessionEvent]:
    return [event async for event in stream]


def trace_payloads(name: str) -> list[dict[str, Any]]:
    return [dict(record.payload) for record in read_trace(FIXTURES / f"{name}.jsonl")]


def trace_events(name: str) -> list[ev.RealtimeSessionEvent]:
    return [timed.event for timed in load_trace(FIXTURES / f"{name}.jsonl")]


# -- OpenAI -----------------------------------------------------------------------------------------


async def test_openai_connect_replays_a_trace_and_continues_after_the_tool_result(
    anyio_backend: Backend,
) -> None:
    payloads = trace_payloads("openai_tool_call")
    split = next(i for i, p in enumerate(payloads) if p["type"] == "response.done") + 1

    async def handler(peer: Peer) -> None:
        await peer.receive()  # session.update
        for payload in payloads[:split]:
            await peer.send(payload)
        # The model goes on only when the client asks for it.
        await peer.receive_until("response.create")
        for payload in payloads[split:]:
            await peer.send(payload)
        await peer.close()

    config = {"type": "realtime", "instructions": "Be brief."}
    received: list[ev.RealtimeSessionEvent] = []
    async with (
        loopback(anyio_backend, handler) as (url, peers),
        openai.connect(api_key="sk-test", url=url, session_config=config) as (events, commands),
    ):
        async for event in events:
            received.append(event)
            if isinstance(event, ev.ToolCallRequested):
                await commands.submit_tool_result(event.call_id, {"temperature_c": 21})

    assert received == trace_events("openai_tool_call")
    (peer,) = peers
    assert peer.headers["Authorization"] == "Bearer sk-test"
    call_id = next(e.call_id for e in received if isinstance(e, ev.ToolCallRequested))
    assert peer.received == [
        {"type": "session.update", "session": config},
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": call_id,
                "output": '{"temperature_c": 21}',
            },
        },
        {"type": "response.create"},
    ]


async def test_commands_reach_the_server_as_client_events(anyio_backend: Backend) -> None:
    async def handler(peer: Peer) -> None:
        for _ in range(3):
            await peer.receive()
        await peer.close()

    async with (
        loopback(anyio_backend, handler) as (url, peers),
        openai.connect(api_key="k", url=url) as (events, commands),
    ):
        await commands.truncate_assistant_output("item_a", 0, 640)
        await commands.interrupt()
        await commands.send_input(ev.AudioInput(chunk=ev.RealtimeAudioChunk(data=b"\0\0")))
        assert await collect(events) == []
    assert peers[0].received == [
        {
            "type": "conversation.item.truncate",
            "item_id": "item_a",
            "content_index": 0,
            "audio_end_ms": 640,
        },
        {"type": "response.cancel"},
        {"type": "input_audio_buffer.append", "audio": "AAA="},
    ]


# -- Gemini ---------------------------------------------------------------------------------------


async def test_gemini_connect_sends_the_setup_waits_for_it_and_replays_a_trace(
    anyio_backend: Backend,
) -> None:
    async def handler(peer: Peer) -> None:
        await peer.receive()
        for payload in trace_payloads("gemini_interruption"):
            await peer.send(json.dumps(payload).encode())  # Gemini sends binary frames
        await peer.close()

    config = {"systemInstruction": {"parts": [{"text": "Be brief."}]}}
    async with (
        loopback(anyio_backend, handler) as (url, peers),
        # The recording ends with goAway then a close; without reconnection the
        # close ends the stream, and goAway is a warning.
        gemini.connect(api_key="g-key", url=url, session_config=config, reconnect=None) as (
            events,
            _,
        ),
    ):
        received = await collect(events)
    go_away = ev.ProviderError(
        code="go_away", message="the server will close the connection in 50s"
    )
    assert [e for e in received if e != go_away] == trace_events("gemini_interruption")
    assert received.count(go_away) == 1
    (peer,) = peers
    assert peer.headers["x-goog-api-key"] == "g-key"
    assert peer.received == [
        {
            "setup": {
                "model": "models/gemini-live-2.5-flash-preview",
                "generationConfig": {"responseModalities": ["AUDIO"]},
                "inputAudioTranscription": {},
                "outputAudioTranscription": {},
                "systemInstruction": {"parts": [{"text": "Be brief."}]},
                "sessionResumption": {},
            }
        }
    ]


async def test_gemini_connect_fails_when_the_server_refuses_the_setup(
    anyio_backend: Backend,
) -> None:
    async def handler(peer: Peer) -> None:
        await peer.receive()
        await peer.close(1007, "Request contains an invalid argument.")

    async with loopback(anyio_backend, handler) as (url, _):
        with pytest.raises(ProviderConnectionError, match=r"not set up.*1007"):
            async with gemini.connect(api_key="k", url=url):
                pytest.fail("connect() yielded without setupComplete")


async def test_gemini_connect_gives_up_when_setup_is_never_acknowledged(
    anyio_backend: Backend,
) -> None:
    async def handler(peer: Peer) -> None:
        await peer.close_code_seen()

    async with loopback(anyio_backend, handler) as (url, _):
        with pytest.raises(ProviderConnectionError, match="no answer"):
            async with gemini.connect(api_key="k", url=url, open_timeout=0.2):
                pytest.fail("connect() yielded without setupComplete")


async def test_gemini_manual_activity_setup_enables_the_interrupt(anyio_backend: Backend) -> None:
    async def handler(peer: Peer) -> None:
        await peer.receive()
        await peer.send({"setupComplete": {}})
        await peer.receive()
        await peer.close()

    config = {"realtimeInputConfig": {"automaticActivityDetection": {"disabled": True}}}
    async with (
        loopback(anyio_backend, handler) as (url, peers),
        gemini.connect(api_key="k", url=url, session_config=config) as (events, commands),
    ):
        assert commands.manual_activity
        await commands.interrupt()
        assert await collect(events) == []
    assert peers[0].received[1] == {"realtimeInput": {"activityStart": {}}}


# -- connection lifecycle ---------------------------------------------------------------------------


async def test_a_dropped_connection_ends_the_stream_with_a_fatal_error(
    anyio_backend: Backend,
) -> None:
    payloads = trace_payloads("openai_voice_turn")[:6]

    async def handler(peer: Peer) -> None:
        for payload in payloads:
            await peer.send(payload)
        await peer.drop()

    async with (
        loopback(anyio_backend, handler) as (url, _),
        # Without reconnection; the reconnecting case has tests of its own.
        openai.connect(api_key="k", url=url, reconnect=None) as (events, commands),
    ):
        received = await collect(events)
        with pytest.raises(anyio.BrokenResourceError):
            await commands.commit_turn()
    translator = openai.OpenAIRealtimeTranslator()
    *before, last = received
    assert before == [event for payload in payloads for event in translator.translate(payload)]
    assert isinstance(last, ev.ProviderError)
    assert (last.code, last.fatal) == ("connection_lost", True)


async def test_a_clean_close_by_the_server_ends_the_stream_without_an_error(
    anyio_backend: Backend,
) -> None:
    async def handler(peer: Peer) -> None:
        await peer.send({"type": "input_audio_buffer.speech_started", "item_id": "item_1"})
        await peer.close()

    async with (
        loopback(anyio_backend, handler) as (url, _),
        openai.connect(api_key="k", url=url) as (events, _),
    ):
        assert await collect(events) == [ev.TurnStarted()]


async def test_a_message_over_the_size_limit_drops_the_connection(anyio_backend: Backend) -> None:
    big = trace_payloads("openai_voice_turn")
    audio = next(p for p in big if p["type"] == "response.output_audio.delta")

    async def handler(peer: Peer) -> None:
        await peer.send(audio)
        await peer.close_code_seen()

    async with (
        loopback(anyio_backend, handler) as (url, _),
        openai.connect(api_key="k", url=url, max_message_size=1024) as (events, _),
    ):
        received = await collect(events)
    (error,) = received
    assert isinstance(error, ev.ProviderError)
    assert error.fatal
    assert "1009" in error.message


async def test_a_frame_that_is_not_json_is_a_non_fatal_error(anyio_backend: Backend) -> None:
    async def handler(peer: Peer) -> None:
        await peer.send("{not json")
        await peer.send({"type": "input_audio_buffer.speech_started", "item_id": "item_1"})
        await peer.close()

    async with (
        loopback(anyio_backend, handler) as (url, _),
        openai.connect(api_key="k", url=url) as (events, _),
    ):
        first, second = await collect(events)
    assert isinstance(first, ev.ProviderError)
    assert (first.code, first.fatal) == ("invalid_json", False)
    assert second == ev.TurnStarted()


async def test_a_slow_reader_loses_nothing(anyio_backend: Backend) -> None:
    deltas = [
        {
            "type": "response.output_text.delta",
            "event_id": f"event_{n}",
            "response_id": "resp_1",
            "item_id": "item_1",
            "content_index": 0,
            "delta": f"{n} ",
        }
        for n in range(300)
    ]

    async def handler(peer: Peer) -> None:
        for delta in deltas:
            await peer.send(delta)
        await peer.close()

    async with (
        loopback(anyio_backend, handler) as (url, _),
        openai.connect(api_key="k", url=url, buffer=1) as (events, _),
    ):
        received = []
        async for event in events:
            received.append(event)
            if len(received) % 50 == 0:
                await anyio.sleep(0.02)
    assert [e.delta for e in received if isinstance(e, ev.OutputTextDeltaForItem)] == [
        f"{n} " for n in range(300)
    ]


async def test_leaving_the_context_closes_the_socket_cleanly(anyio_backend: Backend) -> None:
    codes: list[int | None] = []
    closed = anyio.Event()

    async def handler(peer: Peer) -> None:
        codes.append(await peer.close_code_seen())
        closed.set()

    async with loopback(anyio_backend, handler) as (url, _):
        async with openai.connect(api_key="k", url=url) as (_, commands):
            await anyio.lowlevel.checkpoint()
        with pytest.raises(anyio.ClosedResourceError):
            await commands.commit_turn()
        with anyio.fail_after(5):
            await closed.wait()
    assert codes == [1000]


async def test_cancelling_the_enclosing_scope_still_closes_the_socket_cleanly(
    anyio_backend: Backend,
) -> None:
    codes: list[int | None] = []
    closed = anyio.Event()

    async def handler(peer: Peer) -> None:
        codes.append(await peer.close_code_seen())
        closed.set()

    async with loopback(anyio_backend, handler) as (url, _):
        with anyio.move_on_after(0.1) as scope:
            async with openai.connect(api_key="k", url=url) as (events, _):
                await events.receive()  # the server says nothing
        assert scope.cancelled_caught
        with anyio.fail_after(5):
            await closed.wait()
    assert codes == [1000]


async def test_closing_the_commands_ends_the_event_stream(anyio_backend: Backend) -> None:
    async def handler(peer: Peer) -> None:
        await peer.close_code_seen()

    async with (
        loopback(anyio_backend, handler) as (url, _),
        openai.connect(api_key="k", url=url) as (events, commands),
    ):
        await commands.aclose()
        assert await collect(events) == []


async def test_an_exception_in_the_body_propagates_unwrapped(anyio_backend: Backend) -> None:
    async def handler(peer: Peer) -> None:
        await peer.close_code_seen()

    async with loopback(anyio_backend, handler) as (url, _):
        with pytest.raises(KeyError, match="boom"):
            async with openai.connect(api_key="k", url=url):
                raise KeyError("boom")


async def test_a_refused_handshake_is_a_connection_error(anyio_backend: Backend) -> None:
    def refuse(connection: Any, request: Request) -> Response:
        response: Response = connection.respond(401, "invalid api key\n")
        return response

    async def handler(peer: Peer) -> None:
        pytest.fail("the handshake should have been refused")

    async with loopback(anyio_backend, handler, process_request=refuse) as (url, _):
        with pytest.raises(ProviderConnectionError, match="401") as caught:
            async with openai.connect(api_key="sk-secret", url=url + "/?key=sk-secret"):
                pass
    # Neither the header nor a credential in the query string shows in the message.
    assert "sk-secret" not in str(caught.value)


async def test_an_unreachable_server_is_a_connection_error(anyio_backend: Backend) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProviderConnectionError, match="could not open"):
        async with openai.connect(api_key="k", url=f"ws://127.0.0.1:{port}"):
            pass


# -- the optional dependency --------------------------------------------------------------------------


async def test_connect_without_websockets_names_the_extra(
    anyio_backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(sys.modules):
        if name == "websockets" or name.startswith("websockets."):
            monkeypatch.setitem(sys.modules, name, None)
    for connect in (openai.connect, gemini.connect):
        with pytest.raises(MissingDependencyError, match=r"pip install -e '\.\[ws\]'") as caught:
            async with connect(api_key="k", url="ws://127.0.0.1:9"):
                pass
        assert isinstance(caught.value, ImportError)
        assert caught.value.extra == "ws"


def test_the_missing_dependency_message_says_what_works_from_a_checkout() -> None:
    # The package is not on PyPI: "pip install 'realtime-session[ws]'" would fail.
    missing = MissingDependencyError("The WebSocket transport", extra="ws", module="websockets")
    assert str(missing) == (
        "The WebSocket transport needs the 'websockets' package, which is not installed; "
        "it comes with the 'ws' extra: pip install -e '.[ws]' (from a checkout of realtime_session)"
    )
    too_old = MissingDependencyError(
        "The WebSocket transport under trio",
        extra="ws",
        module="websockets",
        problem="is installed in a version without its trio implementation",
    )
    assert "pip install -U -e '.[ws]'" in str(too_old)
    assert "realtime-session[" not in str(missing) + str(too_old)


def test_the_package_imports_without_websockets() -> None:
    script = textwrap.dedent(
        """
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "websockets" or name.startswith("websockets."):
                    raise ImportError(f"{name} is blocked")
                return None

        sys.meta_path.insert(0, Block())
        import realtime_session
        import realtime_session.providers
        from realtime_session.providers import gemini, openai, scripted
        assert "websockets" not in sys.modules
        openai.OpenAIRealtimeTranslator(), gemini.GeminiLiveTranslator()
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parents[1],
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# -- secrets in logs ------------------------------------------------------------------------------

OPENAI_KEY = "sk-proj-SECRETSECRETSECRET0123456789"
GEMINI_KEY = "AIzaSECRETSECRETSECRET0123456789"
CARD = "4111-1111-1111-1111"


def debug_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every line logged on the client's side (the loopback server logs for itself)."""
    return [
        logging.Formatter().format(record)
        for record in caplog.records
        if not record.name.startswith("websockets.server")
    ]


async def test_debug_logging_of_an_openai_connection_never_shows_the_key_or_the_traffic(
    anyio_backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    arguments = json.dumps({"card": CARD})

    async def handler(peer: Peer) -> None:
        await peer.receive()  # session.update
        await peer.send(
            {
                "type": "response.function_call_arguments.done",
                "event_id": "event_1",
                "response_id": "resp_1",
                "item_id": "fc_1",
                "output_index": 0,
                "call_id": "call_1",
                "name": "lookup",
                "arguments": arguments,
            }
        )
        await peer.close()

    with caplog.at_level(logging.DEBUG):
        async with (
            loopback(anyio_backend, handler) as (url, _),
            openai.connect(
                api_key=OPENAI_KEY, url=url + "/?key=" + OPENAI_KEY, session_config={"x": CARD}
            ) as (events, _),
        ):
            await collect(events)
    lines = debug_lines(caplog)
    # The library's debug log is on, and shows the handshake and the frames...
    assert any(line.startswith("> GET /") for line in lines)
    assert "> Authorization: [redacted]" in lines
    assert any(line.startswith("> TEXT [") for line in lines)
    assert any(line.startswith("< TEXT [") for line in lines)
    # ...but neither the key, in a header or the query string, nor what was said.
    for line in lines:
        assert OPENAI_KEY not in line
        assert CARD not in line


async def test_debug_logging_of_a_gemini_connection_never_shows_the_key(
    anyio_backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(peer: Peer) -> None:
        await peer.receive()
        for payload in trace_payloads("gemini_voice_turn"):
            await peer.send(json.dumps(payload).encode())
        await peer.close()

    with caplog.at_level(logging.DEBUG):
        async with (
            loopback(anyio_backend, handler) as (url, _),
            gemini.connect(api_key=GEMINI_KEY, url=url) as (events, _),
        ):
            await collect(events)
    lines = debug_lines(caplog)
    assert "> x-goog-api-key: [redacted]" in lines
    assert any(line.startswith("< BINARY [") for line in lines)
    for line in lines:
        assert GEMINI_KEY not in line
