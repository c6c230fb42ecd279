"""Transcript reducer throughput and memory, each figure beside a same-run baseline.

Cases:

* ``plain_appends`` -- spoken deltas through ``apply_assistant_delta``, the
  session's per-delta hot path: items of 1,000 deltas, each item chained to the
  previous one and closed by its response's completion (the commits are timed
  too). Baseline: the same loop calling a plain Python function with the same
  keyword arguments that appends the delta to a list -- the floor of any
  per-delta Python call.
* ``realistic_mix`` -- a conversation: user finals (observation + final, as the
  session feeds them), spoken and display deltas, a reconnect that replays
  deltas, tool calls (skipped anchors, continuation under a new response),
  completions, and barge-ins with their truncations. Baseline: the same
  operations handed to functions that append their argument to a list.
* ``long_session_memory`` -- 1,000,000 deltas over 2,000 items in one session,
  all committed (100,000 deltas over 200 items with ``--quick``): the memory
  the reducer still holds, measured with ``tracemalloc``, beside the memory of
  the same messages built directly. The difference is the reducer's own
  bookkeeping, which must not grow with the number of deltas.

Throughput figures are the median of several timed passes after a warm-up
pass, with the garbage collector paused during a pass, as ``timeit`` does.

Run ``python benchmarks/bench_reducer.py [--quick]``; it prints the records as
JSON. ``run(quick=True)`` returns the same records to a driver.
"""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from typing import TYPE_CHECKING

from figures import command_line

from realtime_session.events import StopReason, Usage
from realtime_session.transcript import (
    AssistantMessage,
    AssistantTranscriptTruncated,
    AssistantTurnCompleted,
    AssistantTurnInterrupted,
    ItemObserved,
    ItemSkipped,
    RealtimeTranscriptEvent,
    RealtimeTranscriptRole,
    TranscriptBlock,
    TranscriptReducer,
    UserTranscriptFinal,
)

if TYPE_CHECKING:
    from collections.abc import Callable

_DELTAS_PER_ITEM = 1_000
_WORD = "word "

# One operation of the mix: a delta, as the session passes it to
# apply_assistant_delta (spoken, response id, delta id, item id, previous item
# id, text), or a transcript event for apply().
_Delta = tuple[bool, str, str, str, str | None, str]
_Operation = tuple[_Delta | None, RealtimeTranscriptEvent | None]


def _median_rate(measure: Callable[[], float], repeats: int) -> float:
    """Median of ``measure()`` (items per second) over timed runs after a warm-up run."""
    rates: list[float] = []
    for attempt in range(repeats + 1):
        gc.collect()
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            rate = measure()
        finally:
            if gc_was_enabled:
                gc.enable()
        if attempt:
            rates.append(rate)
    return statistics.median(rates)


# -- plain appends ---------------------------------------------------------------------


def _plain_appends(deltas: int, repeats: int) -> dict[str, object]:
    items = max(1, deltas // _DELTAS_PER_ITEM)
    item_ids = [f"item_{k:05d}" for k in range(items)]
    response_ids = [f"resp_{k:05d}" for k in range(items)]
    delta_ids = [[f"evt_{k:05d}_{j:04d}" for j in range(_DELTAS_PER_ITEM)] for k in range(items)]
    completions = [
        AssistantTurnCompleted(
            response_id=response_ids[k], stop_reason=StopReason.END_TURN, usage=Usage()
        )
        for k in range(items)
    ]
    total = items * _DELTAS_PER_ITEM

    def reducer_pass() -> float:
        reducer = TranscriptReducer()
        append = reducer.apply_assistant_delta
        apply = reducer.apply
        previous: str | None = None
        start = time.perf_counter()
        for k in range(items):
            item, response = item_ids[k], response_ids[k]
            for delta_id in delta_ids[k]:
                append(
                    spoken=True,
                    response_id=response,
                    delta_id=delta_id,
                    item_id=item,
                    previous_item_id=previous,
                    content_index=0,
                    delta=_WORD,
                )
            apply(completions[k])
            previous = item
        elapsed = time.perf_counter() - start
        # Measure only work that is right: every item committed, whole.
        assert len(reducer.messages) == items
        assert reducer.messages[-1].text == _WORD * _DELTAS_PER_ITEM
        return total / elapsed

    def baseline_pass() -> float:
        pieces: list[str] = []
        events: list[object] = []

        def append(
            *,
            spoken: bool,
            response_id: str,
            delta_id: str,
            item_id: str,
            previous_item_id: str | None,
            content_index: int,
            delta: str,
        ) -> None:
            pieces.append(delta)

        previous: str | None = None
        start = time.perf_counter()
        for k in range(items):
            item, response = item_ids[k], response_ids[k]
            for delta_id in delta_ids[k]:
                append(
                    spoken=True,
                    response_id=response,
                    delta_id=delta_id,
                    item_id=item,
                    previous_item_id=previous,
                    content_index=0,
                    delta=_WORD,
                )
            events.append(completions[k])
            previous = item
        elapsed = time.perf_counter() - start
        assert len(pieces) == total
        return total / elapsed

    rate = _median_rate(reducer_pass, repeats)
    baseline = _median_rate(baseline_pass, repeats)
    return {
        "name": "reducer",
        "backend": "none",
        "case": "plain_appends",
        "deltas": total,
        "items": items,
        "repeats": repeats,
        "deltas_per_s": round(rate),
        "baseline_per_s": round(baseline),
        "baseline": "keyword call appending the delta to a list",
        "ratio_to_baseline": round(rate / baseline, 3),
    }


# -- realistic mix -----------------------------------------------------------------------


def _conversation(turns: int) -> list[_Operation]:
    """The operations of a voice conversation of ``turns`` user turns."""
    ops: list[_Operation] = []
    last: str | None = None
    counter = 0

    def event(value: RealtimeTranscriptEvent) -> None:
        ops.append((None, value))

    def speak(spoken: bool, response: str, item: str, previous: str | None, count: int) -> None:
        nonlocal counter
        for j in range(count):
            counter += 1
            first = previous if j == 0 else None
            ops.append(((spoken, response, f"evt_{counter:08d}", item, first, _WORD), None))

    for t in range(turns):
        user = f"item_u{t}"
        event(ItemObserved(item_id=user, previous_item_id=last, role=RealtimeTranscriptRole.USER))
        event(UserTranscriptFinal(item_id=user, previous_item_id=last, text="What about it?"))
        response, spoken = f"resp_{t}", f"item_a{t}"
        speak(True, response, spoken, user, 60)
        last = spoken
        if t % 4 == 0:
            written = f"item_w{t}"
            speak(False, response, written, spoken, 30)
            last = written
        if t % 10 == 9:
            # A reconnect replays the last twenty deltas; they must be inert.
            ops.extend(ops[-20:])
        usage = Usage(input_tokens=120, output_tokens=60)
        if t % 5 == 4:
            event(AssistantTurnInterrupted(response_id=response))
            event(
                AssistantTranscriptTruncated(
                    response_id=response,
                    item_id=spoken,
                    text="word word word",
                    audio_played_ms=1_200,
                    estimated=True,
                )
            )
            event(
                AssistantTurnCompleted(
                    response_id=response, stop_reason=StopReason.CANCELLED, usage=usage
                )
            )
        elif t % 6 == 5:
            call, output = f"item_call{t}", f"item_out{t}"
            event(ItemSkipped(item_id=call, previous_item_id=last))
            event(
                AssistantTurnCompleted(
                    response_id=response, stop_reason=StopReason.TOOL_USE, usage=usage
                )
            )
            event(ItemSkipped(item_id=output, previous_item_id=call))
            continuation, answer = f"resp_{t}b", f"item_b{t}"
            speak(True, continuation, answer, output, 30)
            event(
                AssistantTurnCompleted(
                    response_id=continuation, stop_reason=StopReason.END_TURN, usage=usage
                )
            )
            last = answer
        else:
            event(
                AssistantTurnCompleted(
                    response_id=response, stop_reason=StopReason.END_TURN, usage=usage
                )
            )
    return ops


def _realistic_mix(turns: int, repeats: int) -> dict[str, object]:
    ops = _conversation(turns)
    deltas = sum(1 for delta, _ in ops if delta is not None)

    def reducer_pass() -> float:
        reducer = TranscriptReducer()
        append = reducer.apply_assistant_delta
        apply = reducer.apply
        start = time.perf_counter()
        for delta, event in ops:
            if delta is not None:
                spoken, response, delta_id, item, previous, text = delta
                append(
                    spoken=spoken,
                    response_id=response,
                    delta_id=delta_id,
                    item_id=item,
                    previous_item_id=previous,
                    content_index=0,
                    delta=text,
                )
            elif event is not None:
                apply(event)
        elapsed = time.perf_counter() - start
        assert reducer.pending_item_ids() == ()
        assert reducer.rejected == 0
        return len(ops) / elapsed

    def baseline_pass() -> float:
        sink: list[object] = []

        def append(
            *,
            spoken: bool,
            response_id: str,
            delta_id: str,
            item_id: str,
            previous_item_id: str | None,
            content_index: int,
            delta: str,
        ) -> None:
            sink.append(delta)

        apply = sink.append
        start = time.perf_counter()
        for delta, event in ops:
            if delta is not None:
                spoken, response, delta_id, item, previous, text = delta
                append(
                    spoken=spoken,
                    response_id=response,
                    delta_id=delta_id,
                    item_id=item,
                    previous_item_id=previous,
                    content_index=0,
                    delta=text,
                )
            elif event is not None:
                apply(event)
        elapsed = time.perf_counter() - start
        return len(ops) / elapsed

    rate = _median_rate(reducer_pass, repeats)
    baseline = _median_rate(baseline_pass, repeats)
    return {
        "name": "reducer",
        "backend": "none",
        "case": "realistic_mix",
        "turns": turns,
        "operations": len(ops),
        "deltas": deltas,
        "repeats": repeats,
        "operations_per_s": round(rate),
        "deltas_per_s": round(rate * deltas / len(ops)),
        "baseline_per_s": round(baseline),
        "baseline": "the same operations appended to a list",
        "ratio_to_baseline": round(rate / baseline, 3),
    }


# -- long session memory -----------------------------------------------------------------


def _traced_bytes(build: Callable[[], object]) -> tuple[int, int, object]:
    """Bytes still allocated after ``build()`` (kept alive), and the peak on the way."""
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        result = build()
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return current - start, peak - start, result


def _long_session_memory(deltas: int, items: int, *, quick: bool) -> dict[str, object]:
    per_item = deltas // items

    def session() -> TranscriptReducer:
        reducer = TranscriptReducer()
        append = reducer.apply_assistant_delta
        previous: str | None = None
        for k in range(items):
            item, response = f"item_{k:05d}", f"resp_{k:05d}"
            for j in range(per_item):
                append(
                    spoken=True,
                    response_id=response,
                    delta_id=f"evt_{k:05d}_{j:05d}",
                    item_id=item,
                    previous_item_id=previous,
                    content_index=0,
                    delta=_WORD,
                )
            reducer.apply(
                AssistantTurnCompleted(
                    response_id=response,
                    stop_reason=StopReason.END_TURN,
                    usage=Usage(input_tokens=k, output_tokens=per_item),
                )
            )
            previous = item
        return reducer

    def messages_only() -> list[AssistantMessage]:
        return [
            AssistantMessage(
                response_id=f"resp_{k:05d}",
                item_ids=(f"item_{k:05d}",),
                blocks=(TranscriptBlock(item_id=f"item_{k:05d}", text=_WORD * per_item),),
                stop_reason=StopReason.END_TURN,
                usage=Usage(input_tokens=k, output_tokens=per_item),
            )
            for k in range(items)
        ]

    retained, peak, reducer = _traced_bytes(session)
    assert isinstance(reducer, TranscriptReducer)
    assert len(reducer.messages) == items
    assert reducer.pending_item_ids() == ()
    baseline, _, messages = _traced_bytes(messages_only)
    assert list(reducer.messages) == messages
    record: dict[str, object] = {
        "name": "long_session_memory",
        "backend": "none",
        "deltas": per_item * items,
        "items": items,
        "retained_bytes": retained,
        "bytes_per_item": round(retained / items),
        "peak_bytes": peak,
        "baseline_messages_bytes": baseline,
        "baseline_bytes_per_item": round(baseline / items),
        "overhead_bytes_per_item": round((retained - baseline) / items),
        "baseline": "the same messages built directly",
    }
    if quick:
        record["note"] = "quick run: 100,000 deltas over 200 items instead of 1,000,000 over 2,000"
    return record


def run(quick: bool = False) -> list[dict[str, object]]:
    """Measure every case; ``quick`` uses smaller runs (a few seconds in all)."""
    repeats = 3 if quick else 5
    return [
        _plain_appends(200_000 if quick else 2_000_000, repeats),
        _realistic_mix(150 if quick else 1_500, repeats),
        _long_session_memory(100_000 if quick else 1_000_000, 200 if quick else 2_000, quick=quick),
    ]


if __name__ == "__main__":
    command_line(run, __doc__, "smaller runs (a few seconds)")
