"""TranscriptReducer: one test per rule (and per branch), then whole scenarios."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from structlog.testing import capture_logs

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
    TextBlock,
    TranscriptBlock,
    TranscriptChange,
    TranscriptReducer,
    UnheardPolicy,
    UserMessage,
    UserTranscriptFinal,
)

USER = RealtimeTranscriptRole.USER
ASSISTANT = RealtimeTranscriptRole.ASSISTANT


# -- event builders: short names keep the scenarios readable --------------------


def user(item: str, text: str, prev: str | None = None, index: int = 0) -> UserTranscriptFinal:
    return UserTranscriptFinal(item_id=item, previous_item_id=prev, content_index=index, text=text)


def text_delta(
    resp: str, item: str, delta_id: str, delta: str, prev: str | None = None, index: int = 0
) -> AssistantTextDelta:
    return AssistantTextDelta(
        response_id=resp,
        delta_id=delta_id,
        item_id=item,
        previous_item_id=prev,
        content_index=index,
        delta=delta,
    )


def spoken_delta(
    resp: str, item: str, delta_id: str, delta: str, prev: str | None = None, index: int = 0
) -> AssistantTranscriptDelta:
    return AssistantTranscriptDelta(
        response_id=resp,
        delta_id=delta_id,
        item_id=item,
        previous_item_id=prev,
        content_index=index,
        delta=delta,
    )


def completed(
    resp: str, stop: StopReason = StopReason.END_TURN, usage: Usage | None = None
) -> AssistantTurnCompleted:
    return AssistantTurnCompleted(response_id=resp, stop_reason=stop, usage=usage)


def interrupted(resp: str) -> AssistantTurnInterrupted:
    return AssistantTurnInterrupted(response_id=resp)


def truncated(
    resp: str,
    item: str,
    text: str,
    played_ms: int | None = None,
    estimated: bool = False,
    index: int = 0,
) -> AssistantTranscriptTruncated:
    return AssistantTranscriptTruncated(
        response_id=resp,
        item_id=item,
        content_index=index,
        text=text,
        audio_played_ms=played_ms,
        estimated=estimated,
    )


def final(resp: str, item: str, text: str, index: int = 0) -> AssistantTranscriptFinalText:
    return AssistantTranscriptFinalText(
        response_id=resp, item_id=item, content_index=index, text=text
    )


def observed(
    item: str,
    role: RealtimeTranscriptRole = ASSISTANT,
    prev: str | None = None,
    resp: str | None = None,
) -> ItemObserved:
    return ItemObserved(item_id=item, previous_item_id=prev, role=role, response_id=resp)


def skipped(item: str, prev: str | None = None) -> ItemSkipped:
    return ItemSkipped(item_id=item, previous_item_id=prev)


def run(reducer: TranscriptReducer, *events: RealtimeTranscriptEvent) -> list[TranscriptChange]:
    changes: list[TranscriptChange] = []
    for event in events:
        changes.extend(reducer.apply(event))
    return changes


def lines(messages: tuple[Message, ...] | list[Message]) -> list[str]:
    """The transcript as the CLI prints it, one line per message."""
    return [
        f"user: {m.text}" if isinstance(m, UserMessage) else f"assistant: {m.text}"
        for m in messages
    ]


def committed_lines(changes: list[TranscriptChange] | tuple[TranscriptChange, ...]) -> list[str]:
    return lines([c.message for c in changes if isinstance(c, Committed)])


def assistant(message: Message) -> AssistantMessage:
    assert isinstance(message, AssistantMessage)
    return message


# -- construction and API surface -------------------------------------------------


def test_unknown_unheard_policy_is_a_value_error_naming_the_value() -> None:
    bad: Any = "forget"
    with pytest.raises(ValueError, match="'forget'"):
        TranscriptReducer(unheard_policy=bad)


def test_apply_refuses_an_object_that_is_not_a_transcript_event() -> None:
    reducer = TranscriptReducer()
    not_an_event: Any = "hello"
    with pytest.raises(TypeError, match="not str"):
        reducer.apply(not_an_event)


def test_policy_is_reported() -> None:
    assert TranscriptReducer().unheard_policy == "drop"
    assert TranscriptReducer(unheard_policy="keep").unheard_policy == "keep"


# -- R0 normalisation -----------------------------------------------------------------


def test_r0_ids_are_stripped() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        user(" u1 ", "hello"),
        spoken_delta(" r1", "a1 ", " d1", "Hi", prev="u1"),
        spoken_delta("r1", "a1", "d1 ", "Hi"),
        completed("r1 "),
    )
    assert reducer.messages[0] == UserMessage(item_id="u1", text="hello")
    message = assistant(reducer.messages[1])
    assert (message.response_id, message.item_ids, message.text) == ("r1", ("a1",), "Hi")
    assert reducer.item_response_id(" a1 ") == "r1"


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(user("  ", "hello"), id="user_final"),
        pytest.param(observed(""), id="item_observed"),
        pytest.param(skipped(" "), id="item_skipped"),
        pytest.param(text_delta("r1", "", "d1", "x"), id="text_delta"),
        pytest.param(truncated("r1", " ", "x"), id="truncation"),
        pytest.param(final("r1", "", "x"), id="final_text"),
    ],
)
def test_r0_blank_item_id_makes_the_event_inert_counted_and_logged(
    event: RealtimeTranscriptEvent,
) -> None:
    reducer = TranscriptReducer()
    with capture_logs() as logs:
        assert reducer.apply(event) == ()
    assert reducer.rejected == 1
    assert reducer.pending_item_ids() == ()
    assert [log["event"] for log in logs] == ["transcript_event_rejected"]
    assert "blank item_id" in logs[0]["reason"]


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(text_delta(" ", "a1", "d1", "x"), id="text_delta"),
        pytest.param(spoken_delta("", "a1", "d1", "x"), id="spoken_delta"),
        pytest.param(truncated("", "a1", "x"), id="truncation"),
        pytest.param(final("\t", "a1", "x"), id="final_text"),
        pytest.param(completed(" "), id="completion"),
        pytest.param(interrupted(""), id="interruption"),
    ],
)
def test_r0_blank_response_id_on_a_response_scoped_event_is_rejected(
    event: RealtimeTranscriptEvent,
) -> None:
    reducer = TranscriptReducer()
    assert reducer.apply(event) == ()
    assert reducer.rejected == 1
    assert reducer.pending_item_ids() == ()
    assert reducer.item_response_id("a1") is None


def test_r0_blank_response_id_on_an_observation_means_none() -> None:
    reducer = TranscriptReducer()
    reducer.apply(observed("a1", resp="  "))
    assert reducer.rejected == 0
    assert reducer.pending_item_ids() == ("a1",)
    assert reducer.item_response_id("a1") is None


def test_r0_blank_previous_item_id_means_no_predecessor() -> None:
    reducer = TranscriptReducer()
    changes = run(reducer, spoken_delta("r1", "a1", "d1", "Hi", prev="  "), completed("r1"))
    assert committed_lines(changes) == ["assistant: Hi"]


def test_r0_blank_delta_id_disables_dedupe() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        text_delta("r1", "a1", "", "ha"),
        text_delta("r1", "a1", " ", "ha"),
        completed("r1"),
    )
    assert lines(reducer.messages) == ["assistant: haha"]


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(UserTranscriptFinal(item_id="u1", text=b"hi"), id="user_text_bytes"),  # type: ignore[arg-type]
        pytest.param(UserTranscriptFinal(item_id=7, text="hi"), id="user_item_int"),  # type: ignore[arg-type]
        pytest.param(ItemObserved(item_id="a1", role="assistant"), id="role_str"),  # type: ignore[arg-type]
        pytest.param(ItemObserved(item_id=["a1"], role=ASSISTANT), id="item_unhashable"),  # type: ignore[arg-type]
        pytest.param(ItemSkipped(item_id="t1", previous_item_id=3), id="prev_int"),  # type: ignore[arg-type]
        pytest.param(text_delta("r1", "a1", "d1", None), id="delta_none"),  # type: ignore[arg-type]
        pytest.param(spoken_delta("r1", "a1", "d1", "x", index="0"), id="index_str"),  # type: ignore[arg-type]
        pytest.param(spoken_delta("r1", "a1", "d1", "x", index=True), id="index_bool"),
        pytest.param(truncated("r1", "a1", "x", played_ms=1.5), id="played_float"),  # type: ignore[arg-type]
        pytest.param(truncated("r1", "a1", "x", estimated=None), id="estimated_none"),  # type: ignore[arg-type]
        pytest.param(final("r1", "a1", 42), id="final_int"),  # type: ignore[arg-type]
        pytest.param(completed("r1", "end_turn"), id="stop_reason_str"),  # type: ignore[arg-type]
        pytest.param(
            AssistantTurnCompleted(response_id="r1", stop_reason=StopReason.END_TURN, usage=3),  # type: ignore[arg-type]
            id="usage_int",
        ),
        pytest.param(interrupted(None), id="interrupt_none"),  # type: ignore[arg-type]
    ],
)
def test_r0_a_field_of_the_wrong_type_is_rejected_not_raised(
    event: RealtimeTranscriptEvent,
) -> None:
    reducer = TranscriptReducer()
    run(reducer, user("u0", "before"))
    assert reducer.apply(event) == ()
    assert reducer.rejected == 1
    assert reducer.pending_item_ids() == ()
    # The reducer still works afterwards.
    assert committed_lines(run(reducer, user("u1", "after"))) == ["user: after"]


def test_r0_the_hot_path_refuses_what_the_full_rules_refuse() -> None:
    reducer = TranscriptReducer()
    wrong: list[Any] = [(0.0, "x", "d2"), (True, "x", "d3"), (0, b"x", "d4"), (0, "x", 5)]
    reducer.apply_assistant_delta(
        spoken=True,
        response_id="r",
        delta_id="d1",
        item_id="a",
        previous_item_id=None,
        content_index=0,
        delta="ok",
    )
    for index, delta, delta_id in wrong:
        reducer.apply_assistant_delta(
            spoken=True,
            response_id="r",
            delta_id=delta_id,
            item_id="a",
            previous_item_id=None,
            content_index=index,
            delta=delta,
        )
    assert reducer.rejected == len(wrong)
    assert reducer.item_spoken_text("a") == "ok"


# -- R1 ItemObserved --------------------------------------------------------------------


def test_r1_observation_registers_a_predecessor_and_commits_nothing() -> None:
    reducer = TranscriptReducer()
    assert reducer.apply(observed("a1", prev="u1", resp="r1")) == ()
    # The delta itself names no predecessor: the observation's one holds.
    assert run(reducer, spoken_delta("r1", "a1", "d1", "Answer"), completed("r1")) == []
    assert reducer.pending_item_ids() == ("a1",)
    changes = run(reducer, user("u1", "Question"))
    assert committed_lines(changes) == ["user: Question", "assistant: Answer"]


def test_r1_repeat_fills_in_a_missing_predecessor_and_response() -> None:
    reducer = TranscriptReducer()
    run(reducer, observed("a1"), observed("a1", prev="u1", resp="r1"))
    assert reducer.item_response_id("a1") == "r1"
    assert run(reducer, text_delta("r1", "a1", "d1", "Answer"), completed("r1")) == []
    changes = run(reducer, user("u1", "Question"))
    assert committed_lines(changes) == ["user: Question", "assistant: Answer"]


def test_r1_conflicting_values_are_ignored_and_logged_while_missing_ones_are_filled() -> None:
    reducer = TranscriptReducer()
    run(reducer, observed("a1", prev="u1"))
    with capture_logs() as logs:
        assert reducer.apply(observed("a1", role=USER, prev="u9", resp="r1")) == ()
    assert reducer.item_response_id("a1") == "r1"
    assert [(log["event"], log["fields"]) for log in logs] == [
        ("transcript_conflict_ignored", "role, previous_item_id")
    ]
    # The first predecessor still holds, and the item is still an assistant item.
    run(reducer, text_delta("r1", "a1", "d1", "Answer"), completed("r1"), user("u9", "other"))
    assert lines(reducer.messages) == ["user: other"]
    assert committed_lines(run(reducer, user("u1", "Question"))) == [
        "user: Question",
        "assistant: Answer",
    ]


def test_r1_identical_replay_of_an_observation_is_silent() -> None:
    reducer = TranscriptReducer()
    run(reducer, observed("a1", prev="u1", resp="r1"))
    with capture_logs() as logs:
        run(reducer, observed("a1", prev="u1", resp="r1"), observed("a1"))
    assert logs == []


# -- R1b implicit items ------------------------------------------------------------------


def test_r1b_a_content_event_creates_an_unknown_item_with_its_predecessor() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r1", "a1", "d1", "Answer", prev="u1"), completed("r1"))
    assert reducer.pending_item_ids() == ("a1",)
    assert reducer.item_response_id("a1") == "r1"
    assert committed_lines(run(reducer, user("u1", "Q"))) == ["user: Q", "assistant: Answer"]


def test_r1b_a_content_event_for_another_response_is_ignored_and_logged() -> None:
    reducer = TranscriptReducer()
    run(reducer, spoken_delta("r1", "a1", "d1", "mine"))
    with capture_logs() as logs:
        run(reducer, spoken_delta("r2", "a1", "d2", " stolen"))
    assert logs[0]["event"] == "transcript_conflict_ignored"
    assert run(reducer, completed("r2")) == []
    assert committed_lines(run(reducer, completed("r1"))) == ["assistant: mine"]


def test_r1b_a_content_event_of_the_other_role_is_ignored_and_logged() -> None:
    reducer = TranscriptReducer()
    run(reducer, user("u1", "hello", prev="x"))
    with capture_logs() as logs:
        run(reducer, text_delta("r1", "u1", "d1", "not a user"), completed("r1"))
    assert [log["event"] for log in logs] == ["transcript_conflict_ignored"]
    run(reducer, user("x", "first"))
    assert lines(reducer.messages) == ["user: first", "user: hello"]


def test_r1b_a_content_event_fills_in_a_missing_predecessor() -> None:
    reducer = TranscriptReducer()
    run(reducer, observed("a1", resp="r1"), text_delta("r1", "a1", "d1", "A", prev="u1"))
    run(reducer, completed("r1"))
    assert reducer.messages == ()
    assert committed_lines(run(reducer, user("u1", "Q"))) == ["user: Q", "assistant: A"]


def test_r1b_a_delta_on_the_hot_path_still_fills_in_a_missing_predecessor() -> None:
    reducer = TranscriptReducer()
    for delta_id, prev, piece in (("d1", None, "Hi"), ("d2", None, " there"), ("d3", "u", "!")):
        reducer.apply_assistant_delta(
            spoken=True,
            response_id="r",
            delta_id=delta_id,
            item_id="a",
            previous_item_id=prev,
            content_index=0,
            delta=piece,
        )
    assert run(reducer, completed("r")) == []
    assert committed_lines(run(reducer, user("u", "hello"))) == [
        "user: hello",
        "assistant: Hi there!",
    ]


# -- R2 ItemSkipped ----------------------------------------------------------------------


def test_r2_skipped_anchor_orders_without_content() -> None:
    reducer = TranscriptReducer()
    answer = text_delta("r1", "a1", "d1", "done", prev="tool")
    tool = skipped("tool", prev="u1")
    assert run(reducer, answer, completed("r1"), tool) == []
    assert reducer.pending_item_ids() == ("a1",)
    changes = run(reducer, user("u1", "please use the tool"))
    assert committed_lines(changes) == ["user: please use the tool", "assistant: done"]
    assert run(reducer, tool, answer, completed("r1")) == []
    assert len(reducer.messages) == 2


def test_r2_skip_turns_an_uncommitted_item_without_content_into_an_anchor() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        observed("call", resp="r1", prev="u1"),
        text_delta("r2", "a2", "d1", "result is 4", prev="call"),
        completed("r2"),
        user("u1", "add 2+2"),
    )
    assert lines(reducer.messages) == ["user: add 2+2"]
    changes = run(reducer, skipped("call"))
    assert committed_lines(changes) == ["assistant: result is 4"]
    assert reducer.pending_item_ids() == ()


def test_r2_skip_of_an_item_with_content_is_ignored_and_logged() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r1", "a1", "d1", "keep me"))
    with capture_logs() as logs:
        assert reducer.apply(skipped("a1")) == ()
    assert logs[0]["event"] == "transcript_content_ignored"
    assert committed_lines(run(reducer, completed("r1"))) == ["assistant: keep me"]


def test_r2_anchor_ignores_later_content() -> None:
    reducer = TranscriptReducer()
    run(reducer, skipped("t1", prev="u1"))
    run(
        reducer,
        text_delta("r1", "t1", "d1", "not content"),
        final("r1", "t1", "nor this"),
        truncated("r1", "t1", "nor this"),
        user("t1", "nor this"),
        completed("r1"),
    )
    assert reducer.pending_item_ids() == ()
    assert committed_lines(run(reducer, user("u1", "hi"))) == ["user: hi"]
    assert reducer.item_spoken_text("t1") is None


# -- R3 UserTranscriptFinal ------------------------------------------------------------


def test_r3_first_non_blank_user_text_wins_and_a_replay_is_inert() -> None:
    reducer = TranscriptReducer()
    first = user("u1", "remember amber lantern", prev="p")
    run(reducer, first, user("u1", "", prev="p"), first)
    run(reducer, skipped("p"))
    assert lines(reducer.messages) == ["user: remember amber lantern"]
    assert run(reducer, first, user("u1", "")) == []


def test_r3_conflicting_user_text_is_ignored_and_logged() -> None:
    reducer = TranscriptReducer()
    run(reducer, user("u1", "one", prev="p"))
    with capture_logs() as logs:
        run(reducer, user("u1", "two", prev="p"))
    assert (logs[0]["event"], logs[0]["fields"]) == ("transcript_conflict_ignored", "text")
    run(reducer, skipped("p"))
    assert lines(reducer.messages) == ["user: one"]


def test_r3_blank_user_final_does_not_block_the_reply() -> None:
    reducer = TranscriptReducer()
    run(reducer, user("u1", "hello"), text_delta("r1", "a1", "d1", "Hi!", prev="u2"))
    run(reducer, completed("r1"))
    assert reducer.pending_item_ids() == ("a1",)
    # Noise on the microphone: the ASR result is empty.
    changes = run(reducer, user("u2", " ", prev="u1"))
    assert committed_lines(changes) == ["assistant: Hi!"]
    assert lines(reducer.messages) == ["user: hello", "assistant: Hi!"]
    # The blank item resolved without a message; a later text for it is late.
    assert run(reducer, user("u2", "too late", prev="u1")) == []


def test_r3_blank_first_final_is_filled_by_a_later_text_while_waiting() -> None:
    reducer = TranscriptReducer()
    run(reducer, user("u1", "", prev="p"), user("u1", "remember amber lantern", prev="p"))
    assert committed_lines(run(reducer, skipped("p"))) == ["user: remember amber lantern"]


def test_r3_user_segments_join_in_content_index_order() -> None:
    reducer = TranscriptReducer()
    run(reducer, user("u1", "world", prev="p", index=1), user("u1", "hello ", prev="p", index=0))
    assert committed_lines(run(reducer, skipped("p"))) == ["user: hello world"]


# -- R4 assistant deltas ----------------------------------------------------------------


def test_r4a_delta_of_a_discarded_response_makes_a_contentless_item_an_anchor() -> None:
    reducer = TranscriptReducer()
    run(reducer, user("rep", "repeat until stop"), observed("loop", prev="rep"))
    # The item has no response id yet, so the interruption does not reach it.
    run(reducer, interrupted("resp_loop"), user("stop", "Stop.", prev="loop"))
    assert lines(reducer.messages) == ["user: repeat until stop"]
    changes = run(reducer, text_delta("resp_loop", "loop", "d1", "Looping now"))
    assert committed_lines(changes) == ["user: Stop."]
    assert run(reducer, completed("resp_loop")) == []
    assert "Looping now" not in " ".join(lines(reducer.messages))


def test_r4a_delta_of_a_discarded_response_is_inert_for_an_item_with_content() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r1", "a1", "d1", "written", prev="p"), interrupted("r1"))
    run(reducer, text_delta("r1", "a1", "d2", " and more"), skipped("p"))
    assert lines(reducer.messages) == ["assistant: written"]


def test_r4b_late_delta_after_commit_is_inert() -> None:
    reducer = TranscriptReducer()
    run(reducer, spoken_delta("r1", "a1", "d1", "delta-accumulated"), completed("r1"))
    assert run(reducer, spoken_delta("r1", "a1", "d2", " more")) == []
    assert lines(reducer.messages) == ["assistant: delta-accumulated"]


def test_r4c_duplicate_delta_id_is_inert() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        user("u", "hello"),
        text_delta("r", "a", "evt1", "hi", prev="u"),
        text_delta("r", "a", "evt1", "hi", prev="u"),
        text_delta("r", "a", "evt2", "!", prev="u"),
        text_delta("r", "a", "evt1", "hi", prev="u"),
        completed("r"),
    )
    assert lines(reducer.messages) == ["user: hello", "assistant: hi!"]


def test_r4c_the_same_delta_id_on_another_item_is_a_new_delta() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r", "a", "evt1", "one "), text_delta("r", "b", "evt1", "two"))
    run(reducer, completed("r"))
    assert lines(reducer.messages) == ["assistant: one two"]


def test_r4d_delta_after_truncation_or_final_is_inert() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        spoken_delta("r1", "a1", "d1", "Hello there"),
        truncated("r1", "a1", "Hello", played_ms=400),
        spoken_delta("r1", "a1", "d2", " friend"),
        spoken_delta("r1", "a2", "d3", "Bye", prev="a1"),
        final("r1", "a2", "Goodbye"),
        spoken_delta("r1", "a2", "d4", " now"),
        completed("r1"),
    )
    message = assistant(reducer.messages[0])
    assert [block.text for block in message.blocks] == ["Hello", "Goodbye"]


def test_r4e_delta_on_the_other_lane_is_inert_and_logged() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r", "shown", "d1", "display-locked-text"))
    run(reducer, spoken_delta("r", "said", "d2", "spoken-text", prev="shown"))
    with capture_logs() as logs:
        run(
            reducer,
            spoken_delta("r", "shown", "d3", "should-not-appear"),
            text_delta("r", "said", "d4", "should-not-appear"),
        )
    assert [log["event"] for log in logs] == ["transcript_content_ignored"] * 2
    run(reducer, completed("r"))
    assert assistant(reducer.messages[0]).blocks == (
        TextBlock(item_id="shown", text="display-locked-text"),
        TranscriptBlock(item_id="said", text="spoken-text"),
    )


def test_r4e_blank_content_does_not_fix_the_lane() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        text_delta("r", "a", "d1", "\n"),
        spoken_delta("r", "a", "d2", "spoken"),
        completed("r"),
    )
    assert assistant(reducer.messages[0]).blocks == (TranscriptBlock(item_id="a", text="\nspoken"),)


def test_r4f_delta_after_the_completion_lands_immediately() -> None:
    reducer = TranscriptReducer()
    run(reducer, user("u", "question"), completed("resp_a"))
    assert run(reducer, text_delta("resp_b", "b", "d1", "wrong response", prev="u")) == []
    changes = run(reducer, text_delta("resp_a", "a", "d2", "right response", prev="u"))
    assert committed_lines(changes) == ["assistant: right response"]


def test_r4_a_refused_delta_does_not_record_its_delta_id() -> None:
    reducer = TranscriptReducer()
    run(reducer, final("r", "a", "First part. "), spoken_delta("r", "a", "d1", "dropped"))
    # The same delta id was refused for segment 0, so it is still free for segment 1.
    run(reducer, spoken_delta("r", "a", "d1", "Second part.", index=1), completed("r"))
    assert lines(reducer.messages) == ["assistant: First part. Second part."]


def test_r4_accepted_deltas_are_not_logged_and_dropped_duplicates_are_counted() -> None:
    reducer = TranscriptReducer()
    with capture_logs() as logs:
        for i in range(20):
            reducer.apply_assistant_delta(
                spoken=True,
                response_id="r",
                delta_id=f"d{i % 10}",
                item_id="a",
                previous_item_id=None,
                content_index=0,
                delta="x",
            )
    assert reducer.item_spoken_text("a") == "x" * 10
    assert reducer.duplicate_deltas == 10
    # Not one line per duplicate: the 1st and the 10th.
    assert [(log["event"], log["duplicate_deltas"]) for log in logs] == [
        ("transcript_duplicate_deltas_dropped", 1),
        ("transcript_duplicate_deltas_dropped", 10),
    ]
    assert all(log["log_level"] == "warning" for log in logs)


# -- R5 truncation --------------------------------------------------------------------------


def test_r5a_truncation_of_a_committed_item_revises_it() -> None:
    reducer = TranscriptReducer()
    run(reducer, spoken_delta("r", "a", "d1", "one two three four"), completed("r"))
    changes = run(reducer, truncated("r", "a", "one two", played_ms=800))
    expected = TranscriptBlock(item_id="a", text="one two", truncated=True, audio_played_ms=800)
    assert changes == [Revised(item_id="a", message=reducer.messages[0])]
    assert assistant(reducer.messages[0]).blocks == (expected,)


def test_r5b_an_item_is_truncated_at_most_once() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        spoken_delta("r", "a", "d1", "one two three"),
        truncated("r", "a", "one two", played_ms=600),
        truncated("r", "a", "one", played_ms=300),
        completed("r"),
    )
    assert assistant(reducer.messages[0]).blocks == (
        TranscriptBlock(item_id="a", text="one two", truncated=True, audio_played_ms=600),
    )


def test_r5c_truncation_for_a_discarded_response_skips_a_contentless_item() -> None:
    reducer = TranscriptReducer()
    run(reducer, interrupted("r"), user("u2", "next", prev="ghost"))
    changes = run(reducer, truncated("r", "ghost", "what was heard"))
    assert committed_lines(changes) == ["user: next"]


def test_r5c_truncation_for_a_discarded_response_is_inert_for_an_item_with_content() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r", "a", "d1", "written", prev="p"), interrupted("r"))
    with capture_logs() as logs:
        assert reducer.apply(truncated("r", "a", "wri")) == ()
    assert logs == []
    run(reducer, skipped("p"))
    assert assistant(reducer.messages[0]).blocks == (TextBlock(item_id="a", text="written"),)


def test_r5d_truncation_of_a_display_item_is_inert_and_logged() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r", "a", "d1", "display-text-from-delta"))
    with capture_logs() as logs:
        assert reducer.apply(truncated("r", "a", "spoken-truncation-text")) == ()
    assert logs[0]["event"] == "transcript_content_ignored"
    run(reducer, completed("r"))
    assert assistant(reducer.messages[0]).blocks == (
        TextBlock(item_id="a", text="display-text-from-delta"),
    )


def test_r5e_truncation_replaces_the_segment_and_promotes_it_to_spoken() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        truncated("r", "a", "what was actually heard", played_ms=1200, estimated=True),
        text_delta("r", "a", "d1", "should-not-appear"),
        completed("r"),
    )
    assert assistant(reducer.messages[0]).blocks == (
        TranscriptBlock(
            item_id="a",
            text="what was actually heard",
            truncated=True,
            estimated=True,
            audio_played_ms=1200,
        ),
    )


def test_r5e_truncation_keeps_the_other_segments() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        spoken_delta("r", "a", "d1", "Hello there. ", index=0),
        spoken_delta("r", "a", "d2", "More", index=1),
        truncated("r", "a", "Hello", index=0),
        completed("r"),
    )
    assert lines(reducer.messages) == ["assistant: HelloMore"]


def test_r5e_truncation_after_completion_cuts_an_item_still_waiting() -> None:
    reducer = TranscriptReducer()
    run(reducer, spoken_delta("r", "a", "d1", "one two three", prev="u"), completed("r"))
    assert run(reducer, truncated("r", "a", "one")) == []
    run(reducer, user("u", "count"))
    assert lines(reducer.messages) == ["user: count", "assistant: one"]


def test_r5e_a_blank_heard_prefix_makes_the_item_an_anchor() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        user("u1", "hi"),
        spoken_delta("r", "a", "d1", "Long answer", prev="u1"),
        observed("u2", role=USER, prev="a"),
        interrupted("r"),
    )
    assert run(reducer, truncated("r", "a", " ", played_ms=0)) == []
    assert reducer.pending_item_ids() == ("u2",)
    changes = run(reducer, user("u2", "stop", prev="a"))
    assert committed_lines(changes) == ["user: stop"]
    assert lines(reducer.messages) == ["user: hi", "user: stop"]


# -- R6 final text ------------------------------------------------------------------------


def test_r6_final_text_replaces_the_deltas_and_promotes_to_spoken() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        spoken_delta("r", "a", "d1", "incom"),
        final("r", "a", "complete answer"),
        completed("r"),
    )
    assert assistant(reducer.messages[0]).blocks == (
        TranscriptBlock(item_id="a", text="complete answer"),
    )


def test_r6_final_text_creates_an_unknown_item() -> None:
    reducer = TranscriptReducer()
    assert run(reducer, final("r", "a", "spoken-final-only")) == []
    assert reducer.pending_item_ids() == ("a",)
    changes = run(reducer, completed("r"))
    assert committed_lines(changes) == ["assistant: spoken-final-only"]


def test_r6_final_text_after_the_completion_makes_the_item_ready() -> None:
    reducer = TranscriptReducer()
    run(reducer, observed("a", resp="r"), completed("r"))
    assert committed_lines(run(reducer, final("r", "a", "late but first"))) == [
        "assistant: late but first"
    ]


def test_r6_late_final_after_commit_is_inert() -> None:
    reducer = TranscriptReducer()
    run(reducer, spoken_delta("r", "a", "d1", "delta-accumulated"), completed("r"))
    assert run(reducer, final("r", "a", "authoritative-final-that-must-not-land")) == []
    assert lines(reducer.messages) == ["assistant: delta-accumulated"]


def test_r6_the_first_final_wins() -> None:
    reducer = TranscriptReducer()
    run(reducer, final("r", "a", "first"), final("r", "a", "second"), completed("r"))
    assert lines(reducer.messages) == ["assistant: first"]


def test_r6_a_final_after_truncation_never_restores_unheard_words() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        spoken_delta("r", "a", "d1", "I will now"),
        truncated("r", "a", "I will", played_ms=500),
        final("r", "a", "I will now read the whole report"),
        completed("r"),
    )
    assert lines(reducer.messages) == ["assistant: I will"]


def test_r6_final_for_a_display_item_is_inert_and_logged() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r", "a", "d1", "written"))
    with capture_logs() as logs:
        assert reducer.apply(final("r", "a", "spoken")) == ()
    assert logs[0]["event"] == "transcript_content_ignored"
    run(reducer, completed("r"))
    assert assistant(reducer.messages[0]).blocks == (TextBlock(item_id="a", text="written"),)


def test_r6_final_for_a_discarded_response_behaves_like_a_delta() -> None:
    reducer = TranscriptReducer()
    run(reducer, spoken_delta("r", "a", "d1", "I was say"), interrupted("r"))
    run(reducer, final("r", "a", "I was saying everything"), final("r", "b", "new item"))
    assert reducer.pending_item_ids() == ("a",)  # b became an anchor; a awaits truncation
    run(reducer, truncated("r", "a", "I was"))
    assert lines(reducer.messages) == ["assistant: I was"]


# -- R7 interruption -----------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["drop", "keep"])
def test_r7_display_text_survives_barge_in(policy: UnheardPolicy) -> None:
    reducer = TranscriptReducer(unheard_policy=policy)
    run(
        reducer,
        user("rep", "repeat until stop"),
        text_delta("resp_loop", "loop", "d1", "Looping now", prev="rep"),
        user("stop", "Stop.", prev="loop"),
    )
    changes = run(reducer, interrupted("resp_loop"))
    assert committed_lines(changes) == ["assistant: Looping now", "user: Stop."]
    message = assistant(reducer.messages[1])
    assert (message.stop_reason, message.usage) == (StopReason.CANCELLED, None)


@pytest.mark.parametrize("policy", ["drop", "keep"])
def test_r7_spoken_item_already_truncated_is_ready(policy: UnheardPolicy) -> None:
    reducer = TranscriptReducer(unheard_policy=policy)
    run(
        reducer,
        spoken_delta("r", "a", "d1", "one two three"),
        truncated("r", "a", "one", played_ms=300),
    )
    changes = run(reducer, interrupted("r"))
    assert assistant(changes[0].message).blocks == (
        TranscriptBlock(item_id="a", text="one", truncated=True, audio_played_ms=300),
    )


@pytest.mark.parametrize("policy", ["drop", "keep"])
def test_r7_spoken_item_with_text_awaits_its_truncation(policy: UnheardPolicy) -> None:
    reducer = TranscriptReducer(unheard_policy=policy)
    run(reducer, spoken_delta("r", "a", "d1", "one two three"), interrupted("r"))
    assert reducer.pending_item_ids() == ("a",)
    assert reducer.item_spoken_text("a") == "one two three"
    changes = run(reducer, truncated("r", "a", "one two", played_ms=700, estimated=True))
    assert assistant(changes[0].message).blocks == (
        TranscriptBlock(
            item_id="a", text="one two", truncated=True, estimated=True, audio_played_ms=700
        ),
    )


@pytest.mark.parametrize("policy", ["drop", "keep"])
def test_r7_item_without_content_becomes_an_anchor(policy: UnheardPolicy) -> None:
    reducer = TranscriptReducer(unheard_policy=policy)
    run(reducer, observed("a", resp="r"), user("u", "next", prev="a"))
    changes = run(reducer, interrupted("r"))
    assert committed_lines(changes) == ["user: next"]
    assert reducer.pending_item_ids() == ()


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("drop", ["user: tell me a story", "user: stop"]),
        (
            "keep",
            ["user: tell me a story", "assistant: Once upon a time", "user: stop"],
        ),
    ],
)
def test_r7_awaiting_item_is_settled_by_policy_when_a_ready_item_waits_on_it(
    policy: UnheardPolicy, expected: list[str]
) -> None:
    reducer = TranscriptReducer(unheard_policy=policy)
    run(
        reducer,
        user("u1", "tell me a story"),
        spoken_delta("r", "a", "d1", "Once upon a time", prev="u1"),
        interrupted("r"),
        observed("u2", role=USER, prev="a"),
    )
    assert reducer.pending_item_ids() == ("a", "u2")
    changes = run(reducer, user("u2", "stop", prev="a"))
    assert lines(reducer.messages) == expected
    assert committed_lines(changes) == expected[1:]
    # A truncation arriving now finds a dropped item (inert) or, under "keep",
    # a committed one that R9 cuts to what was heard.
    revisions = run(reducer, truncated("r", "a", "Once"))
    if policy == "drop":
        assert revisions == []
    else:
        assert [type(c) for c in revisions] == [Revised]
        assert lines(reducer.messages)[1] == "assistant: Once"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("drop", ["user: weather?", "assistant: It is sunny."]),
        ("keep", ["user: weather?", "assistant: Let me check.", "assistant: It is sunny."]),
    ],
)
def test_r7_policy_reaches_through_skipped_anchors(
    policy: UnheardPolicy, expected: list[str]
) -> None:
    reducer = TranscriptReducer(unheard_policy=policy)
    run(
        reducer,
        user("u1", "weather?"),
        spoken_delta("r1", "a", "d1", "Let me check.", prev="u1"),
        interrupted("r1"),
        skipped("call", prev="a"),
        skipped("output", prev="call"),
        spoken_delta("r2", "b", "d2", "It is sunny.", prev="output"),
    )
    assert reducer.pending_item_ids() == ("a", "b")
    run(reducer, completed("r2"))
    assert lines(reducer.messages) == expected


@pytest.mark.parametrize(
    ("policy", "expected"),
    [("drop", []), ("keep", ["assistant: unheard words"])],
)
def test_r7_awaiting_item_is_settled_by_policy_at_flush(
    policy: UnheardPolicy, expected: list[str]
) -> None:
    reducer = TranscriptReducer(unheard_policy=policy)
    run(reducer, spoken_delta("r", "a", "d1", "unheard words"), interrupted("r"))
    assert committed_lines(reducer.flush()) == expected
    assert reducer.pending_item_ids() == ()


def test_r7_repeated_interruption_is_inert() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r", "a", "d1", "x", prev="p"), interrupted("r"))
    assert (
        run(reducer, interrupted("r"), completed("r"), completed("r", StopReason.CANCELLED)) == []
    )
    run(reducer, skipped("p"))
    assert assistant(reducer.messages[0]).stop_reason is StopReason.CANCELLED


def test_r7_mixed_response_keeps_display_and_drops_spoken() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        text_delta("resp", "shown", "d1", "Working on the report..."),
        spoken_delta("resp", "said", "d2", "I'm reading the report aloud", prev="shown"),
    )
    changes = run(reducer, interrupted("resp"))
    assert assistant(changes[0].message).blocks == (
        TextBlock(item_id="shown", text="Working on the report..."),
    )
    # The provider's cancelled completion only brings the usage of what was kept.
    (revised,) = run(reducer, completed("resp", StopReason.CANCELLED, Usage(output_tokens=9)))
    assert assistant(revised.message).blocks == assistant(changes[0].message).blocks
    assert reducer.flush() == ()
    assert len(reducer.messages) == 1


def test_r7_interruption_discards_only_its_own_response() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        user("u", "two answers please"),
        text_delta("resp_a", "a", "d1", "interrupted display", prev="u"),
        text_delta("resp_b", "b", "d2", "keep me", prev="u"),
    )
    assert committed_lines(run(reducer, interrupted("resp_a"))) == [
        "assistant: interrupted display"
    ]
    assert committed_lines(run(reducer, completed("resp_b"))) == ["assistant: keep me"]


def test_r7_a_later_observation_of_the_interrupted_response_makes_an_anchor() -> None:
    reducer = TranscriptReducer()
    run(reducer, interrupted("r"), user("u", "hello", prev="late"))
    changes = run(reducer, observed("late", resp="r"))
    assert committed_lines(changes) == ["user: hello"]


def test_r7_barge_in_after_completion_waits_for_the_truncation() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        spoken_delta("r", "a", "d1", "one two three", prev="u"),
        completed("r", usage=Usage(output_tokens=5)),
        interrupted("r"),
        truncated("r", "a", "one"),
    )
    changes = run(reducer, user("u", "count"))
    assert committed_lines(changes) == ["user: count", "assistant: one"]
    message = assistant(reducer.messages[1])
    assert (message.stop_reason, message.usage) == (StopReason.END_TURN, Usage(output_tokens=5))


# -- R8 completion ---------------------------------------------------------------------------


def test_r8_the_first_completion_wins() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        text_delta("r", "a", "d1", "answer", prev="p"),
        completed("r", StopReason.MAX_TOKENS, Usage(input_tokens=1)),
        completed("r", StopReason.END_TURN, Usage(input_tokens=2)),
        completed("r", StopReason.CANCELLED, Usage(input_tokens=3)),
        skipped("p"),
    )
    message = assistant(reducer.messages[0])
    assert (message.stop_reason, message.usage) == (StopReason.MAX_TOKENS, Usage(input_tokens=1))


def test_r8_completion_only_finalizes_its_own_response() -> None:
    reducer = TranscriptReducer()
    run(reducer, user("u", "q"), text_delta("resp_a", "a", "d1", "answer a", prev="u"))
    assert run(reducer, completed("resp_b")) == []
    assert committed_lines(run(reducer, completed("resp_a"))) == ["assistant: answer a"]


def test_r8_late_duplicate_completion_does_not_finalize_another_response() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("resp_a", "a", "d1", "first"), completed("resp_a"))
    run(reducer, text_delta("resp_b", "b", "d2", "second", prev="a"))
    assert run(reducer, completed("resp_a")) == []
    assert committed_lines(run(reducer, completed("resp_b"))) == ["assistant: second"]


def test_r8_text_before_a_tool_call_commits_with_tool_use() -> None:
    reducer = TranscriptReducer()
    changes = run(
        reducer,
        user("u", "what's the weather?"),
        spoken_delta("r1", "a1", "d1", "Let me check.", prev="u"),
        skipped("call", prev="a1"),
        completed("r1", StopReason.TOOL_USE, Usage(output_tokens=4)),
        skipped("output", prev="call"),
        spoken_delta("r2", "a2", "d2", "It is sunny.", prev="output"),
        completed("r2", usage=Usage(output_tokens=3)),
    )
    assert committed_lines(changes) == [
        "user: what's the weather?",
        "assistant: Let me check.",
        "assistant: It is sunny.",
    ]
    first, second = assistant(reducer.messages[1]), assistant(reducer.messages[2])
    assert (first.stop_reason, first.usage) == (StopReason.TOOL_USE, Usage(output_tokens=4))
    assert (second.stop_reason, second.usage) == (StopReason.END_TURN, Usage(output_tokens=3))


def test_r8_cancelled_completion_without_interruption_acts_as_one_with_its_usage() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        text_delta("r", "shown", "d1", "written"),
        spoken_delta("r", "said", "d2", "spoken", prev="shown"),
    )
    changes = run(reducer, completed("r", StopReason.CANCELLED, Usage(input_tokens=7)))
    message = assistant(changes[0].message)
    assert message.blocks == (TextBlock(item_id="shown", text="written"),)
    assert (message.stop_reason, message.usage) == (StopReason.CANCELLED, Usage(input_tokens=7))
    assert reducer.pending_item_ids() == ("said",)
    assert run(reducer, interrupted("r")) == []


def test_r8_an_item_without_content_waits_for_a_late_delta() -> None:
    reducer = TranscriptReducer()
    run(reducer, observed("a", resp="r"), completed("r"))
    assert reducer.pending_item_ids() == ("a",)
    assert committed_lines(run(reducer, spoken_delta("r", "a", "d1", "late"))) == [
        "assistant: late"
    ]


def test_r8_a_completed_item_with_only_blank_text_resolves_without_a_message() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r", "a", "d1", "\n"), user("u", "next", prev="a"))
    changes = run(reducer, completed("r"))
    assert committed_lines(changes) == ["user: next"]


def test_r8_usage_reported_after_a_barge_in_lands_on_the_committed_message_once() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        user("u", "tell me a story"),
        spoken_delta("r", "a", "d1", "Once upon a time", prev="u"),
        interrupted("r"),
    )
    committed = run(reducer, truncated("r", "a", "Once upon", played_ms=800))
    message = assistant(committed[0].message)
    assert message.usage is None
    # The provider's completion of the cancelled response brings its usage.
    changes = run(reducer, completed("r", StopReason.CANCELLED, Usage(output_tokens=7)))
    assert changes == [
        Revised(item_id="a", message=attrs.evolve(message, usage=Usage(output_tokens=7)))
    ]
    assert assistant(reducer.messages[1]).usage == Usage(output_tokens=7)
    # Counted once: a repeated completion changes nothing, and nor does another stop reason.
    assert run(reducer, completed("r", StopReason.CANCELLED, Usage(output_tokens=99))) == []
    assert run(reducer, completed("r", StopReason.END_TURN, Usage(output_tokens=99))) == []
    assert assistant(reducer.messages[1]).stop_reason is StopReason.CANCELLED


def test_r8_usage_reported_after_a_barge_in_before_the_message_commits_goes_on_it() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        spoken_delta("r", "a", "d1", "Once upon a time"),
        interrupted("r"),
        completed("r", StopReason.CANCELLED, Usage(input_tokens=3, output_tokens=7)),
    )
    changes = run(reducer, truncated("r", "a", "Once upon", played_ms=800))
    assert committed_lines(changes) == ["assistant: Once upon"]
    assert assistant(changes[0].message).usage == Usage(input_tokens=3, output_tokens=7)


def test_r8_a_completion_without_usage_leaves_the_barge_in_usage_open() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r", "a", "d1", "written"), interrupted("r"))
    assert run(reducer, completed("r", StopReason.CANCELLED, None)) == []
    (revised,) = run(reducer, completed("r", StopReason.CANCELLED, Usage(output_tokens=1)))
    assert assistant(revised.message).usage == Usage(output_tokens=1)


def test_response_stop_reason_is_how_the_response_ended() -> None:
    reducer = TranscriptReducer()
    run(reducer, spoken_delta("r1", "a", "d1", "hi"), completed("r1", StopReason.MAX_TOKENS))
    run(reducer, spoken_delta("r2", "b", "d1", "hi"), interrupted("r2"), completed("r2"))
    run(reducer, spoken_delta("r3", "c", "d1", "hi"))
    assert reducer.response_stop_reason("r1") is StopReason.MAX_TOKENS
    assert reducer.response_stop_reason(" r2 ") is StopReason.CANCELLED
    assert reducer.response_stop_reason("r3") is None
    assert reducer.response_stop_reason("unknown") is None


# -- heard in full ---------------------------------------------------------------------------


def heard(resp: str, item: str) -> AssistantTranscriptHeardInFull:
    return AssistantTranscriptHeardInFull(response_id=resp, item_id=item)


@pytest.mark.parametrize("policy", ["drop", "keep"])
def test_an_interrupted_item_heard_in_full_commits_its_whole_text(policy: UnheardPolicy) -> None:
    reducer = TranscriptReducer(unheard_policy=policy)
    run(
        reducer,
        user("u", "book a table"),
        spoken_delta("r", "a", "d1", "Sure, I'll look for a table.", prev="u"),
        interrupted("r"),
    )
    changes = run(reducer, heard("r", "a"))
    assert committed_lines(changes) == ["assistant: Sure, I'll look for a table."]
    message = assistant(changes[0].message)
    assert message.blocks == (TranscriptBlock(item_id="a", text="Sure, I'll look for a table."),)
    assert message.stop_reason is StopReason.CANCELLED
    # Like a kept item, a later truncation still revises it.
    (revised,) = run(reducer, truncated("r", "a", "Sure,", played_ms=400))
    assert isinstance(revised, Revised)
    assert revised.message.text == "Sure,"


def test_heard_in_full_is_inert_unless_the_item_awaits_its_truncation() -> None:
    reducer = TranscriptReducer()
    run(reducer, spoken_delta("r", "a", "d1", "still talking"))
    assert run(reducer, heard("r", "a")) == []  # not interrupted
    assert reducer.pending_item_ids() == ("a",)
    run(reducer, interrupted("r"))
    assert run(reducer, heard("other", "a")) == []  # another response's item
    assert run(reducer, heard("r", "unknown")) == []
    run(reducer, truncated("r", "a", "still", played_ms=300))
    assert run(reducer, heard("r", "a")) == []  # already cut
    assert lines(reducer.messages) == ["assistant: still"]
    assert reducer.rejected == 0
    run(reducer, heard(" ", "a"), heard("r", ""))
    assert reducer.rejected == 2


def test_a_log_with_orphans_released_replays_the_timed_release() -> None:
    log: list[RealtimeTranscriptEvent] = [
        spoken_delta("r", "a", "d1", "Hello.", prev="u"),
        completed("r"),
        OrphansReleased(item_ids=("a",)),
        user("u", "Hi"),
    ]
    live = TranscriptReducer()
    for event in log[:2]:
        live.apply(event)
    assert live.orphan_item_ids() == ("a",)
    live.release_orphans()
    live.apply(log[3])
    assert lines(live.messages) == ["assistant: Hello.", "user: Hi"]
    assert TranscriptReducer.from_events(log).messages == live.messages
    # Replayed, it is inert: those items were released already.
    replayed = TranscriptReducer.from_events(log)
    assert replayed.apply(log[2]) == ()
    assert replayed.apply(OrphansReleased(item_ids=(3,))) == ()  # type: ignore[arg-type]
    assert replayed.rejected == 1


# -- R9 late truncation -------------------------------------------------------------------


def test_r9_late_truncation_revises_a_committed_message_once() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        user("u", "tell me"),
        spoken_delta("r", "a", "d1", "Sure, here is the whole story.", prev="u"),
        completed("r", usage=Usage(output_tokens=8)),
    )
    changes = run(reducer, truncated("r", "a", "Sure,", played_ms=450, estimated=True))
    new = AssistantMessage(
        response_id="r",
        item_ids=("a",),
        blocks=(
            TranscriptBlock(
                item_id="a", text="Sure,", truncated=True, estimated=True, audio_played_ms=450
            ),
        ),
        stop_reason=StopReason.END_TURN,
        usage=Usage(output_tokens=8),
    )
    assert changes == [Revised(item_id="a", message=new)]
    assert reducer.messages == (UserMessage(item_id="u", text="tell me"), new)
    assert reducer.item_spoken_text("a") == "Sure,"
    assert run(reducer, truncated("r", "a", "S", played_ms=10)) == []


def test_r9_display_text_is_never_revised() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r", "a", "d1", "written"), completed("r"))
    with capture_logs() as logs:
        assert reducer.apply(truncated("r", "a", "wri")) == ()
    assert logs[0]["event"] == "transcript_content_ignored"
    assert lines(reducer.messages) == ["assistant: written"]


def test_r9_an_empty_heard_prefix_keeps_the_message_in_place_with_an_empty_block() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        spoken_delta("r", "a", "d1", "unheard"),
        completed("r"),
        user("u", "next", prev="a"),
    )
    changes = run(reducer, truncated("r", "a", "", played_ms=0))
    assert assistant(changes[0].message).blocks == (
        TranscriptBlock(item_id="a", text="", truncated=True, audio_played_ms=0),
    )
    assert lines(reducer.messages) == ["assistant: ", "user: next"]


def test_r9_a_block_cut_before_commit_is_not_cut_again() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        spoken_delta("r", "a", "d1", "one two three"),
        truncated("r", "a", "one two"),
        completed("r"),
    )
    assert run(reducer, truncated("r", "a", "one")) == []
    assert lines(reducer.messages) == ["assistant: one two"]


def test_r9_revises_only_its_own_block_of_a_grouped_message() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        text_delta("r", "shown", "d1", "Here's the report: "),
        spoken_delta("r", "said", "d2", "I'm reading it aloud.", prev="shown"),
        completed("r"),
    )
    changes = run(reducer, truncated("r", "said", "I'm"))
    message = assistant(changes[0].message)
    assert message.blocks == (
        TextBlock(item_id="shown", text="Here's the report: "),
        TranscriptBlock(item_id="said", text="I'm", truncated=True),
    )
    assert message.item_ids == ("shown", "said")


def test_r9_late_truncation_naming_another_response_is_ignored_and_logged() -> None:
    reducer = TranscriptReducer()
    run(reducer, spoken_delta("r1", "a", "d1", "words"), completed("r1"))
    with capture_logs() as logs:
        assert reducer.apply(truncated("r2", "a", "w")) == ()
    assert logs[0]["event"] == "transcript_conflict_ignored"


# -- R10 materialization ------------------------------------------------------------------


def test_r10_a_chain_arriving_backwards_commits_in_one_apply_in_causal_order() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        user("c", "third", prev="b"),
        user("b", "second", prev="a"),
    )
    assert reducer.pending_item_ids() == ("c", "b")
    changes = reducer.apply(user("a", "first"))
    assert committed_lines(changes) == ["user: first", "user: second", "user: third"]


def test_r10_reply_before_its_question_waits_for_it() -> None:
    reducer = TranscriptReducer()
    assert run(reducer, text_delta("r", "a", "d1", "answer", prev="u"), completed("r")) == []
    changes = run(reducer, user("u", "question"))
    assert committed_lines(changes) == ["user: question", "assistant: answer"]


def test_r10_siblings_commit_in_first_seen_order() -> None:
    reducer = TranscriptReducer()
    run(reducer, user("x", "seen first", prev="root"), user("y", "seen second", prev="root"))
    changes = run(reducer, skipped("root"))
    assert committed_lines(changes) == ["user: seen first", "user: seen second"]


def test_r10_one_response_committed_together_is_one_message_with_usage_once() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        text_delta("resp_mixed", "shown", "d1", "Here's the report: "),
        text_delta("resp_mixed", "shown", "d2", "(still writing)"),
        skipped("anchor", prev="shown"),
        spoken_delta("resp_mixed", "said", "d3", "I'm reading the report aloud: ", prev="anchor"),
        spoken_delta("resp_mixed", "said", "d4", "sentence two."),
    )
    changes = run(reducer, completed("resp_mixed", usage=Usage(input_tokens=11, output_tokens=22)))
    assert changes == [
        Committed(
            message=AssistantMessage(
                response_id="resp_mixed",
                item_ids=("shown", "said"),
                blocks=(
                    TextBlock(item_id="shown", text="Here's the report: (still writing)"),
                    TranscriptBlock(
                        item_id="said", text="I'm reading the report aloud: sentence two."
                    ),
                ),
                stop_reason=StopReason.END_TURN,
                usage=Usage(input_tokens=11, output_tokens=22),
            )
        )
    ]


def test_r10_items_of_one_response_committed_apart_count_usage_once() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        text_delta("r", "a", "d1", "now"),
        text_delta("r", "b", "d2", "later", prev="p"),
        completed("r", usage=Usage(output_tokens=2)),
    )
    run(reducer, skipped("p"))
    first, second = (assistant(m) for m in reducer.messages)
    assert (first.text, first.usage) == ("now", Usage(output_tokens=2))
    assert (second.text, second.usage) == ("later", None)


def test_r10_a_user_item_between_two_items_of_a_response_splits_the_message() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        text_delta("r", "a", "d1", "one"),
        user("u", "interjection", prev="a"),
        text_delta("r", "b", "d2", "two", prev="u"),
    )
    changes = run(reducer, completed("r", usage=Usage(output_tokens=1)))
    assert committed_lines(changes) == ["assistant: one", "user: interjection", "assistant: two"]
    assert assistant(reducer.messages[2]).usage is None


# -- R11 orphans ---------------------------------------------------------------------------


def test_r11_an_item_waits_for_an_anchor_that_never_arrives_until_released() -> None:
    reducer = TranscriptReducer()
    run(reducer, text_delta("r", "a", "d1", "answer", prev="never-seen"), completed("r"))
    run(reducer, user("u", "follow-up", prev="a"))
    assert reducer.messages == ()
    changes = reducer.release_orphans()
    assert committed_lines(changes) == ["assistant: answer", "user: follow-up"]


def test_r11_self_reference_and_cycles_are_released_in_first_seen_order() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        user("self", "I name myself", prev="self"),
        user("x", "x names y", prev="y"),
        user("y", "y names x", prev="x"),
        user("z", "z follows x", prev="x"),
    )
    assert reducer.messages == ()
    changes = reducer.release_orphans()
    assert committed_lines(changes) == [
        "user: I name myself",
        "user: x names y",
        "user: y names x",
        "user: z follows x",
    ]


def test_r11_a_released_root_ignores_its_predecessor_arriving_later() -> None:
    reducer = TranscriptReducer()
    run(reducer, observed("a", prev="ghost", resp="r"))
    reducer.release_orphans()
    run(reducer, user("ghost", "late anchor"), text_delta("r", "a", "d1", "answer"))
    assert committed_lines(run(reducer, completed("r"))) == ["assistant: answer"]


def test_r11_released_anchor_unblocks_what_follows() -> None:
    reducer = TranscriptReducer()
    run(reducer, skipped("tool", prev="gone"), user("u", "after the tool", prev="tool"))
    assert reducer.pending_item_ids() == ("u",)
    assert committed_lines(reducer.release_orphans()) == ["user: after the tool"]


# -- R12 flush -------------------------------------------------------------------------------


def test_r12_flush_leaves_uncompleted_responses_pending() -> None:
    reducer = TranscriptReducer()
    run(reducer, user("u", "hi"), spoken_delta("r", "a", "d1", "never finished", prev="u"))
    assert reducer.flush() == ()
    assert reducer.pending_item_ids() == ("a",)
    assert lines(reducer.messages) == ["user: hi"]


def test_r12_flush_settles_awaiting_items_and_releases_orphans_in_one_pass() -> None:
    reducer = TranscriptReducer(unheard_policy="keep")
    run(
        reducer,
        spoken_delta("r1", "a", "d1", "unheard "),
        interrupted("r1"),
        text_delta("r2", "b", "d2", "orphaned", prev="missing"),
        completed("r2"),
    )
    changes = reducer.flush()
    assert committed_lines(changes) == ["assistant: unheard ", "assistant: orphaned"]
    assert reducer.pending_item_ids() == ()
    assert reducer.flush() == ()


# -- scenarios -------------------------------------------------------------------------------


def test_replay_after_reconnect_is_inert() -> None:
    session: list[RealtimeTranscriptEvent] = [
        user("u", "hello"),
        user("u", "hello"),
        text_delta("r", "a", "evt1", "hi", prev="u"),
        text_delta("r", "a", "evt1", "hi", prev="u"),
        completed("r"),
        completed("r"),
        skipped("tool", prev="a"),
        spoken_delta("r2", "b", "evt2", "after tool", prev="tool"),
        interrupted("r2"),
        truncated("r2", "b", "after"),
    ]
    reducer = TranscriptReducer()
    run(reducer, *session)
    before = reducer.messages
    assert run(reducer, *session) == []
    assert reducer.messages == before
    assert lines(before) == ["user: hello", "assistant: hi", "assistant: after"]


def test_barge_in_before_the_response_completed() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        user("u1", "tell me about owls"),
        spoken_delta("r", "a", "d1", "Owls are nocturnal birds ", prev="u1"),
        spoken_delta("r", "a", "d2", "with excellent hearing."),
        interrupted("r"),
        observed("u2", role=USER, prev="a"),
    )
    assert reducer.pending_item_ids() == ("a", "u2")
    changes = run(reducer, truncated("r", "a", "Owls are", played_ms=700, estimated=True))
    assert committed_lines(changes) == ["assistant: Owls are"]
    (revised,) = run(reducer, completed("r", StopReason.CANCELLED, Usage(output_tokens=12)))
    assert assistant(revised.message).usage == Usage(output_tokens=12)
    run(reducer, user("u2", "what about hawks?", prev="a"))
    assert lines(reducer.messages) == [
        "user: tell me about owls",
        "assistant: Owls are",
        "user: what about hawks?",
    ]
    assert assistant(reducer.messages[1]).stop_reason is StopReason.CANCELLED


def test_barge_in_after_the_response_completed_revises_what_was_committed() -> None:
    reducer = TranscriptReducer()
    changes = run(
        reducer,
        user("u1", "tell me about owls"),
        spoken_delta("r", "a", "d1", "Owls are nocturnal birds.", prev="u1"),
        completed("r", usage=Usage(output_tokens=5)),
    )
    assert committed_lines(changes) == [
        "user: tell me about owls",
        "assistant: Owls are nocturnal birds.",
    ]
    # The client is still playing the audio when the user talks.
    assert run(reducer, interrupted("r")) == []
    changes = run(reducer, truncated("r", "a", "Owls", played_ms=300))
    assert [type(c) for c in changes] == [Revised]
    assert lines(reducer.messages) == ["user: tell me about owls", "assistant: Owls"]


def test_truncation_before_the_interruption_commits_at_the_interruption() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        spoken_delta("r", "a", "d1", "one two three"),
        truncated("r", "a", "one", played_ms=250),
    )
    assert reducer.messages == ()
    changes = run(reducer, interrupted("r"))
    assert lines([c.message for c in changes if isinstance(c, Committed)]) == ["assistant: one"]


def test_from_events_rebuilds_the_live_transcript() -> None:
    log: list[RealtimeTranscriptEvent] = [
        user("u", "hi"),
        spoken_delta("r", "a", "d1", "hello there", prev="u"),
        completed("r", usage=Usage(output_tokens=2)),
        truncated("r", "a", "hello"),
        text_delta("r2", "b", "d2", "written", prev="a"),
        interrupted("r2"),
    ]
    live = TranscriptReducer(unheard_policy="keep")
    run(live, *log)
    rebuilt = TranscriptReducer.from_events(log, unheard_policy="keep")
    assert rebuilt.messages == live.messages
    assert rebuilt.unheard_policy == "keep"


def test_apply_assistant_delta_is_observe_plus_delta() -> None:
    paired = TranscriptReducer()
    direct = TranscriptReducer()
    # (spoken, response_id, delta_id, item_id, previous_item_id)
    calls: list[tuple[bool, str, str, str, str | None]] = [
        (True, "r", "d1", "a", "u"),
        (True, "r", "d1", "a", "u"),
        (True, "r", "d2", "a", None),
        (False, "r", "d3", "a", None),
        (False, "r", "d4", "b", "a"),
        (True, " ", "d5", "c", None),
        (True, "r", "d6", "", None),
    ]
    for spoken, resp, delta_id, item, prev in calls:
        direct.apply_assistant_delta(
            spoken=spoken,
            response_id=resp,
            delta_id=delta_id,
            item_id=item,
            previous_item_id=prev,
            content_index=0,
            delta="x",
        )
        paired.apply(observed(item, prev=prev, resp=resp))
        builder = spoken_delta if spoken else text_delta
        paired.apply(builder(resp, item, delta_id, "x", prev=prev))
    for reducer in (direct, paired):
        run(reducer, completed("r"), user("u", "q"))
    assert direct.messages == paired.messages
    assert direct.pending_item_ids() == paired.pending_item_ids() == ("c",)
    assert direct.rejected == paired.rejected == 3
    assert lines(direct.messages) == ["user: q", "assistant: xxx"]


def test_item_queries_follow_an_item_from_staging_to_commit() -> None:
    reducer = TranscriptReducer()
    assert reducer.item_response_id("a") is None
    assert reducer.item_spoken_text("a") is None
    run(reducer, spoken_delta("r", "a", "d1", "Hello "), spoken_delta("r", "a", "d2", "world"))
    run(reducer, text_delta("r", "b", "d3", "written", prev="a"))
    assert reducer.item_response_id("a") == "r"
    assert reducer.item_spoken_text("a") == "Hello world"
    assert reducer.item_spoken_text("b") is None
    run(reducer, completed("r"), user("u", "hi"))
    assert reducer.item_spoken_text("a") == "Hello world"
    assert reducer.item_spoken_text("b") is None
    assert reducer.item_response_id("b") == "r"
    assert reducer.item_response_id("u") is None
    assert reducer.item_spoken_text("u") is None


def test_pending_item_ids_lists_unresolved_items_in_first_seen_order() -> None:
    reducer = TranscriptReducer()
    run(
        reducer,
        observed("a", resp="r"),
        skipped("tool", prev="a"),
        user("u2", "later", prev="tool"),
        observed("u1", role=USER),
    )
    assert reducer.pending_item_ids() == ("a", "u2", "u1")
    assert repr(reducer) == "TranscriptReducer(messages=0, pending=3, rejected=0)"


def test_messages_is_a_stable_snapshot() -> None:
    reducer = TranscriptReducer()
    run(reducer, user("u1", "one"))
    snapshot = reducer.messages
    run(reducer, user("u2", "two"))
    assert lines(snapshot) == ["user: one"]
    assert lines(reducer.messages) == ["user: one", "user: two"]
