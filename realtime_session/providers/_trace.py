"""Traces: recorded provider traffic as JSON Lines, read back as provider events.

A trace is JSON Lines. Each line is one raw provider server event (format
``"openai"`` or ``"gemini"``, translated with a fresh translator) or one
wire-codec event (format ``"events"``: what a session records), optionally
wrapped as ``{"t": seconds_since_start, "event": {...}}`` to keep its timing.
Without an explicit format, the first line decides.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, final, get_args

import attrs

from .. import _json
from .. import events as ev
from .._jsonlines import read_json_lines
from ._errors import TraceFormatError
from .gemini import SERVER_MESSAGE_FIELDS, GeminiLiveTranslator
from .openai import OpenAIRealtimeTranslator

if TYPE_CHECKING:
    import os

    from .._jsonlines import Source

__all__ = (
    "TRACE_FORMATS",
    "LoadedTrace",
    "TimedEvent",
    "TraceFormat",
    "TraceRecord",
    "detect_trace_format",
    "load_trace",
    "open_trace",
    "read_trace",
)

TraceFormat: TypeAlias = Literal["openai", "gemini", "events"]
TRACE_FORMATS: Final[tuple[TraceFormat, ...]] = get_args(TraceFormat)


@final
@attrs.frozen(kw_only=True)
class TimedEvent:
    """A provider event and when it happened: seconds since the trace began, or ``None``.

    An untimed event is due as soon as the one before it was delivered.
    """

    t: float | None = None
    event: ev.RealtimeSessionEvent


@final
@attrs.frozen(kw_only=True)
class TraceRecord:
    """One line of a trace as it was recorded: the decoded payload and its time."""

    line: int
    t: float | None
    payload: Mapping[str, Any]


def detect_trace_format(payload: Mapping[str, Any]) -> TraceFormat:
    """The format of a trace, judged from its first (unwrapped) payload.

    OpenAI events have a dotted ``type`` (or ``"error"``); codec events a
    snake_case ``type`` tag; Gemini messages no ``type`` but camelCase fields.
    Raises ``ValueError`` when the payload fits none of them.
    """
    kind = payload.get("type")
    if isinstance(kind, str):
        return "openai" if ("." in kind or kind == "error") else "events"
    if payload and all(key in SERVER_MESSAGE_FIELDS for key in payload):
        return "gemini"
    raise ValueError(f"cannot tell the trace format from a line with keys {sorted(payload)}")


def _record(line: int, text: str) -> TraceRecord:
    # A ValueError is what the reader reports as the fault of a line.
    value = _json.parse(text)
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, found {type(value).__name__}")  # noqa: TRY004
    t: float | None = None
    if "event" in value and set(value) <= {"t", "event"}:
        t = _time_of(value.get("t"))
        value = value["event"]
        if not isinstance(value, dict):
            raise ValueError("'event' must be a JSON object")
    return TraceRecord(line=line, t=t, payload=value)


def _time_of(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"'t' must be a number, not {type(value).__name__}")  # noqa: TRY004
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"'t' must be finite and not negative, got {value}")
    return float(value)


def read_trace(path: str | os.PathLike[str]) -> list[TraceRecord]:
    """Read a trace's lines as decoded payloads with their times, without translating them.

    Blank lines are skipped. Raises :class:`TraceFormatError` (file, line,
    reason) for a line that is not a JSON object, or whose ``t`` is not a
    finite, non-negative number.
    """
    return read_json_lines(path, _record, error=TraceFormatError).items


def load_trace(path: str | os.PathLike[str], format: TraceFormat | None = None) -> list[TimedEvent]:
    """Read a trace and turn it into provider events, each with its time.

    Raw provider traces go through a fresh translator, so one line may give
    several events (all with the line's time) or none. ``events`` traces are
    decoded with :func:`realtime_session.codec.from_dict`. Raises
    :class:`TraceFormatError` naming the line for a line that cannot be read or
    decoded (a torn last line included), and for an empty trace whose format
    is not given.
    """
    return open_trace(path, format).events


@final
@attrs.frozen
class LoadedTrace:
    """A trace read by :func:`open_trace`: its format, its events, the torn line left out."""

    format: TraceFormat
    events: list[TimedEvent]
    torn_line: int | None


def open_trace(
    source: Source,
    format: TraceFormat | None,
    *,
    name: str | None = None,
    skip_torn: bool = False,
    check_first: Callable[[TraceRecord], None] | None = None,
) -> LoadedTrace:
    """Read and decode a trace, reading ``source`` once (see :func:`read_json_lines`).

    ``check_first`` sees the first record before it is decoded, and may refuse
    the trace by raising.
    """
    if format is not None and format not in TRACE_FORMATS:
        raise ValueError(f"format must be one of {TRACE_FORMATS}, not {format!r}")
    translate: Callable[[Any], Iterable[ev.RealtimeSessionEvent]] | None = None

    def decode(line: int, text: str) -> list[TimedEvent]:
        nonlocal format, translate
        record = _record(line, text)
        if translate is None:
            if check_first is not None:
                check_first(record)
            format = format or detect_trace_format(record.payload)
            translate = _translator(format)
        return [TimedEvent(t=record.t, event=event) for event in translate(record.payload)]

    lines = read_json_lines(source, decode, error=TraceFormatError, name=name, skip_torn=skip_torn)
    if format is None:
        raise TraceFormatError(lines.path, 1, "the trace is empty, so its format is unknown")
    events = [event for line in lines.items for event in line]
    return LoadedTrace(format=format, events=events, torn_line=lines.torn_line)


def _translator(format: TraceFormat) -> Callable[[Any], Iterable[ev.RealtimeSessionEvent]]:
    """A fresh translator of ``format``, as a function of one line's payload."""
    if format == "openai":
        return OpenAIRealtimeTranslator().translate
    if format == "gemini":
        return GeminiLiveTranslator().translate
    from ..codec import from_dict

    return lambda payload: (from_dict(payload),)
