"""Where each provider event goes: its transcript events and its public event, in one table.

:data:`ROUTES` has one row per :data:`~realtime_session.events.RealtimeSessionEvent`
class. A row says what the event becomes on the transcript lane (the transcript
events the reducer applies) and what subscribers see of it (its public event,
or ``None`` for an internal fact). Adding an event is adding a row. The session
makes its handler of each event type from its row, once, and adds only what it
does besides the mapping (latency, playback, tools, connections);
``to_public_event`` reads the same rows.

Two more mappings sit beside the table because the session applies them to
what the reducer returns: :func:`change_event` (a commit or revision) and
:func:`announcement` (a transcript fact the session applied on its own).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar, final

import attrs

from . import events as ev
from . import public
from . import transcript as tr

if TYPE_CHECKING:
    from collections.abc import Iterable

_E = TypeVar("_E")


class SessionFacts(Protocol):
    """What two translations need to know of the session beyond the event itself."""

    def responses_in_flight(self) -> Iterable[str]:
        """The responses a barge-in without a response id interrupts."""
        ...

    def response_of(self, item_id: str) -> str:
        """The response an item belongs to (``""`` if unknown)."""
        ...

    def heard_prefix(
        self, response_id: str, item_id: str, content_index: int, played_ms: int
    ) -> str:
        """The estimated words heard after ``played_ms`` of a spoken item."""
        ...


@final
@attrs.frozen
class AssistantDeltaLane:
    """The transcript of an assistant delta: ``ItemObserved(assistant)`` then the delta.

    The delta is an ``AssistantTranscriptDelta`` (``spoken``) or an
    ``AssistantTextDelta``, with the event's fields. The session applies it as
    one :meth:`TranscriptReducer.apply_assistant_delta` call, which is exactly
    that and builds neither event: deltas are most of a call.
    """

    spoken: bool

    def __call__(
        self,
        event: ev.OutputTextDeltaForItem | ev.OutputAudioTranscriptDeltaForItem,
        facts: SessionFacts | None = None,
    ) -> tuple[tr.RealtimeTranscriptEvent, ...]:
        delta = tr.AssistantTranscriptDelta if self.spoken else tr.AssistantTextDelta
        return (
            tr.ItemObserved(
                item_id=event.item_id,
                previous_item_id=event.previous_item_id,
                role=_ASSISTANT,
                response_id=event.response_id,
            ),
            delta(
                response_id=event.response_id,
                delta_id=event.delta_id,
                item_id=event.item_id,
                previous_item_id=event.previous_item_id,
                content_index=event.content_index,
                delta=event.delta,
            ),
        )


@final
@attrs.frozen(kw_only=True)
class Route(Generic[_E]):
    """One row of :data:`ROUTES`: what an event becomes.

    ``to_transcript``: the transcript events to apply, made from the event
    (and, for two events, from :class:`SessionFacts`); ``None`` for a
    display-only or session-only event. ``to_public``: the public event;
    ``None`` when subscribers see nothing of it.
    """

    to_transcript: Callable[[_E, SessionFacts], tuple[tr.RealtimeTranscriptEvent, ...]] | None = (
        None
    )
    to_public: Callable[[_E], public.RealtimeEvent | None]


#: The table, filled below, one row per event class. mypy cannot type a
#: mapping whose value type depends on its key: each row is typed by ``_row``
#: instead, and readers look a row up by the event's own type.
ROUTES: Final[dict[type, Route[Any]]] = {}


def _row(
    cls: type[_E],
    *,
    to_public: Callable[[_E], public.RealtimeEvent | None],
    to_transcript: Callable[[_E, SessionFacts], tuple[tr.RealtimeTranscriptEvent, ...]]
    | None = None,
) -> None:
    """Add the row of ``cls``; ``to_public`` and ``to_transcript`` are checked against it."""
    ROUTES[cls] = Route(to_transcript=to_transcript, to_public=to_public)


def _internal(_: object) -> None:
    """Subscribers see nothing of it."""
    return


# Identity-free public events are immutable and equal to one another, so one instance serves all.
_TURN_STARTED: Final = public.TurnStarted()
_TURN_COMMITTED: Final = public.TurnCommitted()
_USER: Final = tr.RealtimeTranscriptRole.USER
_ASSISTANT: Final = tr.RealtimeTranscriptRole.ASSISTANT


def _interrupted(
    event: ev.Interrupted, facts: SessionFacts
) -> tuple[tr.RealtimeTranscriptEvent, ...]:
    targets = facts.responses_in_flight() if event.response_id is None else (event.response_id,)
    return tuple(tr.AssistantTurnInterrupted(response_id=target) for target in targets)


def _truncated(
    event: ev.AssistantTranscriptTruncated, facts: SessionFacts
) -> tuple[tr.RealtimeTranscriptEvent, ...]:
    response_id = event.response_id or facts.response_of(event.item_id)
    text = event.truncated_text
    return (
        tr.AssistantTranscriptTruncated(
            response_id=response_id,
            item_id=event.item_id,
            content_index=event.content_index,
            text=(
                facts.heard_prefix(
                    response_id, event.item_id, event.content_index, event.audio_played_ms
                )
                if text is None
                else text
            ),
            audio_played_ms=event.audio_played_ms,
            estimated=text is None,
        ),
    )


_row(
    ev.InputTranscriptPartial,
    to_public=lambda e: public.InputTranscriptPartial(text=e.text),
)
_row(
    ev.InputTranscriptFinal,
    to_public=lambda e: public.InputTranscriptFinal(text=e.text),
)
_row(
    ev.InputTranscriptFinalForItem,
    to_transcript=lambda e, _: (
        tr.ItemObserved(item_id=e.item_id, previous_item_id=e.previous_item_id, role=_USER),
        tr.UserTranscriptFinal(
            item_id=e.item_id,
            previous_item_id=e.previous_item_id,
            content_index=e.content_index,
            text=e.text,
        ),
    ),
    to_public=lambda e: public.InputTranscriptFinal(text=e.text, item_id=e.item_id),
)
_row(ev.TurnStarted, to_public=lambda _: _TURN_STARTED)
_row(ev.TurnCommitted, to_public=lambda _: _TURN_COMMITTED)
_row(
    ev.TurnCompleted,
    to_transcript=lambda e, _: (
        tr.AssistantTurnCompleted(
            response_id=e.response_id, stop_reason=e.stop_reason, usage=e.usage
        ),
    ),
    to_public=lambda e: public.TurnCompleted(
        response_id=e.response_id, stop_reason=e.stop_reason, usage=e.usage
    ),
)
_row(ev.OutputTextDelta, to_public=lambda e: public.OutputTextDelta(delta=e.delta))
_row(
    ev.OutputTextDeltaForItem,
    to_transcript=AssistantDeltaLane(spoken=False),
    to_public=lambda e: public.OutputTextDelta(
        delta=e.delta, response_id=e.response_id, item_id=e.item_id
    ),
)
_row(
    ev.OutputAudioTranscriptDeltaForItem,
    to_transcript=AssistantDeltaLane(spoken=True),
    to_public=lambda e: public.OutputAudioTranscriptDelta(
        delta=e.delta, response_id=e.response_id, item_id=e.item_id
    ),
)
_row(
    ev.AssistantTranscriptFinal,
    to_transcript=lambda e, _: (
        tr.ItemObserved(
            item_id=e.item_id,
            previous_item_id=e.previous_item_id,
            role=_ASSISTANT,
            response_id=e.response_id,
        ),
        tr.AssistantTranscriptFinalText(
            response_id=e.response_id,
            item_id=e.item_id,
            content_index=e.content_index,
            text=e.text,
        ),
    ),
    # The canonical text reaches subscribers as TranscriptCommitted.
    to_public=_internal,
)
_row(
    ev.OutputAudioChunk,
    to_public=lambda e: public.OutputAudioChunk(
        chunk=e.chunk,
        response_id=e.response_id,
        item_id=e.item_id,
        content_index=e.content_index,
    ),
)
_row(
    ev.OutputVideoChunk,
    to_public=lambda e: public.OutputVideoChunk(
        chunk=e.chunk, response_id=e.response_id, item_id=e.item_id
    ),
)
_row(
    ev.Interrupted,
    to_transcript=_interrupted,
    to_public=lambda e: public.Interrupted(response_id=e.response_id),
)
_row(
    ev.ToolCallRequested,
    # The arguments are never public.
    to_public=lambda e: public.ToolCallRequested(call_id=e.call_id, tool_name=e.tool_name),
)
_row(
    ev.AssistantTranscriptTruncated,
    to_transcript=_truncated,
    to_public=lambda e: public.AssistantTranscriptTruncated(
        item_id=e.item_id,
        audio_played_ms=e.audio_played_ms,
        truncated_text=e.truncated_text,
    ),
)
_row(
    ev.RealtimeTranscript,
    to_transcript=lambda e, _: (e.event,),
    # An internal ordering fact; a cut among them is announced (see announcement).
    to_public=_internal,
)
_row(
    ev.ProviderError,
    to_public=lambda e: public.ProviderError(code=e.code, message=e.message, fatal=e.fatal),
)
_row(ev.ToolCallCancelled, to_public=lambda e: public.ToolCallCancelled(call_id=e.call_id))
_row(
    ev.Reconnecting,
    to_public=lambda e: public.Reconnecting(provider=e.provider, reason=e.reason),
)
_row(
    ev.Reconnected,
    to_public=lambda e: public.Reconnected(
        provider=e.provider,
        reason=e.reason,
        gap_ms=e.gap_ms,
        attempts=e.attempts,
        input_held=e.input_held,
        input_dropped=e.input_dropped,
    ),
)
_row(
    ev.ReconnectFailed,
    to_public=lambda e: public.ReconnectFailed(
        provider=e.provider,
        reason=e.reason,
        attempts=e.attempts,
        error=e.error,
        input_dropped=e.input_dropped,
    ),
)


def change_event(change: tr.TranscriptChange) -> public.RealtimeEvent:
    """What subscribers see of a change the reducer made."""
    if isinstance(change, tr.Committed):
        return public.TranscriptCommitted(message=change.message)
    return public.TranscriptRevised(item_id=change.item_id, message=change.message)


def announcement(fact: tr.RealtimeTranscriptEvent) -> public.RealtimeEvent | None:
    """What subscribers see of a transcript fact applied as such (``RealtimeTranscript``).

    A cut the session made itself (now, or in the session a recording came
    from) is announced as a provider's truncation is; other facts are internal.
    """
    if isinstance(fact, tr.AssistantTranscriptTruncated) and fact.audio_played_ms is not None:
        return public.AssistantTranscriptTruncated(
            item_id=fact.item_id, audio_played_ms=fact.audio_played_ms, truncated_text=fact.text
        )
    return None
