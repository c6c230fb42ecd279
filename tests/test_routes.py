"""The one table of where each provider event goes."""

from __future__ import annotations

import typing

import pytest

from realtime_session import events as ev
from realtime_session import transcript as tr
from realtime_session._routes import ROUTES, AssistantDeltaLane


def test_every_provider_event_has_one_row() -> None:
    assert set(ROUTES) == set(typing.get_args(ev.RealtimeSessionEvent))


@pytest.mark.parametrize(
    "cls",
    [ev.OutputTextDeltaForItem, ev.OutputAudioTranscriptDeltaForItem],
    ids=lambda c: c.__name__,
)
def test_a_delta_applied_in_one_call_is_its_transcript_events(
    cls: type[ev.OutputTextDeltaForItem | ev.OutputAudioTranscriptDeltaForItem],
) -> None:
    lane = ROUTES[cls].to_transcript
    assert isinstance(lane, AssistantDeltaLane)
    deltas = [
        cls(response_id="r1", delta_id="d1", item_id="i1", delta="Hello "),
        cls(response_id="r1", delta_id="d2", item_id="i1", delta="there"),
        cls(response_id="r1", delta_id="d1", item_id="i1", delta="Hello "),  # a replay
        cls(response_id="r2", delta_id="d1", item_id="i2", previous_item_id="i1", delta="Bye"),
    ]
    one_call = tr.TranscriptReducer()
    as_events = tr.TranscriptReducer()
    for delta in deltas:
        fast = one_call.apply_assistant_delta(
            lane.spoken,
            delta.response_id,
            delta.delta_id,
            delta.item_id,
            delta.previous_item_id,
            delta.content_index,
            delta.delta,
        )
        slow: tuple[tr.TranscriptChange, ...] = ()
        for fact in lane(delta):
            slow += as_events.apply(fact)
        assert fast == slow
    for reducer in (one_call, as_events):
        for response_id in ("r1", "r2"):
            reducer.apply(
                tr.AssistantTurnCompleted(
                    response_id=response_id, stop_reason=ev.StopReason.END_TURN, usage=None
                )
            )
    assert one_call.messages == as_events.messages
    assert len(one_call.messages) == 2
    assert one_call.duplicate_deltas == as_events.duplicate_deltas == 1
