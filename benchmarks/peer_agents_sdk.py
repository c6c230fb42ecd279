"""Beside a peer: the OpenAI Agents SDK's realtime session and ours, on the same stream.

Both sessions get the same logical call, one event at a time with a yield after
each, as a live connection delivers it: per item a start, ``50`` spoken deltas
each with 100 ms of audio (4,800 bytes of 24 kHz PCM16), and the response's
completion; one reader counts everything either session hands out. The figure
is wall time per delta, from the first event fed to the reader's last event.

* ours: ``TurnCommitted``, then per delta ``OutputAudioTranscriptDeltaForItem``
  and ``OutputAudioChunk``, then ``TurnCompleted``, each with ``await
  send(event)`` into the provider stream (256 deep, as the adapters make it);
  the reader is one ``session.events()`` subscription.
* the peer (``openai-agents`` 0.24.0): its ``RealtimeSession`` gets model
  events through its listener, as its OpenAI transport hands them over after
  parsing a message: ``turn_started``, then per delta ``transcript_delta`` and
  ``audio``, then ``turn_ended``, each with ``await listener.on_event(event)``
  followed by a yield (the transport's receive loop awaits the socket once per
  message); the reader is ``async for event in session``. Its transport's own
  ``raw_server_event`` per message is not sent: the peer does less here than it
  does live.

Each measurement runs in a process of its own (a warm-up call, then the timed
one), ours and the peer's alternating, in the same interpreter, on asyncio (the
peer's only loop). Printed: min/median/max of the repeats, µs per delta, and the
ratio peer/ours (above 1, ours is faster) of each adjacent pair of processes.

The peer is optional and pinned: ``pip install -e . openai-agents==0.24.0``, in
an environment of its own (it needs ``websockets`` < 17, the ``ws`` extra 17).
Without it this script says so and exits 0. ``--python`` runs the measuring
processes with another interpreter that has it.

Run: ``python benchmarks/peer_agents_sdk.py [--quick] [--python PATH]``; it
prints JSON. ``run(quick=...)`` returns the records to a driver.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import statistics
import subprocess
import sys
import time
from typing import Any, Final

PEER: Final = "openai-agents"
PEER_VERSION: Final = "0.24.0"
DELTAS_PER_ITEM: Final = 50
# 100 ms of 24 kHz mono PCM16, the format both sessions assume by default.
AUDIO: Final = bytes(4_800)
SIZES: Final = (1_000, 10_000, 50_000)
QUICK_SIZES: Final = (1_000, 10_000)
_WARM_UP: Final = 1_000


def _items(deltas: int) -> int:
    if deltas % DELTAS_PER_ITEM:
        raise ValueError(f"deltas must be a multiple of {DELTAS_PER_ITEM}, got {deltas}")
    return deltas // DELTAS_PER_ITEM


# -- ours ----------------------------------------------------------------------------


def _our_events(deltas: int) -> list[Any]:
    from realtime_session import events as ev

    chunk = ev.RealtimeAudioChunk(data=AUDIO)
    events: list[Any] = []
    previous: str | None = None
    for k in range(_items(deltas)):
        item, response = f"item_{k}", f"resp_{k}"
        events.append(ev.TurnCommitted())
        for n in range(DELTAS_PER_ITEM):
            events.append(
                ev.OutputAudioTranscriptDeltaForItem(
                    response_id=response,
                    delta_id=f"evt_{k}_{n}",
                    item_id=item,
                    previous_item_id=previous,
                    delta="word ",
                )
            )
            events.append(ev.OutputAudioChunk(chunk=chunk, response_id=response, item_id=item))
        events.append(ev.TurnCompleted(response_id=response))
        previous = item
    return events


async def _ours_once(deltas: int) -> float:
    import anyio

    from realtime_session import RealtimeSession, public

    events = _our_events(deltas)
    send, receive = anyio.create_memory_object_stream[Any](256)
    audio = 0
    async with RealtimeSession(receive) as session:
        subscription = session.events()

        async def read() -> None:
            nonlocal audio
            async for event in subscription:
                if isinstance(event, public.OutputAudioChunk):
                    audio += 1

        start = time.perf_counter()
        async with anyio.create_task_group() as task_group:
            task_group.start_soon(read)
            async with send:
                for event in events:
                    await send.send(event)
        elapsed = time.perf_counter() - start
    assert audio == deltas, f"the reader got {audio} of {deltas} audio chunks"
    assert len(session.transcript) == _items(deltas), "not every item was committed"
    assert session.stats.media_dropped == 0
    return elapsed


# -- the peer ------------------------------------------------------------------------


class _ScriptedModel:
    """The peer's model interface, fed from a list instead of a socket.

    Its events reach the session the way the SDK's OpenAI transport hands them
    over (``_emit_event``: every listener's ``on_event``, awaited in turn).
    """

    def __init__(self) -> None:
        self.listeners: list[Any] = []

    async def connect(self, options: Any) -> None:
        pass

    def add_listener(self, listener: Any) -> None:
        self.listeners.append(listener)

    def remove_listener(self, listener: Any) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    async def send_event(self, event: Any) -> None:
        pass

    async def send_event_if(self, event: Any, send_if: Any) -> bool:
        return False

    def _retire_response_audio(self, response_id: str) -> None:
        pass

    async def close(self) -> None:
        pass

    async def emit(self, event: Any) -> None:
        for listener in list(self.listeners):
            await listener.on_event(event)


def _peer_events(deltas: int) -> list[Any]:
    model_events = importlib.import_module("agents.realtime.model_events")
    events: list[Any] = []
    for k in range(_items(deltas)):
        item, response = f"item_{k}", f"resp_{k}"
        events.append(model_events.RealtimeModelTurnStartedEvent(response_id=response))
        for _ in range(DELTAS_PER_ITEM):
            events.append(
                model_events.RealtimeModelTranscriptDeltaEvent(
                    item_id=item, delta="word ", response_id=response
                )
            )
            events.append(
                model_events.RealtimeModelAudioEvent(
                    data=AUDIO, response_id=response, item_id=item, content_index=0
                )
            )
        events.append(model_events.RealtimeModelTurnEndedEvent(response_id=response))
    events.append(model_events.RealtimeModelEndOfStreamEvent())
    return events


async def _peer_once(deltas: int) -> float:
    realtime = importlib.import_module("agents.realtime")
    events = _peer_events(deltas)
    model = _ScriptedModel()
    session = realtime.RealtimeSession(
        model, realtime.RealtimeAgent(name="assistant", instructions="Answer."), None
    )
    audio = 0
    async with session:

        async def read() -> None:
            nonlocal audio
            async for event in session:
                if event.type == "audio":
                    audio += 1

        start = time.perf_counter()
        reader = asyncio.create_task(read())
        for event in events:
            await model.emit(event)
            await asyncio.sleep(0)
        await reader
        elapsed = time.perf_counter() - start
    assert audio == deltas, f"the reader got {audio} of {deltas} audio events"
    return elapsed


# -- measuring processes -------------------------------------------------------------


def _measure(side: str, deltas: int) -> float:
    """µs per delta of one timed call, after a warm-up call (in this process)."""
    # An application decides what is logged; a benchmark wants only warnings.
    logging.basicConfig(level=logging.WARNING)
    if side == "ours":
        import anyio

        anyio.run(_ours_once, _WARM_UP)
        elapsed = anyio.run(_ours_once, deltas)
    else:
        asyncio.run(_peer_once(_WARM_UP))
        elapsed = asyncio.run(_peer_once(deltas))
    return elapsed / deltas * 1e6


def peer_available(python: str) -> bool:
    probe = "import importlib.metadata as m; print(m.version('openai-agents'))"
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=False)
    return done.returncode == 0 and done.stdout.strip() == PEER_VERSION


def _child(python: str, side: str, deltas: int) -> float:
    done = subprocess.run(
        [python, __file__, "--measure", side, "--deltas", str(deltas)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"measuring {side} at {deltas} deltas failed:\n{done.stderr}")
    return float(done.stdout)


def _spread(values: list[float], digits: int = 1) -> dict[str, float]:
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
    }


def run(
    quick: bool = False, python: str | None = None, repeats: int | None = None
) -> list[dict[str, object]]:
    python = python or sys.executable
    if not peer_available(python):
        print(
            f"peer comparison skipped: {PEER}=={PEER_VERSION} is not installed for {python} "
            f"(pip install -e . {PEER}=={PEER_VERSION} in an environment of its own)",
            file=sys.stderr,
        )
        return [{"name": "peer_agents_sdk", "skipped": f"{PEER}=={PEER_VERSION} not installed"}]
    repeats = repeats or (2 if quick else 4)
    sizes = QUICK_SIZES if quick else SIZES
    ours: dict[int, list[float]] = {n: [] for n in sizes}
    peer: dict[int, list[float]] = {n: [] for n in sizes}
    for attempt in range(repeats):
        for deltas in sizes:
            # Alternate which side goes first, so neither always meets the same neighbours.
            order = ("ours", "peer") if attempt % 2 == 0 else ("peer", "ours")
            for side in order:
                (ours if side == "ours" else peer)[deltas].append(_child(python, side, deltas))
    records: list[dict[str, object]] = []
    for deltas in sizes:
        ratios = [p / o for p, o in zip(peer[deltas], ours[deltas], strict=True)]
        records.append(
            {
                "name": "peer_agents_sdk",
                "peer": f"{PEER} {PEER_VERSION}",
                "deltas": deltas,
                "repeats": repeats,
                "ours_us_per_delta": _spread(ours[deltas]),
                "peer_us_per_delta": _spread(peer[deltas]),
                "peer_over_ours": _spread(ratios, 2),
            }
        )
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 10,000 deltas, 2 repeats")
    parser.add_argument("--repeats", type=int, help="processes per side and size")
    parser.add_argument(
        "--python", help="the interpreter for the measuring processes (default: this one)"
    )
    parser.add_argument("--measure", choices=("ours", "peer"), help=argparse.SUPPRESS)
    parser.add_argument("--deltas", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(_measure(args.measure, args.deltas))
        return
    records = run(args.quick, args.python, args.repeats)
    print(json.dumps(records, indent=2))
    for record in records:
        if "skipped" in record:
            continue
        o, p, r = record["ours_us_per_delta"], record["peer_us_per_delta"], record["peer_over_ours"]
        assert isinstance(o, dict) and isinstance(p, dict) and isinstance(r, dict)
        print(
            f"{record['deltas']:>7,} deltas  ours {o['min']}/{o['median']}/{o['max']} µs"
            f"  peer {p['min']}/{p['median']}/{p['max']} µs"
            f"  peer/ours {r['min']}/{r['median']}/{r['max']}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    main()
