"""Running a recorded call through a session and keeping when each public event happened.

The timeline (``inspect``) and ``replay --wav`` both need what a session
published for a recorded call and *when*: a trace keeps the time of each
provider event, not of the events the session publishes in answer. The
session applies one provider event at a time and publishes what it causes
before it takes the next, so the session's own count of published events,
read each time it takes an event, tells which provider event caused each
publication. Events then carry the time of the provider event that caused
them.

A trace without times (a session's recording) gets an estimated clock: time
advances with the audio received, as if it streamed at real-time pace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

import anyio
import anyio.abc
import anyio.lowlevel
import attrs

from . import events as ev
from . import public
from . import transcript as tr
from ._config import SessionConfig, SessionStats
from ._session import RealtimeSession
from .providers.scripted import ScriptedProvider

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .providers.scripted import TimedEvent, TraceFormat

__all__ = ("ObservedCall", "observe_call", "trace_session")

_MEDIA: Final = (ev.OutputAudioChunk, ev.OutputVideoChunk)


@final
@attrs.frozen(kw_only=True)
class ObservedCall:
    """What a session made of a recorded call.

    ``times`` holds the time of each provider event in ``inputs`` (seconds since
    the call began; estimated when ``timed`` is false). ``published`` holds every
    event the session published, media included (except what it suppressed after
    a barge-in), in order, each with the time of the provider event that caused
    it.
    """

    inputs: tuple[ev.RealtimeSessionEvent, ...]
    times: tuple[float, ...]
    timed: bool
    published: tuple[tuple[float, public.RealtimeEvent], ...]
    transcript: tuple[tr.Message, ...]
    stats: SessionStats
    closed: public.SessionClosed | None

    @property
    def duration_s(self) -> float:
        last_input = self.times[-1] if self.times else 0.0
        last_published = self.published[-1][0] if self.published else 0.0
        return max(last_input, last_published)


def event_times(events: Sequence[TimedEvent]) -> tuple[list[float], bool]:
    """The time of each event, and whether the trace carried times at all.

    An untimed event in a timed trace is due with the one before it (as
    :class:`~realtime_session.providers.ScriptedProvider` plays it). In a trace
    with no times, time advances with the audio received.
    """
    timed = any(item.t is not None for item in events)
    times: list[float] = []
    clock = 0.0
    for item in events:
        if timed:
            if item.t is not None:
                clock = max(clock, item.t)
            times.append(clock)
        else:
            times.append(clock)
            event = item.event
            if isinstance(event, ev.OutputAudioChunk):
                clock += (event.chunk.duration_ms or 0.0) / 1000.0
    return times, timed


@final
class _TraceStream(anyio.abc.ObjectReceiveStream[ev.RealtimeSessionEvent]):
    """Serves a trace's events to a session, keeping the trace's clock as it takes each one.

    With ``session`` set, it also notes the session's counters just before it
    takes each event (see :func:`observe_call`).
    """

    def __init__(self, events: Sequence[TimedEvent]) -> None:
        self.events = tuple(item.event for item in events)
        self.times, self.timed = event_times(events)
        self._next = 0
        self.session: RealtimeSession | None = None
        # Per event taken: the session's published and suppressed counts just before.
        self.published_before: list[int] = []
        self.suppressed_before: list[int] = []

    def clock(self) -> float:
        """The trace's time of the event taken last: the call's "now" as the session sees it."""
        return self.times[self._next - 1] if self._next else 0.0

    def receive_nowait(self) -> ev.RealtimeSessionEvent:
        index = self._next
        if index >= len(self.events):
            raise anyio.EndOfStream
        if self.session is not None:
            stats = self.session.stats
            self.published_before.append(stats.published)
            self.suppressed_before.append(stats.media_suppressed)
        self._next = index + 1
        return self.events[index]

    async def receive(self) -> ev.RealtimeSessionEvent:
        await anyio.lowlevel.checkpoint()
        return self.receive_nowait()

    async def aclose(self) -> None:
        self._next = len(self.events)


def trace_session(
    events: Sequence[TimedEvent],
    format: TraceFormat | None = None,
    *,
    config: SessionConfig = SessionConfig(),
) -> tuple[_TraceStream, RealtimeSession]:
    """A session replaying ``events`` as fast as it goes, on the trace's own clock.

    Playback that nothing reports is estimated on the trace's clock, where the
    call happened, not on the wall clock of a replay that runs many times
    faster. How a barge-in is settled follows the trace: a recording carries
    the session's own decisions and an OpenAI trace the server's truncations,
    so those are replayed as they come; a Gemini Live trace carries none (the
    provider cannot truncate), so its session gets a stand-in for the provider
    that says so and settles each barge-in itself, as the live session did.
    """
    stream = _TraceStream(events)
    commands = ScriptedProvider((), supports_truncation=False) if format == "gemini" else None
    session = RealtimeSession(stream, config=config, commands=commands, playback_clock=stream.clock)
    return stream, session


async def observe_call(
    events: Sequence[TimedEvent], format: TraceFormat | None = None
) -> ObservedCall:
    """Run ``events`` through :func:`trace_session`; see :class:`ObservedCall`."""
    stream, session = trace_session(events, format)
    inputs, times = stream.events, stream.times
    stream.session = session
    # Control events only: they are never dropped or flushed, so the n-th one
    # received is the n-th control event published. Media is rebuilt from the
    # inputs, which is exact: an audio or video event publishes its chunk
    # unless the session suppressed it.
    subscription = session.events(media=False, backpressure=True)
    async with session:
        control = [event async for event in subscription]
    stats = session.stats
    published_before = [*stream.published_before, stats.published]
    suppressed_before = [*stream.suppressed_before, stats.media_suppressed]
    published: list[tuple[float, public.RealtimeEvent]] = []
    taken = len(stream.published_before)
    received = 0
    end_time = times[-1] if times else 0.0
    for index in range(taken + 1):
        t = times[index] if index < taken else end_time
        count = published_before[index + 1] - published_before[index] if index < taken else 0
        if index < taken:
            cause = inputs[index]
            if isinstance(cause, _MEDIA):
                suppressed = suppressed_before[index + 1] > suppressed_before[index]
                if not suppressed:
                    projected = cause.to_public_event()
                    assert projected is not None
                    published.append((t, projected))
                    count -= 1
        else:
            count = len(control) - received  # published after the last event: the close
        published.extend((t, event) for event in control[received : received + count])
        received += count
    closed = next(
        (event for _, event in reversed(published) if isinstance(event, public.SessionClosed)),
        None,
    )
    return ObservedCall(
        inputs=inputs,
        times=tuple(times),
        timed=stream.timed,
        published=tuple(published),
        transcript=session.transcript,
        stats=stats,
        closed=closed,
    )
