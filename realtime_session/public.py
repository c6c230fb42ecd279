"""Public events: what subscribers of a session receive.

These keep the identity a consumer needs (response and item ids) and leave out
internal ordering facts and sensitive data: tool arguments are never public.
Provider events become public events through
:func:`realtime_session.events.to_public_event`; the rest are minted by the
session itself (commits, drops, tool outcomes, the close).
"""

from __future__ import annotations

from typing import TypeAlias, final

import attrs

from ._media import RealtimeAudioChunk, RealtimeVideoChunk
from ._messages import Message
from ._turn import StopReason, Usage

__all__ = (
    "InputTranscriptPartial",
    "InputTranscriptFinal",
    "TurnStarted",
    "TurnCommitted",
    "TurnCompleted",
    "OutputTextDelta",
    "OutputAudioTranscriptDelta",
    "OutputAudioChunk",
    "OutputVideoChunk",
    "Interrupted",
    "ToolCallRequested",
    "AssistantTranscriptTruncated",
    "ProviderError",
    "ToolCallCancelled",
    "TranscriptCommitted",
    "TranscriptRevised",
    "MediaDropped",
    "ToolCallCompleted",
    "ToolCallFailed",
    "ToolCallTimedOut",
    "SessionClosed",
    "RecordingFailed",
    "Reconnecting",
    "Reconnected",
    "ReconnectFailed",
    "ResponseLatency",
    "RealtimeEvent",
)


@final
@attrs.frozen(kw_only=True)
class InputTranscriptPartial:
    """An interim transcript of what the user is saying; it may still change."""

    text: str


@final
@attrs.frozen(kw_only=True)
class InputTranscriptFinal:
    """The final transcript of a user utterance, with its item id when the provider gave one."""

    text: str
    item_id: str | None = None


@final
@attrs.frozen(kw_only=True)
class TurnStarted:
    """The user started speaking."""


@final
@attrs.frozen(kw_only=True)
class TurnCommitted:
    """The user's turn was committed to the conversation."""


@final
@attrs.frozen(kw_only=True)
class TurnCompleted:
    """A model response ended; every stop reason is published, ``cancelled`` included."""

    response_id: str
    stop_reason: StopReason = StopReason.END_TURN
    usage: Usage = Usage()


@final
@attrs.frozen(kw_only=True)
class OutputTextDelta:
    """A piece of display text from the model."""

    delta: str
    response_id: str | None = None
    item_id: str | None = None


@final
@attrs.frozen(kw_only=True)
class OutputAudioTranscriptDelta:
    """A piece of the transcript of the model's speech: captions."""

    delta: str
    response_id: str
    item_id: str


@final
@attrs.frozen(kw_only=True)
class OutputAudioChunk:
    """Model audio. Media events may be dropped for a slow subscriber (see ``MediaDropped``)."""

    chunk: RealtimeAudioChunk
    response_id: str | None = None
    item_id: str | None = None
    content_index: int = 0


@final
@attrs.frozen(kw_only=True)
class OutputVideoChunk:
    """Model video. Media events may be dropped for a slow subscriber (see ``MediaDropped``)."""

    chunk: RealtimeVideoChunk
    response_id: str | None = None
    item_id: str | None = None


@final
@attrs.frozen(kw_only=True)
class Interrupted:
    """The user barged in on ``response_id`` (``None``: on whatever was in flight).

    Queued media of that response has been flushed from every subscription.
    """

    response_id: str | None = None


@final
@attrs.frozen(kw_only=True)
class ToolCallRequested:
    """The model asked for a tool. Its arguments stay private to the session."""

    call_id: str
    tool_name: str


@final
@attrs.frozen(kw_only=True)
class AssistantTranscriptTruncated:
    """The provider cut an assistant item at the playback position the user heard."""

    item_id: str
    audio_played_ms: int
    truncated_text: str | None = None


@final
@attrs.frozen(kw_only=True)
class ProviderError:
    """An error the provider reported. A fatal one also ends the session as ``failed``."""

    code: str
    message: str
    fatal: bool = False


@final
@attrs.frozen(kw_only=True)
class ToolCallCancelled:
    """The provider withdrew a tool call; the session cancelled the running tool."""

    call_id: str


@final
@attrs.frozen(kw_only=True)
class TranscriptCommitted:
    """A canonical message joined the transcript."""

    message: Message


@final
@attrs.frozen(kw_only=True)
class TranscriptRevised:
    """A committed spoken message was cut to what the user heard; ``message`` replaces it."""

    item_id: str
    message: Message


@final
@attrs.frozen(kw_only=True)
class MediaDropped:
    """Gap marker: this subscription lost ``dropped`` media chunks since its previous marker.

    It stands where the lost chunks stood. ``dropped_ms`` sums the duration of the
    lost audio (chunks without a known duration add nothing).
    """

    dropped: int
    dropped_ms: float


@final
@attrs.frozen(kw_only=True)
class ToolCallCompleted:
    """A tool returned and its result was submitted to the provider."""

    call_id: str


@final
@attrs.frozen(kw_only=True)
class ToolCallFailed:
    """A tool call failed: an unknown tool, arguments that are not an object, an
    exception, a result JSON cannot carry, or the session closed while it ran.

    ``error`` is what the model was told too (nothing is submitted when the
    session closed). It names an exception by its type only (``tool 'lookup'
    raised KeyError``), since exception text routinely carries the call's
    arguments, unless the tool raised :class:`~realtime_session.ToolError`,
    whose message is meant for display and is ``error`` as it is.
    """

    call_id: str
    error: str


@final
@attrs.frozen(kw_only=True)
class ToolCallTimedOut:
    """A tool ran past ``tool_timeout_s``; it was cancelled and an error was submitted."""

    call_id: str
    elapsed_ms: int


@final
@attrs.frozen(kw_only=True)
class SessionClosed:
    """The last event of every subscription.

    ``reason`` is ``"provider_closed"`` (the provider stream ended), ``"closed"``
    (the application closed the session) or ``"failed"`` (``error`` says why).
    """

    reason: str
    error: str | None = None


@final
@attrs.frozen(kw_only=True)
class RecordingFailed:
    """The session's recording (``SessionConfig.record_to``) could not be written.

    Published once, when the first write (or the opening of the file) fails;
    ``error`` is the cause (the operating system's message, such as ``[Errno 28]
    No space left on device``). The recording stops there. Unless ``fatal``, the
    call goes on unrecorded; with ``SessionConfig(recording_required=True)`` the
    failure is ``fatal`` and the session ends ``failed`` right after it.
    """

    error: str
    fatal: bool = False


@final
@attrs.frozen(kw_only=True)
class Reconnecting:
    """The provider connection ended or announced its end; the session is opening a new one.

    ``reason``: ``"go_away"``, ``"session_expired"`` or ``"connection_lost"``.
    Audio sent until ``Reconnected`` is held and sent on the new connection.
    """

    provider: str
    reason: str


@final
@attrs.frozen(kw_only=True)
class Reconnected:
    """The session goes on over a new provider connection, transcript intact.

    ``gap_ms``: how long no connection carried the session; ``attempts``:
    connections tried; ``input_held``: input messages held during the gap and
    sent on the new connection (once); ``input_dropped``: held input dropped
    because the hold was full.
    """

    provider: str
    reason: str
    gap_ms: int
    attempts: int
    input_held: int = 0
    input_dropped: int = 0


@final
@attrs.frozen(kw_only=True)
class ReconnectFailed:
    """No new provider connection could be opened; ``SessionClosed(failed)`` follows.

    ``input_dropped``: input held for the new connection that never came.
    """

    provider: str
    reason: str
    attempts: int
    error: str
    input_dropped: int = 0


@final
@attrs.frozen(kw_only=True)
class ResponseLatency:
    """How fast a response came, as a voice bot is judged; published when the response ends.

    The times are milliseconds from ``since``: ``"turn_committed"``, when the
    user's turn was committed (the provider's commit, or ``commit_turn()`` or a
    text input sent through the session); or ``"tool_result"``, when the
    response continues a tool call, from the last tool answer submitted. A
    response that answers neither (as far as the session saw) has no figures,
    and the session publishes none for it. ``first_audio_ms`` is ``None`` for a
    response without audio, ``first_text_ms`` for one without caption or text. ``tool_ms`` is how long the tools this response
    waited for took, from the first request to the last answer.
    """

    response_id: str
    stop_reason: StopReason = StopReason.END_TURN
    since: str | None = None
    first_audio_ms: float | None = None
    first_text_ms: float | None = None
    completed_ms: float | None = None
    tool_ms: float | None = None


RealtimeEvent: TypeAlias = (
    InputTranscriptPartial
    | InputTranscriptFinal
    | TurnStarted
    | TurnCommitted
    | TurnCompleted
    | OutputTextDelta
    | OutputAudioTranscriptDelta
    | OutputAudioChunk
    | OutputVideoChunk
    | Interrupted
    | ToolCallRequested
    | AssistantTranscriptTruncated
    | ProviderError
    | ToolCallCancelled
    | TranscriptCommitted
    | TranscriptRevised
    | MediaDropped
    | ToolCallCompleted
    | ToolCallFailed
    | ToolCallTimedOut
    | SessionClosed
    | RecordingFailed
    | Reconnecting
    | Reconnected
    | ReconnectFailed
    | ResponseLatency
)
