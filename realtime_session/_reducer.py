"""The transcript reducer: from identity-bearing transcript events to canonical messages.

A realtime provider streams a conversation as *items* (one user utterance, one
assistant output, a tool call...) whose content arrives in pieces, out of order,
sometimes twice (a reconnect replays what was already sent), and sometimes only
partly heard (the user talked over the model). :class:`TranscriptReducer` folds
those events into the canonical conversation: a tuple of committed messages that
is deduplicated, causally ordered and cut to what the user actually heard.

How it works, in one pass:

* **Items are staged, then committed.** Every item id gets a staging record:
  role, causal predecessor (``previous_item_id``), response id, text segments by
  ``content_index``, a lane (display text or spoken transcript, fixed by the
  first non-blank content) and a status. An item *commits* when it is ready and
  its predecessor has resolved; a committed item turns into a small record
  (role, response id, where its message and block are), and its staging --
  text pieces, seen delta ids -- is freed. Memory therefore grows with the
  committed transcript, never with the number of deltas.
* **Readiness.** A user item is ready at its first final transcript. An
  assistant item is ready when its response has completed (or was interrupted,
  for text the user did not talk over). Skipped anchors (tool calls, tool
  outputs, system items) carry no content: they only take part in ordering.
* **Order.** The next item to commit is always the earliest-seen item whose
  predecessor has resolved, so a chain ``A <- B <- C`` commits in causal order
  within one call even when it arrived as ``C, B, A``. Consecutive items of one
  response committed by the same call form one :class:`AssistantMessage`.
* **Idempotence.** Deltas are deduplicated per item by ``delta_id`` (dropped
  duplicates are counted in :attr:`~TranscriptReducer.duplicate_deltas`); user
  finals by ``(item_id, content_index)`` (the first non-blank text wins);
  completions, interruptions and truncations by their first occurrence.
  Replaying events that were already applied changes nothing.
* **Barge-in.** An interrupted response is discarded: its written (display)
  text is kept, its spoken text waits for the truncation that says what was
  heard (or for word that all of it was heard), and nothing that arrives later
  for it can bring it back. Its usage, when the provider reports it after the
  barge-in, still lands on its message.

Every event is handled: one the rules refuse is inert (and logged when it
conflicts with what the reducer already knows), never an exception, whatever
its fields hold. Blank text never becomes a message: an item whose text is
blank resolves like a skipped anchor. The rules are documented on the handlers
below, in the precedence they apply in.

Cost: appending a delta through :meth:`TranscriptReducer.apply_assistant_delta`
is a dictionary lookup, a set insertion and a list append; the text is joined
once, at commit. Commits are driven by the causal-ordering index of
:mod:`._ordering` (a heap by first-seen order and a children-by-predecessor
map); this module keeps the content rules. No call scans every item,
except :meth:`~TranscriptReducer.release_orphans` and
:meth:`~TranscriptReducer.flush`, which are rare by design.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, final

import attrs

from ._log import library_logger
from ._messages import (
    AssistantMessage,
    Block,
    Committed,
    Message,
    Revised,
    TextBlock,
    TranscriptBlock,
    TranscriptChange,
    UserMessage,
)
from ._ordering import CausalOrder
from ._transcript_events import (
    AssistantTextDelta,
    AssistantTranscriptDelta,
    AssistantTranscriptFinalText,
    AssistantTranscriptHeardInFull,
    AssistantTranscriptTruncated,
    AssistantTurnCompleted,
    AssistantTurnInterrupted,
    ItemDelta,
    ItemObserved,
    ItemSkipped,
    OrphansReleased,
    RealtimeTranscriptEvent,
    RealtimeTranscriptRole,
    UserTranscriptFinal,
)
from ._turn import StopReason, Usage

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from structlog.typing import FilteringBoundLogger

UnheardPolicy: TypeAlias = Literal["drop", "keep"]
"""What happens to spoken text of an interrupted response whose truncation never came.

``"drop"`` (the default) leaves it out of the transcript: the user may not have
heard any of it. ``"keep"`` commits everything the model generated.
"""

_Changes: TypeAlias = tuple[TranscriptChange, ...]
_NO_CHANGES: Final[_Changes] = ()


class _NoChanges(tuple[TranscriptChange, ...]):
    __slots__ = ()


#: What a delta dropped as a duplicate returns: no changes, like ``()``, but a
#: distinct object, so the session can tell by identity, at no cost per delta,
#: that there is no caption to publish either.
DROPPED_DUPLICATE: Final[_Changes] = _NoChanges()

_USER: Final = RealtimeTranscriptRole.USER
_ASSISTANT: Final = RealtimeTranscriptRole.ASSISTANT

# Dropped duplicate deltas are logged at these counts only: a provider that
# replays a whole stream (a reconnect) costs a handful of lines, not one per delta.
_DUPLICATES_LOGGED_AT: Final = frozenset(10**n for n in range(10))


class _Status(enum.Enum):
    """Where an uncommitted item stands; every item starts staged."""

    #: Takes content; not ready to commit yet.
    STAGED = "staged"
    #: Commits when its predecessor has resolved; still takes deltas.
    READY = "ready"
    #: Of an interrupted response, ready with its whole staged text, untruncated:
    #: settled by the "keep" policy, or heard in full. Takes no more deltas, but a
    #: truncation still cuts it.
    KEPT = "kept"
    #: Spoken text of an interrupted response, waiting for the truncation that
    #: says what was heard.
    AWAITING = "awaiting"
    #: A contentless anchor: takes part in ordering only.
    SKIPPED = "skipped"


# Module-level names: the rules compare statuses by identity, without a class lookup.
_STAGED: Final = _Status.STAGED
_READY: Final = _Status.READY
_KEPT: Final = _Status.KEPT
_AWAITING: Final = _Status.AWAITING
_SKIPPED: Final = _Status.SKIPPED

# Lanes are booleans so the hot path can compare a lane with its ``spoken`` flag
# by identity; ``None`` means no lane yet.
_SPOKEN: Final = True
_DISPLAY: Final = False


def _blank(text: str) -> bool:
    return not text or text.isspace()


def _normalize_optional(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _optional_str(value: object) -> bool:
    return value is None or isinstance(value, str)


def _index(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _all_str(*values: object) -> bool:
    return all(isinstance(value, str) for value in values)


def _of_type(value: object, *types: type) -> bool:
    return isinstance(value, types)


# -- R0: the boundary ----------------------------------------------------------------
#
# The public entries (apply, apply_assistant_delta) check every event here, once,
# before any rule sees it. A check returns the event's ids normalized (stripped; a
# blank optional id means none) or the reason the event is refused; the handlers
# trust what they are given. Type checks come first, then blank ids: the reason
# logged is the first that applies.

_WRONG_TYPE: Final = "a field has the wrong type"
_BLANK_ITEM_ID: Final = "blank item_id"
_BLANK_RESPONSE_ID: Final = "blank response_id"

_ItemIds: TypeAlias = tuple[str, str | None]
"""An item id and its predecessor's."""
_ResponseItemIds: TypeAlias = tuple[str, str]
"""An item id and its response's."""


def _check_observation(
    item_id: str,
    previous_item_id: str | None,
    role: RealtimeTranscriptRole,
    response_id: str | None,
) -> tuple[str, str | None, str | None] | str:
    """The item id, predecessor id and response id of an observation."""
    if not (
        _all_str(item_id)
        and _optional_str(previous_item_id)
        and _of_type(role, RealtimeTranscriptRole)
        and _optional_str(response_id)
    ):
        return _WRONG_TYPE
    iid = item_id.strip()
    if not iid:
        return _BLANK_ITEM_ID
    return iid, _normalize_optional(previous_item_id), _normalize_optional(response_id)


def _check_delta(
    response_id: str,
    delta_id: str,
    item_id: str,
    previous_item_id: str | None,
    content_index: int,
    delta: str,
) -> tuple[str, str, str, str | None] | str:
    """The response id, delta id, item id and predecessor id of a delta."""
    if not (
        _all_str(response_id, delta_id, item_id, delta)
        and _optional_str(previous_item_id)
        and _index(content_index)
    ):
        return _WRONG_TYPE
    ids = _response_item_ids(item_id, response_id)
    if isinstance(ids, str):
        return ids
    iid, rid = ids
    return rid, delta_id.strip(), iid, _normalize_optional(previous_item_id)


def _response_item_ids(item_id: str, response_id: str) -> _ResponseItemIds | str:
    """A response-scoped event's ids: both are required."""
    iid = item_id.strip()
    if not iid:
        return _BLANK_ITEM_ID
    rid = response_id.strip()
    if not rid:
        return _BLANK_RESPONSE_ID
    return iid, rid


def _item_ids(item_id: str, previous_item_id: str | None) -> _ItemIds | str:
    iid = item_id.strip()
    if not iid:
        return _BLANK_ITEM_ID
    return iid, _normalize_optional(previous_item_id)


def _response_id(response_id: str) -> tuple[str] | str:
    rid = response_id.strip()
    if not rid:
        return _BLANK_RESPONSE_ID
    return (rid,)


def _check_item_observed(event: ItemObserved) -> tuple[str, str | None, str | None] | str:
    return _check_observation(event.item_id, event.previous_item_id, event.role, event.response_id)


def _check_item_skipped(event: ItemSkipped) -> _ItemIds | str:
    if not (_all_str(event.item_id) and _optional_str(event.previous_item_id)):
        return _WRONG_TYPE
    return _item_ids(event.item_id, event.previous_item_id)


def _check_user_final(event: UserTranscriptFinal) -> _ItemIds | str:
    if not (
        _all_str(event.item_id, event.text)
        and _optional_str(event.previous_item_id)
        and _index(event.content_index)
    ):
        return _WRONG_TYPE
    return _item_ids(event.item_id, event.previous_item_id)


def _check_delta_event(event: ItemDelta) -> tuple[str, str, str, str | None] | str:
    return _check_delta(
        event.response_id,
        event.delta_id,
        event.item_id,
        event.previous_item_id,
        event.content_index,
        event.delta,
    )


def _check_truncated(event: AssistantTranscriptTruncated) -> _ResponseItemIds | str:
    if not (
        _all_str(event.response_id, event.item_id, event.text)
        and _index(event.content_index)
        and (event.audio_played_ms is None or _index(event.audio_played_ms))
        and _of_type(event.estimated, bool)
    ):
        return _WRONG_TYPE
    return _response_item_ids(event.item_id, event.response_id)


def _check_final_text(event: AssistantTranscriptFinalText) -> _ResponseItemIds | str:
    if not (_all_str(event.response_id, event.item_id, event.text) and _index(event.content_index)):
        return _WRONG_TYPE
    return _response_item_ids(event.item_id, event.response_id)


def _check_heard_in_full(event: AssistantTranscriptHeardInFull) -> _ResponseItemIds | str:
    if not _all_str(event.response_id, event.item_id):
        return _WRONG_TYPE
    return _response_item_ids(event.item_id, event.response_id)


def _check_interrupted(event: AssistantTurnInterrupted) -> tuple[str] | str:
    if not _all_str(event.response_id):
        return _WRONG_TYPE
    return _response_id(event.response_id)


def _check_completed(event: AssistantTurnCompleted) -> tuple[str] | str:
    if not (
        _all_str(event.response_id)
        and _of_type(event.stop_reason, StopReason)
        and _of_type(event.usage, Usage, type(None))
    ):
        return _WRONG_TYPE
    return _response_id(event.response_id)


def _check_orphans_released(event: OrphansReleased) -> tuple[tuple[str, ...]] | str:
    ids = event.item_ids
    if not (_of_type(ids, tuple) and _all_str(*ids)):
        return _WRONG_TYPE
    return (tuple(iid.strip() for iid in ids),)


class _Response:
    """What the reducer knows about one response id; kept for the whole session.

    ``live`` holds the response's uncommitted assistant items (it empties as they
    commit), so completion and interruption touch only their own items.
    """

    __slots__ = (
        "completed",
        "discarded",
        "first_message",
        "live",
        "response_id",
        "stop_reason",
        "usage",
        "usage_consumed",
        "usage_open",
    )

    def __init__(self, response_id: str) -> None:
        self.response_id = response_id
        self.completed = False
        # Meaningful once ``completed`` is set; the first completion wins.
        self.stop_reason = StopReason.END_TURN
        self.usage: Usage | None = None
        self.usage_consumed = False
        # The completion was recorded without usage by a barge-in: the first later
        # completion that carries usage fills it in (operators bill by it).
        self.usage_open = False
        # Index in ``messages`` of the message that carries the usage; -1 before it.
        self.first_message = -1
        self.discarded = False
        self.live: dict[str, _Item] = {}


class _Item:
    """Staging record of an uncommitted item (see the module docstring)."""

    __slots__ = (
        "audio_played_ms",
        "cur",
        "estimated",
        "fast_index",
        "fast_lane",
        "final",
        "has_text",
        "item_id",
        "lane",
        "lane_fixed",
        "prev",
        "resp",
        "rid",
        "role",
        "root",
        "seen",
        "segs",
        "seq",
        "status",
        "truncated",
        "wanted",
    )

    def __init__(self, item_id: str, role: RealtimeTranscriptRole | None) -> None:
        self.item_id = item_id
        # Set by the ordering index (seq when registered, prev when linked).
        self.seq = 0
        self.role = role
        self.prev: str | None = None
        self.rid: str | None = None
        self.resp: _Response | None = None
        self.status = _STAGED
        # Released by release_orphans(): the predecessor is ignored from then on.
        self.root = False
        # A skipped anchor that a ready item is waiting on (directly or through
        # other anchors); walks that propagate that demand stop at it.
        self.wanted = False
        self.segs: dict[int, list[str]] | None = None
        # The segment the last delta went to, with its index: the fast path
        # appends to it without a dictionary lookup.
        self.cur: list[str] | None = None
        self.fast_index = 0
        # The lane a delta must be on to take the fast path; None while any rule
        # other than "append" could apply to the next delta.
        self.fast_lane: bool | None = None
        self.seen: set[str] | None = None
        self.lane: bool | None = None
        self.lane_fixed = False
        # "Has content": some non-blank text was accepted. It never reverts (a
        # blank final text does not make an item contentless again), so every
        # rule that asks "does the item have content?" answers the same way
        # when an event is replayed.
        self.has_text = False
        self.final: set[int] | None = None
        self.truncated = False
        self.estimated = False
        self.audio_played_ms: int | None = None

    @property
    def committable(self) -> bool:
        status = self.status
        return status is _READY or status is _KEPT or status is _SKIPPED

    def text(self) -> str:
        segs = self.segs
        if not segs:
            return ""
        parts = []
        for index in sorted(segs):
            pieces = segs[index]
            if len(pieces) > 1:
                # Later calls (item_spoken_text, commit) reuse the joined piece;
                # the list object stays the same, so the fast path's reference holds.
                pieces[:] = ["".join(pieces)]
            if pieces:
                parts.append(pieces[0])
        return "".join(parts)


class _Done:
    """What is kept of a resolved item: enough to recognise later events for it.

    ``message_index`` is -1 for an item that resolved without content (a skipped
    anchor, or an item whose text was blank).
    """

    __slots__ = ("block_index", "message_index", "response_id", "role")

    def __init__(
        self,
        role: RealtimeTranscriptRole | None,
        response_id: str | None,
        message_index: int,
        block_index: int,
    ) -> None:
        self.role = role
        self.response_id = response_id
        self.message_index = message_index
        self.block_index = block_index


@final
class TranscriptReducer:
    """Builds the canonical transcript from :data:`RealtimeTranscriptEvent` values.

    Pure, synchronous and deterministic: no I/O, no clock, no task. Feeding the
    same events to a new reducer (:meth:`from_events`) rebuilds the same
    transcript. The one decision that depends on time, releasing orphans, belongs
    to the caller: applied as the event :class:`OrphansReleased` rather than by
    calling :meth:`release_orphans`, it is part of the log and replays too.

    Each :meth:`apply` returns the changes it made, in order: :class:`Committed`
    for a new message, :class:`Revised` when a late truncation replaced a
    committed message. :attr:`messages` is the history so far.

    ``unheard_policy`` decides what becomes of spoken text of an interrupted
    response when no truncation says what was heard (see :meth:`apply`, R7):
    ``"drop"`` leaves it out, ``"keep"`` commits it whole. Any other value raises
    :exc:`ValueError`. ``logger`` receives warnings about refused events (blank
    ids, conflicting replays, writes to the wrong lane); it defaults to
    the library's logger (structlog if the application configured it, else the
    stdlib logger ``"realtime_session"``). Nothing is logged for accepted
    or merely repeated events.
    """

    __slots__ = (
        "_done",
        "_duplicates",
        "_keep_unheard",
        "_live",
        "_log",
        "_messages",
        "_order",
        "_rejected",
        "_responses",
        "_view",
    )

    def __init__(
        self,
        *,
        unheard_policy: UnheardPolicy = "drop",
        logger: FilteringBoundLogger | None = None,
    ) -> None:
        if unheard_policy not in ("drop", "keep"):
            raise ValueError(f"unheard_policy must be 'drop' or 'keep', not {unheard_policy!r}")
        self._keep_unheard = unheard_policy == "keep"
        self._log: FilteringBoundLogger = logger if logger is not None else library_logger()
        # Resolved items, in resolution order.
        self._done: dict[str, _Done] = {}
        self._order: CausalOrder[_Item] = CausalOrder(self._done)
        # Uncommitted items, in first-seen order: the ordering index's own map,
        # held here too because nearly every rule starts with a lookup in it.
        self._live = self._order.live
        self._responses: dict[str, _Response] = {}
        self._messages: list[Message] = []
        self._view: tuple[Message, ...] | None = ()
        self._rejected = 0
        self._duplicates = 0

    @classmethod
    def from_events(
        cls,
        events: Iterable[RealtimeTranscriptEvent],
        *,
        unheard_policy: UnheardPolicy = "drop",
        logger: FilteringBoundLogger | None = None,
    ) -> TranscriptReducer:
        """Build a reducer by applying ``events`` in order to a new one.

        Takes the constructor's options. For the input log of any run, the
        result's :attr:`messages` equal the live reducer's, provided orphans
        were released by applying :class:`OrphansReleased` (as a session does,
        and records) rather than by calling :meth:`release_orphans`.
        """
        reducer = cls(unheard_policy=unheard_policy, logger=logger)
        apply = reducer.apply
        for event in events:
            apply(event)
        return reducer

    def __repr__(self) -> str:
        return (
            f"TranscriptReducer(messages={len(self._messages)}, "
            f"pending={len(self.pending_item_ids())}, rejected={self._rejected})"
        )

    # -- queries ---------------------------------------------------------------

    @property
    def messages(self) -> tuple[Message, ...]:
        """The canonical history so far, in commit order."""
        view = self._view
        if view is None:
            view = self._view = tuple(self._messages)
        return view

    @property
    def rejected(self) -> int:
        """How many events were refused as malformed (R0).

        An event is malformed when an id it needs is blank, or a field holds a
        value of the wrong type. Malformed events change nothing else.
        """
        return self._rejected

    @property
    def duplicate_deltas(self) -> int:
        """How many deltas were dropped because their ``delta_id`` was already seen (R4c).

        A provider that replays events (after a reconnect) or repeats an event id
        shows up here. The first dropped duplicate is logged, then only the 10th,
        100th, 1000th...
        """
        return self._duplicates

    @property
    def unheard_policy(self) -> UnheardPolicy:
        """The constructor's ``unheard_policy``."""
        return "keep" if self._keep_unheard else "drop"

    def pending_item_ids(self) -> tuple[str, ...]:
        """Items seen but not committed, in first-seen order.

        Skipped anchors are not listed: they never commit content. An item is
        pending while it waits for content, for its response to complete, for a
        truncation, or for its predecessor.
        """
        return tuple(iid for iid, item in self._live.items() if item.status is not _SKIPPED)

    def item_response_id(self, item_id: str) -> str | None:
        """The response an item belongs to, staged or committed; ``None`` if unknown."""
        if not _all_str(item_id):
            return None
        iid = item_id.strip()
        item = self._live.get(iid)
        if item is not None:
            return item.rid
        done = self._done.get(iid)
        return done.response_id if done is not None else None

    def response_stop_reason(self, response_id: str) -> StopReason | None:
        """How a response ended: its first completion's stop reason, or ``None`` if it has not.

        A response interrupted before any completion ended as ``CANCELLED``.
        """
        if not _all_str(response_id):
            return None
        resp = self._responses.get(response_id.strip())
        if resp is None or not resp.completed:
            return None
        return resp.stop_reason

    def item_spoken_text(self, item_id: str) -> str | None:
        """The item's current spoken text, or ``None`` if unknown or not spoken.

        For a staged item this is its spoken segments joined (what the model has
        said so far); for a committed one, its :class:`TranscriptBlock` text.
        The session uses it to estimate a heard prefix when a truncation comes
        without text.
        """
        if not _all_str(item_id):
            return None
        iid = item_id.strip()
        item = self._live.get(iid)
        if item is not None:
            if item.status is _SKIPPED or item.lane is not _SPOKEN or not item.segs:
                return None
            return item.text()
        done = self._done.get(iid)
        if done is None or done.message_index < 0:
            return None
        message = self._messages[done.message_index]
        if not isinstance(message, AssistantMessage):
            return None
        block = message.blocks[done.block_index]
        return block.text if isinstance(block, TranscriptBlock) else None

    # -- events ----------------------------------------------------------------

    def apply(self, event: RealtimeTranscriptEvent) -> tuple[TranscriptChange, ...]:
        """Apply one transcript event; return the commits and revisions it caused.

        The rules, in the order they take precedence (each is documented in
        full on its handler):

        * R0 -- ids are stripped; a blank item id, or a blank response id on a
          response-scoped event, makes the event inert and counts it in
          :attr:`rejected`. A field of the wrong type does the same.
        * R1 ``ItemObserved`` registers an item; R1b content events register
          items implicitly. R2 ``ItemSkipped`` makes a contentless anchor.
        * R3 user finals, R4 assistant deltas, R5 truncations, R6 final texts.
        * R7 interruption (and ``AssistantTranscriptHeardInFull`` for an
          interrupted item the user heard to the end), R8 completion, R9 late
          truncation of a committed item.
        * R11 ``OrphansReleased`` releases the orphans it names, as
          :meth:`release_orphans` does.
        * R10 after every event, ready items whose predecessor has resolved
          commit, earliest-seen first.

        Raises :exc:`TypeError` if ``event`` is not a transcript event; nothing
        else escapes, whatever the event's fields hold.
        """
        rule = _RULES.get(type(event))
        if rule is None:
            raise TypeError(
                "TranscriptReducer.apply() takes a realtime_session.transcript event, "
                f"not {type(event).__qualname__}"
            )
        kind, check, handle = rule
        checked = check(event)
        if checked.__class__ is str:
            return self._reject(kind, checked)
        return handle(self, event, checked)

    def apply_assistant_delta(
        self,
        spoken: bool,
        response_id: str,
        delta_id: str,
        item_id: str,
        previous_item_id: str | None,
        content_index: int,
        delta: str,
    ) -> tuple[TranscriptChange, ...]:
        """Apply ``ItemObserved`` and an assistant delta, without building either.

        Exactly equivalent to applying ``ItemObserved(item_id=item_id,
        previous_item_id=previous_item_id, role=ASSISTANT,
        response_id=response_id)`` and then ``AssistantTranscriptDelta(...)``
        (``spoken=True``) or ``AssistantTextDelta(...)`` (``spoken=False``) with
        the same fields, and returns their changes concatenated. This is how the
        session feeds provider deltas (one call per delta), so the common case --
        another piece of an item that already has text on this lane -- costs a
        lookup, a set insertion and a list append, and allocates nothing beyond
        the delta itself. Every other case goes through the full rules. A delta
        dropped as a duplicate (R4c) returns :data:`DROPPED_DUPLICATE`, an empty
        tuple the caller can recognise by identity.
        """
        try:
            item = self._live.get(item_id)
        except TypeError:  # an unhashable id: the full rules reject it
            item = None
        if (
            item is not None
            and item.fast_lane is spoken
            and item.rid == response_id
            # Identity, not equality: 0.0 or True must take the full rules,
            # which refuse them; small ints are shared objects in CPython.
            and item.fast_index is content_index
            and (previous_item_id is None or previous_item_id == item.prev)
            and (seen := item.seen) is not None
            and (cur := item.cur) is not None
            and delta.__class__ is str
            and delta_id.__class__ is str
        ):
            did = delta_id.strip()
            if did:
                if did in seen:
                    self._dropped_duplicate(item_id, did)
                    return DROPPED_DUPLICATE
                seen.add(did)
            cur.append(delta)
            return _NO_CHANGES
        observation = _check_observation(item_id, previous_item_id, _ASSISTANT, response_id)
        if isinstance(observation, str):
            observed = self._reject("item_observed", observation)
        else:
            iid, pid, rid = observation
            observed = self._observe(iid, pid, _ASSISTANT, rid)
        spoken = bool(spoken)
        piece = _check_delta(response_id, delta_id, item_id, previous_item_id, content_index, delta)
        if isinstance(piece, str):
            appended = self._reject(_DELTA_KINDS[spoken], piece)
        else:
            rid, did, iid, pid = piece
            appended = self._delta(spoken, rid, did, iid, pid, content_index, delta)
        return observed + appended if observed else appended

    def release_orphans(self) -> tuple[TranscriptChange, ...]:
        """R11: stop waiting for predecessors that will not come, and commit.

        An item whose predecessor was never observed waits, so that a reply
        never commits ahead of the user turn it answers. When the wait is over
        (the session calls this after ``orphan_timeout_s``), every staged item or
        anchor whose predecessor was never observed, or that lies on a
        predecessor cycle (an item naming itself included), becomes a root: its
        predecessor is ignored from then on, even if it shows up later. Ready
        roots then commit, with everything chained after them. Nothing is
        dropped for a missing anchor.

        The same as applying ``OrphansReleased(item_ids=self.orphan_item_ids())``,
        which is how a caller that records its input should do it: the release
        then replays.
        """
        self._order.release(self._order.orphans())
        return self._materialize()

    def orphan_item_ids(self) -> tuple[str, ...]:
        """What :meth:`release_orphans` would release now, in first-seen order.

        Pending items and anchors whose predecessor was never observed, or that
        lie on a predecessor cycle.
        """
        return tuple(item.item_id for item in sorted(self._order.orphans(), key=lambda i: i.seq))

    def flush(self) -> tuple[TranscriptChange, ...]:
        """R12: resolve everything that can be resolved at the end of a session.

        Spoken items still awaiting a truncation are settled by the
        ``unheard_policy`` ("drop": skipped; "keep": committed whole), then
        orphans are released (:meth:`release_orphans`). Items of responses that
        never completed stay pending: no text is invented for them. The reducer
        stays usable afterwards.
        """
        for item in [i for i in self._live.values() if i.status is _AWAITING]:
            if item.status is not _AWAITING:  # settled by the walk of an earlier one
                continue
            if self._resolve_unheard(item) is _SKIPPED:
                item.wanted = self._has_demanding_child(item)
                if not item.wanted:
                    continue
            self._demand_from(item)
        self._order.release(self._order.orphans())
        return self._materialize()

    # -- R1, R1b, R2: items ------------------------------------------------------

    def _on_item_observed(
        self, event: ItemObserved, ids: tuple[str, str | None, str | None]
    ) -> _Changes:
        iid, pid, rid = ids
        return self._observe(iid, pid, event.role, rid)

    def _observe(
        self,
        iid: str,
        pid: str | None,
        role: RealtimeTranscriptRole,
        rid: str | None,
    ) -> _Changes:
        """R1: register an item and its causal predecessor.

        The first observation creates the item. A repeat only fills in what is
        still missing (a predecessor, a response id): a provider that learns an
        item's predecessor late can say so, but nothing already known is ever
        rewritten, so a stale or conflicting replay cannot reorder the
        transcript. Conflicting values are logged and ignored.

        An observation commits nothing by itself, with one exception: if it
        names a response that was interrupted, an assistant item without
        content becomes a skipped anchor (R7), which may unblock what is chained
        after it. ``response_id`` is optional here; a blank one means none.
        """
        item = self._live.get(iid)
        if item is None:
            done = self._done.get(iid)
            if done is not None:
                if (done.role is not None and done.role is not role) or (
                    rid is not None and done.response_id is not None and done.response_id != rid
                ):
                    self._conflict("item_observed", iid, "role or response_id")
                return _NO_CHANGES
            item = self._create(iid, pid, role, rid)
        else:
            conflicts = []
            if item.role is None:
                item.role = role
            elif item.role is not role:
                conflicts.append("role")
            if pid is not None:
                if item.prev is None and not item.root:
                    self._order.link(item, pid)
                elif item.prev != pid:
                    conflicts.append("previous_item_id")
            if rid is not None:
                if item.rid is None:
                    self._attach(item, rid)
                elif item.rid != rid:
                    conflicts.append("response_id")
            if conflicts:
                self._conflict("item_observed", iid, ", ".join(conflicts))
        resp = item.resp
        if (
            rid is not None
            and resp is not None
            and resp.discarded
            and item.rid == rid
            and item.role is _ASSISTANT
            and item.status is not _SKIPPED
            and not item.has_text
        ):
            self._became_skipped(item)
            return self._materialize()
        return _NO_CHANGES

    def _content_item(
        self,
        iid: str,
        pid: str | None,
        role: RealtimeTranscriptRole,
        rid: str | None,
        kind: str,
    ) -> _Item | _Done | None:
        """R1b: find or create the item a content event writes to.

        A content event for an unknown item creates it, with the role its kind
        implies and the event's predecessor and response id: providers do not
        always announce an item before its first delta. For a known item it
        fills in missing values, like R1. It returns None -- the event is inert
        -- for a skipped anchor (anchors never take content) and for an item
        whose role or response id conflicts with the event's (logged): text
        never moves from one response, or one speaker, to another. A resolved
        item is returned as its :class:`_Done` record; the caller decides what
        a late event means for it.
        """
        item = self._live.get(iid)
        if item is not None:
            if item.status is _SKIPPED:
                return None
            if item.role is not role or (
                rid is not None and item.rid is not None and item.rid != rid
            ):
                self._conflict(kind, iid, "role or response_id")
                return None
            if pid is not None:
                if item.prev is None and not item.root:
                    self._order.link(item, pid)
                elif item.prev != pid:
                    self._conflict(kind, iid, "previous_item_id")
            if rid is not None and item.rid is None:
                self._attach(item, rid)
            return item
        done = self._done.get(iid)
        if done is not None:
            if done.message_index < 0:
                return None
            if done.role is not role or (
                rid is not None and done.response_id is not None and done.response_id != rid
            ):
                self._conflict(kind, iid, "role or response_id")
                return None
            return done
        return self._create(iid, pid, role, rid)

    def _on_item_skipped(self, event: ItemSkipped, ids: _ItemIds) -> _Changes:
        """R2: a contentless causal anchor (tool call, tool output, system item).

        Such items matter only for order: a reply chained after a tool call must
        wait for it, and must not wait forever for content that will never come.
        An unknown item becomes an anchor; so does a known uncommitted item that
        has no content yet (its predecessor is filled in if missing). An item
        that already has content keeps it: the skip is ignored and logged. An
        anchor resolves as soon as its own predecessor has resolved, and ignores
        every later content event.
        """
        iid, pid = ids
        item = self._live.get(iid)
        if item is None:
            done = self._done.get(iid)
            if done is not None:
                if done.message_index >= 0:
                    self._ignored("item_skipped", iid, "the item already committed content")
                return _NO_CHANGES
            item = self._create(iid, pid, None, None)
        else:
            if item.has_text:
                self._ignored("item_skipped", iid, "the item already has content")
                return _NO_CHANGES
            if pid is not None:
                if item.prev is None and not item.root:
                    self._order.link(item, pid)
                elif item.prev != pid:
                    self._conflict("item_skipped", iid, "previous_item_id")
            if item.status is _SKIPPED:
                return _NO_CHANGES
        self._became_skipped(item)
        return self._materialize()

    # -- R3: user finals ---------------------------------------------------------

    def _on_user_final(self, event: UserTranscriptFinal, ids: _ItemIds) -> _Changes:
        """R3: a final user transcript segment.

        Per ``(item_id, content_index)`` the first non-blank text wins: a replay
        of the same text is inert, and a different text (a provider that
        re-transcribed) is ignored and logged, so a committed utterance never
        changes under the reader. Blank text stores nothing.

        Any final, blank or not, makes the item ready. A user item whose whole
        text is blank commits as a contentless anchor: it produces no message,
        but it resolves, so an empty ASR result (noise, a cough) never blocks
        the reply chained after it. Once resolved, later finals for the item are
        inert.
        """
        iid, pid = ids
        target = self._content_item(iid, pid, _USER, None, "user_transcript_final")
        if not isinstance(target, _Item):
            return _NO_CHANGES
        item = target
        text = event.text
        if not _blank(text):
            segs = item.segs
            if segs is None:
                segs = item.segs = {}
            existing = segs.get(event.content_index)
            if existing is None:
                segs[event.content_index] = [text]
                item.has_text = True
            elif existing[0] != text:
                self._conflict("user_transcript_final", iid, "text")
        if item.status is _STAGED:
            self._became_ready(item)
            return self._materialize()
        return _NO_CHANGES

    # -- R4: assistant deltas ------------------------------------------------------

    def _on_text_delta(
        self, event: AssistantTextDelta, ids: tuple[str, str, str, str | None]
    ) -> _Changes:
        rid, did, iid, pid = ids
        return self._delta(False, rid, did, iid, pid, event.content_index, event.delta)

    def _on_transcript_delta(
        self, event: AssistantTranscriptDelta, ids: tuple[str, str, str, str | None]
    ) -> _Changes:
        rid, did, iid, pid = ids
        return self._delta(True, rid, did, iid, pid, event.content_index, event.delta)

    def _delta(
        self,
        spoken: bool,
        rid: str,
        did: str,
        iid: str,
        pid: str | None,
        content_index: int,
        delta: str,
    ) -> _Changes:
        """R4: a piece of assistant text, display (``TextBlock``) or spoken (``TranscriptBlock``).

        In this precedence:

        (a) the response was interrupted: an item without content becomes a
            skipped anchor (so it cannot block what follows), otherwise the
            delta is inert -- an interrupted response is never resurrected;
        (b) the item already committed: inert (a late or replayed delta);
        (c) the ``delta_id`` was already seen for this item: inert (replay
            after a reconnect), counted in :attr:`duplicate_deltas`; a blank
            ``delta_id`` disables this check;
        (d) the item was truncated, or this segment has its final text (R6):
            inert, the authoritative text is already there;
        (e) the item has text on the other lane: inert and logged -- the first
            non-blank content fixes whether an item was written or spoken;
        (f) otherwise the delta is appended to its segment. If the response has
            already completed, the item is ready (a delta that arrives after
            its completion still lands).

        A refused delta does not record its ``delta_id``, so the same delta can
        land once the reason it was refused is gone.
        """
        kind = _DELTA_KINDS[spoken]
        target = self._content_item(iid, pid, _ASSISTANT, rid, kind)
        if not isinstance(target, _Item):
            return _NO_CHANGES  # R4(b), or refused by R1b
        item = target
        resp = item.resp
        if resp is None:
            return _NO_CHANGES
        if resp.discarded:  # R4(a)
            if not item.has_text:
                self._became_skipped(item)
                return self._materialize()
            return _NO_CHANGES
        seen = item.seen
        if did and seen is not None and did in seen:  # R4(c)
            self._dropped_duplicate(iid, did)
            return DROPPED_DUPLICATE
        final = item.final
        if item.truncated or (final is not None and content_index in final):  # R4(d)
            return _NO_CHANGES
        if item.lane_fixed and item.lane is not spoken:  # R4(e)
            self._ignored(kind, iid, "the item has text on the other lane")
            return _NO_CHANGES
        # R4(f)
        segs = item.segs
        if segs is None:
            segs = item.segs = {}
        pieces = segs.get(content_index)
        if pieces is None:
            pieces = segs[content_index] = []
        pieces.append(delta)
        if seen is None:
            seen = item.seen = set()
        if did:
            seen.add(did)
        item.lane = spoken
        if not item.has_text and not _blank(delta):
            item.has_text = True
            item.lane_fixed = True
        item.cur = pieces
        item.fast_index = content_index
        if item.has_text and final is None and (item.status is _STAGED or item.status is _READY):
            item.fast_lane = spoken
        if item.status is _STAGED and resp.completed:
            self._became_ready(item)
            return self._materialize()
        return _NO_CHANGES

    # -- R5, R9: truncation ----------------------------------------------------------

    def _on_truncated(self, event: AssistantTranscriptTruncated, ids: _ResponseItemIds) -> _Changes:
        """R5: the user heard only a prefix of a spoken segment.

        In this precedence:

        (a) the item already committed: a late truncation, see R9 below;
        (b) the item was already truncated: inert -- an item is cut at most once;
        (c) the response was interrupted and the item is not awaiting its
            truncation: an item without content becomes a skipped anchor,
            otherwise inert;
        (d) the item has display text: inert and logged (written text is not
            cut by talking over it);
        (e) otherwise the segment is replaced by ``text``, the item becomes
            spoken and truncated (keeping ``audio_played_ms`` and ``estimated``)
            and takes no more deltas. An item awaiting its truncation, or of a
            response that already completed, is ready. A blank heard prefix
            (the user heard nothing) makes the item a skipped anchor.

        An item that the ``"keep"`` policy settled but that has not committed
        yet counts as awaiting in (c): the truncation still cuts it, as R9 would
        once it had committed.

        R9, late truncation: when the model finished generating before the
        client finished playing, the item has already committed with its full
        text. Its block is then replaced by a truncated :class:`TranscriptBlock`
        holding the heard prefix (possibly empty: the message keeps its place,
        with an empty block), the message is replaced in :attr:`messages` and a
        :class:`Revised` change is returned. This happens at most once per item
        (a block cut before or after commit is not cut again), and never to
        display text. It mirrors the provider, which deletes the unheard part of
        its own server-side transcript.
        """
        kind = "assistant_transcript_truncated"
        iid, rid = ids
        target = self._content_item(iid, None, _ASSISTANT, rid, kind)
        if target is None:
            return _NO_CHANGES
        if isinstance(target, _Done):  # R5(a)
            return self._revise(target, iid, event)
        item = target
        resp = item.resp
        if resp is None or item.truncated:  # R5(b)
            return _NO_CHANGES
        if resp.discarded and item.status is not _AWAITING and item.status is not _KEPT:  # R5(c)
            if not item.has_text:
                self._became_skipped(item)
                return self._materialize()
            return _NO_CHANGES
        if item.lane_fixed and item.lane is _DISPLAY:  # R5(d)
            self._ignored(kind, iid, "display text is not truncated")
            return _NO_CHANGES
        # R5(e)
        segs = item.segs
        if segs is None:
            segs = item.segs = {}
        segs[event.content_index] = [event.text]
        item.lane = _SPOKEN
        item.lane_fixed = True
        item.truncated = True
        item.audio_played_ms = event.audio_played_ms
        item.estimated = event.estimated
        item.fast_lane = None
        item.seen = None
        if _blank(event.text):
            self._became_skipped(item)
            return self._materialize()
        item.has_text = True
        if item.status is _AWAITING or (item.status is _STAGED and resp.completed):
            self._became_ready(item)
            return self._materialize()
        return _NO_CHANGES

    def _revise(self, done: _Done, iid: str, event: AssistantTranscriptTruncated) -> _Changes:
        message = self._messages[done.message_index]
        if not isinstance(message, AssistantMessage):
            return _NO_CHANGES
        block = message.blocks[done.block_index]
        if isinstance(block, TextBlock):
            self._ignored("assistant_transcript_truncated", iid, "display text is never revised")
            return _NO_CHANGES
        if block.truncated:
            return _NO_CHANGES
        blocks = list(message.blocks)
        blocks[done.block_index] = TranscriptBlock(
            item_id=block.item_id,
            text=event.text,
            truncated=True,
            estimated=event.estimated,
            audio_played_ms=event.audio_played_ms,
        )
        revised = attrs.evolve(message, blocks=tuple(blocks))
        self._messages[done.message_index] = revised
        self._view = None
        return (Revised(item_id=iid, message=revised),)

    # -- R6: final text --------------------------------------------------------------

    def _on_final_text(
        self, event: AssistantTranscriptFinalText, ids: _ResponseItemIds
    ) -> _Changes:
        """R6: the authoritative full spoken text of a segment.

        It repairs lost deltas and serves providers that send only finals. If
        the response was interrupted it acts like a delta would (R4a). It is
        inert for a committed item (history is append-only), a truncated item
        or a segment that already has its final text -- the first final wins,
        and a final never restores words the user did not hear -- and for an
        item with display text (logged). Otherwise it replaces the segment, the
        item becomes spoken and the segment takes no more deltas. An unknown
        item is created (assistant, no predecessor). If the response has already
        completed, the item is ready.
        """
        kind = "assistant_transcript_final_text"
        iid, rid = ids
        target = self._content_item(iid, None, _ASSISTANT, rid, kind)
        if not isinstance(target, _Item):
            return _NO_CHANGES
        item = target
        resp = item.resp
        if resp is None:
            return _NO_CHANGES
        if resp.discarded:
            if not item.has_text:
                self._became_skipped(item)
                return self._materialize()
            return _NO_CHANGES
        final = item.final
        if item.truncated or (final is not None and event.content_index in final):
            return _NO_CHANGES
        if item.lane_fixed and item.lane is _DISPLAY:
            self._ignored(kind, iid, "the item has display text")
            return _NO_CHANGES
        segs = item.segs
        if segs is None:
            segs = item.segs = {}
        segs[event.content_index] = [event.text]
        if final is None:
            final = item.final = set()
        final.add(event.content_index)
        item.lane = _SPOKEN
        item.lane_fixed = True
        item.fast_lane = None
        if not _blank(event.text):
            item.has_text = True
        if item.status is _STAGED and resp.completed:
            self._became_ready(item)
            return self._materialize()
        return _NO_CHANGES

    # -- R7, R8: end of a response -------------------------------------------------

    def _on_interrupted(self, event: AssistantTurnInterrupted, ids: tuple[str]) -> _Changes:
        """R7: the user barged in on a response.

        Inert if the response was already interrupted. Otherwise the response is
        discarded, and each of its uncommitted items is settled by what the
        user could have noticed:

        * display text is kept and ready -- the user did not talk over written
          text;
        * a spoken item that was already truncated is ready with its heard
          prefix;
        * a spoken item with text awaits its truncation, which commits the
          heard prefix as a ``TranscriptBlock(truncated=True)``. If a ready item
          is waiting on it (directly or through skipped anchors) before the
          truncation comes, or at :meth:`flush`, the ``unheard_policy`` decides:
          ``"drop"`` makes it a skipped anchor, ``"keep"`` commits its full
          staged text -- so a missing truncation never blocks the conversation;
        * an item without content becomes a skipped anchor.

        If the response had no completion, a ``cancelled`` one without usage is
        recorded, so the first-completion-wins rule makes any later completion
        inert -- except for its usage: the first later completion that carries
        usage fills it in (R8). From now on, any event naming the response turns
        an item without content into a skipped anchor, and adds no text.
        """
        (rid,) = ids
        resp = self._response(rid)
        if resp.discarded:
            return _NO_CHANGES
        self._discard(resp, None)
        return self._materialize()

    def _on_completed(self, event: AssistantTurnCompleted, ids: tuple[str]) -> _Changes:
        """R8: the terminal boundary of a response.

        The first completion of a response wins; later ones are inert, so a
        duplicate cannot change the stop reason or count usage twice -- with
        one exception: a response interrupted before it completed (R7) has no
        usage yet, and the first later completion that carries usage (the
        provider's ``cancelled`` completion, typically) fills it in, once. If
        the response's message has already committed, it is revised to carry
        the usage (a :class:`Revised` change). A
        ``cancelled`` completion of a response that was not interrupted is an
        interruption (R7), with the event's usage recorded. Any other stop
        reason -- ``tool_use`` included -- records the completion and makes the
        response's items that have content ready: text spoken before a tool call
        commits with ``stop_reason=tool_use``, and the continuation after the
        tool result is a new response. Completion is response-scoped: it never
        readies another response's items.
        """
        (rid,) = ids
        resp = self._response(rid)
        if resp.completed:
            if resp.usage_open and event.usage is not None:
                return self._fill_usage(resp, event.usage)
            return _NO_CHANGES
        if event.stop_reason is StopReason.CANCELLED:
            self._discard(resp, event.usage)
            return self._materialize()
        resp.completed = True
        resp.stop_reason = event.stop_reason
        resp.usage = event.usage
        for item in list(resp.live.values()):
            if item.status is _STAGED and item.segs:
                self._became_ready(item)
        return self._materialize()

    def _fill_usage(self, resp: _Response, usage: Usage) -> _Changes:
        resp.usage_open = False
        resp.usage = usage
        index = resp.first_message
        if index < 0:
            return _NO_CHANGES  # the first message to commit will carry it
        message = self._messages[index]
        if not isinstance(message, AssistantMessage):  # unreachable: set by _commit_group
            return _NO_CHANGES
        revised = attrs.evolve(message, usage=usage)
        self._messages[index] = revised
        self._view = None
        return (Revised(item_id=message.item_ids[0], message=revised),)

    def _discard(self, resp: _Response, usage: Usage | None) -> None:
        resp.discarded = True
        if not resp.completed:
            resp.completed = True
            resp.stop_reason = StopReason.CANCELLED
            resp.usage = usage
            resp.usage_open = usage is None
        for item in list(resp.live.values()):
            item.fast_lane = None
            item.seen = None
            status = item.status
            if status is _SKIPPED:
                continue
            if not item.has_text:
                self._became_skipped(item)
            elif item.lane is _DISPLAY or item.truncated:
                if status is not _READY and status is not _KEPT:
                    self._became_ready(item)
            else:
                self._became_awaiting(item)

    def _on_heard_in_full(
        self, event: AssistantTranscriptHeardInFull, ids: _ResponseItemIds
    ) -> _Changes:
        """The user heard an interrupted item to the end: it keeps its whole text.

        For an item of an interrupted response awaiting its truncation (R7),
        this settles it as the ``"keep"`` policy would, whatever the policy: it
        is ready with its full staged text, not truncated, and commits when its
        predecessor has resolved. Like a kept item, it can still be cut by a
        truncation (R5, or R9 once committed). For any other item -- unknown,
        committed, truncated, not interrupted, without content -- it is inert.
        """
        iid, rid = ids
        item = self._live.get(iid)
        if item is None or item.status is not _AWAITING:
            return _NO_CHANGES
        if item.rid != rid:
            self._conflict("assistant_transcript_heard_in_full", iid, "response_id")
            return _NO_CHANGES
        self._became_ready(item, _KEPT)
        return self._materialize()

    def _on_orphans_released(self, event: OrphansReleased, ids: tuple[tuple[str, ...]]) -> _Changes:
        """R11 as an event: each listed item still pending stops waiting for its predecessor.

        It becomes a root, as :meth:`release_orphans` makes it, and ready roots
        commit with what is chained after them. Ids of items that already
        committed, were already released, or are unknown are ignored, so the
        event is inert when replayed.
        """
        (item_ids,) = ids
        live = self._live
        self._order.release(item for iid in item_ids if (item := live.get(iid)) is not None)
        return self._materialize()

    # -- state transitions ---------------------------------------------------------

    def _response(self, rid: str) -> _Response:
        resp = self._responses.get(rid)
        if resp is None:
            resp = self._responses[rid] = _Response(rid)
        return resp

    def _create(
        self,
        iid: str,
        pid: str | None,
        role: RealtimeTranscriptRole | None,
        rid: str | None,
    ) -> _Item:
        item = _Item(iid, role)
        self._order.add(item)
        if pid is not None:
            self._order.link(item, pid)
        if rid is not None:
            self._attach(item, rid)
        return item

    def _attach(self, item: _Item, rid: str) -> None:
        resp = self._response(rid)
        # Share the record's string: one copy per response, not per item.
        item.rid = resp.response_id
        item.resp = resp
        if item.role is _ASSISTANT and item.status is not _SKIPPED:
            resp.live[item.item_id] = item

    def _became_ready(self, item: _Item, status: _Status = _READY) -> None:
        item.status = status
        self._order.offer(item)
        self._demand_from(item)

    def _became_skipped(self, item: _Item) -> None:
        self._set_skipped(item)
        if self._has_demanding_child(item):
            item.wanted = True
            self._demand_from(item)

    def _set_skipped(self, item: _Item) -> None:
        item.status = _SKIPPED
        item.segs = None
        item.cur = None
        item.seen = None
        item.final = None
        item.has_text = False
        item.fast_lane = None
        self._order.offer(item)

    def _became_awaiting(self, item: _Item) -> None:
        item.status = _AWAITING
        if self._has_demanding_child(item):
            if self._resolve_unheard(item) is _SKIPPED:
                item.wanted = True
            self._demand_from(item)

    def _resolve_unheard(self, item: _Item) -> _Status:
        """Settle an item awaiting its truncation by the unheard policy; return its new status."""
        if self._keep_unheard:
            item.status = _KEPT
            self._order.offer(item)
        else:
            self._set_skipped(item)
        return item.status

    def _has_demanding_child(self, item: _Item) -> bool:
        for child in self._order.children(item):
            status = child.status
            if status is _READY or status is _KEPT or (status is _SKIPPED and child.wanted):
                return True
        return False

    def _demand_from(self, item: _Item) -> None:
        """Settle the awaiting items a ready item waits on (R7, unheard policy).

        Walks up the predecessor chain through skipped anchors, marking them as
        waited on, and settles each awaiting-truncation item it meets by the
        policy; it stops at the first item that is staged (the chain is blocked
        there anyway), already ready, or an anchor already marked (everything
        above it was handled when it was marked). Each item is marked at most
        once, so the walks cost O(1) amortized per item.
        """
        for parent in self._order.ancestors(item):
            status = parent.status
            if status is _AWAITING:
                if self._resolve_unheard(parent) is _SKIPPED:
                    parent.wanted = True
            elif status is _SKIPPED and not parent.wanted:
                parent.wanted = True
            else:
                return

    # -- R10: materialization --------------------------------------------------------

    def _materialize(self) -> _Changes:
        """R10: commit every committable item, earliest-seen first.

        An item can commit when it is ready (or is a skipped anchor) and its
        predecessor has resolved, or it has none, or it was released as a root.
        Committing an item can make its children committable; the ordering
        index queues them, so a whole chain commits in one call, in causal
        order, and otherwise in first-seen order. Consecutive assistant items
        of the same response committed here form one :class:`AssistantMessage`
        (anchors and blank items between them do not break the run); the
        response's usage goes on its first message only. A ready item whose
        text is blank resolves without a message.
        """
        order = self._order
        if not order.has_queued():
            return _NO_CHANGES
        messages = self._messages
        changes: list[TranscriptChange] = []
        group: _Response | None = None
        group_ids: list[str] = []
        group_blocks: list[Block] = []
        while (item := order.pop()) is not None:
            if item.status is _SKIPPED:
                self._resolve(item, -1, 0)
                continue
            text = item.text()
            if _blank(text):
                self._resolve(item, -1, 0)
                continue
            iid = item.item_id
            if item.role is _USER:
                if group is not None:
                    changes.append(self._commit_group(group, group_ids, group_blocks))
                    group = None
                message = UserMessage(item_id=iid, text=text)
                messages.append(message)
                self._resolve(item, len(messages) - 1, 0)
                changes.append(Committed(message=message))
                continue
            resp = item.resp
            if resp is None:  # unreachable: an assistant item is ready through its response
                self._resolve(item, -1, 0)
                continue
            if resp is not group:
                if group is not None:
                    changes.append(self._commit_group(group, group_ids, group_blocks))
                group = resp
                group_ids = []
                group_blocks = []
            block: Block
            if item.lane is _SPOKEN:
                block = TranscriptBlock(
                    item_id=iid,
                    text=text,
                    truncated=item.truncated,
                    estimated=item.estimated,
                    audio_played_ms=item.audio_played_ms,
                )
            else:
                block = TextBlock(item_id=iid, text=text)
            self._resolve(item, len(messages), len(group_blocks))
            group_ids.append(iid)
            group_blocks.append(block)
        if group is not None:
            changes.append(self._commit_group(group, group_ids, group_blocks))
        if not changes:
            return _NO_CHANGES
        self._view = None
        return tuple(changes)

    def _commit_group(self, resp: _Response, item_ids: list[str], blocks: list[Block]) -> Committed:
        usage = None if resp.usage_consumed else resp.usage
        if not resp.usage_consumed:
            resp.usage_consumed = True
            resp.first_message = len(self._messages)
        message = AssistantMessage(
            response_id=resp.response_id,
            item_ids=tuple(item_ids),
            blocks=tuple(blocks),
            stop_reason=resp.stop_reason,
            usage=usage,
        )
        self._messages.append(message)
        return Committed(message=message)

    def _resolve(self, item: _Item, message_index: int, block_index: int) -> None:
        iid = item.item_id
        resp = item.resp
        if resp is not None:
            resp.live.pop(iid, None)
        self._done[iid] = _Done(item.role, item.rid, message_index, block_index)
        self._order.resolve(item)

    # -- logging ---------------------------------------------------------------------

    def _dropped_duplicate(self, item_id: str, delta_id: str) -> None:
        self._duplicates += 1
        if self._duplicates in _DUPLICATES_LOGGED_AT:
            self._log.warning(
                "transcript_duplicate_deltas_dropped",
                item_id=item_id,
                delta_id=delta_id,
                duplicate_deltas=self._duplicates,
            )

    def _reject(self, kind: str, reason: str) -> _Changes:
        self._rejected += 1
        self._log.warning("transcript_event_rejected", event_type=kind, reason=reason)
        return _NO_CHANGES

    def _conflict(self, kind: str, item_id: str, fields: str) -> None:
        self._log.warning(
            "transcript_conflict_ignored", event_type=kind, item_id=item_id, fields=fields
        )

    def _ignored(self, kind: str, item_id: str, reason: str) -> None:
        self._log.warning(
            "transcript_content_ignored", event_type=kind, item_id=item_id, reason=reason
        )


_DELTA_KINDS: Final = {True: "assistant_transcript_delta", False: "assistant_text_delta"}

_Check: TypeAlias = "Callable[[Any], tuple[Any, ...] | str]"
_Handle: TypeAlias = "Callable[[TranscriptReducer, Any, Any], _Changes]"

# Each event type: the name its refusals are logged under, its boundary check, its rule.
_RULES: Final[dict[type, tuple[str, _Check, _Handle]]] = {
    ItemObserved: ("item_observed", _check_item_observed, TranscriptReducer._on_item_observed),
    ItemSkipped: ("item_skipped", _check_item_skipped, TranscriptReducer._on_item_skipped),
    UserTranscriptFinal: (
        "user_transcript_final",
        _check_user_final,
        TranscriptReducer._on_user_final,
    ),
    AssistantTextDelta: (
        "assistant_text_delta",
        _check_delta_event,
        TranscriptReducer._on_text_delta,
    ),
    AssistantTranscriptDelta: (
        "assistant_transcript_delta",
        _check_delta_event,
        TranscriptReducer._on_transcript_delta,
    ),
    AssistantTranscriptTruncated: (
        "assistant_transcript_truncated",
        _check_truncated,
        TranscriptReducer._on_truncated,
    ),
    AssistantTranscriptFinalText: (
        "assistant_transcript_final_text",
        _check_final_text,
        TranscriptReducer._on_final_text,
    ),
    AssistantTurnCompleted: (
        "assistant_turn_completed",
        _check_completed,
        TranscriptReducer._on_completed,
    ),
    AssistantTurnInterrupted: (
        "assistant_turn_interrupted",
        _check_interrupted,
        TranscriptReducer._on_interrupted,
    ),
    AssistantTranscriptHeardInFull: (
        "assistant_transcript_heard_in_full",
        _check_heard_in_full,
        TranscriptReducer._on_heard_in_full,
    ),
    OrphansReleased: (
        "orphans_released",
        _check_orphans_released,
        TranscriptReducer._on_orphans_released,
    ),
}
