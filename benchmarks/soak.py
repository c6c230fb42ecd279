"""Soak: a million provider events through one session with three subscribers.

The conversation is generated on the fly, turn after turn: a user final, a spoken
answer of 100 transcript deltas each followed by a 20 ms audio chunk, a tool call
every tenth turn, and a barge-in with a truncation every seventh. The subscribers
are the three a deployment has: a back-pressure sink that reads every control
event, a player whose two-chunk media lane overflows, and a reader so slow that it
is failed with ``SubscriberLagged``.

Figures, each beside its baseline from the same run:

* ``throughput_events_per_s`` -- provider events through the session, beside
  ``floor_events_per_s``: the same generated events through one memory-stream
  hop drained in batches, doing no work (the cost of generating and moving them);
* ``peak_rss_mib`` -- the process's peak resident memory after the soak, beside
  ``start_rss_mib``, the same figure before it (interpreter, imports, the floor run).

Run: ``python benchmarks/soak.py [--events N] [--backend asyncio|asyncio+uvloop|trio]``;
it prints one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import logging
import resource
import sys
import time
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import structlog

from realtime_session import RealtimeSession, SessionConfig, SubscriberLagged, public
from realtime_session import events as ev

if TYPE_CHECKING:
    from collections.abc import Iterator

    from realtime_session import Subscription

BACKENDS: dict[str, tuple[str, dict[str, Any]]] = {
    "asyncio": ("asyncio", {}),
    "asyncio+uvloop": ("asyncio", {"use_uvloop": True}),
    "trio": ("trio", {}),
}
DELTAS_PER_ANSWER = 100
CHUNK = ev.RealtimeAudioChunk(data=bytes(960))
_BATCH = 256


def conversation() -> Iterator[ev.RealtimeSessionEvent]:
    """A voice conversation that never ends."""
    previous: str | None = None
    for turn in itertools.count():
        user, response, answer = f"u{turn}", f"r{turn}", f"a{turn}"
        yield ev.TurnStarted()
        yield ev.InputTranscriptFinalForItem(
            item_id=user, previous_item_id=previous, text=f"question number {turn}"
        )
        barge_in = turn % 7 == 5
        for n in range(DELTAS_PER_ANSWER // 2 if barge_in else DELTAS_PER_ANSWER):
            yield ev.OutputAudioTranscriptDeltaForItem(
                response_id=response,
                delta_id=f"{answer}:{n}",
                item_id=answer,
                previous_item_id=user,
                delta="w ",
            )
            yield ev.OutputAudioChunk(chunk=CHUNK, response_id=response, item_id=answer)
        if turn % 10 == 3:
            yield ev.ToolCallRequested(
                call_id=f"call{turn}", tool_name="lookup", arguments={"turn": turn}
            )
        if barge_in:
            yield ev.Interrupted(response_id=response)
            for _ in range(5):  # audio still in flight, which the session suppresses
                yield ev.OutputAudioChunk(chunk=CHUNK, response_id=response, item_id=answer)
            yield ev.TurnCompleted(response_id=response, stop_reason=ev.StopReason.CANCELLED)
            yield ev.AssistantTranscriptTruncated(item_id=answer, audio_played_ms=2_000)
        else:
            yield ev.TurnCompleted(response_id=response)
        previous = answer


class Commands:
    """Provider commands that do nothing: tool results go nowhere."""

    supports_truncation = True

    async def send_input(self, chunk: ev.RealtimeInputChunk) -> None:
        pass

    async def commit_turn(self) -> None:
        pass

    async def interrupt(self) -> None:
        pass

    async def truncate_assistant_output(
        self, item_id: str, content_index: int, audio_played_ms: int
    ) -> None:
        pass

    async def submit_tool_result(self, call_id: str, output: ev.JsonValue) -> None:
        pass

    async def submit_tool_error(self, call_id: str, error: str) -> None:
        pass

    async def aclose(self) -> None:
        pass


async def lookup(turn: int) -> dict[str, int]:
    return {"turn": turn}


async def _feed(send: anyio.abc.ObjectSendStream[Any], events: int) -> int:
    sent = 0
    async with send:
        send_nowait = send.send_nowait  # type: ignore[attr-defined]
        for event in itertools.islice(conversation(), events):
            try:
                send_nowait(event)
            except anyio.WouldBlock:
                await send.send(event)
            sent += 1
    return sent


async def floor(events: int) -> tuple[int, float]:
    """The generated events through one memory-stream hop, drained in batches."""
    send, receive = anyio.create_memory_object_stream[Any](_BATCH)
    received = 0

    async def drain() -> None:
        nonlocal received
        async with receive:
            while True:
                try:
                    await receive.receive()
                except anyio.EndOfStream:
                    return
                received += 1
                for _ in range(_BATCH):
                    try:
                        receive.receive_nowait()
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                    received += 1

    start = time.perf_counter()
    async with anyio.create_task_group() as task_group:
        task_group.start_soon(drain)
        sent = await _feed(send, events)
    elapsed = time.perf_counter() - start
    assert received == sent
    return sent, elapsed


async def _read(
    subscription: Subscription, counts: dict[str, int], *, pause_s: float | None = None
) -> None:
    try:
        async for event in subscription:
            if isinstance(event, public.OutputAudioChunk):
                counts["media"] += 1
            elif not isinstance(event, public.MediaDropped):
                counts["control"] += 1
            if pause_s is not None:
                await anyio.sleep(pause_s)
    except SubscriberLagged:
        counts["lagged"] = 1


async def soak(events: int) -> dict[str, Any]:
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](_BATCH)
    session = RealtimeSession(
        receive, config=SessionConfig(), commands=Commands(), tools={"lookup": lookup}
    )
    sink = {"control": 0, "media": 0, "lagged": 0}
    player = {"control": 0, "media": 0, "lagged": 0}
    laggard = {"control": 0, "media": 0, "lagged": 0}
    subscriptions = (
        (session.events(backpressure=True, media=False, max_pending=256), sink, None),
        (session.events(media_buffer=2, max_pending=100_000), player, None),
        (session.events(max_pending=64), laggard, 0.001),
    )
    start = time.perf_counter()
    async with session, anyio.create_task_group() as readers:
        for subscription, counts, pause_s in subscriptions:
            readers.start_soon(partial(_read, subscription, counts, pause_s=pause_s))
        sent = await _feed(send, events)
        await session.wait_closed()
    elapsed = time.perf_counter() - start
    stats = session.stats
    assert sink["control"] == player["control"], "the player missed a control event"
    assert laggard["lagged"] == 1, "the slow reader was not failed"
    return {
        "events": sent,
        "elapsed_s": round(elapsed, 2),
        "throughput_events_per_s": round(sent / elapsed),
        "committed_messages": len(session.transcript),
        "control_events_per_subscriber": sink["control"],
        "media_published": stats.published - sink["control"],
        "media_dropped": stats.media_dropped,
        "media_suppressed": stats.media_suppressed,
        "tool_calls": stats.tool_calls,
    }


def _rss_mib() -> float:
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


async def main_async(events: int) -> dict[str, Any]:
    floor_events, floor_elapsed = await floor(events)
    start_rss = _rss_mib()
    result = await soak(events)
    result["floor_events_per_s"] = round(floor_events / floor_elapsed)
    result["peak_rss_mib"] = _rss_mib()
    result["start_rss_mib"] = start_rss
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=sorted(BACKENDS), default="asyncio")
    args = parser.parse_args()
    # An application decides what is logged; a benchmark wants only warnings.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        # stdout carries the figures, as JSON: warnings go to stderr.
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    backend, options = BACKENDS[args.backend]
    if options.get("use_uvloop") and importlib.util.find_spec("uvloop") is None:
        parser.error("asyncio+uvloop needs uvloop installed")
    result = anyio.run(main_async, args.events, backend=backend, backend_options=options)
    print(json.dumps({"backend": args.backend, **result}, indent=2))


if __name__ == "__main__":
    main()
