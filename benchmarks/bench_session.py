"""Session benchmarks: delta throughput against two same-process baselines, fan-out, control latency.

Every figure is the median of several timed runs after a warm-up, measured in one
process per backend, each beside its baseline from the same run:

* ``naive``: the pipeline most frameworks ship, two anyio memory-stream hops
  with ``await send()`` and ``async for``, doing no work at all;
* ``floor``: the same two hops with ``send_nowait`` and batch drains, the
  cheapest Python pipeline of this shape, also doing no work.

The session does real work on top of its hops (reducer, projection, fan-out).

Run: ``python benchmarks/bench_session.py [--quick] [--backend asyncio|uvloop|trio]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import statistics
import sys
import time
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import structlog

from realtime_session import RealtimeSession, SessionConfig, public
from realtime_session import events as ev

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

Record = dict[str, object]
BACKENDS: dict[str, tuple[str, dict[str, Any]]] = {
    "asyncio": ("asyncio", {}),
    "asyncio+uvloop": ("asyncio", {"use_uvloop": True}),
    "trio": ("trio", {}),
}
_BATCH = 256


def delta_events(count: int, per_item: int = 100) -> list[ev.RealtimeSessionEvent]:
    """Text deltas, ``per_item`` per item and response, each response completed."""
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


async def _produce(
    send: anyio.abc.ObjectSendStream[Any], items: Sequence[object], nowait: bool
) -> None:
    async with send:
        if not nowait:
            for item in items:
                await send.send(item)
            return
        send_nowait = send.send_nowait  # type: ignore[attr-defined]
        for item in items:
            try:
                send_nowait(item)
            except anyio.WouldBlock:
                await send.send(item)


async def naive_pipeline(items: Sequence[object]) -> float:
    """Producer → stream → relay → stream → consumer, one awaited hop per item."""
    send1, receive1 = anyio.create_memory_object_stream[object](256)
    send2, receive2 = anyio.create_memory_object_stream[object](256)
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
        task_group.start_soon(_produce, send1, items, False)
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


async def floor_pipeline(items: Sequence[object]) -> float:
    """The same two hops with ``*_nowait`` and bounded batch drains."""
    send1, receive1 = anyio.create_memory_object_stream[object](256)
    send2, receive2 = anyio.create_memory_object_stream[object](256)
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
        task_group.start_soon(_produce, send1, items, True)
    elapsed = time.perf_counter() - start
    assert count == len(items)
    return elapsed


async def session_pipeline(items: Sequence[ev.RealtimeSessionEvent], subscribers: int = 1) -> float:
    """Producer → provider stream → session → ``subscribers`` readers, each reading everything."""
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](256)
    counts = [0] * subscribers
    start = time.perf_counter()
    async with RealtimeSession(receive) as session:
        subscriptions = [session.events() for _ in range(subscribers)]

        async def consume(index: int) -> None:
            seen = 0
            async for _ in subscriptions[index]:
                seen += 1
            counts[index] = seen

        async with anyio.create_task_group() as task_group:
            for index in range(subscribers):
                task_group.start_soon(consume, index)
            task_group.start_soon(_produce, send, items, True)
    elapsed = time.perf_counter() - start
    published = session.stats.published
    assert all(count == published for count in counts), (counts, published)
    return elapsed


async def _median_rate(run: Callable[[], Awaitable[float]], count: int, repeats: int) -> float:
    await run()  # warm-up
    rates = [count / await run() for _ in range(repeats)]
    return statistics.median(rates)


async def delta_throughput(quick: bool) -> Record:
    events = delta_events(20_000 if quick else 100_000)
    deltas = [e for e in events if isinstance(e, ev.OutputTextDeltaForItem)]
    repeats = 3 if quick else 5
    naive = await _median_rate(lambda: naive_pipeline(deltas), len(deltas), repeats)
    floor = await _median_rate(lambda: floor_pipeline(deltas), len(deltas), repeats)
    rate = await _median_rate(lambda: session_pipeline(events), len(deltas), repeats)
    return {
        "name": "delta_throughput",
        "events": len(deltas),
        "events_per_s": round(rate),
        "naive_events_per_s": round(naive),
        "floor_events_per_s": round(floor),
        "ratio_vs_naive": round(rate / naive, 2),
        "ratio_vs_floor": round(rate / floor, 2),
    }


async def fanout(quick: bool) -> list[Record]:
    records: list[Record] = []
    for subscribers in (1, 10, 100):
        count = (20_000 if quick else 50_000) // (1 if subscribers < 100 else 4)
        events = delta_events(count)
        repeats = 3 if quick else 5
        rate = await _median_rate(
            lambda events=events, n=subscribers: session_pipeline(events, n),  # type: ignore[misc]
            count,
            repeats,
        )
        records.append(
            {
                "name": "fanout",
                "subscribers": subscribers,
                "events": count,
                "events_per_s_per_subscriber": round(rate),
            }
        )
    return records


async def control_latency(quick: bool) -> Record:
    """``TurnCompleted`` latency while audio floods in and one media subscriber is stalled."""
    turns = 100 if quick else 300
    chunks_per_turn = 50
    chunk = ev.RealtimeAudioChunk(data=bytes(960))
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](256)
    async with RealtimeSession(receive, config=SessionConfig(media_buffer=64)) as session:
        stalled = session.events()  # never read: its media lane drops
        reader = session.events()

        async def read() -> None:
            async for event in reader:
                if isinstance(event, public.TurnCompleted):
                    latencies.append(time.perf_counter() - sent_at[event.response_id])  # noqa: PERF401

        async def flood() -> None:
            async with send:
                for turn in range(turns):
                    response_id = f"r{turn}"
                    for index in range(chunks_per_turn):
                        audio = ev.OutputAudioChunk(
                            chunk=chunk,
                            response_id=response_id,
                            item_id=f"a{turn}",
                            content_index=0,
                        )
                        try:
                            send.send_nowait(audio)
                        except anyio.WouldBlock:
                            await send.send(audio)
                        if index % 10 == 9:
                            await anyio.lowlevel.checkpoint()
                    sent_at[response_id] = time.perf_counter()
                    await send.send(ev.TurnCompleted(response_id=response_id))

        async with anyio.create_task_group() as task_group:
            task_group.start_soon(read)
            task_group.start_soon(flood)
        dropped = stalled.dropped_media
        await stalled.aclose()
    latencies.sort()
    return {
        "name": "control_latency",
        "turns": turns,
        "audio_chunks": turns * chunks_per_turn,
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 3),
        "media_dropped": dropped,
    }


async def _run_backend(quick: bool) -> list[Record]:
    records: list[Record] = [await delta_throughput(quick)]
    records.extend(await fanout(quick))
    records.append(await control_latency(quick))
    return records


def run(quick: bool = False, backends: Sequence[str] = tuple(BACKENDS)) -> list[Record]:
    results: list[Record] = []
    for name in backends:
        backend, options = BACKENDS[name]
        if options.get("use_uvloop") and importlib.util.find_spec("uvloop") is None:
            print(f"skipping {name}: uvloop is not installed", file=sys.stderr)
            continue
        records = anyio.run(_run_backend, quick, backend=backend, backend_options=options)
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
