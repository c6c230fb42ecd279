"""Provider-neutral events: what a provider adapter writes to the session's stream.

An adapter (see :mod:`realtime_session.providers`) translates the provider's
wire events into these; the session routes media chunks through its lossy
media lane and everything else through the lossless transcript lane.

Events that carry ``*ForItem`` identity (item ids, predecessors, delta ids)
feed the canonical transcript; the identity-less ``InputTranscriptFinal`` and
``OutputTextDelta`` are display-only. Every class projects to what subscribers
see with :meth:`to_public_event` (``None`` for internal facts).
"""

from __future__ import annotations

from typing import TypeAlias, final

import attrs

from . import public
from ._media import RealtimeAudioChunk as RealtimeAudioChunk
from ._media import RealtimeVideoChunk as RealtimeVideoChunk
from ._transcript_events import ItemDelta, RealtimeTranscriptEvent
from ._turn import StopReason as StopReason
from ._turn import Usage as Usage

__all__ = (
    "InputTranscriptPartial",
    "InputTranscriptFinal",
    "InputTranscriptFinalForItem",
    "TurnStarted",
    "TurnCommitted",
    "TurnCompleted",
    "OutputTextDelta",
    "OutputTextDeltaForItem",
    "OutputAudioTranscriptDeltaForItem",
    "AssistantTranscriptFinal",
    "OutputAudioChunk",
    "OutputVideoChunk",
    "Interrupted",
    "ToolCallRequested",
    "AssistantTranscriptTruncated",
    "RealtimeTranscript",
    "ProviderError",
    "ToolCallCancelled",
    "Reconnecting",
    "Reconnected",
    "ReconnectFailed",
    "RealtimeSessionEvent",
    "RealtimeAudioChunk",
    "RealtimeVideoChunk",
    "StopReason",
    "Usage",
    "TextInput",
    "AudioInput",
    "VideoInput",
    "RealtimeInputChunk",
    "JsonValue",
    "to_public_event",
)

JsonValue: TypeAlias = "dict[str, JsonValue] | list[JsonValue] | str | int | float | bool | None"

# Identity-free public events are immutable and equal to one another, so one instance serves all.
_PUBLIC_TURN_STARTED = public.TurnStarted()
_PUBLIC_TURN_COMMITTED = public.TurnCommitted()


@final
@attrs.frozen(kw_only=True)
class InputTranscriptPartial:
    """An interim user transcript; display only."""

    text: str

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.InputTranscriptPartial(text=self.text)


@final
@attrs.frozen(kw_only=True)
class InputTranscriptFinal:
    """A final user transcript without provider identity: display only, never canonical."""

    text: str

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.InputTranscriptFinal(text=self.text)


@final
@attrs.frozen(kw_only=True)
class InputTranscriptFinalForItem:
    """A final user transcript segment of a provider item: it becomes a ``UserMessage``."""

    item_id: str
    previous_item_id: str | None = None
    content_index: int = 0
    text: str

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.InputTranscriptFinal(text=self.text, item_id=self.item_id)


@final
@attrs.frozen(kw_only=True)
class TurnStarted:
    """The user started speaking (voice activity detected)."""

    def to_public_event(self) -> public.RealtimeEvent | None:
        return _PUBLIC_TURN_STARTED


@final
@attrs.frozen(kw_only=True)
class TurnCommitted:
    """The user's input turn was committed."""

    def to_public_event(self) -> public.RealtimeEvent | None:
        return _PUBLIC_TURN_COMMITTED


@final
@attrs.frozen(kw_only=True)
class TurnCompleted:
    """A model response ended."""

    response_id: str
    stop_reason: StopReason = StopReason.END_TURN
    usage: Usage = Usage()

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.TurnCompleted(
            response_id=self.response_id, stop_reason=self.stop_reason, usage=self.usage
        )


@final
@attrs.frozen(kw_only=True)
class OutputTextDelta:
    """Display text without identity: published, never part of the transcript."""

    delta: str

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.OutputTextDelta(delta=self.delta)


@final
@attrs.frozen(kw_only=True)
class OutputTextDeltaForItem(ItemDelta):
    """A display-text delta of an item (the text lane of the transcript)."""

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.OutputTextDelta(
            delta=self.delta, response_id=self.response_id, item_id=self.item_id
        )


@final
@attrs.frozen(kw_only=True)
class OutputAudioTranscriptDeltaForItem(ItemDelta):
    """A spoken-transcript delta of an item: the text of the audio being generated."""

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.OutputAudioTranscriptDelta(
            delta=self.delta, response_id=self.response_id, item_id=self.item_id
        )


@final
@attrs.frozen(kw_only=True)
class AssistantTranscriptFinal:
    """The authoritative full spoken text of an item.

    Not published as such: the canonical text reaches subscribers as ``TranscriptCommitted``.
    """

    response_id: str
    item_id: str
    previous_item_id: str | None = None
    content_index: int = 0
    text: str

    def to_public_event(self) -> public.RealtimeEvent | None:
        return None


@final
@attrs.frozen(kw_only=True)
class OutputAudioChunk:
    """Model audio; travels the lossy media lane."""

    chunk: RealtimeAudioChunk
    response_id: str | None = None
    item_id: str | None = None
    content_index: int = 0

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.OutputAudioChunk(
            chunk=self.chunk,
            response_id=self.response_id,
            item_id=self.item_id,
            content_index=self.content_index,
        )


@final
@attrs.frozen(kw_only=True)
class OutputVideoChunk:
    """Model video; travels the lossy media lane."""

    chunk: RealtimeVideoChunk
    response_id: str | None = None
    item_id: str | None = None

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.OutputVideoChunk(
            chunk=self.chunk, response_id=self.response_id, item_id=self.item_id
        )


@final
@attrs.frozen(kw_only=True)
class Interrupted:
    """Barge-in on ``response_id``; ``None`` means every response in flight."""

    response_id: str | None = None

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.Interrupted(response_id=self.response_id)


@final
@attrs.frozen(kw_only=True)
class ToolCallRequested:
    """The model asked for a tool.

    ``arguments`` is any JSON value: normally an object; an adapter passes the raw
    string on when the provider's argument text is not valid JSON.
    """

    call_id: str
    tool_name: str
    arguments: JsonValue

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.ToolCallRequested(call_id=self.call_id, tool_name=self.tool_name)


@final
@attrs.frozen(kw_only=True)
class AssistantTranscriptTruncated:
    """The provider cut an assistant item at ``audio_played_ms``.

    Without ``truncated_text`` the session estimates the heard prefix from the
    item's audio; without ``response_id`` it looks the response up from the item.
    """

    response_id: str | None = None
    item_id: str
    content_index: int = 0
    audio_played_ms: int
    truncated_text: str | None = None

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.AssistantTranscriptTruncated(
            item_id=self.item_id,
            audio_played_ms=self.audio_played_ms,
            truncated_text=self.truncated_text,
        )


@final
@attrs.frozen(kw_only=True)
class RealtimeTranscript:
    """A transcript event passed straight to the reducer: an internal ordering fact."""

    event: RealtimeTranscriptEvent

    def to_public_event(self) -> public.RealtimeEvent | None:
        return None


@final
@attrs.frozen(kw_only=True)
class ProviderError:
    """An error the provider reported; ``fatal`` ends the session as ``failed``."""

    code: str
    message: str
    fatal: bool = False

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.ProviderError(code=self.code, message=self.message, fatal=self.fatal)


@final
@attrs.frozen(kw_only=True)
class ToolCallCancelled:
    """The provider withdrew a tool call (Gemini ``toolCallCancellation``)."""

    call_id: str

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.ToolCallCancelled(call_id=self.call_id)


@final
@attrs.frozen(kw_only=True)
class Reconnecting:
    """The provider connection ended (or announced its end); a new one is being opened.

    ``reason`` is ``"go_away"`` (the server announced the end), ``"session_expired"``
    (the connection reached its time limit) or ``"connection_lost"``. User input
    sent from now on is held until the new connection is ready.
    """

    provider: str
    reason: str

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.Reconnecting(provider=self.provider, reason=self.reason)


@final
@attrs.frozen(kw_only=True)
class Reconnected:
    """The session goes on over a new provider connection.

    ``gap_ms`` is how long no connection carried the session; ``input_held``
    counts the input messages held meanwhile (sent on the new connection, once),
    ``input_dropped`` those dropped because the hold was full. With
    ``restore_conversation`` the new connection starts empty, and the session
    restores the conversation from its transcript through the commands.
    """

    provider: str
    reason: str
    gap_ms: int
    attempts: int
    input_held: int = 0
    input_dropped: int = 0
    restore_conversation: bool = False

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.Reconnected(
            provider=self.provider,
            reason=self.reason,
            gap_ms=self.gap_ms,
            attempts=self.attempts,
            input_held=self.input_held,
            input_dropped=self.input_dropped,
        )


@final
@attrs.frozen(kw_only=True)
class ReconnectFailed:
    """No new provider connection could be opened: the session ends as ``failed``.

    ``input_dropped`` counts the input held for the new connection that never came.
    """

    provider: str
    reason: str
    attempts: int
    error: str
    input_dropped: int = 0

    def to_public_event(self) -> public.RealtimeEvent | None:
        return public.ReconnectFailed(
            provider=self.provider,
            reason=self.reason,
            attempts=self.attempts,
            error=self.error,
            input_dropped=self.input_dropped,
        )


RealtimeSessionEvent: TypeAlias = (
    InputTranscriptPartial
    | InputTranscriptFinal
    | InputTranscriptFinalForItem
    | TurnStarted
    | TurnCommitted
    | TurnCompleted
    | OutputTextDelta
    | OutputTextDeltaForItem
    | OutputAudioTranscriptDeltaForItem
    | AssistantTranscriptFinal
    | OutputAudioChunk
    | OutputVideoChunk
    | Interrupted
    | ToolCallRequested
    | AssistantTranscriptTruncated
    | RealtimeTranscript
    | ProviderError
    | ToolCallCancelled
    | Reconnecting
    | Reconnected
    | ReconnectFailed
)


@final
@attrs.frozen(kw_only=True)
class TextInput:
    """Text the application sends to the model."""

    text: str


@final
@attrs.frozen(kw_only=True)
class AudioInput:
    """Microphone audio the application sends to the model."""

    chunk: RealtimeAudioChunk


@final
@attrs.frozen(kw_only=True)
class VideoInput:
    """A camera frame the application sends to the model."""

    chunk: RealtimeVideoChunk


RealtimeInputChunk: TypeAlias = TextInput | AudioInput | VideoInput


def to_public_event(event: RealtimeSessionEvent) -> public.RealtimeEvent | None:
    """Project a provider event to what subscribers see; ``None`` for internal facts."""
    return event.to_public_event()
