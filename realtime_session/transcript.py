"""The transcript lane: transcript events, canonical messages and the reducer.

:class:`TranscriptReducer` turns a stream of :data:`RealtimeTranscriptEvent`
into the canonical conversation, a tuple of :data:`Message`: deduplicated,
causally ordered, and cut to what the user actually heard.
"""

from __future__ import annotations

from ._messages import AssistantMessage as AssistantMessage
from ._messages import Block as Block
from ._messages import Committed as Committed
from ._messages import Message as Message
from ._messages import Revised as Revised
from ._messages import TextBlock as TextBlock
from ._messages import TranscriptBlock as TranscriptBlock
from ._messages import TranscriptChange as TranscriptChange
from ._messages import UserMessage as UserMessage
from ._reducer import TranscriptReducer as TranscriptReducer
from ._reducer import UnheardPolicy as UnheardPolicy
from ._transcript_events import AssistantTextDelta as AssistantTextDelta
from ._transcript_events import AssistantTranscriptDelta as AssistantTranscriptDelta
from ._transcript_events import AssistantTranscriptFinalText as AssistantTranscriptFinalText
from ._transcript_events import (
    AssistantTranscriptHeardInFull as AssistantTranscriptHeardInFull,
)
from ._transcript_events import AssistantTranscriptTruncated as AssistantTranscriptTruncated
from ._transcript_events import AssistantTurnCompleted as AssistantTurnCompleted
from ._transcript_events import AssistantTurnInterrupted as AssistantTurnInterrupted
from ._transcript_events import ItemObserved as ItemObserved
from ._transcript_events import ItemSkipped as ItemSkipped
from ._transcript_events import OrphansReleased as OrphansReleased
from ._transcript_events import RealtimeTranscriptEvent as RealtimeTranscriptEvent
from ._transcript_events import RealtimeTranscriptRole as RealtimeTranscriptRole
from ._transcript_events import UserTranscriptFinal as UserTranscriptFinal

__all__ = (
    "RealtimeTranscriptRole",
    "ItemObserved",
    "ItemSkipped",
    "UserTranscriptFinal",
    "AssistantTextDelta",
    "AssistantTranscriptDelta",
    "AssistantTranscriptTruncated",
    "AssistantTranscriptFinalText",
    "AssistantTurnCompleted",
    "AssistantTurnInterrupted",
    "AssistantTranscriptHeardInFull",
    "OrphansReleased",
    "RealtimeTranscriptEvent",
    "UserMessage",
    "AssistantMessage",
    "TextBlock",
    "TranscriptBlock",
    "Block",
    "Message",
    "Committed",
    "Revised",
    "TranscriptChange",
    "TranscriptReducer",
    "UnheardPolicy",
)
