"""The typed, identity-bearing seam the transcript reducer consumes."""

from __future__ import annotations

import enum
from typing import TypeAlias, final

import attrs

from ._turn import StopReason, Usage


@final
class RealtimeTranscriptRole(enum.Enum):
    """Who an item belongs to."""

    USER = "user"
    ASSISTANT = "assistant"


@final
@attrs.frozen(kw_only=True)
class ItemObserved:
    """Registers an item and its causal predecessor; commits nothing by itself."""

    item_id: str
    previous_item_id: str | None = None
    role: RealtimeTranscriptRole
    response_id: str | None = None


@final
@attrs.frozen(kw_only=True)
class ItemSkipped:
    """A contentless causal anchor (tool call, tool output, system item).

    It takes part in ordering and never produces content.
    """

    item_id: str
    previous_item_id: str | None = None


@final
@attrs.frozen(kw_only=True)
class UserTranscriptFinal:
    """A final user transcript segment."""

    item_id: str
    previous_item_id: str | None = None
    content_index: int = 0
    text: str


@attrs.frozen(kw_only=True)
class ItemDelta:
    """The six fields every delta of an assistant item carries, declared once.

    Subclassed, without a field of their own, by the provider events
    ``OutputTextDeltaForItem`` and ``OutputAudioTranscriptDeltaForItem`` and the
    transcript events ``AssistantTextDelta`` and ``AssistantTranscriptDelta``:
    each remains a final class of its own, equal only to instances of itself,
    with its own wire tag. A base class rather than a shared field list, so that
    type checkers see the fields; attrs generates the same ``__init__``,
    ``__eq__``, ``__hash__`` and ``__repr__`` for a subclass as for a class
    declaring the fields itself, so a delta costs no more to build or read.
    """

    response_id: str
    delta_id: str
    item_id: str
    previous_item_id: str | None = None
    content_index: int = 0
    delta: str


@final
@attrs.frozen(kw_only=True)
class AssistantTextDelta(ItemDelta):
    """A piece of display text (the text output lane, committed as a ``TextBlock``)."""


@final
@attrs.frozen(kw_only=True)
class AssistantTranscriptDelta(ItemDelta):
    """A piece of the spoken transcript (committed as a ``TranscriptBlock``)."""


@final
@attrs.frozen(kw_only=True)
class AssistantTranscriptTruncated:
    """Replaces a spoken segment with the prefix the user actually heard."""

    response_id: str
    item_id: str
    content_index: int = 0
    text: str
    audio_played_ms: int | None = None
    estimated: bool = False


@final
@attrs.frozen(kw_only=True)
class AssistantTranscriptFinalText:
    """The authoritative final spoken text of a segment; replaces its deltas."""

    response_id: str
    item_id: str
    content_index: int = 0
    text: str


@final
@attrs.frozen(kw_only=True)
class AssistantTurnCompleted:
    """The terminal boundary of a response."""

    response_id: str
    stop_reason: StopReason
    usage: Usage | None


@final
@attrs.frozen(kw_only=True)
class AssistantTurnInterrupted:
    """The user barged in before the response finished materializing."""

    response_id: str


@final
@attrs.frozen(kw_only=True)
class AssistantTranscriptHeardInFull:
    """The user heard all of an interrupted item's audio: it keeps its whole text.

    A session applies it at a barge-in, for an item whose playback had reached
    the audio received for it, instead of a truncation that would cut nothing.
    """

    response_id: str
    item_id: str


@final
@attrs.frozen(kw_only=True)
class OrphansReleased:
    """These items stop waiting for predecessors that never came (R11).

    A session applies it when ``orphan_timeout_s`` ran out, naming what
    ``TranscriptReducer.orphan_item_ids()`` returned, and records it, so that a
    replay releases the same items at the same point.
    """

    item_ids: tuple[str, ...]


RealtimeTranscriptEvent: TypeAlias = (
    ItemObserved
    | ItemSkipped
    | UserTranscriptFinal
    | AssistantTextDelta
    | AssistantTranscriptDelta
    | AssistantTranscriptTruncated
    | AssistantTranscriptFinalText
    | AssistantTurnCompleted
    | AssistantTurnInterrupted
    | AssistantTranscriptHeardInFull
    | OrphansReleased
)
