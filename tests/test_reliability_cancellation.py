"""Cancelling a running session at every await point.

A recorded conversation (with a tool call, or with a barge-in) plays through a
``ScriptedProvider`` into a session that runs a tool, records to a file, reports
playback (so it sends truncations of its own) and feeds two subscribers: one read
inside the cancelled scope, one read from outside it. A watchdog task counts the
scheduler's passes; a full run tells how many there are, and then the scope is
cancelled after pass 1, 2, ... N in turn, on asyncio and trio. Wherever the cut
falls: no task is left behind, every subscription still ends with
``SessionClosed``, both subscribers saw the same control events, and the
recording reads back and replays to the transcript the session ended with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import anyio
import anyio.lowlevel
import attrs
import pytest
from helpers import replay

from realtime_session import RealtimeSession, SessionConfig, Subscription, codec, public, recording
from realtime_session import events as ev
from realtime_session import transcript as tr
from realtime_session.providers import ScriptedProvider

pytestmark = pytest.mark.anyio

FIXTURES = Path(__file__).parent / "fixtures"
# Nothing here waits on a clock; this only turns a hang into a failure.
BOUND_S: Final = 10.0
NOT_CONTROL = (public.OutputAudioChunk, public.OutputVideoChunk, public.MediaDropped)


async def lookup(**arguments: object) -> dict[str, object]:
    await anyio.lowlevel.checkpoint()  # a tool is cancelled at its own await points too
    return {"temperature_c": 21, "asked": sorted(arguments)}


@attrs.define
class Run:
    """What one run left behind."""

    passes: int = 0
    cancelled: bool = False
    inside: list[public.RealtimeEvent] = attrs.Factory(list)
    outside: list[public.RealtimeEvent] = attrs.Factory(list)
    transcript: tuple[tr.Message, ...] = ()
    tasks_before: int = 0
    tasks_after: int = 0


async def read(
    subscription: Subscription, into: list[public.RealtimeEvent], session: RealtimeSession
) -> None:
    """Read to the end, reporting playback like an audio player that keeps up halfway."""
    async for event in subscription:
        into.append(event)
        if isinstance(event, public.OutputAudioChunk) and event.item_id is not None:
            duration = event.chunk.duration_ms or 0.0
            session.report_playback(event.item_id, duration * (len(into) % 3))


async def watchdog(scope: anyio.CancelScope, cut: int | None, run: Run) -> None:
    while True:
        await anyio.lowlevel.checkpoint()
        run.passes += 1
        if run.passes == cut:
            run.cancelled = True
            scope.cancel()


async def play(trace: str, record_to: Path, cut: int | None, buffer: int) -> Run:
    """One run, its enclosing scope cancelled after ``cut`` scheduler passes (never if None).

    ``buffer`` is the provider stream's: 0 hands over one event per pass, more
    lets the session drain several at once.
    """
    run = Run(tasks_before=len(anyio.get_running_tasks()))
    provider = ScriptedProvider(
        FIXTURES / f"{trace}.jsonl",
        buffer=buffer,
        # Gemini cannot truncate: the session then cuts its own transcript.
        supports_truncation=not trace.startswith("gemini"),
    )
    with anyio.fail_after(BOUND_S):
        async with anyio.create_task_group() as outer:
            with anyio.CancelScope() as scope:
                async with provider.run() as stream:
                    session = RealtimeSession(
                        stream,
                        commands=provider,
                        tools={"get_weather": lookup, "find_table": lookup},
                        config=SessionConfig(record_to=record_to),
                    )
                    outside = session.events()
                    inside = session.events(backpressure=True, max_pending=8)
                    # Read from outside the scope: it must end on its own when the session does.
                    outer.start_soon(read, outside, run.outside, session)
                    async with session, anyio.create_task_group() as inner:
                        inner.start_soon(watchdog, scope, cut, run)
                        await read(inside, run.inside, session)
                        inner.cancel_scope.cancel()
            # Whatever the cancelled reader had not taken yet is still there, then the end.
            async for event in inside:
                run.inside.append(event)
            run.transcript = session.transcript
    run.tasks_after = len(anyio.get_running_tasks())
    return run


def check_recording(path: Path, script: list[ev.RealtimeSessionEvent]) -> None:
    """Valid up to its last line, and the script's events in order, plus the session's own."""
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    complete, last = lines[:-1], lines[-1]
    for line in complete:
        codec.from_json(line)
    recorded = recording.read_events(path)
    assert len(recorded) in {len(complete), len(complete) + 1}
    assert last == "" or len(recorded) == len(complete)
    position = 0
    for event in recorded:
        if position < len(script) and event == script[position]:
            position += 1
        else:
            # A decision the session took itself: a barge-in it saw from playback,
            # or the heard prefix it estimated for a provider that cannot truncate.
            assert isinstance(event, ev.Interrupted | ev.RealtimeTranscript), event


def check_run(run: Run) -> None:
    assert run.tasks_after == run.tasks_before, "a task outlived the cancelled session"
    for seen in (run.inside, run.outside):
        assert seen, "a subscription ended without SessionClosed"
        closed = seen[-1]
        assert isinstance(closed, public.SessionClosed)
        assert closed.reason in {"closed", "provider_closed"}
        assert sum(isinstance(event, public.SessionClosed) for event in seen) == 1
    control_inside = [event for event in run.inside if not isinstance(event, NOT_CONTROL)]
    control_outside = [event for event in run.outside if not isinstance(event, NOT_CONTROL)]
    assert control_inside == control_outside
    if not run.cancelled:
        assert run.inside[-1] == public.SessionClosed(reason="provider_closed")


async def check_every_cut(trace: str, tmp_path: Path, buffer: int) -> int:
    """Cut after every pass of a full run in turn; return how many cuts were made."""
    script = [timed.event for timed in ScriptedProvider(FIXTURES / f"{trace}.jsonl").events]
    full = await play(trace, tmp_path / "full.jsonl", None, buffer)
    check_run(full)
    assert not full.cancelled
    assert any(isinstance(m, public.TranscriptCommitted) for m in full.inside)
    check_recording(tmp_path / "full.jsonl", script)
    # Past the last pass nothing is left to cut, so a couple more cover the end.
    cuts = [*range(1, full.passes + 3)]
    for cut in cuts:
        path = tmp_path / f"cut-{cut}.jsonl"
        run = await play(trace, path, cut, buffer)
        check_run(run)
        check_recording(path, script)
        replayed, _ = await replay(recording.read_events(path))
        assert replayed.transcript == run.transcript, f"cut after pass {cut}"
    return len(cuts)


TRACES = ["openai_tool_call", "openai_barge_in", "gemini_interruption"]


@pytest.mark.parametrize("trace", TRACES)
async def test_cancelling_at_every_await_point_leaks_nothing_and_loses_nothing(
    anyio_backend: object, trace: str, tmp_path: Path
) -> None:
    cuts = await check_every_cut(trace, tmp_path, buffer=4)
    assert cuts > 10


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("buffer", [0, 1, 256])
@pytest.mark.parametrize("trace", TRACES)
async def test_cancelling_at_every_await_point_leaks_nothing_and_loses_nothing_long(
    anyio_backend: object, trace: str, buffer: int, tmp_path: Path
) -> None:
    # trio shuffles the tasks it runs in one pass, so each sweep cuts other states.
    for sweep in range(3):
        directory = tmp_path / str(sweep)
        directory.mkdir()
        await check_every_cut(trace, directory, buffer)
