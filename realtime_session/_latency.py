"""Response latency, as a voice bot is judged: the definitions, in one place.

Per response, the time from what it answers to its first audio chunk, its
first caption or text, and its completion; and the time its tools took. What
a response answers is the user's committed turn, or, for a response that goes
on after a tool call, the last tool answer. The first response to start after
one of these claims it; a response that claims nothing has no figures.

:class:`LatencyTracker` is pure: the caller says when things happened. The
session feeds it its own clock as events arrive; the timeline feeds it the
times a trace recorded.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Final, final

from . import public

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._turn import StopReason

__all__ = ("LatencyTracker", "max_ms", "median_ms")

TURN_COMMITTED: Final = "turn_committed"
TOOL_RESULT: Final = "tool_result"


@final
class _Response:
    __slots__ = ("first_audio", "first_text", "since", "start", "tool_ms")

    def __init__(self, since: str | None, start: float | None, tool_ms: float | None) -> None:
        self.since = since
        self.start = start
        self.tool_ms = tool_ms
        self.first_audio: float | None = None
        self.first_text: float | None = None


def _ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(0.0, end - start) * 1000.0, 1)


def median_ms(values: Sequence[float]) -> int | None:
    """The median of sorted ``values``, in whole milliseconds; ``None`` for none."""
    if not values:
        return None
    middle = len(values) // 2
    if len(values) % 2:
        return round(values[middle])
    return round((values[middle - 1] + values[middle]) / 2)


def max_ms(values: Sequence[float]) -> int | None:
    """The largest of sorted ``values``, in whole milliseconds; ``None`` for none."""
    return round(values[-1]) if values else None


@final
class LatencyTracker:
    """Times each response against what it answers. Times are in seconds, on any clock.

    Call :meth:`turn_committed`, :meth:`tool_requested` and :meth:`tool_answered`
    as those happen, :meth:`audio` and :meth:`text` for each audio chunk and
    each caption or text delta of a response, and :meth:`completed` when a
    response ends: it returns the response's :class:`~realtime_session.public.ResponseLatency`.
    The figures of every response are kept, sorted, for the session's
    statistics (a median costs nothing to read).

    :attr:`audio_seen` and :attr:`text_seen` hold the responses whose first
    chunk or delta was timed: a caller on a hot path checks them before it
    reads its clock, so a response costs one clock reading per figure.
    """

    def __init__(self) -> None:
        self._committed_at: float | None = None
        self._tool_started_at: float | None = None
        self._tool_answered_at: float | None = None
        self._tools_open: dict[str, float] = {}
        self._responses: dict[str, _Response] = {}
        self._done: set[str] = set()
        self.audio_seen: set[str] = set()
        self.text_seen: set[str] = set()
        self.first_audio_ms: list[float] = []
        self.first_text_ms: list[float] = []
        self.completed_ms: list[float] = []
        self.tool_ms: list[float] = []

    # -- what the user and the tools did -------------------------------------------

    def turn_committed(self, now: float) -> None:
        """The user's turn was committed: the next response answers it."""
        self._committed_at = now

    def tool_requested(self, now: float, call_id: str) -> None:
        self._tools_open[call_id] = now
        if self._tool_started_at is None:
            self._tool_started_at = now

    def tool_withdrawn(self, call_id: str) -> None:
        """The provider withdrew the call: no answer, no figure."""
        self._tools_open.pop(call_id, None)
        if not self._tools_open and self._tool_answered_at is None:
            self._tool_started_at = None

    def tool_answered(self, now: float, call_id: str) -> float | None:
        """The call's answer was submitted (or it failed); return how long it took, in ms."""
        started = self._tools_open.pop(call_id, None)
        if started is None:
            return None
        self._tool_answered_at = now
        took = _ms(started, now)
        if took is not None:
            bisect.insort(self.tool_ms, took)
        return took

    # -- what the model did ----------------------------------------------------------

    def _response(self, now: float, response_id: str) -> _Response | None:
        response = self._responses.get(response_id)
        if response is not None or response_id in self._done:
            return response
        since: str | None = None
        start: float | None = None
        tool_ms: float | None = None
        answered = self._tool_answered_at
        if answered is not None and (self._committed_at is None or answered >= self._committed_at):
            since, start = TOOL_RESULT, answered
            tool_ms = _ms(self._tool_started_at, answered)
        elif self._committed_at is not None:
            since, start = TURN_COMMITTED, self._committed_at
        if since is not None:
            self._committed_at = None
            self._tool_answered_at = None
            self._tool_started_at = None
        response = self._responses[response_id] = _Response(since, start, tool_ms)
        return response

    def audio(self, now: float, response_id: str) -> None:
        """An audio chunk of ``response_id`` arrived."""
        self.audio_seen.add(response_id)
        response = self._response(now, response_id)
        if response is not None and response.first_audio is None:
            response.first_audio = now

    def text(self, now: float, response_id: str) -> None:
        """A caption (spoken transcript) or text delta of ``response_id`` arrived."""
        self.text_seen.add(response_id)
        response = self._response(now, response_id)
        if response is not None and response.first_text is None:
            response.first_text = now

    def started(self, now: float, response_id: str) -> None:
        """Some other event of ``response_id`` arrived (it claims what it answers)."""
        self._response(now, response_id)

    def completed(
        self, now: float, response_id: str, stop_reason: StopReason
    ) -> public.ResponseLatency | None:
        """The response ended; its figures (``None`` if it already ended before)."""
        response = self._response(now, response_id)
        if response is None:
            return None
        del self._responses[response_id]
        self._done.add(response_id)
        first_audio = _ms(response.start, response.first_audio)
        first_text = _ms(response.start, response.first_text)
        completed = _ms(response.start, now)
        for figures, value in (
            (self.first_audio_ms, first_audio),
            (self.first_text_ms, first_text),
            (self.completed_ms, completed),
        ):
            if value is not None:
                bisect.insort(figures, value)
        return public.ResponseLatency(
            response_id=response_id,
            stop_reason=stop_reason,
            since=response.since,
            first_audio_ms=first_audio,
            first_text_ms=first_text,
            completed_ms=completed,
            tool_ms=response.tool_ms,
        )

    # -- from public events ----------------------------------------------------------

    def observe(self, now: float, event: public.RealtimeEvent) -> public.ResponseLatency | None:
        """Feed a published event (for a timeline replaying a trace); the figures it completes."""
        match event:
            case public.TurnCommitted():
                self.turn_committed(now)
            case public.OutputAudioChunk(response_id=str(response_id)):
                self.audio(now, response_id)
            case (
                public.OutputAudioTranscriptDelta(response_id=str(response_id))
                | public.OutputTextDelta(response_id=str(response_id))
            ):
                self.text(now, response_id)
            case public.ToolCallRequested(call_id=call_id):
                self.tool_requested(now, call_id)
            case (
                public.ToolCallCompleted(call_id=call_id)
                | public.ToolCallFailed(call_id=call_id)
                | public.ToolCallTimedOut(call_id=call_id)
            ):
                self.tool_answered(now, call_id)
            case public.ToolCallCancelled(call_id=call_id):
                self.tool_withdrawn(call_id)
            case public.TurnCompleted(response_id=response_id, stop_reason=stop_reason):
                return self.completed(now, response_id, stop_reason)
            case _:
                pass
        return None
