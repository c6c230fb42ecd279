"""A scripted voice call for the remote tests, and a worker process that publishes it.

``python tests/remote_call.py URL [options]`` runs the call through a session
published to the Redis log at URL. It prints ``SESSION <id>`` once the log
knows the session, and ``DONE <elapsed seconds>`` after the session closed.
``python tests/remote_call.py URL --read SESSION`` reads a session from the
beginning and prints every event as a JSON line.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path
from typing import TypeGuard

import anyio
import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from helpers import audio, spoken

from realtime_session import RealtimeSession, codec, public
from realtime_session import events as ev
from realtime_session.providers import ScriptedProvider, TimedEvent
from realtime_session.remote import RedisLog, publish, subscribe

CHUNK_MS = 20


def call(
    turns: int = 3, chunks: int = 20, *, pace_s: float = 0.0, barge_in: bool = True
) -> list[TimedEvent]:
    """``turns`` exchanges; each answer has ``chunks`` audio chunks, a caption per chunk.

    With ``barge_in``, the user talks over the second answer halfway through. With
    ``pace_s``, each chunk is scheduled ``pace_s`` after the previous one.
    """
    script: list[TimedEvent] = []
    t = 0.0

    def add(event: ev.RealtimeSessionEvent) -> None:
        script.append(TimedEvent(t=t, event=event))

    previous: str | None = None
    for turn in range(turns):
        user, item, response = f"u{turn}", f"a{turn}", f"r{turn}"
        add(ev.TurnStarted())
        add(
            ev.InputTranscriptFinalForItem(item_id=user, previous_item_id=previous, text=f"q{turn}")
        )
        add(ev.TurnCommitted())
        interrupted = barge_in and turn == 1
        for n in range(chunks):
            if interrupted and n == chunks // 2:
                add(ev.Interrupted(response_id=response))
                add(
                    ev.AssistantTranscriptTruncated(
                        response_id=response,
                        item_id=item,
                        audio_played_ms=n * CHUNK_MS,
                        truncated_text=" ".join(f"w{k}" for k in range(n)),
                    )
                )
                break
            t += pace_s
            add(spoken(response, item, f"w{n} " if n < chunks - 1 else f"w{n}", n, user))
            add(audio(response, item, tag=turn * 100 + n, ms=CHUNK_MS))
        if interrupted:
            add(ev.TurnCompleted(response_id=response, stop_reason=ev.StopReason.CANCELLED))
        else:
            add(ev.TurnCompleted(response_id=response))
        previous = item
    return script


async def oracle(script: list[TimedEvent]) -> list[public.RealtimeEvent]:
    """What an in-process subscriber that keeps up sees of ``script`` (media included)."""
    provider = ScriptedProvider(script)
    async with provider.run() as stream:
        session = RealtimeSession(stream)
        subscription = session.events(media_buffer=100_000, max_pending=100_000)
        async with session:
            return [event async for event in subscription]


def is_media(
    event: public.RealtimeEvent,
) -> TypeGuard[public.OutputAudioChunk | public.OutputVideoChunk]:
    return isinstance(event, public.OutputAudioChunk | public.OutputVideoChunk)


def control_only(events: list[public.RealtimeEvent]) -> list[public.RealtimeEvent]:
    """The control events, each response's latency figures set aside (see :func:`timing_aside`)."""
    return timing_aside(
        [e for e in events if not is_media(e) and not isinstance(e, public.MediaDropped)]
    )


def timing_aside(events: list[public.RealtimeEvent]) -> list[public.RealtimeEvent]:
    """The events, with the figures of each ``ResponseLatency`` left out.

    They are the clock's, not the call's: the same call, run twice, is timed
    differently. Which responses were timed, and from what, is kept.
    """
    return [
        attrs.evolve(
            event, first_audio_ms=None, first_text_ms=None, completed_ms=None, tool_ms=None
        )
        if isinstance(event, public.ResponseLatency)
        else event
        for event in events
    ]


async def _publish_call(args: argparse.Namespace) -> None:
    script = call(args.turns, args.chunks, pace_s=args.pace, barge_in=not args.no_barge_in)
    started = time.monotonic()
    async with RedisLog(args.url) as log:
        provider = ScriptedProvider(script, speed=1.0 if args.pace else None)
        send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](256)
        session = RealtimeSession(receive)
        async with publish(
            session, log, heartbeat_s=args.heartbeat, media_maxlen=args.media_maxlen
        ) as publisher:
            await publisher.wait_flushed()
            print(f"SESSION {publisher.session_id}", flush=True)
            await anyio.sleep(args.hold)
            async with session, anyio.create_task_group() as task_group:
                task_group.start_soon(provider.feed, send)
                await session.wait_closed()
    print(f"DONE {time.monotonic() - started:.3f}", flush=True)


async def _read_session(args: argparse.Namespace) -> None:
    """Print every event of the session as a JSON line; a failure as ``ERROR <name>``."""
    async with RedisLog(args.url) as log:
        subscription = subscribe(log, args.read, start="beginning", media_buffer=100_000)
        try:
            async with subscription:
                async for event in subscription:
                    print(codec.to_json(event), flush=True)
        except Exception as error:
            print(f"ERROR {type(error).__name__} {error}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--read", metavar="SESSION", help="read this session instead")
    parser.add_argument("--backend", default="asyncio")
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--pace", type=float, default=0.0)
    parser.add_argument("--no-barge-in", action="store_true")
    parser.add_argument("--heartbeat", type=float, default=1.0)
    parser.add_argument("--media-maxlen", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=0.0, help="seconds to wait before the call")
    args = parser.parse_args()
    run = _read_session if args.read else _publish_call
    anyio.run(functools.partial(run, args), backend=args.backend)


if __name__ == "__main__":
    main()
