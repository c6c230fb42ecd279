"""Session benchmarks: both feeds and both lanes, each beside baselines fed the same way.

Two feeds, never compared with each other:

* ``awaited``: ``await send.send(event)`` per event, one at a time, as a live
  provider connection delivers them;
* ``burst``: events pre-queued with ``send_nowait`` (the producer waits only
  while the 256-deep stream is full), as a replayed recording arrives.

Three pipelines, each fed both ways with the same list of events:

* ``naive``: producer → stream → relay → stream → reader, each hop ``await
  send()`` and ``async for``: the pipeline most frameworks ship, doing no work;
* ``floor``: the same two hops with ``*_nowait`` and batch drains, the cheapest
  Python pipeline of this shape, also doing no work;
* ``session``: producer → provider stream → ``RealtimeSession`` → one
  subscription, doing the session's real work (reducer, projection, lanes).

Two lanes: ``text`` (text deltas, 100 per item, each item's response completed)
and ``audio`` (20 ms chunks, 50 per response, each response completed).

Every repeat runs the three pipelines back to back, in a rotating order; each
figure is the min/median/max of the repeats, and each ratio (session over naive,
session over floor) is taken within one repeat, between pipelines fed the same
way, before its min/median/max.

Also, on one feed each, with min/median/max of repeats: ``fanout`` (bursts to 1,
10 and 100 subscribers) and ``control_latency`` (a ``TurnCompleted``'s latency
to a live reader while audio floods in and a second subscriber never reads;
every completion and every chunk must reach the live reader). ``session_memory``
(asyncio only) is the memory the whole session retains as a call grows, traced
with ``tracemalloc``, beside the same messages built directly.

Run: ``python benchmarks/bench_session.py [--quick] [--backend NAME]``; it prints JSON.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import logging
import sys
import time
import tracemalloc
from typing import TYPE_CHECKING, Any, Final

import anyio
import anyio.abc
import anyio.lowlevel
import structlog
from figures import percentile, spread

from realtime_session import RealtimeSession, SessionConfig, public
from realtime_session import events as ev
from realtime_session.transcript import AssistantMessage, TranscriptBlock

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

Record = dict[str, object]
BACKENDS: dict[str, tuple[str, dict[str, Any]]] = {
    "asyncio": ("asyncio", {}),
    "asyncio+uvloop": ("asyncio", {"use_uvloop": True}),
    "trio": ("trio", {}),
}
FEEDS: Final = ("awaited", "burst")
LANES: Final = ("text", "audio")
PIPELINES: Final = ("naive", "floor", "session")
_BATCH: Final = 256
_STREAM: Final = 256
# 20 ms of 24 kHz mono PCM16.
CHUNK: Final = ev.RealtimeAudioChunk(data=bytes(960))
# 100 ms of it, as a spoken delta of the memory benchmark carries.
CHUNK_100MS: Final = ev.RealtimeAudioChunk(data=bytes(4_800))


def text_events(count: int, per_item: int = 100) -> list[ev.RealtimeSessionEvent]:
    """``count`` text deltas, ``per_item`` per item, each item's response completed."""
    events: list[ev.RealtimeSessionEvent] = []
    previous: str | None = None
    for index in range(count):
        item = index // per_item
        item_id, response_id = f"item-{item}", f"resp-{item}"
        events.append(
            ev.OutputTextDeltaForItem(
                response_id=response_id,
                delta_id=f"ev-{index}",
                item_id=item_id,
                previous_item_id=previous,
                delta="tok ",
            )
        )
        if index % per_item == per_item - 1:
            events.append(ev.TurnCompleted(response_id=response_id))
            previous = item_id
    return events


def audio_events(count: int, per_response: int = 50) -> list[ev.RealtimeSessionEvent]:
    """``count`` 20 ms audio chunks, ``per_response`` per response, each response completed."""
    events: list[ev.RealtimeSessionEvent] = []
    for index in range(count):
        turn = index // per_response
        response_id = f"resp-{turn}"
        events.append(ev.OutputAudioChunk(chunk=CHUNK, response_id=response_id, item_id=f"a{turn}"))
        if index % per_response == per_response - 1:
            events.append(ev.TurnCompleted(response_id=response_id))
    return events


LANE_EVENTS: Final[dict[str, Callable[[int], list[ev.RealtimeSessionEvent]]]] = {
    "text": text_events,
    "audio": audio_events,
}


async def _produce(
    send: anyio.abc.ObjectSendStream[Any], items: Sequence[object], feed: str
) -> None:
    async with send:
        if feed == "awaited":
            for item in items:
                await send.send(item)
            return
        send_nowait = send.send_nowait  # type: ignore[attr-defined]
        for item in items:
            try:
                send_nowait(item)
            except anyio.WouldBlock:
                await send.send(item)


async def naive_pipeline(items: Sequence[object], feed: str) -> float:
    """Producer → stream → relay → stream → reader, one awaited hop per item."""
    send1, receive1 = anyio.create_memory_object_stream[object](_STREAM)
    send2, receive2 = anyio.create_memory_object_stream[object](_STREAM)
    count = 0

    async def relay() -> None:
        async with receive1, send2:
            async for item in receive1:
                await send2.send(item)

    async def consume() -> None:
        nonlocal count
        async with receive2:
            async for _ in receive2:
                count += 1

    start = time.perf_counter()
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(consume)
        task_group.start_soon(relay)
        task_group.start_soon(_produce, send1, items, feed)
    elapsed = time.perf_counter() - start
    assert count == len(items)
    return elapsed


async def _drain(
    receive: anyio.abc.ObjectReceiveStream[object], handle: Callable[[object], None]
) -> None:
    receive_nowait = receive.receive_nowait  # type: ignore[attr-defined]
    while True:
        try:
            handle(await receive.receive())
        except anyio.EndOfStream:
            return
        for _ in range(_BATCH):
            try:
                handle(receive_nowait())
            except anyio.WouldBlock:
                break
            except anyio.EndOfStream:
                return


async def floor_pipeline(items: Sequence[object], feed: str) -> float:
    """The same two hops with ``*_nowait`` and bounded batch drains."""
    send1, receive1 = anyio.create_memory_object_stream[object](_STREAM)
    send2, receive2 = anyio.create_memory_object_stream[object](_STREAM)
    count = 0
    pending: list[object] = []

    async def relay() -> None:
        async with receive1, send2:
            forward = send2.send_nowait
            while True:
                try:
                    item = await receive1.receive()
                except anyio.EndOfStream:
                    break
                pending.append(item)
                for _ in range(_BATCH):
                    try:
                        pending.append(receive1.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                for queued in pending:
                    try:
                        forward(queued)
                    except anyio.WouldBlock:
                        await send2.send(queued)
                pending.clear()

    def handle(_: object) -> None:
        nonlocal count
        count += 1

    async def consume() -> None:
        async with receive2:
            await _drain(receive2, handle)

    start = time.perf_counter()
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(consume)
        task_group.start_soon(relay)
        task_group.start_soon(_produce, send1, items, feed)
    elapsed = time.perf_counter() - start
    assert count == len(items)
    return elapsed


async def session_pipeline(
    items: Sequence[ev.RealtimeSessionEvent], feed: str, subscribers: int = 1
) -> float:
    """Producer → provider stream → session → ``subscribers`` readers, each reading everything."""
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](_STREAM)
    counts = [0] * subscribers
    start = time.perf_counter()
    async with RealtimeSession(receive) as session:
        # Bursts can reach a reader several batches at a time (trio may run the
        # actor again before it): room for four, so that every reader moves every
        # event, as the baselines' readers do.
        subscriptions = [session.events(media_buffer=4 * _BATCH) for _ in range(subscribers)]

        async def consume(index: int) -> None:
            seen = 0
            async for _ in subscriptions[index]:
                seen += 1
            counts[index] = seen

        async with anyio.create_task_group() as task_group:
            for index in range(subscribers):
                task_group.start_soon(consume, index)
            task_group.start_soon(_produce, send, items, feed)
    elapsed = time.perf_counter() - start
    stats = session.stats
    # Measure only work that is right: every reader got everything, nothing dropped.
    assert all(count == stats.published for count in counts), (counts, stats.published)
    assert stats.media_dropped == 0, stats
    return elapsed


_RUNNERS: Final[dict[str, Callable[[Sequence[Any], str], Awaitable[float]]]] = {
    "naive": naive_pipeline,
    "floor": floor_pipeline,
    "session": session_pipeline,
}


async def throughput(lane: str, feed: str, count: int, repeats: int) -> Record:
    """Events per second through the three pipelines, fed ``feed``-wise, ``repeats`` times."""
    events = LANE_EVENTS[lane](count)
    for name in PIPELINES:  # warm-up
        await _RUNNERS[name](events[: len(events) // 10], feed)
    rates: dict[str, list[float]] = {name: [] for name in PIPELINES}
    for attempt in range(repeats):
        # Rotate the order, so that no pipeline always runs right after the same one.
        order = PIPELINES[attempt % 3 :] + PIPELINES[: attempt % 3]
        for name in order:
            gc.collect()
            rates[name].append(len(events) / await _RUNNERS[name](events, feed))
    session = rates["session"]
    return {
        "name": "throughput",
        "lane": lane,
        "feed": feed,
        "events": len(events),
        "repeats": repeats,
        "session_events_per_s": spread(session, 0),
        "naive_events_per_s": spread(rates["naive"], 0),
        "floor_events_per_s": spread(rates["floor"], 0),
        "session_us_per_event": spread([1e6 / rate for rate in session], 2),
        "session_over_naive": spread(
            [s / n for s, n in zip(session, rates["naive"], strict=True)], 2
        ),
        "session_over_floor": spread(
            [s / f for s, f in zip(session, rates["floor"], strict=True)], 2
        ),
    }


async def fanout(count: int, repeats: int) -> list[Record]:
    records: list[Record] = []
    for subscribers in (1, 10, 100):
        events = text_events(count // (1 if subscribers < 100 else 4))
        await session_pipeline(events[: len(events) // 10], "burst", subscribers)
        rates = []
        for _ in range(repeats):
            gc.collect()
            rates.append(len(events) / await session_pipeline(events, "burst", subscribers))
        records.append(
            {
                "name": "fanout",
                "lane": "text",
                "feed": "burst",
                "subscribers": subscribers,
                "events": len(events),
                "repeats": repeats,
                "events_per_s_per_subscriber": spread(rates, 0),
            }
        )
    return records


async def _control_latency_once(turns: int, chunks_per_turn: int) -> dict[str, float]:
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    audio = 0
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](_STREAM)
    async with RealtimeSession(receive, config=SessionConfig(media_buffer=64)) as session:
        stalled = session.events()  # never read: its media lane drops
        reader = session.events(media_buffer=_STREAM)

        async def read() -> None:
            nonlocal audio
            async for event in reader:
                if isinstance(event, public.OutputAudioChunk):
                    audio += 1
                elif isinstance(event, public.TurnCompleted):
                    latencies.append(time.perf_counter() - sent_at[event.response_id])

        async def flood() -> None:
            async with send:
                for turn in range(turns):
                    response_id = f"r{turn}"
                    for index in range(chunks_per_turn):
                        chunk = ev.OutputAudioChunk(
                            chunk=CHUNK, response_id=response_id, item_id=f"a{turn}"
                        )
                        try:
                            send.send_nowait(chunk)
                        except anyio.WouldBlock:
                            await send.send(chunk)
                        if index % 10 == 9:
                            await anyio.lowlevel.checkpoint()
                    sent_at[response_id] = time.perf_counter()
                    await send.send(ev.TurnCompleted(response_id=response_id))

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(read)
            task_group.start_soon(flood)
        stalled_dropped = stalled.dropped_media
        reader_dropped = reader.dropped_media
        await stalled.aclose()
    # The figure means something only if the live reader lost nothing.
    assert len(latencies) == turns, f"{len(latencies)} of {turns} completions arrived"
    assert audio == turns * chunks_per_turn, f"{audio} of {turns * chunks_per_turn} chunks arrived"
    assert reader_dropped == 0, f"the live reader's media lane dropped {reader_dropped}"
    assert stalled_dropped > 0, "the stalled subscriber was never overrun"
    latencies.sort()
    return {
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": latencies[-1] * 1000,
        "stalled_dropped": stalled_dropped,
    }


async def control_latency(turns: int, repeats: int) -> Record:
    """``TurnCompleted`` latency to a live reader while audio floods in (bursts of 10
    chunks) and a second subscriber never reads."""
    chunks_per_turn = 50
    runs = [await _control_latency_once(turns, chunks_per_turn) for _ in range(repeats)]
    return {
        "name": "control_latency",
        "lane": "audio",
        "feed": "burst",
        "turns": turns,
        "samples_per_repeat": turns,
        "audio_chunks": turns * chunks_per_turn,
        "repeats": repeats,
        "completions_arrived": "all",
        "live_reader_dropped": 0,
        "p50_ms": spread([run["p50_ms"] for run in runs], 3),
        "p99_ms": spread([run["p99_ms"] for run in runs], 3),
        "max_ms": spread([run["max_ms"] for run in runs], 3),
        "stalled_subscriber_dropped": spread([run["stalled_dropped"] for run in runs], 0),
    }


def _spoken_call(items: int, deltas_per_item: int, first: int = 0) -> list[ev.RealtimeSessionEvent]:
    """A spoken answer per item: each delta with its 100 ms of audio, then the completion."""
    events: list[ev.RealtimeSessionEvent] = []
    for k in range(first, first + items):
        item, response = f"item_{k:05d}", f"resp_{k:05d}"
        previous = f"item_{k - 1:05d}" if k else None
        for n in range(deltas_per_item):
            events.append(
                ev.OutputAudioTranscriptDeltaForItem(
                    response_id=response,
                    delta_id=f"evt_{k:05d}_{n:03d}",
                    item_id=item,
                    previous_item_id=previous,
                    delta="word ",
                )
            )
            events.append(
                ev.OutputAudioChunk(chunk=CHUNK_100MS, response_id=response, item_id=item)
            )
        events.append(ev.TurnCompleted(response_id=response))
    return events


def _messages(items: int, deltas_per_item: int) -> list[AssistantMessage]:
    return [
        AssistantMessage(
            response_id=f"resp_{k:05d}",
            item_ids=(f"item_{k:05d}",),
            blocks=(TranscriptBlock(item_id=f"item_{k:05d}", text="word " * deltas_per_item),),
            stop_reason=ev.StopReason.END_TURN,
            usage=ev.Usage(),
        )
        for k in range(items)
    ]


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def session_memory(checkpoints: Sequence[int], deltas_per_item: int = 50) -> Record:
    """What a whole session (reducer, fan-out, lanes, latency and playback tracking)
    retains as a spoken call grows, read at each checkpoint while the call goes on."""
    tracemalloc.start()
    try:
        before = _traced()
        send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](_STREAM)
        retained: list[int] = []
        async with RealtimeSession(receive) as session:
            subscription = session.events(media_buffer=4 * _BATCH)
            commits = 0
            committed = anyio.Event()
            target = 0

            async def read() -> None:
                nonlocal commits, committed
                async for event in subscription:
                    if isinstance(event, public.TranscriptCommitted):
                        commits += 1
                        if commits == target:
                            committed.set()

            async with anyio.create_task_group() as task_group:
                task_group.start_soon(read)
                done = 0
                for items in checkpoints:
                    target = items
                    committed = anyio.Event()
                    await _produce_open(send, _spoken_call(items - done, deltas_per_item, done))
                    await committed.wait()
                    done = items
                    retained.append(_traced() - before)
                await send.aclose()
            assert len(session.transcript) == checkpoints[-1]
        messages = _traced()
        built = _messages(checkpoints[-1], deltas_per_item)
        baseline = _traced() - messages
        assert list(session.transcript) == built
    finally:
        tracemalloc.stop()
    last = checkpoints[-1]
    growth = [
        (retained[i] - retained[i - 1]) / (checkpoints[i] - checkpoints[i - 1])
        for i in range(1, len(checkpoints))
    ]
    return {
        "name": "session_memory",
        "lane": "spoken call",
        "feed": "burst",
        "deltas_per_item": deltas_per_item,
        "checkpoints_items": list(checkpoints),
        "retained_bytes": retained,
        "bytes_per_item": [round(r / n) for r, n in zip(retained, checkpoints, strict=True)],
        "growth_bytes_per_item": [round(g) for g in growth],
        "baseline_messages_bytes_per_item": round(baseline / last),
        "baseline": "the same messages built directly",
    }


async def _produce_open(send: anyio.abc.ObjectSendStream[Any], items: Sequence[object]) -> None:
    for item in items:
        try:
            send.send_nowait(item)  # type: ignore[attr-defined]
        except anyio.WouldBlock:
            await send.send(item)


async def _run_backend(quick: bool, memory: bool) -> list[Record]:
    sizes = {"awaited": 3_000 if quick else 20_000, "burst": 10_000 if quick else 100_000}
    repeats = 3 if quick else 5
    records: list[Record] = [
        await throughput(lane, feed, sizes[feed], repeats) for lane in LANES for feed in FEEDS
    ]
    records.extend(await fanout(10_000 if quick else 50_000, repeats))
    records.append(await control_latency(500 if quick else 2_000, repeats))
    if memory:
        checkpoints = (100, 200) if quick else (250, 500, 1_000, 2_000)
        records.append(await session_memory(checkpoints))
    return records


def run(quick: bool = False, backends: Sequence[str] = tuple(BACKENDS)) -> list[Record]:
    results: list[Record] = []
    for name in backends:
        backend, options = BACKENDS[name]
        if options.get("use_uvloop") and importlib.util.find_spec("uvloop") is None:
            print(f"skipping {name}: uvloop is not installed", file=sys.stderr)
            continue
        # The memory a session retains does not depend on the event loop: traced once.
        memory = name == backends[0]
        records = anyio.run(_run_backend, quick, memory, backend=backend, backend_options=options)
        results.extend({**record, "backend": name} for record in records)
    return results


def main() -> None:
    # An application decides what is logged; this one wants only warnings.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        # stdout carries the figures, as JSON: warnings go to stderr.
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, for CI")
    parser.add_argument("--backend", choices=sorted(BACKENDS), action="append")
    args = parser.parse_args()
    print(json.dumps(run(args.quick, args.backend or tuple(BACKENDS)), indent=2))


if __name__ == "__main__":
    main()
