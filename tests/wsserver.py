"""A WebSocket server that replays a provider trace and waits where a real server would.

A script is a sequence of steps: a server message to send, an :class:`Expect`
(hold until the client has sent a certain message, optionally answering it),
a :class:`Hold` (hold until the test says the user did something, such as
talking over the model), or :data:`SETTLE` (hold until the client has done
all it does without hearing more from the server). The server records every client message with how
far the script had got when it arrived, then closes the connection cleanly
after the last step.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeAlias, final

import anyio
import attrs
from websockets.exceptions import ConnectionClosed

if TYPE_CHECKING:
    from test_ws_transport import Peer

Message: TypeAlias = dict[str, Any]

_STEP_TIMEOUT_S: Final = 10.0


def _no_reply(message: Message) -> list[Message]:
    return []


@final
@attrs.frozen
class Expect:
    """Hold the script until the client has sent a message that ``matches`` accepts.

    Each client message satisfies at most one expectation; expectations may be
    met in any order (a message that arrived early counts). ``reply`` builds
    what the server sends back for the matched message, e.g. a confirmation
    that echoes the client's values.
    """

    what: str
    matches: Callable[[Message], bool]
    reply: Callable[[Message], list[Message]] = _no_reply


@final
@attrs.frozen
class Hold:
    """Hold the script until ``released`` is set: something the user does, not the client."""

    what: str
    released: anyio.Event


@final
@attrs.frozen
class Settle:
    """Hold the script until every task is blocked: client and server alike.

    Whatever the client sends on its own accord, before the next server
    message, has then arrived and is stamped as sent before that message.
    """


SETTLE: Final = Settle()


@final
@attrs.frozen
class Pause:
    """Hold the script for ``seconds``: the time a model takes, or a user takes to cut in."""

    seconds: float


Step: TypeAlias = Message | Expect | Hold | Settle | Pause


def client_sent(event_type: str) -> Callable[[Message], bool]:
    """A matcher for the OpenAI client event of type ``event_type``."""
    return lambda message: message.get("type") == event_type


@final
@attrs.frozen
class ClientMessage:
    """A message the client sent, and how many scripted messages had gone out before it arrived."""

    message: Message
    after_sent: int


@final
class ScriptedServer:
    """The handler of one connection of a ``loopback`` server, playing ``script``.

    With ``binary`` the server sends its messages as binary frames (as Gemini
    Live does). A step that is not met within 10 s ends the script: the
    server records why in :attr:`failure` and closes the connection, so the
    client side ends instead of hanging.
    """

    def __init__(self, script: Sequence[Step], *, binary: bool = False) -> None:
        self._script = tuple(script)
        self._binary = binary
        self._sent = 0
        self._claimed: set[int] = set()
        self._arrived = anyio.Event()
        self.received: list[ClientMessage] = []
        self.failure: str | None = None

    @property
    def messages(self) -> list[Message]:
        """Every client message, in arrival order."""
        return [received.message for received in self.received]

    async def __call__(self, peer: Peer) -> None:
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(self._read, peer)
            try:
                await self._play(peer)
            except TimeoutError as exc:
                self.failure = str(exc)
            # Closing ends the reader too, once the client has answered the close.
            await peer.close()

    async def _read(self, peer: Peer) -> None:
        try:
            while True:
                message = await peer.receive()
                self.received.append(ClientMessage(message=message, after_sent=self._sent))
                arrived, self._arrived = self._arrived, anyio.Event()
                arrived.set()
        except ConnectionClosed:
            return

    async def _play(self, peer: Peer) -> None:
        for step in self._script:
            if isinstance(step, Expect):
                await self._expect(peer, step)
            elif isinstance(step, Settle):
                await anyio.wait_all_tasks_blocked()
            elif isinstance(step, Pause):
                await anyio.sleep(step.seconds)
            elif isinstance(step, Hold):
                with anyio.move_on_after(_STEP_TIMEOUT_S) as scope:
                    await step.released.wait()
                if scope.cancelled_caught:
                    raise TimeoutError(f"the test never released the hold: {step.what}")
            else:
                await self._send(peer, step)

    async def _send(self, peer: Peer, message: Message) -> None:
        # Counted before it goes out: a client message that answers this one
        # can only arrive afterwards, so it is stamped with the new count.
        self._sent += 1
        await peer.send(json.dumps(message).encode() if self._binary else message)

    async def _expect(self, peer: Peer, step: Expect) -> None:
        with anyio.move_on_after(_STEP_TIMEOUT_S):
            while True:
                arrived = self._arrived
                for index, received in enumerate(self.received):
                    if index not in self._claimed and step.matches(received.message):
                        self._claimed.add(index)
                        for answer in step.reply(received.message):
                            await self._send(peer, answer)
                        return
                await arrived.wait()
        raise TimeoutError(f"the client never sent {step.what}; it sent {self.messages}")
