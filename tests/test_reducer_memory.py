"""TranscriptReducer memory: what a committed item costs does not depend on its deltas."""

from __future__ import annotations

import gc
import tracemalloc

from realtime_session.events import StopReason
from realtime_session.transcript import AssistantTurnCompleted, TranscriptReducer

ITEMS = 300
TEXT_LENGTH = 200


def retained_bytes_per_item(deltas_per_item: int) -> float:
    """Memory still held after ``ITEMS`` items of ``TEXT_LENGTH`` characters commit.

    Every item gets the same text length whatever the number of deltas, so any
    difference between two runs is staging (delta pieces, seen delta ids) that
    outlived the commit.
    """
    piece = "x" * (TEXT_LENGTH // deltas_per_item)
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        reducer = TranscriptReducer()
        previous = None
        for i in range(ITEMS):
            item, response = f"item-{i}", f"resp-{i}"
            for j in range(deltas_per_item):
                reducer.apply_assistant_delta(
                    spoken=True,
                    response_id=response,
                    delta_id=f"{item}-delta-{j}",
                    item_id=item,
                    previous_item_id=previous,
                    content_index=0,
                    delta=piece,
                )
            reducer.apply(
                AssistantTurnCompleted(
                    response_id=response, stop_reason=StopReason.END_TURN, usage=None
                )
            )
            previous = item
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert len(reducer.messages) == ITEMS
    assert reducer.pending_item_ids() == ()
    assert all(len(message.text) == TEXT_LENGTH for message in reducer.messages)
    return retained / ITEMS


def test_retained_memory_per_committed_item_does_not_grow_with_deltas() -> None:
    few = retained_bytes_per_item(deltas_per_item=2)
    many = retained_bytes_per_item(deltas_per_item=200)
    # 198 extra delta ids alone would be ~10 kB per item if they were kept.
    assert abs(many - few) <= 64, (few, many)


def test_a_committed_item_costs_little_more_than_its_message() -> None:
    # The message (text, block, tuples) is most of it; the reducer's own record
    # of a committed item and its response is a small constant on top.
    assert retained_bytes_per_item(deltas_per_item=20) < 1_500
