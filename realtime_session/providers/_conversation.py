"""What a provider session's conversation holds now: one record its translator and its commands share.

A translator turns server messages into events, and writes down here what
they tell about the conversation: the responses in flight, the tool calls
waiting for an answer, the audio formats the session was configured with, the
handle to resume the session with, whether the server announced the end of
the connection. The command object reads the same record to aim its client
messages (which response a cancel names, whether the model may go on after a
tool's answer, whether a call or an item belongs to a connection that was
replaced) and marks in it what it sent. The link between connections reads
it to decide when to move to a new one.

Like the state object shared by the two ends of an anyio memory stream, it is
one object both sides hold; neither reaches into the other. It does no I/O and
reads no clock, so a translator stays pure and testable synchronously.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

import attrs

from .._media import PCM16_MIME_TYPES, base_mime_type
from ._errors import StaleToolCallError, UnsupportedInputError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .. import events as ev

__all__ = ("AudioFormat", "Closing", "ConversationState", "Response")

_PCM: Final = "audio/pcm"


@final
@attrs.frozen
class AudioFormat:
    """An audio format a provider speaks: a mime type and a sample rate.

    ``resamples``: the provider takes input at any rate (the rate travels with
    the audio), rather than at ``sample_rate_hz`` only.
    """

    mime_type: str = _PCM
    sample_rate_hz: int = 24000
    resamples: bool = False

    def check_input(self, chunk: ev.RealtimeAudioChunk) -> None:
        """Refuse input audio in another format: the adapters never resample or transcode.

        :raises UnsupportedInputError: naming the field of ``AudioInput`` at fault.
        """
        given = base_mime_type(chunk.mime_type)
        if not (given in PCM16_MIME_TYPES if self.mime_type == _PCM else given == self.mime_type):
            raise UnsupportedInputError(
                f"AudioInput.chunk.mime_type is {chunk.mime_type!r}; "
                f"the session expects {self.mime_type!r}"
            )
        rate = chunk.sample_rate_hz
        if not self.resamples and rate != self.sample_rate_hz:
            raise UnsupportedInputError(
                f"AudioInput.chunk.sample_rate_hz is {rate}; the session expects "
                f"{self.sample_rate_hz} Hz (the adapter does not resample)"
            )
        if rate <= 0:
            raise UnsupportedInputError(f"AudioInput.chunk.sample_rate_hz is {rate}")
        if chunk.channels != 1:
            raise UnsupportedInputError(
                f"AudioInput.chunk.channels is {chunk.channels}; the session expects mono audio"
            )


@final
@attrs.define(slots=True)
class Response:
    """A response the provider is generating: seen, and not completed yet."""

    id: str
    has_audio: bool = False
    has_tool_call: bool = False
    interrupted: bool = False
    #: Whether a ``response.cancel`` naming it was sent.
    cancel_sent: bool = False
    #: Its output items, in the order they were first named.
    items: list[str] = attrs.Factory(list)


@final
@attrs.frozen
class Closing:
    """The server said it will close the connection: why, and when if it said."""

    #: ``"session_expired"`` (OpenAI's time limit) or ``"go_away"`` (Gemini).
    reason: str
    #: The time left as the server wrote it (``"50s"``), or ``""``.
    time_left: str = ""


@final
class ConversationState:
    """The conversation of one provider session, as its translator has seen it so far.

    Per connection: when a connection ends, :meth:`connection_lost` forgets
    what the next connection will not know, and remembers which calls and
    items belonged to the old one.
    """

    __slots__ = (
        "_audio_items",
        "_calls",
        "_lost_calls",
        "_replaced_items",
        "_restored_items",
        "closing",
        "ga",
        "input_audio",
        "output_audio",
        "responses",
        "responses_created",
        "resumption_handle",
    )

    def __init__(self, *, input_audio: AudioFormat, output_audio: AudioFormat) -> None:
        #: The audio the session sends (checked before it goes out) and receives.
        self.input_audio = input_audio
        self.output_audio = output_audio
        #: Responses seen and not completed yet, in creation order.
        self.responses: dict[str, Response] = {}
        #: How many responses the server announced as created, in all.
        self.responses_created = 0
        #: Set when the server announces it will close the connection.
        self.closing: Closing | None = None
        #: The latest handle to resume the session with on a new connection (Gemini).
        self.resumption_handle: str | None = None
        #: Whether the server speaks OpenAI's GA shape (``None`` until it said).
        self.ga: bool | None = None
        # Calls requested on this connection and not yet settled: call id -> (name,
        # response). Settled is answered for OpenAI, cancelled for Gemini.
        self._calls: dict[str, tuple[str, str | None]] = {}
        self._lost_calls: set[str] = set()
        self._audio_items: set[str] = set()
        self._replaced_items: set[str] = set()
        self._restored_items: set[str] = set()

    # -- responses ------------------------------------------------------------------

    @property
    def response_in_flight(self) -> bool:
        """Whether some response was seen and has not completed."""
        return bool(self.responses)

    def take_cancel_target(self) -> str | None:
        """The response a cancel should name now, marked as cancelled.

        An interrupted response that was not cancelled yet comes first (a delayed
        cancel must not hit the response that replaced it), then the newest
        response in flight. ``None`` when no response is waiting for a cancel.
        """
        for response in self.responses.values():
            if response.interrupted and not response.cancel_sent:
                response.cancel_sent = True
                return response.id
        for response in reversed(self.responses.values()):
            if not response.cancel_sent:
                response.cancel_sent = True
                return response.id
        return None

    # -- tool calls -----------------------------------------------------------------

    @property
    def calls_open(self) -> bool:
        """Whether a tool call of this connection is not settled yet."""
        return bool(self._calls)

    def call_requested(self, call_id: str, name: str, response_id: str | None) -> None:
        """The session was asked to run ``call_id``."""
        self._calls[call_id] = (name, response_id)

    def call_answered(self, call_id: str) -> bool:
        """Settle ``call_id``; ``True`` when no call of its response waits any more.

        The model should go on once every call of a response has an answer, so
        that it sees all the results in one go.
        """
        call = self._calls.pop(call_id, None)
        if call is None or call[1] is None:
            return True
        return all(response_id != call[1] for _, response_id in self._calls.values())

    def call_cancelled(self, call_id: str) -> None:
        """The server withdrew ``call_id``."""
        self._calls.pop(call_id, None)

    def tool_name(self, call_id: str) -> str | None:
        """The function name of an unsettled call of this connection, if known."""
        call = self._calls.get(call_id)
        return call[0] if call is not None else None

    def check_answerable(self, call_id: str, *, provider: str) -> None:
        """Refuse to answer a call of a connection that was replaced.

        :raises StaleToolCallError: the current connection does not know the call.
        """
        if call_id in self._lost_calls:
            raise StaleToolCallError(call_id, provider=provider)

    def call_lost(self, call_id: str) -> bool:
        """Whether ``call_id`` was requested on a connection that has since ended."""
        return call_id in self._lost_calls

    # -- items ----------------------------------------------------------------------

    def audio_item(self, item_id: str) -> None:
        """The model spoke in ``item_id`` on this connection."""
        self._audio_items.add(item_id)

    def item_replaced(self, item_id: str) -> bool:
        """Whether ``item_id`` was an audio item of a connection that has since ended."""
        return item_id in self._replaced_items

    def items_restored(self, item_ids: Iterable[str]) -> None:
        """A new connection was given these items from the transcript (OpenAI).

        The server echoes each as ``conversation.item.created``; they are in the
        transcript already, so the echo yields nothing.
        """
        self._restored_items.update(item_ids)

    def was_restored(self, item_id: str) -> bool:
        """Whether ``item_id`` came to this connection from the transcript, not the model."""
        return item_id in self._restored_items

    # -- connections ----------------------------------------------------------------

    def connection_lost(self, *, unrequested_calls: Iterable[str] = ()) -> None:
        """Forget the connection that ended; its calls and items stay known as lost.

        ``unrequested_calls`` are calls of that connection the session never saw
        requested; an answer to them is refused too. The responses in flight are
        the translator's to close first.
        """
        self._lost_calls.update(self._calls)
        self._lost_calls.update(unrequested_calls)
        self._calls.clear()
        self._replaced_items.update(self._audio_items)
        self._audio_items.clear()
        self._restored_items.clear()
        self.closing = None
