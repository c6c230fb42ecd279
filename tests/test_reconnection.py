"""Sessions that outlive their provider connections, on real WebSocket servers on 127.0.0.1.

Each server plays one script per connection it accepts, so a test can tell
what the client presented on its second connection (a resumption handle, the
session configuration, the conversation restored from the transcript) and in
what order the two connections opened and ended.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from typing import TYPE_CHECKING, Any

import anyio
import attrs
import pytest
from helpers import of_type
from test_reliability_ws_faults import Peer as RawPeer
from test_reliability_ws_faults import RawServer, payloads
from test_ws_transport import Backend, Peer, loopback

from realtime_session import RealtimeSession, SessionFailed, Tool, public
from realtime_session import events as ev
from realtime_session import transcript as tr
from realtime_session.providers import ReconnectPolicy, gemini, openai

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from websockets.http11 import Request, Response

pytestmark = pytest.mark.anyio

BOUND_S = 10.0
FAST = ReconnectPolicy(attempts=3, initial_backoff_s=0.01, max_backoff_s=0.05)
PCM = bytes(4800)  # 100 ms at 24 kHz
PCM_MS = 100.0


def per_connection(
    *scripts: Callable[[Peer], Awaitable[None]],
) -> Callable[[Peer], Awaitable[None]]:
    """A handler playing ``scripts[n]`` on the n-th connection."""
    count = itertools.count()

    async def handler(peer: Peer) -> None:
        await scripts[next(count)](peer)

    return handler


async def send_all(peer: Peer, *messages: dict[str, Any]) -> None:
    for message in messages:
        await peer.send(json.dumps(message).encode())  # Gemini sends binary frames


SETUP_COMPLETE: dict[str, Any] = {"setupComplete": {}}


def handle(name: str) -> dict[str, Any]:
    return {"sessionResumptionUpdate": {"newHandle": name, "resumable": True}}


def heard(text: str) -> dict[str, Any]:
    return {"serverContent": {"inputTranscription": {"text": text, "finished": True}}}


def said(text: str) -> dict[str, Any]:
    audio = {"mimeType": "audio/pcm;rate=24000", "data": base64.b64encode(PCM).decode()}
    return {
        "serverContent": {
            "modelTurn": {"parts": [{"inlineData": audio}]},
            "outputTranscription": {"text": text},
        }
    }


TURN_COMPLETE: dict[str, Any] = {"serverContent": {"turnComplete": True}}


def texts(transcript: tuple[tr.Message, ...]) -> list[tuple[str, str]]:
    return [
        ("user" if isinstance(message, tr.UserMessage) else "assistant", message.text)
        for message in transcript
    ]


async def run_session(
    events: Any, commands: Any, **options: Any
) -> tuple[RealtimeSession, list[public.RealtimeEvent]]:
    session = RealtimeSession(events, commands=commands, **options)
    subscription = session.events(media=False)
    async with session:
        seen = [event async for event in subscription]
    return session, seen


# -- Gemini Live: resumption -------------------------------------------------------------------------


async def test_gemini_go_away_mid_answer_moves_to_a_resumed_connection_before_the_old_ends(
    anyio_backend: Backend,
) -> None:
    setups: list[dict[str, Any]] = []
    order: list[str] = []
    second_opened = anyio.Event()

    async def first(peer: Peer) -> None:
        setups.append((await peer.receive())["setup"])
        await send_all(
            peer,
            SETUP_COMPLETE,
            handle("h-1"),
            heard("What's the weather in Lisbon?"),
            said("It is sunny"),
            {"goAway": {"timeLeft": "10s"}},  # mid-answer: the answer goes on here
            said(" and warm."),
            TURN_COMPLETE,
            handle("h-2"),
        )
        with anyio.fail_after(BOUND_S):
            await second_opened.wait()
        await peer.close()
        order.append("first closed")

    async def second(peer: Peer) -> None:
        order.append("second opened")
        second_opened.set()
        setups.append((await peer.receive())["setup"])
        await send_all(peer, SETUP_COMPLETE, heard("And tomorrow?"), said("Rain."), TURN_COMPLETE)
        await peer.close()

    with anyio.fail_after(BOUND_S * 2):
        async with (
            loopback(anyio_backend, per_connection(first, second)) as (url, _),
            gemini.connect(api_key="k", url=url, reconnect=FAST) as (events, commands),
        ):
            session, seen = await run_session(events, commands)

    assert setups[0]["sessionResumption"] == {}  # asked for in the first setup
    assert setups[1]["sessionResumption"] == {"handle": "h-2"}  # the newest handle
    assert order == ["second opened", "first closed"]
    assert texts(session.transcript) == [
        ("user", "What's the weather in Lisbon?"),
        ("assistant", "It is sunny and warm."),
        ("user", "And tomorrow?"),
        ("assistant", "Rain."),
    ]
    (reconnecting,) = of_type(seen, public.Reconnecting)
    (reconnected,) = of_type(seen, public.Reconnected)
    assert reconnecting == public.Reconnecting(provider="gemini", reason="go_away")
    assert (reconnected.provider, reconnected.reason, reconnected.attempts) == (
        "gemini",
        "go_away",
        1,
    )
    assert seen.index(reconnecting) < seen.index(reconnected)
    assert [e.stop_reason for e in of_type(seen, public.TurnCompleted)] == [
        ev.StopReason.END_TURN,
        ev.StopReason.END_TURN,
    ]
    assert seen[-1] == public.SessionClosed(reason="provider_closed")
    assert session.stats.reconnects == 1


async def test_gemini_drop_without_go_away_reconnects_with_the_handle(
    anyio_backend: Backend,
) -> None:
    setups: list[dict[str, Any]] = []
    played = anyio.Event()

    async def first(peer: Peer) -> None:
        setups.append((await peer.receive())["setup"])
        await send_all(peer, SETUP_COMPLETE, handle("h-1"), heard("Tell me a story."))
        await send_all(peer, said("Once upon a time"))
        with anyio.fail_after(BOUND_S):
            await played.wait()  # the network fails once the user heard the chunk
        await peer.drop()

    async def second(peer: Peer) -> None:
        setups.append((await peer.receive())["setup"])
        await send_all(peer, SETUP_COMPLETE, heard("Shorter, please."), said("The end."))
        await send_all(peer, TURN_COMPLETE)
        await peer.close()

    seen: list[public.RealtimeEvent] = []
    with anyio.fail_after(BOUND_S * 2):
        async with (
            loopback(anyio_backend, per_connection(first, second)) as (url, _),
            gemini.connect(api_key="k", url=url, reconnect=FAST) as (events, commands),
        ):
            session = RealtimeSession(events, commands=commands)
            subscription = session.events()
            async with session:
                async for event in subscription:
                    if isinstance(event, public.OutputAudioChunk):
                        # A player that played each chunk as it came: all of it was heard.
                        assert event.item_id is not None
                        session.report_playback(event.item_id, PCM_MS)
                        played.set()
                    else:
                        seen.append(event)

    assert setups[1]["sessionResumption"] == {"handle": "h-1"}
    assert of_type(seen, public.Reconnecting) == [
        public.Reconnecting(provider="gemini", reason="connection_lost")
    ]
    # The answer cut off by the drop ends as interrupted, kept as it was heard
    # (all of it, here), and the call goes on.
    assert [e.stop_reason for e in of_type(seen, public.TurnCompleted)] == [
        ev.StopReason.CANCELLED,
        ev.StopReason.END_TURN,
    ]
    assert texts(session.transcript) == [
        ("user", "Tell me a story."),
        ("assistant", "Once upon a time"),
        ("user", "Shorter, please."),
        ("assistant", "The end."),
    ]
    assert seen[-1] == public.SessionClosed(reason="provider_closed")


@pytest.mark.parametrize("provider", ["gemini", "openai"])
async def test_a_server_refusing_every_reconnect_fails_the_session_after_the_attempts(
    anyio_backend: Backend, provider: str
) -> None:
    handshakes: list[str] = []

    def refuse_after_the_first(connection: Any, request: Request) -> Response | None:
        handshakes.append(request.path)
        if len(handshakes) == 1:
            return None
        response: Response = connection.respond(503, "overloaded\n")
        return response

    async def first(peer: Peer) -> None:
        if provider == "gemini":
            await peer.receive()
            await send_all(peer, SETUP_COMPLETE, handle("h-1"))
        else:
            await peer.send({"type": "input_audio_buffer.speech_started", "item_id": "item_1"})
        await peer.drop()

    with anyio.fail_after(BOUND_S * 2):
        async with loopback(anyio_backend, first, process_request=refuse_after_the_first) as (
            url,
            _,
        ):
            connect = gemini.connect if provider == "gemini" else openai.connect
            async with connect(api_key="k", url=url, reconnect=FAST) as (events, commands):
                session = RealtimeSession(events, commands=commands)
                subscription = session.events()
                async with session:
                    seen = [event async for event in subscription]
                    with pytest.raises(SessionFailed) as caught:
                        await session.wait_closed()
                    # What the application sends now fails at once, saying why.
                    with pytest.raises(anyio.BrokenResourceError, match="re-established"):
                        await session.send_input(
                            ev.AudioInput(chunk=ev.RealtimeAudioChunk(data=PCM))
                        )

    assert len(handshakes) == 1 + FAST.attempts
    (failed,) = of_type(seen, public.ReconnectFailed)
    assert (failed.provider, failed.reason, failed.attempts) == (
        provider,
        "connection_lost",
        FAST.attempts,
    )
    assert "503" in failed.error
    closed = seen[-1]
    assert isinstance(closed, public.SessionClosed)
    assert closed.reason == "failed"
    assert closed.error is not None
    assert f"{FAST.attempts} reconnection attempt(s) failed" in closed.error
    assert "503" in closed.error
    assert caught.value.error == closed.error


def assert_failed_after(seen: list[public.RealtimeEvent], attempts: int) -> None:
    """The session ended as ``failed``, saying how many attempts it made."""
    closed = seen[-1]
    assert isinstance(closed, public.SessionClosed)
    assert closed.reason == "failed"
    assert closed.error is not None
    assert f"{attempts} reconnection attempt(s) failed" in closed.error


async def answer_the_opening(provider: str, peer: Peer, *, number: int) -> None:
    """Answer a new connection with as little as the provider needs to carry on.

    OpenAI needs nothing: one frame. Gemini is resumed only with a handle, so
    its setup reply comes first.
    """
    if provider == "gemini":
        await peer.receive()
        await send_all(peer, SETUP_COMPLETE, handle(f"h-{number}"))
    else:
        await peer.send({"type": "input_audio_buffer.speech_started", "item_id": f"item_{number}"})


async def session_on(
    backend: Backend,
    handler: Callable[[Peer], Awaitable[None]],
    provider: str,
    policy: ReconnectPolicy,
) -> tuple[RealtimeSession, list[public.RealtimeEvent]]:
    """A session over ``provider``'s ``connect()`` to a server playing ``handler`` on every connection."""
    with anyio.fail_after(BOUND_S):
        async with loopback(backend, handler) as (url, _):
            connect = gemini.connect if provider == "gemini" else openai.connect
            async with connect(api_key="k", url=url, reconnect=policy) as (events, commands):
                return await run_session(events, commands)


@pytest.mark.parametrize("provider", ["gemini", "openai"])
async def test_a_server_dropping_every_connection_at_once_fails_the_session_after_the_attempts(
    anyio_backend: Backend, provider: str
) -> None:
    policy = ReconnectPolicy(attempts=4, initial_backoff_s=0.05, max_backoff_s=0.2)
    opened: list[float] = []

    async def accept_then_drop(peer: Peer) -> None:
        opened.append(anyio.current_time())
        await answer_the_opening(provider, peer, number=len(opened))
        await peer.drop()

    _, seen = await session_on(anyio_backend, accept_then_drop, provider, policy)

    # Every connection carried a frame, none carried the call: each spent an attempt.
    assert len(opened) == 1 + policy.attempts
    (failed,) = of_type(seen, public.ReconnectFailed)
    assert (failed.provider, failed.reason, failed.attempts) == (
        provider,
        "connection_lost",
        policy.attempts,
    )
    assert_failed_after(seen, policy.attempts)
    # The first attempt at once, every later one after its backoff (less at most a quarter).
    for attempt in range(2, policy.attempts + 1):
        least = 0.75 * min(policy.initial_backoff_s * 2 ** (attempt - 2), policy.max_backoff_s)
        assert opened[attempt] - opened[attempt - 1] >= least


@pytest.mark.parametrize("provider", ["gemini", "openai"])
async def test_connections_ending_before_they_are_stable_share_one_give_up_clock(
    anyio_backend: Backend, provider: str
) -> None:
    lives_s = 0.2
    policy = ReconnectPolicy(
        attempts=100,
        initial_backoff_s=0.01,
        max_backoff_s=0.01,
        give_up_after_s=1.0,
        stable_after_s=5.0,
    )
    opened: list[float] = []
    dropped: list[float] = []

    async def carry_a_while_then_drop(peer: Peer) -> None:
        opened.append(anyio.current_time())
        await answer_the_opening(provider, peer, number=len(opened))
        await anyio.sleep(lives_s)
        dropped.append(anyio.current_time())
        await peer.drop()

    _, seen = await session_on(anyio_backend, carry_a_while_then_drop, provider, policy)

    # The clock started at the first loss: each short-lived connection kept it running,
    # and no attempt started later than give_up_after_s after it.
    assert 2 <= len(opened) < policy.attempts
    handshake_s = 0.5  # the server sees a connection a little after the client began it
    assert opened[-1] - dropped[0] <= policy.give_up_after_s + handshake_s
    (failed,) = of_type(seen, public.ReconnectFailed)
    assert failed.attempts == len(opened) - 1
    assert_failed_after(seen, failed.attempts)


@pytest.mark.parametrize("provider", ["gemini", "openai"])
async def test_connections_that_carried_the_call_each_start_the_attempts_afresh(
    anyio_backend: Backend, provider: str
) -> None:
    # A long call: more connection ends than the policy has attempts, each after the
    # connection was up for longer than stable_after_s.
    policy = ReconnectPolicy(attempts=1, initial_backoff_s=0.01, stable_after_s=0.2)
    connections = 4
    opened = 0

    async def carry_then_drop(peer: Peer) -> None:
        nonlocal opened
        opened += 1
        await answer_the_opening(provider, peer, number=opened)
        if opened == connections:
            await peer.close()
            return
        await anyio.sleep(policy.stable_after_s * 2)
        await peer.drop()

    session, seen = await session_on(anyio_backend, carry_then_drop, provider, policy)

    assert [event.attempts for event in of_type(seen, public.Reconnected)] == [1, 1, 1]
    assert not of_type(seen, public.ReconnectFailed)
    assert seen[-1] == public.SessionClosed(reason="provider_closed")
    assert session.stats.reconnects == connections - 1


def audio(n: int) -> ev.AudioInput:
    """A chunk told apart from the others by its content."""
    return ev.AudioInput(chunk=ev.RealtimeAudioChunk(data=bytes([n]) * len(PCM)))


def audio_sent(message: dict[str, Any]) -> int:
    """Which :func:`audio` chunk a Gemini ``realtimeInput`` message carries."""
    return base64.b64decode(message["realtimeInput"]["audio"]["data"])[0]


async def resumable_then_dropped(peer: Peer) -> None:
    await peer.receive()
    await send_all(peer, SETUP_COMPLETE, handle("h-1"))
    await peer.drop()


async def speak_into_the_gap(
    url: str, policy: ReconnectPolicy, spoken: anyio.Event, chunks: int, *, then: int | None = None
) -> tuple[RealtimeSession, list[public.RealtimeEvent]]:
    """A Gemini session whose application sends ``chunks`` chunks when the gap opens.

    ``spoken`` is set once they were sent; chunk ``then``, if any, is sent when
    the session goes on.
    """
    async with gemini.connect(api_key="k", url=url, reconnect=policy) as (events, commands):
        session = RealtimeSession(events, commands=commands)
        subscription = session.events(media=False)
        seen: list[public.RealtimeEvent] = []
        async with session:
            async for event in subscription:
                seen.append(event)
                if isinstance(event, public.Reconnecting):
                    for n in range(1, chunks + 1):
                        await session.send_input(audio(n))
                    spoken.set()
                elif isinstance(event, public.Reconnected) and then is not None:
                    await session.send_input(audio(then))
    return session, seen


async def test_audio_sent_during_the_gap_is_held_and_sent_once_the_oldest_dropped_past_the_bound(
    anyio_backend: Backend,
) -> None:
    # Room for three encoded chunks (base64 and JSON around 4800 bytes), not four.
    policy = attrs.evolve(FAST, max_held_input_bytes=int(3.5 * len(base64.b64encode(PCM))))
    spoken_into_the_gap = anyio.Event()
    second_received: list[dict[str, Any]] = []

    async def second(peer: Peer) -> None:
        await peer.receive()
        with anyio.fail_after(BOUND_S):
            await spoken_into_the_gap.wait()  # the new connection is not ready until then
        await send_all(peer, SETUP_COMPLETE)
        with anyio.move_on_after(0.3):  # everything the client sends, and nothing more
            while True:
                second_received.append(await peer.receive())
        await peer.close()

    with anyio.fail_after(BOUND_S * 2):
        async with loopback(anyio_backend, per_connection(resumable_then_dropped, second)) as (
            url,
            _,
        ):
            # Five chunks into the gap, a sixth once the session goes on.
            session, seen = await speak_into_the_gap(url, policy, spoken_into_the_gap, 5, then=6)

    # The newest three fit: sent in order, once each, then what came after the gap.
    assert [audio_sent(m) for m in second_received] == [3, 4, 5, 6]
    (reconnected,) = of_type(seen, public.Reconnected)
    assert (reconnected.input_held, reconnected.input_dropped) == (3, 2)
    assert (session.stats.gap_input_held, session.stats.gap_input_dropped) == (3, 2)


async def test_audio_held_for_a_connection_that_never_comes_is_counted_as_dropped(
    anyio_backend: Backend,
) -> None:
    policy = attrs.evolve(FAST, attempts=1)
    spoken_into_the_gap = anyio.Event()

    async def second(peer: Peer) -> None:
        await peer.receive()
        with anyio.fail_after(BOUND_S):
            await spoken_into_the_gap.wait()
        await peer.drop()  # before the setup completed: the only attempt failed

    with anyio.fail_after(BOUND_S * 2):
        async with loopback(anyio_backend, per_connection(resumable_then_dropped, second)) as (
            url,
            _,
        ):
            session, seen = await speak_into_the_gap(url, policy, spoken_into_the_gap, 2)

    (failed,) = of_type(seen, public.ReconnectFailed)
    assert failed.input_dropped == 2
    assert (session.stats.gap_input_held, session.stats.gap_input_dropped) == (0, 2)
    assert_failed_after(seen, policy.attempts)


async def test_a_pending_tool_call_is_not_answered_on_a_connection_that_does_not_know_it(
    anyio_backend: Backend,
) -> None:
    reconnected = anyio.Event()
    second_received: list[dict[str, Any]] = []

    async def first(peer: Peer) -> None:
        await peer.receive()
        call = {"functionCalls": [{"id": "fc-1", "name": "book", "args": {"seats": 2}}]}
        await send_all(peer, SETUP_COMPLETE, handle("h-1"), heard("Book it."), {"toolCall": call})
        await peer.drop()

    async def second(peer: Peer) -> None:
        await peer.receive()
        await send_all(peer, SETUP_COMPLETE)
        with anyio.fail_after(BOUND_S):
            await reconnected.wait()
        # Whatever the client sends now; the tool's answer must not be among it.
        with anyio.move_on_after(0.3):
            while True:
                second_received.append(await peer.receive())
        await peer.close()

    async def book(seats: int) -> dict[str, Any]:
        await reconnected.wait()  # the tool finishes after the connection was replaced
        return {"booked": seats}

    tools: dict[str, Tool] = {"book": book}
    with anyio.fail_after(BOUND_S * 2):
        async with (
            loopback(anyio_backend, per_connection(first, second)) as (url, _),
            gemini.connect(api_key="k", url=url, reconnect=FAST) as (events, commands),
        ):
            session = RealtimeSession(events, commands=commands, tools=tools)
            subscription = session.events(media=False)
            seen: list[public.RealtimeEvent] = []
            async with session:
                async for event in subscription:
                    seen.append(event)
                    if isinstance(event, public.Reconnected):
                        reconnected.set()

    assert not [m for m in second_received if "toolResponse" in m]
    # Reported as failed, naming why (the exception's type, as for any failure).
    assert of_type(seen, public.ToolCallFailed) == [
        public.ToolCallFailed(call_id="fc-1", error="could not submit result: StaleToolCallError")
    ]


# -- OpenAI Realtime: reconnect and restore ---------------------------------------------------------


async def test_openai_reset_mid_response_restores_the_conversation_on_a_new_connection(
    anyio_backend: object,
) -> None:
    trace = payloads("openai_voice_turn")
    cut = next(
        i
        for i, p in enumerate(trace)
        if p["type"] == "conversation.item.input_audio_transcription.completed"
    )
    frames = trace[: cut + 1]  # the user's words are final; the answer is still arriving
    answer_item = next(p["item_id"] for p in frames if p["type"] == "response.output_audio.delta")
    config = {"type": "realtime", "instructions": "Be brief."}
    first_update: list[dict[str, Any]] = []
    second_received: list[dict[str, Any]] = []
    accept_second = threading.Event()

    def first(peer: RawPeer) -> None:
        first_update.append(peer.receive())
        for frame in frames:
            peer.send(frame)
        peer.wait_for_go()
        peer.drop(reset=True)

    def second(peer: RawPeer) -> None:
        # The configuration, the two restored items, then the audio held during the gap.
        second_received.extend(peer.receive() for _ in range(4))
        peer.send({"type": "input_audio_buffer.speech_started", "item_id": "item_next"})
        peer.close()

    chunk = ev.AudioInput(chunk=ev.RealtimeAudioChunk(data=PCM))
    with RawServer(first, then=[second], hold_next=accept_second) as server:
        with anyio.fail_after(BOUND_S * 2):
            async with openai.connect(
                api_key="k", url=server.url, session_config=config, reconnect=FAST
            ) as (events, commands):
                session = RealtimeSession(events, commands=commands)
                subscription = session.events(media=False)
                seen: list[public.RealtimeEvent] = []
                async with session:
                    async for event in subscription:
                        seen.append(event)
                        if isinstance(event, public.InputTranscriptFinal):
                            # The user heard 0.3 s of the answer; then the network fails.
                            session.report_playback(answer_item, 300)
                            server.go()
                        elif isinstance(event, public.Reconnecting):
                            # Spoken into the gap: held, and sent once on the new connection.
                            await session.send_input(chunk)
                            accept_second.set()

    assert first_update == [{"type": "session.update", "session": config}]
    update, user_item, assistant_item, held = second_received
    assert update == first_update[0]
    user_message, answer = session.transcript[:2]
    assert isinstance(user_message, tr.UserMessage)
    assert isinstance(answer, tr.AssistantMessage)
    assert user_message.text == "Tell me a fun fact about octopuses."
    # Kept as heard: cut at what 0.3 s of playback carried, not the whole sentence.
    (block,) = answer.blocks
    assert isinstance(block, tr.TranscriptBlock)
    assert block.truncated
    assert block.audio_played_ms == 300
    assert "Octopuses have three hearts and blue blood.".startswith(answer.text)
    assert 0 < len(answer.text) < len("Octopuses have three hearts and blue blood.")
    assert answer.stop_reason is ev.StopReason.CANCELLED
    assert user_item == {
        "type": "conversation.item.create",
        "item": {
            "id": user_message.item_id,
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": user_message.text}],
        },
    }
    assert assistant_item == {
        "type": "conversation.item.create",
        "item": {
            "id": answer_item,
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": answer.text}],
        },
    }
    assert held == {"type": "input_audio_buffer.append", "audio": base64.b64encode(PCM).decode()}
    (reconnected,) = of_type(seen, public.Reconnected)
    assert (reconnected.provider, reconnected.reason) == ("openai", "connection_lost")
    assert (reconnected.input_held, reconnected.input_dropped) == (1, 0)
    assert session.stats.gap_input_held == 1
    assert of_type(seen, public.Interrupted)
    # Nothing was sent to cut the audio on the new connection: it holds only the heard text.
    assert not [m for m in second_received if m.get("type") == "conversation.item.truncate"]
