"""Record a session, replay the recording through a new session, get the same transcript.

    python examples/record_and_replay.py [RECORDING] [--trace TRACE]

The first session plays a recorded provider trace (by default the bundled
OpenAI Realtime call ``openai_barge_in``, where the user talks over a story;
``--trace`` takes another bundled one by name, or a trace file) with
``SessionConfig(record_to=RECORDING)``: it appends every provider
event it applies to RECORDING as one JSON line, before applying it. The
second session reads the recording back with
:func:`realtime_session.recording.read_events` and replays it from a plain
anyio memory stream, the way any provider adapter feeds a session. Both
transcripts are printed and compared; the exit code is 0 when they are equal.

The recording can also be replayed from the command line::

    python -m realtime_session replay RECORDING
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO

import anyio
from bundled_traces import bundled, scripted_provider, trace_argument, trace_help

from realtime_session import RealtimeSession, SessionConfig
from realtime_session import events as ev
from realtime_session import transcript as tr
from realtime_session.recording import read_events

if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.resources.abc import Traversable

DEFAULT_TRACE: Final = "openai_barge_in"


async def record(trace: Traversable, recording: Path) -> tuple[tr.Message, ...]:
    """Run ``trace`` through a session that records to ``recording``; its transcript."""
    provider = scripted_provider(trace)
    async with provider.run() as provider_events:
        config = SessionConfig(record_to=recording)
        async with RealtimeSession(provider_events, config=config) as session:
            await session.wait_closed()
    return session.transcript


async def replay(events: Sequence[ev.RealtimeSessionEvent]) -> tuple[tr.Message, ...]:
    """Feed recorded events to a new session, as a provider adapter would; its transcript."""
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](len(events) + 1)
    with send:
        for event in events:
            send.send_nowait(event)
    # The stream now holds every event and is closed behind them: the session
    # applies them all, then ends as "provider_closed".
    async with RealtimeSession(receive) as session:
        await session.wait_closed()
    return session.transcript


def show(title: str, transcript: Sequence[tr.Message], out: TextIO) -> None:
    print(title, file=out)
    for message in transcript:
        role = "user" if isinstance(message, tr.UserMessage) else "assistant"
        print(f"  {role}: {message.text}", file=out)


async def run(trace: Traversable, recording: Path, out: TextIO) -> bool:
    # record_to appends: start from an empty file so that the recording holds one session.
    await anyio.Path(recording).unlink(missing_ok=True)
    live = await record(trace, recording)
    show(f"live session, recorded to {recording}:", live, out)

    events = read_events(recording)
    replayed = await replay(events)
    show(f"replayed from the recording ({len(events)} events):", replayed, out)

    same = replayed == live
    print(
        "the transcripts are identical" if same else "the transcripts DIFFER",
        file=out,
    )
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "recording",
        nargs="?",
        type=Path,
        default=Path(tempfile.gettempdir()) / "realtime_session_recording.jsonl",
        help="where to write the recording (overwritten; default: in the temp directory)",
    )
    parser.add_argument(
        "--trace",
        type=trace_argument,
        default=bundled(DEFAULT_TRACE),
        help=trace_help(DEFAULT_TRACE),
    )
    args = parser.parse_args(argv)
    same = anyio.run(functools.partial(run, args.trace, args.recording, sys.stdout))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
