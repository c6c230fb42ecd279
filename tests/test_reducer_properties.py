"""Property tests of TranscriptReducer: the invariants hold for any event sequence.

Events are drawn from small id pools so that collisions -- duplicates, conflicts,
self-references, cycles, blank ids -- are frequent rather than rare.
"""

from __future__ import annotations

from typing import Any

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_session.events import StopReason, Usage
from realtime_session.transcript import (
    AssistantMessage,
    AssistantTextDelta,
    AssistantTranscriptDelta,
    AssistantTranscriptFinalText,
    AssistantTranscriptHeardInFull,
    AssistantTranscriptTruncated,
    AssistantTurnCompleted,
    AssistantTurnInterrupted,
    Committed,
    ItemObserved,
    ItemSkipped,
    Message,
    OrphansReleased,
    RealtimeTranscriptEvent,
    RealtimeTranscriptRole,
    Revised,
    TranscriptBlock,
    TranscriptChange,
    TranscriptReducer,
    UnheardPolicy,
    UserMessage,
    UserTranscriptFinal,
)

ITEMS = ("a", "b", "c", "d")
RESPONSES = ("r1", "r2", "r3")
DELTA_IDS = ("d1", "d2", "d3", "d4")
TEXTS = ("", " ", "hi", "yo ", "ok")
# Truncations carry their own alphabet, so tests can tell heard prefixes apart.
HEARD = ("", " ", "t", "tt ")
# Text written for a discarded response; it must never reach the transcript.
LATE = "Z"

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None)

item_ids = st.sampled_from((*ITEMS, *ITEMS, " a", "b ", "", "  "))
response_ids = st.sampled_from((*RESPONSES, *RESPONSES, " r1", ""))
previous_ids = st.none() | st.sampled_from((*ITEMS, " b", ""))
indexes = st.sampled_from((0, 0, 1))
texts = st.sampled_from(TEXTS)
usages = st.none() | st.builds(Usage, input_tokens=st.integers(0, 10_000))


def _delta_ids(blank: bool) -> st.SearchStrategy[str]:
    return st.sampled_from((*DELTA_IDS, " d1", *(("", " ") if blank else ())))


def transcript_events(
    *, blank_delta_ids: bool = True, decisions: bool = True
) -> st.SearchStrategy[Any]:
    """Any transcript event; with ``decisions``, also those a session takes on its own.

    A session's decisions (an item heard in full, orphans released) depend on the
    moment they are taken: unlike what a provider sends, they are not replayed
    after a reconnect, and applying one again later is not inert.
    """
    delta_ids = _delta_ids(blank_delta_ids)
    decided = (
        [
            st.builds(AssistantTranscriptHeardInFull, response_id=response_ids, item_id=item_ids),
            st.builds(OrphansReleased, item_ids=st.lists(item_ids, max_size=3).map(tuple)),
        ]
        if decisions
        else []
    )

    def deltas(cls: type[AssistantTextDelta | AssistantTranscriptDelta]) -> st.SearchStrategy[Any]:
        return st.builds(
            cls,
            response_id=response_ids,
            delta_id=delta_ids,
            item_id=item_ids,
            previous_item_id=previous_ids,
            content_index=indexes,
            delta=texts,
        )

    return st.one_of(
        st.builds(
            ItemObserved,
            item_id=item_ids,
            previous_item_id=previous_ids,
            role=st.sampled_from(RealtimeTranscriptRole),
            response_id=st.none() | response_ids,
        ),
        st.builds(ItemSkipped, item_id=item_ids, previous_item_id=previous_ids),
        st.builds(
            UserTranscriptFinal,
            item_id=item_ids,
            previous_item_id=previous_ids,
            content_index=indexes,
            text=texts,
        ),
        deltas(AssistantTextDelta),
        deltas(AssistantTranscriptDelta),
        deltas(AssistantTranscriptDelta),
        st.builds(
            AssistantTranscriptTruncated,
            response_id=response_ids,
            item_id=item_ids,
            content_index=indexes,
            text=st.sampled_from(HEARD),
            audio_played_ms=st.none() | st.integers(0, 5_000),
            estimated=st.booleans(),
        ),
        st.builds(
            AssistantTranscriptFinalText,
            response_id=response_ids,
            item_id=item_ids,
            content_index=indexes,
            text=texts,
        ),
        st.builds(
            AssistantTurnCompleted,
            response_id=response_ids,
            stop_reason=st.sampled_from(StopReason),
            usage=usages,
        ),
        st.builds(AssistantTurnInterrupted, response_id=response_ids),
        *decided,
    )


@st.composite
def delta_bursts(draw: st.DrawFn, *, blank_delta_ids: bool = True) -> list[Any]:
    """A run of deltas for one item, as a provider streams them (repeats included)."""
    cls = draw(st.sampled_from((AssistantTextDelta, AssistantTranscriptDelta)))
    item, response = draw(item_ids), draw(response_ids)
    previous = draw(previous_ids)
    index = draw(indexes)
    return [
        cls(
            response_id=response,
            delta_id=draw(_delta_ids(blank_delta_ids)),
            item_id=item,
            previous_item_id=draw(st.sampled_from((previous, previous, None, "c"))),
            content_index=index,
            delta=draw(texts),
        )
        for _ in range(draw(st.integers(1, 6)))
    ]


def event_sequences(
    *, blank_delta_ids: bool = True, decisions: bool = True
) -> st.SearchStrategy[list[Any]]:
    chunks = st.lists(
        st.one_of(
            transcript_events(blank_delta_ids=blank_delta_ids, decisions=decisions).map(
                lambda event: [event]
            ),
            delta_bursts(blank_delta_ids=blank_delta_ids),
        ),
        max_size=16,
    )
    return chunks.map(lambda parts: [event for part in parts for event in part])


event_lists = event_sequences()
policies = st.sampled_from(("drop", "keep"))


def apply_changes(messages: list[Message], changes: tuple[TranscriptChange, ...]) -> list[Message]:
    """What a subscriber holding ``messages`` has after receiving ``changes``."""
    result = list(messages)
    for change in changes:
        if isinstance(change, Committed):
            result.append(change.message)
        else:
            assert isinstance(change, Revised)
            [index] = [
                i
                for i, m in enumerate(result)
                if change.item_id
                in (m.item_ids if isinstance(m, AssistantMessage) else (m.item_id,))
            ]
            result[index] = change.message
    return result


def snapshot(reducer: TranscriptReducer) -> tuple[object, ...]:
    return (
        reducer.messages,
        reducer.pending_item_ids(),
        reducer.rejected,
        tuple(reducer.item_response_id(i) for i in ITEMS),
        tuple(reducer.item_spoken_text(i) for i in ITEMS),
    )


def close(reducer: TranscriptReducer) -> tuple[Message, ...]:
    """Commit everything that can commit, so staged differences become visible.

    Staged text (display text especially) and staged predecessors are not
    observable until an item commits; completing every response and
    finalizing every user item makes them commit, and the resulting order and
    text expose any difference.
    """
    for response in RESPONSES:
        reducer.apply(
            AssistantTurnCompleted(
                response_id=response, stop_reason=StopReason.END_TURN, usage=None
            )
        )
    for item in ITEMS:
        reducer.apply(UserTranscriptFinal(item_id=item, text="end"))
    reducer.flush()
    return reducer.messages


# -- 1. replaying a prefix is inert -----------------------------------------------------


@PROPERTY_SETTINGS
@given(event_sequences(blank_delta_ids=False, decisions=False), st.data(), policies)
def test_replaying_applied_events_is_inert(
    events: list[RealtimeTranscriptEvent], data: st.DataObject, policy: UnheardPolicy
) -> None:
    # A reconnect replays a prefix; any already-applied slice must be inert too.
    reducer = TranscriptReducer.from_events(events, unheard_policy=policy)
    untouched = TranscriptReducer.from_events(events, unheard_policy=policy)
    start = data.draw(st.integers(0, len(events)), label="start")
    end = data.draw(st.integers(start, len(events)), label="end")
    for event in events[start:end]:
        assert reducer.apply(event) == ()
    # Replayed malformed events are counted again; nothing else may differ.
    assert snapshot(reducer)[:2] == snapshot(untouched)[:2]
    assert snapshot(reducer)[3:] == snapshot(untouched)[3:]
    assert close(reducer) == close(untouched)


# -- 7. from_events equals the live reducer ----------------------------------------------


@PROPERTY_SETTINGS
@given(event_lists, policies)
def test_from_events_rebuilds_the_live_reducer(
    events: list[RealtimeTranscriptEvent], policy: UnheardPolicy
) -> None:
    live = TranscriptReducer(unheard_policy=policy)
    committed: list[Message] = []
    for event in events:
        committed = apply_changes(committed, live.apply(event))
        # The changes returned are exactly how messages moved.
        assert tuple(committed) == live.messages
    rebuilt = TranscriptReducer.from_events(events, unheard_policy=policy)
    assert snapshot(rebuilt) == snapshot(live)
    assert close(rebuilt) == close(live)


# -- apply_assistant_delta is ItemObserved + delta ------------------------------------------


@PROPERTY_SETTINGS
@given(event_lists, policies)
def test_apply_assistant_delta_equals_observation_plus_delta(
    events: list[RealtimeTranscriptEvent], policy: UnheardPolicy
) -> None:
    direct = TranscriptReducer(unheard_policy=policy)
    paired = TranscriptReducer(unheard_policy=policy)
    for event in events:
        if isinstance(event, AssistantTextDelta | AssistantTranscriptDelta):
            got = direct.apply_assistant_delta(
                spoken=isinstance(event, AssistantTranscriptDelta),
                response_id=event.response_id,
                delta_id=event.delta_id,
                item_id=event.item_id,
                previous_item_id=event.previous_item_id,
                content_index=event.content_index,
                delta=event.delta,
            )
            observation = ItemObserved(
                item_id=event.item_id,
                previous_item_id=event.previous_item_id,
                role=RealtimeTranscriptRole.ASSISTANT,
                response_id=event.response_id,
            )
            expected = paired.apply(observation) + paired.apply(event)
        else:
            got = direct.apply(event)
            expected = paired.apply(event)
        assert got == expected
        assert snapshot(direct) == snapshot(paired)
    assert close(direct) == close(paired)
    assert snapshot(direct) == snapshot(paired)


# -- 3, 4, 5, 6: responses -----------------------------------------------------------------


def _response(event: RealtimeTranscriptEvent) -> str | None:
    """The normalized response id an event names, if it has a non-blank one."""
    rid = getattr(event, "response_id", None)
    if not isinstance(rid, str) or not rid.strip():
        return None
    return rid.strip()


@PROPERTY_SETTINGS
@given(event_lists, policies)
def test_responses_are_scoped_never_resurrected_and_counted_once(
    events: list[RealtimeTranscriptEvent], policy: UnheardPolicy
) -> None:
    reducer = TranscriptReducer(unheard_policy=policy)
    completed: set[str] = set()
    discarded: set[str] = set()
    first_usage: dict[str, Usage | None] = {}
    # Ended without usage: the first later completion that carries usage brings it.
    usage_open: set[str] = set()
    first_stop: dict[str, StopReason] = {}
    committed_while_discarded: list[AssistantMessage] = []
    heard_in_full: set[str] = set()

    def check(changes: tuple[TranscriptChange, ...]) -> None:
        for change in changes:
            message = change.message
            if not isinstance(change, Committed) or not isinstance(message, AssistantMessage):
                continue
            # 3. Only completed (or interrupted) responses commit.
            assert message.response_id in completed
            if message.response_id in discarded:
                committed_while_discarded.append(message)

    for original in events:
        event = original
        rid = _response(event)
        # 4. Text sent for a response after its interruption must never land.
        if (
            rid in discarded
            and isinstance(
                event,
                AssistantTextDelta | AssistantTranscriptDelta | AssistantTranscriptFinalText,
            )
            and event.item_id.strip()
        ):
            if isinstance(event, AssistantTranscriptFinalText):
                event = attrs.evolve(event, text=LATE)
            else:
                event = attrs.evolve(event, delta=LATE)
        if rid is not None and rid not in completed:
            if isinstance(event, AssistantTurnInterrupted):
                completed.add(rid)
                discarded.add(rid)
                first_usage[rid] = None
                usage_open.add(rid)
                first_stop[rid] = StopReason.CANCELLED
            elif isinstance(event, AssistantTurnCompleted):
                completed.add(rid)
                first_usage[rid] = event.usage
                first_stop[rid] = event.stop_reason
                if event.stop_reason is StopReason.CANCELLED:
                    discarded.add(rid)
                    if event.usage is None:
                        usage_open.add(rid)
        elif rid is not None and isinstance(event, AssistantTurnInterrupted):
            discarded.add(rid)
        elif (
            rid in usage_open
            and isinstance(event, AssistantTurnCompleted)
            and event.usage is not None
        ):
            usage_open.discard(rid)
            first_usage[rid] = event.usage
        if isinstance(event, AssistantTranscriptHeardInFull):
            heard_in_full.add(event.item_id.strip())
        check(reducer.apply(event))
    check(reducer.flush())

    for message in reducer.messages:
        if isinstance(message, AssistantMessage):
            assert LATE not in message.text
    # 5. Spoken text committed after barge-in is a heard prefix, unless kept by policy
    # or heard in full.
    if policy == "drop":
        for message in committed_while_discarded:
            for block in message.blocks:
                assert (
                    not isinstance(block, TranscriptBlock)
                    or block.truncated
                    or block.item_id in heard_in_full
                )
    # 6. Usage goes on the first message of a response, and only there; the
    # first completion (an interruption records "cancelled") sets the stop reason,
    # and a usage reported after a barge-in fills in the one it could not record.
    seen: set[str] = set()
    for message in reducer.messages:
        if isinstance(message, AssistantMessage):
            assert message.stop_reason is first_stop[message.response_id]
            if message.response_id in seen:
                assert message.usage is None
            else:
                seen.add(message.response_id)
                assert message.usage == first_usage[message.response_id]


# -- 2. nothing commits before its predecessor --------------------------------------------


@st.composite
def causal_scenarios(draw: st.DrawFn) -> list[RealtimeTranscriptEvent]:
    """Events where each item has one fixed predecessor, role and response.

    Every item is announced (``ItemObserved`` with its predecessor) just before
    the first event about it, so the reducer always knows an item's predecessor
    and the test can check the commit order against it. Predecessors include the
    item itself and items announced later, so chains arrive out of order and
    cycles occur.
    """
    prev_of = {i: draw(st.none() | st.sampled_from(ITEMS)) for i in ITEMS}
    role_of = {i: draw(st.sampled_from(RealtimeTranscriptRole)) for i in ITEMS}
    response_of = {i: draw(st.sampled_from(RESPONSES)) for i in ITEMS}
    steps = draw(
        st.lists(
            st.tuples(
                st.integers(0, 6),
                st.sampled_from(ITEMS),
                st.sampled_from(DELTA_IDS),
                st.sampled_from((*TEXTS, "x")),
                st.sampled_from(RESPONSES),
                st.sampled_from(StopReason),
            ),
            max_size=40,
        )
    )
    events: list[RealtimeTranscriptEvent] = []
    announced: set[str] = set()
    for kind, item, delta_id, text, resp, stop in steps:
        if kind == 5:
            events.append(AssistantTurnCompleted(response_id=resp, stop_reason=stop, usage=None))
            continue
        if kind == 6:
            events.append(AssistantTurnInterrupted(response_id=resp))
            continue
        is_user = role_of[item] is RealtimeTranscriptRole.USER
        if item not in announced:
            announced.add(item)
            events.append(
                ItemObserved(
                    item_id=item,
                    previous_item_id=prev_of[item],
                    role=role_of[item],
                    response_id=None if is_user else response_of[item],
                )
            )
        if kind == 0:
            events.append(ItemSkipped(item_id=item, previous_item_id=prev_of[item]))
        elif is_user:
            events.append(
                UserTranscriptFinal(item_id=item, previous_item_id=prev_of[item], text=text)
            )
        elif kind in (1, 2):
            cls = AssistantTranscriptDelta if kind == 1 else AssistantTextDelta
            events.append(
                cls(
                    response_id=response_of[item],
                    delta_id=delta_id,
                    item_id=item,
                    previous_item_id=prev_of[item],
                    delta=text,
                )
            )
        elif kind == 3:
            events.append(
                AssistantTranscriptTruncated(response_id=response_of[item], item_id=item, text=text)
            )
        else:
            events.append(
                AssistantTranscriptFinalText(response_id=response_of[item], item_id=item, text=text)
            )
    # The predecessor map travels as the first event's metadata: an ItemObserved
    # for every item is implied by the scenario, so the test recomputes it.
    return events


def _predecessors(events: list[RealtimeTranscriptEvent]) -> dict[str, str | None]:
    return {e.item_id: e.previous_item_id for e in events if isinstance(e, ItemObserved)}


@PROPERTY_SETTINGS
@given(causal_scenarios(), policies)
def test_nothing_commits_before_its_predecessor(
    events: list[RealtimeTranscriptEvent], policy: UnheardPolicy
) -> None:
    prev_of = _predecessors(events)
    reducer = TranscriptReducer(unheard_policy=policy)
    position: dict[str, tuple[int, int]] = {}
    known: set[str] = set()
    for event in events:
        if isinstance(event, ItemObserved):
            known.add(event.item_id)
        changes = reducer.apply(event)
        pending = set(reducer.pending_item_ids())
        messages = reducer.messages
        new_items = []
        for change in changes:
            if isinstance(change, Committed):
                message = change.message
                index = messages.index(message)
                ids = (
                    message.item_ids
                    if isinstance(message, AssistantMessage)
                    else (message.item_id,)
                )
                for block_index, item in enumerate(ids):
                    position[item] = (index, block_index)
                    new_items.append(item)
        for item in new_items:
            visited = {item}
            ancestor = prev_of[item]
            while ancestor is not None:
                assert ancestor not in visited, f"{item} committed through a cycle"
                assert ancestor in known, f"{item} committed before {ancestor} was seen"
                if ancestor in position:
                    assert position[ancestor] < position[item]
                    break
                assert ancestor not in pending, f"{item} committed before {ancestor}"
                visited.add(ancestor)
                ancestor = prev_of[ancestor]


# -- nothing escapes ----------------------------------------------------------------------

junk = st.sampled_from((None, 0, 1.5, b"a", ["a"], {"a": 1}, True, "a"))


def garbled(event: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """An event with one field replaced by a value of a possibly wrong type."""

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        original = draw(event)
        field = draw(st.sampled_from([f.name for f in attrs.fields(type(original))]))
        return attrs.evolve(original, **{field: draw(junk)})

    return build()


class NotAnEvent:
    pass


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.one_of(
            transcript_events(),
            garbled(transcript_events()),
            st.sampled_from(("release", "flush")),
        ),
        max_size=40,
    ),
    policies,
)
def test_no_exception_escapes_for_any_sequence(steps: list[Any], policy: UnheardPolicy) -> None:
    reducer = TranscriptReducer(unheard_policy=policy)
    committed: list[Message] = []
    for step in steps:
        if step == "release":
            changes = reducer.release_orphans()
        elif step == "flush":
            changes = reducer.flush()
        else:
            changes = reducer.apply(step)
        committed = apply_changes(committed, changes)
        assert tuple(committed) == reducer.messages
        for i in (*ITEMS, 5, None):
            reducer.item_response_id(i)  # type: ignore[arg-type]
            reducer.item_spoken_text(i)  # type: ignore[arg-type]
    for message in reducer.messages:
        assert isinstance(message, UserMessage | AssistantMessage)
        assert isinstance(message.text, str)
    reducer.flush()
    delta_args: dict[str, Any] = {
        "spoken": True,
        "response_id": ["r1"],
        "delta_id": 3,
        "item_id": {},
        "previous_item_id": None,
        "content_index": 0,
        "delta": "x",
    }
    assert reducer.apply_assistant_delta(**delta_args) == ()
    try:
        reducer.apply(NotAnEvent())  # type: ignore[arg-type]
    except TypeError:
        pass
    else:
        raise AssertionError("a non-event must raise TypeError")
