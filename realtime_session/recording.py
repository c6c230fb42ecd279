"""Recording a session's input, and reading it back for replay.

A recording is JSON Lines: one wire-codec event (:mod:`realtime_session.codec`)
per line, in the order the session applied them. Each line is flushed as it is
written, so a crash loses at most the line being written; :func:`read_events`
tolerates such a torn last line. Replaying the events through a new session
without commands (or :meth:`TranscriptReducer.from_events` after translation)
reproduces the transcript and the public events, because the session also
records the decisions it takes itself (a barge-in it detected from playback, an
item it found heard in full or cut itself, orphans it released on a timer).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, final

from . import codec
from ._jsonlines import JsonLinesError, read_json_lines

if TYPE_CHECKING:
    import os

    from .events import RealtimeSessionEvent

__all__ = ("RecordingError", "read_events", "EventRecorder")


@final
class RecordingError(JsonLinesError):
    """A recording could not be read: ``{path}:{line}: line {line}: {reason}``.

    A ``ValueError``; :attr:`path`, :attr:`line` and :attr:`reason` hold the
    parts of the message, as they do in
    :class:`realtime_session.providers.TraceFormatError`.
    """


def _decode(_line: int, text: str) -> RealtimeSessionEvent:
    return codec.from_json(text)


def read_events(path: str | os.PathLike[str]) -> list[RealtimeSessionEvent]:
    """Read a recording written by a session (``SessionConfig(record_to=...)``).

    Blank lines are skipped. A last line that has no newline and does not decode,
    after at least one line that does, is a write that was cut off, and is
    ignored; any other line that does not decode (a file holding nothing but one
    unterminated line that does not decode included: that is no recording)
    raises :class:`RecordingError` naming its line number.
    """
    return read_json_lines(path, _decode, error=RecordingError, skip_torn=True).items


@final
class EventRecorder:
    """Appends events to a recording, one flushed JSON line each.

    Writing is synchronous: a line is small, and flushing it before the event is
    applied is what makes the recording complete up to a crash.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = Path(path)
        self._file: IO[str] | None = self._path.open("a", encoding="utf-8")

    @property
    def path(self) -> Path:
        return self._path

    def write(self, event: RealtimeSessionEvent) -> None:
        file = self._file
        if file is None:
            raise ValueError(f"recording {self._path} is closed")
        file.write(codec.to_json(event) + "\n")
        file.flush()

    def close(self) -> None:
        file = self._file
        if file is not None:
            self._file = None
            file.close()

    def __enter__(self) -> EventRecorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
