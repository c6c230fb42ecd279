"""Paced calls per core: how many live calls one process carries in time.

Each call is one session paced like a real one: its provider delivers a 20 ms
audio chunk every 20 ms and about 15 caption deltas a second, one awaited
event at a time, and a response completes every second (50 chunks, 15
captions, then ``TurnCompleted``); one subscriber reads everything. As
independent calls do, the calls tick at moments spread over the 20 ms and end
their responses at moments spread over the second.

A trial runs ``K`` such calls in one process (one core) and measures, after a
second of warm-up, each ``TurnCompleted``'s latency from the moment its
provider was due to deliver it (so a loop that falls behind shows) to the
moment the subscriber has it. A trial passes when the p99 is under 20 ms, every
completion and every chunk arrived, and no media lane dropped.

The figure is the largest passing ``K``: doubling until a trial fails, then
halving the gap, then confirmed by repeated trials at that ``K``, stated as
their min/median/max. Beside it, from the same run: the first ``K`` that fails
and what failed it (the latency tail, the CPU, or drops), with the process's
CPU use and its garbage collector's pauses, and the ``floor``: the same paced
feeders at the found ``K`` with each reader taking events straight from the
provider stream (no session), the cost of the pacing itself.

Run: ``python benchmarks/bench_capacity.py [--quick] [--backend NAME]``; it prints JSON.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import logging
import sys
import time
from typing import TYPE_CHECKING, Any, Final

import anyio
import anyio.abc
import structlog
from figures import percentile, spread

from realtime_session import RealtimeSession, public
from realtime_session import events as ev

if TYPE_CHECKING:
    from collections.abc import Callable

Record = dict[str, object]
BACKENDS: dict[str, tuple[str, dict[str, Any]]] = {
    "asyncio": ("asyncio", {}),
    "asyncio+uvloop": ("asyncio", {"use_uvloop": True}),
    "trio": ("trio", {}),
}
TICK_S: Final = 0.020
TICKS_PER_RESPONSE: Final = 50
CAPTIONS_PER_RESPONSE: Final = 15
P99_LIMIT_MS: Final = 20.0
WARM_UP_S: Final = 1.0
CHUNK: Final = ev.RealtimeAudioChunk(data=bytes(960))  # 20 ms of 24 kHz mono PCM16
_STREAM: Final = 256
# The ticks of a response that also carry a caption: 15 spread over 50.
_CAPTION_TICKS: Final = frozenset(
    (n * TICKS_PER_RESPONSE) // CAPTIONS_PER_RESPONSE for n in range(CAPTIONS_PER_RESPONSE)
)


class _Call:
    """One paced call's feed and what its subscriber saw."""

    def __init__(
        self, index: int, calls: int, begin: float, stop: float, measure_from: float
    ) -> None:
        self.index = index
        # Independent calls: their ticks spread over one tick, their responses'
        # ends over a response (neighbours far apart, 7 being prime to 50).
        self.start = begin + TICK_S * index / calls
        self.first_tick = (index * 7) % TICKS_PER_RESPONSE
        self.stop = stop
        self.measure_from = measure_from
        self.due: dict[str, float] = {}
        self.latencies: list[float] = []
        self.chunks_sent = 0
        self.chunks_seen = 0
        self.completions_sent = 0
        self.completions_seen = 0
        self.dropped = 0

    async def feed(self, send: anyio.abc.ObjectSendStream[Any]) -> None:
        async with send:
            previous: str | None = None
            tick, first = 0, self.first_tick
            for turn in range(1_000_000):
                response, item = f"r{self.index}_{turn}", f"i{self.index}_{turn}"
                due = self.start
                for n in range(first, TICKS_PER_RESPONSE):
                    due = self.start + tick * TICK_S
                    tick += 1
                    await anyio.sleep_until(due)
                    await send.send(
                        ev.OutputAudioChunk(chunk=CHUNK, response_id=response, item_id=item)
                    )
                    self.chunks_sent += 1
                    if n in _CAPTION_TICKS:
                        await send.send(
                            ev.OutputAudioTranscriptDeltaForItem(
                                response_id=response,
                                delta_id=f"{item}_{n}",
                                item_id=item,
                                previous_item_id=previous,
                                delta="word ",
                            )
                        )
                self.due[response] = due
                await send.send(ev.TurnCompleted(response_id=response))
                self.completions_sent += 1
                previous, first = item, 0
                if due >= self.stop:
                    return

    def completed(self, response_id: str) -> None:
        self.completions_seen += 1
        due = self.due.pop(response_id)
        if due >= self.measure_from:
            self.latencies.append(anyio.current_time() - due)


async def _read_session(call: _Call, subscription: Any) -> None:
    async for event in subscription:
        if isinstance(event, public.OutputAudioChunk):
            call.chunks_seen += 1
        elif isinstance(event, public.TurnCompleted):
            call.completed(event.response_id)
    call.dropped += subscription.dropped_media


async def _session_call(call: _Call) -> None:
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](_STREAM)
    async with RealtimeSession(receive) as session, anyio.create_task_group() as task_group:
        task_group.start_soon(_read_session, call, session.events())
        await call.feed(send)
        await session.wait_closed()
    call.dropped += session.stats.media_dropped


async def _floor_call(call: _Call) -> None:
    """The same feed read straight from the provider stream: the pacing's own cost."""
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](_STREAM)

    async def read() -> None:
        async with receive:
            async for event in receive:
                if isinstance(event, ev.OutputAudioChunk):
                    call.chunks_seen += 1
                elif isinstance(event, ev.TurnCompleted):
                    call.completed(event.response_id)

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(read)
        await call.feed(send)


class _GcPauses:
    """The garbage collector's pauses while installed, by generation."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses[info["generation"]].append(time.perf_counter() - self._started)

    def summary(self) -> dict[str, object]:
        return {
            f"gen{generation}": {
                "collections": len(pauses),
                "max_ms": round(max(pauses, default=0.0) * 1000, 2),
            }
            for generation, pauses in self.pauses.items()
        }


async def trial(calls: int, seconds: float, pipeline: str = "session") -> Record:
    """``calls`` paced calls for a warm-up second plus ``seconds`` measured."""
    run_call: Callable[[_Call], Any] = _session_call if pipeline == "session" else _floor_call
    gc.collect()
    now = anyio.current_time()
    begin = now + 0.2  # time to start every call before the first tick is due
    measure_from = begin + WARM_UP_S
    stop = measure_from + seconds
    population = [_Call(index, calls, begin, stop, measure_from) for index in range(calls)]
    pauses = _GcPauses()
    gc.callbacks.append(pauses)
    try:
        async with anyio.create_task_group() as task_group:
            for call in population:
                task_group.start_soon(run_call, call)
            await anyio.sleep_until(measure_from)
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            await anyio.sleep_until(stop)
            cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    finally:
        gc.callbacks.remove(pauses)
    latencies = sorted(latency for call in population for latency in call.latencies)
    lost_completions = sum(c.completions_sent - c.completions_seen for c in population)
    lost_chunks = sum(c.chunks_sent - c.chunks_seen for c in population)
    dropped = sum(c.dropped for c in population)
    p99_ms = percentile(latencies, 0.99) * 1000
    record: Record = {
        "calls": calls,
        "pipeline": pipeline,
        "measured_s": seconds,
        "samples": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        "p99_ms": round(p99_ms, 2),
        "max_ms": round(latencies[-1] * 1000, 2),
        "lost_completions": lost_completions,
        "lost_chunks": lost_chunks,
        "media_dropped": dropped,
        "cpu_share": round(cpu / wall, 2),
        "gc": pauses.summary(),
    }
    record["passed"] = p99_ms < P99_LIMIT_MS and not (lost_completions or lost_chunks or dropped)
    return record


def _bound(failed: Record) -> str:
    """What failed a trial, as far as its figures tell."""
    if failed["lost_completions"] or failed["lost_chunks"] or failed["media_dropped"]:
        return "drops"
    cpu_share = failed["cpu_share"]
    assert isinstance(cpu_share, float | int)
    if cpu_share >= 0.9:
        return "CPU: the event loop has no time left between ticks"
    return "the latency tail, with CPU to spare"


async def capacity(quick: bool) -> list[Record]:
    if quick:
        # Checks the machinery on a fixed, small K: no search.
        record = await trial(50, 2.0)
        floor = await trial(50, 2.0, "floor")
        return [{"name": "capacity", "quick": True, "trial": record, "floor": floor}]
    search_s, confirm_s, repeats = 4.0, 8.0, 3
    trials: list[Record] = []

    async def attempt(calls: int) -> bool:
        record = await trial(calls, search_s)
        trials.append(record)
        return bool(record["passed"])

    low, high = 0, 50
    while await attempt(high):
        low, high = high, high * 2
        if high > 6_400:
            raise RuntimeError("more than 6,400 calls passed: widen the search")
    while high - low > max(10, low // 20):
        middle = (low + high) // 2
        if await attempt(middle):
            low = middle
        else:
            high = middle
    confirmed = [await trial(low, confirm_s) for _ in range(repeats)] if low else []
    failing = await trial(high, confirm_s)
    floor = await trial(max(low, 1), confirm_s, "floor")
    return [
        {
            "name": "capacity",
            "calls_per_core": low,
            "p99_limit_ms": P99_LIMIT_MS,
            "repeats": repeats,
            "confirmed_passes": sum(bool(r["passed"]) for r in confirmed),
            "p99_ms": spread([float(r["p99_ms"]) for r in confirmed], 2),  # type: ignore[arg-type]
            "p50_ms": spread([float(r["p50_ms"]) for r in confirmed], 2),  # type: ignore[arg-type]
            "cpu_share": spread([float(r["cpu_share"]) for r in confirmed], 2),  # type: ignore[arg-type]
            "confirmations": confirmed,
            "first_failing": failing,
            "bounded_by": _bound(failing),
            "floor": floor,
            "search": trials,
        }
    ]


def run(quick: bool = False, backends: tuple[str, ...] = ("asyncio",)) -> list[Record]:
    results: list[Record] = []
    for name in backends:
        backend, options = BACKENDS[name]
        if options.get("use_uvloop") and importlib.util.find_spec("uvloop") is None:
            print(f"skipping {name}: uvloop is not installed", file=sys.stderr)
            continue
        records = anyio.run(capacity, quick, backend=backend, backend_options=options)
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
    parser.add_argument("--quick", action="store_true", help="one small trial, for CI")
    parser.add_argument("--backend", choices=sorted(BACKENDS), action="append")
    parser.add_argument("--calls", type=int, help="one trial of this many calls, no search")
    parser.add_argument("--seconds", type=float, default=8.0, help="with --calls: measured time")
    args = parser.parse_args()
    if args.calls is not None:
        backend, options = BACKENDS[(args.backend or ["asyncio"])[0]]
        result: object = anyio.run(
            trial, args.calls, args.seconds, backend=backend, backend_options=options
        )
    else:
        result = run(args.quick, tuple(args.backend or ("asyncio",)))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
