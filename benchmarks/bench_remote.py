"""Remote publishing over Redis Streams: publisher CPU, end-to-end latency, Redis memory.

Against a real redis-server this script starts on 127.0.0.1 (a free port),
one process publishes S sessions, each fed like a live call: every 20 ms tick,
each session receives its share of 70 events per second (half captions, half
20 ms audio chunks), one event at a time. In the same run:

* ``sessions``: the sessions alone (no publishing): the cost the publisher adds
  is measured against it;
* ``published``: the same sessions and feed, each published with
  ``realtime_session.remote.publish`` to one ``RedisLog``, while a subscriber
  process follows 10 of the sessions (``subscribe(..., media=False)``), as a
  supervisor's dashboard would, and measures the latency of each caption from the moment it was fed to the session to the
  moment the remote subscriber received it (CLOCK_MONOTONIC, shared by both
  processes);
* ``raw XADD`` baseline: the same encoded payloads, fed the same way, written
  with one pipeline of plain ``XADD`` per tick by the same client (coredis).

Publisher CPU per event is (process CPU of ``published`` - ``sessions``) /
events published; the baseline's is its process CPU / entries written; their
ratio is taken per repeat. Each figure is min/median/max over the repeats. Redis memory per minute of a call
is ``used_memory`` after publishing a 60-second call (3,000 audio chunks,
1,500 captions and their commits), with the default media cap and without one.

Run: ``python benchmarks/bench_remote.py [--quick] [--backend asyncio|trio]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Final

import anyio
import anyio.abc
import anyio.lowlevel
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from redis_server import RedisServer

from realtime_session import RealtimeSession, codec, public
from realtime_session import events as ev
from realtime_session.remote import RedisLog, publish, subscribe

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from anyio.streams.memory import MemoryObjectSendStream

    from realtime_session import Subscription

Record = dict[str, object]

TICK_S: Final = 0.02
EVENTS_PER_S: Final = 70
CHUNK = ev.RealtimeAudioChunk(data=b"\x01\x02" * 480)  # 20 ms of 24 kHz PCM16
DELTAS_PER_RESPONSE: Final = 50
# The remote subscriber follows this many of the published sessions (a supervisor's
# dashboard), spread over them.
FOLLOWED: Final = 10


def _summary(values: Sequence[float], digits: int = 2) -> dict[str, float]:
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
    }


class CallFeed:
    """The provider side of one session: captions and audio, alternating, in responses."""

    def __init__(self) -> None:
        self.sent = 0
        self._due = 0.0
        self._response = 0
        self._delta = 0

    def next_events(self) -> list[ev.RealtimeSessionEvent]:
        """The events of one tick (70 per second on average)."""
        self._due += EVENTS_PER_S * TICK_S
        out: list[ev.RealtimeSessionEvent] = []
        while self._due >= 1.0:
            self._due -= 1.0
            out.append(self._next())
        return out

    def _next(self) -> ev.RealtimeSessionEvent:
        response = f"r{self._response}"
        item = f"a{self._response}"
        self.sent += 1
        if self.sent % 2:
            return ev.OutputAudioChunk(chunk=CHUNK, response_id=response, item_id=item)
        self._delta += 1
        if self._delta == DELTAS_PER_RESPONSE:
            self._delta = 0
            self._response += 1
            return ev.TurnCompleted(response_id=response)
        # The caption carries the moment it was fed, for the remote subscriber.
        return ev.OutputAudioTranscriptDeltaForItem(
            response_id=response,
            delta_id=f"d{self.sent}",
            item_id=item,
            delta=f"{time.monotonic_ns()} ",
        )


async def _feed(
    sends: Sequence[MemoryObjectSendStream[ev.RealtimeSessionEvent]],
    feeds: Sequence[CallFeed],
    seconds: float,
) -> int:
    """Feed every session tick by tick for ``seconds``; return the events fed."""
    ticks = round(seconds / TICK_S)
    start = anyio.current_time()
    count = 0
    for tick in range(ticks):
        await anyio.sleep_until(start + tick * TICK_S)
        for send, feed in zip(sends, feeds, strict=True):
            for event in feed.next_events():
                send.send_nowait(event)
                count += 1
                await anyio.lowlevel.checkpoint()  # one event at a time, as a provider delivers
    return count


async def _drain_until_closed(subscription: Subscription) -> None:
    async for _ in subscription:
        pass


async def _run_sessions(
    sessions: int,
    seconds: float,
    log: RedisLog | None,
    prefix: str,
    before_feed: Callable[[list[str]], Awaitable[None]] | None = None,
) -> tuple[float, int]:
    """Feed ``sessions`` sessions for ``seconds``, each published to ``log`` if given.

    Returns the process CPU seconds spent while feeding and the events fed.
    """
    ids = [f"{prefix}-{n}" for n in range(sessions)]
    streams = [
        anyio.create_memory_object_stream[ev.RealtimeSessionEvent](1024) for _ in range(sessions)
    ]
    feeds = [CallFeed() for _ in range(sessions)]
    started = 0
    all_started = anyio.Event()

    async def one(index: int) -> None:
        nonlocal started
        session = RealtimeSession(streams[index][1])
        drain = session.events(media=False, max_pending=1_000_000)
        async with contextlib.AsyncExitStack() as stack:
            if log is not None:
                publisher = await stack.enter_async_context(
                    publish(session, log, session_id=ids[index])
                )
                await publisher.wait_flushed()
            await stack.enter_async_context(session)
            started += 1
            if started == sessions:
                all_started.set()
            await _drain_until_closed(drain)

    async with anyio.create_task_group() as task_group:
        for index in range(sessions):
            task_group.start_soon(one, index)
        await all_started.wait()
        if before_feed is not None:
            await before_feed(ids)
        cpu = time.process_time()
        count = await _feed([send for send, _ in streams], feeds, seconds)
        cpu = time.process_time() - cpu
        for send, _ in streams:
            send.close()
    return cpu, count


async def _raw_xadd_run(url: str, sessions: int, seconds: float, prefix: str) -> tuple[float, int]:
    """The baseline: the same payloads, one pipeline of XADD per tick."""
    import coredis

    feeds = [CallFeed() for _ in range(sessions)]
    async with coredis.Redis.from_url(url, decode_responses=False) as client:
        ticks = round(seconds / TICK_S)
        start = anyio.current_time()
        cpu = time.process_time()
        count = 0
        seq = 0
        for tick in range(ticks):
            await anyio.sleep_until(start + tick * TICK_S)
            async with client.pipeline(transaction=False) as pipeline:
                for index, feed in enumerate(feeds):
                    for event in feed.next_events():
                        projected = event.to_public_event()
                        assert projected is not None
                        seq += 1
                        lane = "media" if isinstance(event, ev.OutputAudioChunk) else "control"
                        pipeline.xadd(
                            f"{prefix}:{{{index}}}:{lane}",
                            {"e": codec.to_json(projected)},
                            identifier=f"{seq}-0",
                        )
                        count += 1
        return time.process_time() - cpu, count


def _latency_subscriber(url: str, ids: list[str], backend: str) -> None:
    """Child process: follow every session; print caption latencies as JSON at the end."""

    async def follow(log: RedisLog, session_id: str, latencies: list[float]) -> None:
        async with subscribe(log, session_id, media=False) as events:
            latencies.extend(
                [
                    (time.monotonic_ns() - int(event.delta)) / 1e6
                    async for event in events
                    if isinstance(event, public.OutputAudioTranscriptDelta)
                ]
            )

    async def main() -> None:
        latencies: list[float] = []
        async with RedisLog(url) as log, anyio.create_task_group() as task_group:
            for session_id in ids:
                task_group.start_soon(follow, log, session_id, latencies)
            print("READY", flush=True)
        print(json.dumps(latencies), flush=True)

    anyio.run(main, backend=backend)


async def _published_run(
    url: str, sessions: int, seconds: float, prefix: str, backend: str
) -> tuple[float, int, list[float]]:
    output = bytearray()
    children: list[anyio.abc.Process] = []

    async def start_subscriber(ids: list[str]) -> None:
        followed = ids[:: max(1, len(ids) // FOLLOWED)]
        child = await anyio.open_process(
            [sys.executable, __file__, "--subscriber", url, "--backend", backend, *followed],
            stderr=subprocess.DEVNULL,
        )
        children.append(child)
        assert child.stdout is not None
        while b"READY\n" not in output:
            output.extend(await child.stdout.receive())
        await anyio.sleep(0.5)  # every subscription is blocked on the log

    async with RedisLog(url) as log:
        cpu, count = await _run_sessions(sessions, seconds, log, prefix, start_subscriber)
    child = children[0]
    assert child.stdout is not None
    async for chunk in child.stdout:
        output.extend(chunk)
    await child.wait()
    await child.aclose()
    latencies: list[float] = json.loads(output.decode().split("READY\n", 1)[1])
    return cpu, count, latencies


def _call_minute() -> list[ev.RealtimeSessionEvent]:
    """One minute of a call: 50 audio chunks and 25 captions a second, a commit every 2 s."""
    events: list[ev.RealtimeSessionEvent] = []
    for second in range(60):
        response, item = f"r{second // 2}", f"a{second // 2}"
        for n in range(50):
            events.append(ev.OutputAudioChunk(chunk=CHUNK, response_id=response, item_id=item))
            if n % 2:
                events.append(
                    ev.OutputAudioTranscriptDeltaForItem(
                        response_id=response,
                        delta_id=f"d{second}-{n}",
                        item_id=item,
                        delta="word ",
                    )
                )
        if second % 2:
            events.append(ev.TurnCompleted(response_id=response))
    return events


async def _memory_run(url: str, prefix: str) -> Record:
    """Redis memory of one minute of a call, with the default media cap and uncapped."""
    import coredis

    figures: Record = {"name": "remote_redis_memory_per_call_minute"}
    call = _call_minute()
    async with coredis.Redis.from_url(url, decode_responses=False) as client:
        for label, maxlen in (("default_cap", 1000), ("uncapped", 1_000_000)):
            await client.flushall()
            before = int((await client.info("memory"))["used_memory"])  # type: ignore[arg-type]
            send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](len(call))
            session = RealtimeSession(receive)
            async with (
                RedisLog(url) as log,
                publish(session, log, session_id=f"{prefix}-{label}", media_maxlen=maxlen),
                session,
            ):
                with send:
                    for event in call:
                        send.send_nowait(event)
                await session.wait_closed()
            after = int((await client.info("memory"))["used_memory"])  # type: ignore[arg-type]
            figures[f"bytes_{label}"] = after - before
    return figures


async def _cpu_and_latency(
    url: str, sessions: int, seconds: float, repeats: int, backend: str
) -> Record:
    base_us: list[float] = []
    published_us: list[float] = []
    raw_us: list[float] = []
    p50: list[float] = []
    p99: list[float] = []
    events = 0
    for repeat in range(repeats):
        prefix = f"bench-{uuid.uuid4().hex[:8]}-{repeat}"
        cpu_base, count_base = await _run_sessions(sessions, seconds, None, prefix)
        cpu_pub, count_pub, latencies = await _published_run(
            url, sessions, seconds, prefix, backend
        )
        cpu_raw, count_raw = await _raw_xadd_run(url, sessions, seconds, prefix + "-raw")
        events = count_pub
        base_us.append(cpu_base / count_base * 1e6)
        published_us.append((cpu_pub / count_pub - cpu_base / count_base) * 1e6)
        raw_us.append(cpu_raw / count_raw * 1e6)
        latencies.sort()
        p50.append(statistics.median(latencies))
        p99.append(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))])
    return {
        "name": "remote_publish",
        "sessions": sessions,
        "events_per_s_per_session": EVENTS_PER_S,
        "seconds": seconds,
        "events_per_repeat": events,
        "repeats": repeats,
        "session_cpu_us_per_event": _summary(base_us),
        "publisher_cpu_us_per_event": _summary(published_us),
        "raw_xadd_cpu_us_per_event": _summary(raw_us),
        # Per repeat: the publisher and its baseline ran seconds apart, the machine alike.
        "publisher_vs_raw_xadd": _summary(
            [published / raw for published, raw in zip(published_us, raw_us, strict=True)]
        ),
        "end_to_end_p50_ms": _summary(p50),
        "end_to_end_p99_ms": _summary(p99),
    }


def run(quick: bool = False, backends: Sequence[str] = ("asyncio", "trio")) -> list[Record]:
    sessions, seconds, repeats = (20, 1.5, 2) if quick else (100, 8.0, 3)
    results: list[Record] = []
    with tempfile.TemporaryDirectory() as directory, RedisServer(Path(directory)) as server:
        for backend in backends:
            record = anyio.run(
                _cpu_and_latency,
                server.url,
                sessions,
                seconds,
                repeats,
                backend,
                backend=backend,
            )
            results.append({**record, "backend": backend})
        memory = anyio.run(_memory_run, server.url, "memory")
        results.append(memory)
    return results


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs, for CI")
    parser.add_argument("--backend", choices=("asyncio", "trio"), action="append")
    parser.add_argument("--subscriber", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("ids", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.subscriber:
        _latency_subscriber(args.subscriber, args.ids, (args.backend or ["asyncio"])[0])
        return
    print(json.dumps(run(args.quick, args.backend or ("asyncio", "trio")), indent=2))


if __name__ == "__main__":
    main()
