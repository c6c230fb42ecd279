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

from typing import TYPE_CHECKING, TypeAlias, final

import attrs

from ._media import RealtimeAudioChunk as RealtimeAudioChunk
from ._media import RealtimeVideoChunk as RealtimeVideoChunk
from ._transcript_events import ItemDelta, RealtimeTranscriptEvent
from ._turn import StopReason as StopReason
from ._turn import Usage as Usage

if TYPE_CHECKING:
    from . import public

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


class _ProviderEvent:
    """What every provider event can do: say what subscribers see of it."""

    __slots__ = ()

    def to_public_event(self) -> public.RealtimeEvent | None:
        """The public event subscribers see of this one; ``None`` for an internal fact."""
        return to_public_event(self)  # type: ignore[arg-type]


@final
@attrs.frozen(kw_only=True)
class InputTranscriptPartial(_ProviderEvent):
    """An interim user transcript; display only."""

    text: str


@final
@attrs.frozen(kw_only=True)
class InputTranscriptFinal(_ProviderEvent):
    """A final user transcript without provider identity: display only, never canonical."""

    text: str


@final
@attrs.frozen(kw_only=True)
class InputTranscriptFinalForItem(_ProviderEvent):
    """A final user transcript segment of a provider item: it becomes a ``UserMessage``."""

    item_id: str
    previous_item_id: str | None = None
    content_index: int = 0
    text: str


@final
@attrs.frozen(kw_only=True)
class TurnStarted(_ProviderEvent):
    """The user started speaking (voice activity detected)."""


@final
@attrs.frozen(kw_only=True)
class TurnCommitted(_ProviderEvent):
    """The user's input turn was committed."""


@final
@attrs.frozen(kw_only=True)
class TurnCompleted(_ProviderEvent):
    """A model response ended."""

    response_id: str
    stop_reason: StopReason = StopReason.END_TURN
    usage: Usage = Usage()


@final
@attrs.frozen(kw_only=True)
class OutputTextDelta(_ProviderEvent):
    """Display text without identity: published, never part of the transcript."""

    delta: str


@final
@attrs.frozen(kw_only=True)
class OutputTextDeltaForItem(ItemDelta, _ProviderEvent):
    """A display-text delta of an item (the text lane of the transcript)."""


@final
@attrs.frozen(kw_only=True)
class OutputAudioTranscriptDeltaForItem(ItemDelta, _ProviderEvent):
    """A spoken-transcript delta of an item: the text of the audio being generated."""


@final
@attrs.frozen(kw_only=True)
class AssistantTranscriptFinal(_ProviderEvent):
    """The authoritative full spoken text of an item.

    Not published as such: the canonical text reaches subscribers as ``TranscriptCommitted``.
    """

    response_id: str
    item_id: str
    previous_item_id: str | None = None
    content_index: int = 0
    text: str


@final
@attrs.frozen(kw_only=True)
class OutputAudioChunk(_ProviderEvent):
    """Model audio; travels the lossy media lane."""

    chunk: RealtimeAudioChunk
    response_id: str | None = None
    item_id: str | None = None
    content_index: int = 0


@final
@attrs.frozen(kw_only=True)
class OutputVideoChunk(_ProviderEvent):
    """Model video; travels the lossy media lane."""

    chunk: RealtimeVideoChunk
    response_id: str | None = None
    item_id: str | None = None


@final
@attrs.frozen(kw_only=True)
class Interrupted(_ProviderEvent):
    """Barge-in on ``response_id``; ``None`` means every response in flight."""

    response_id: str | None = None


@final
@attrs.frozen(kw_only=True)
class ToolCallRequested(_ProviderEvent):
    """The model asked for a tool.

    ``arguments`` is any JSON value: normally an object; an adapter passes the raw
    string on when the provider's argument text is not valid JSON.
    """

    call_id: str
    tool_name: str
    arguments: JsonValue


@final
@attrs.frozen(kw_only=True)
class AssistantTranscriptTruncated(_ProviderEvent):
    """The provider cut an assistant item at ``audio_played_ms``.

    Without ``truncated_text`` the session estimates the heard prefix from the
    item's audio; without ``response_id`` it looks the response up from the item.
    """

    response_id: str | None = None
    item_id: str
    content_index: int = 0
    audio_played_ms: int
    truncated_text: str | None = None


@final
@attrs.frozen(kw_only=True)
class RealtimeTranscript(_ProviderEvent):
    """A transcript event passed straight to the reducer: an internal ordering fact."""

    event: RealtimeTranscriptEvent


@final
@attrs.frozen(kw_only=True)
class ProviderError(_ProviderEvent):
    """An error the provider reported; ``fatal`` ends the session as ``failed``."""

    code: str
    message: str
    fatal: bool = False


@final
@attrs.frozen(kw_only=True)
class ToolCallCancelled(_ProviderEvent):
    """The provider withdrew a tool call (Gemini ``toolCallCancellation``)."""

    call_id: str


@final
@attrs.frozen(kw_only=True)
class Reconnecting(_ProviderEvent):
    """The provider connection ended (or announced its end); a new one is being opened.

    ``reason`` is ``"go_away"`` (the server announced the end), ``"session_expired"``
    (the connection reached its time limit) or ``"connection_lost"``. User input
    sent from now on is held until the new connection is ready.
    """

    provider: str
    reason: str


@final
@attrs.frozen(kw_only=True)
class Reconnected(_ProviderEvent):
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


@final
@attrs.frozen(kw_only=True)
class ReconnectFailed(_ProviderEvent):
    """No new provider connection could be opened: the session ends as ``failed``.

    ``input_dropped`` counts the input held for the new connection that never came.
    """

    provider: str
    reason: str
    attempts: int
    error: str
    input_dropped: int = 0


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
    """Project a provider event to what subscribers see; ``None`` for internal facts.

    The projection is the event's row of the session's one table of where each
    event goes (``realtime_session._routes``).
    """
    from ._routes import ROUTES  # the table names the classes above: imported once they exist

    return ROUTES[type(event)].to_public(event)
