"""Reading JSON Lines files: recordings and traces.

One reader for every JSON Lines file the package reads, so that they all
follow the same rules: the file is opened (or the stream read) once; lines are
UTF-8 text; blank lines are skipped; a line that cannot be read raises an
error naming the file and the line, in one format; and a torn last line is
told apart from a bad one.

A torn last line is what a crash leaves when it cuts a write short: the last
line has no newline and does not decode. It counts as torn only after at least
one line that did decode: a file of nothing but one such line is no recording
that was cut off, it is something else.
"""

from __future__ import annotations

import os
from typing import IO, TYPE_CHECKING, Generic, TypeAlias, TypeVar, final

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ("JsonLines", "JsonLinesError", "Source", "read_json_lines")

_T = TypeVar("_T")

Source: TypeAlias = "str | os.PathLike[str] | IO[bytes]"
"""A file's path, or a binary stream open for reading (standard input's buffer)."""


class JsonLinesError(ValueError):
    """A line of a JSON Lines file could not be read.

    The message is ``{path}:{line}: line {line}: {reason}``: the location as
    compilers and editors write it, then in words. :attr:`path`, :attr:`line`
    (counted from 1) and :attr:`reason` hold its parts.
    """

    def __init__(self, path: str | os.PathLike[str], line: int, reason: str) -> None:
        shown = os.fspath(path)
        super().__init__(f"{shown}:{line}: line {line}: {reason}")
        self.path = shown
        self.line = line
        self.reason = reason


@final
@attrs.frozen
class JsonLines(Generic[_T]):
    """What :func:`read_json_lines` read: each line decoded, in order."""

    #: The file's path, or the name given for a stream.
    path: str
    items: list[_T]
    #: The number of the torn last line that was left out, if one was.
    torn_line: int | None = None


def read_json_lines(
    source: Source,
    decode: Callable[[int, str], _T],
    *,
    error: Callable[[str, int, str], Exception] = JsonLinesError,
    name: str | None = None,
    skip_torn: bool = False,
) -> JsonLines[_T]:
    """Read every non-blank line of ``source`` through ``decode(number, text)``.

    ``decode`` raises ``ValueError`` for a line it cannot use; its message
    becomes the reason of ``error(path, line, reason)``, as does text that is
    not UTF-8. ``path`` is ``name`` when given, else the path of ``source`` or
    the stream's own name. With ``skip_torn``, a torn last line (see the module
    documentation) is left out and its number kept in
    :attr:`JsonLines.torn_line`; without, it raises like any other.

    :raises OSError: the file cannot be opened or read.
    """
    if isinstance(source, str | os.PathLike):
        path = name if name is not None else os.fspath(source)
        with open(source, "rb") as file:
            return _read(file, path, decode, error, skip_torn)
    path = name if name is not None else str(getattr(source, "name", "<stream>"))
    return _read(source, path, decode, error, skip_torn)


def _read(
    file: IO[bytes],
    path: str,
    decode: Callable[[int, str], _T],
    error: Callable[[str, int, str], Exception],
    skip_torn: bool,
) -> JsonLines[_T]:
    items: list[_T] = []
    for number, raw in enumerate(file, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            failure = ValueError(f"not UTF-8 text ({exc.reason})")
        else:
            if not text.strip():
                continue
            try:
                items.append(decode(number, text))
                continue
            except ValueError as exc:
                failure = exc
        # Only the last line can lack its newline.
        if skip_torn and items and not raw.endswith(b"\n"):
            return JsonLines(path, items, torn_line=number)
        raise error(path, number, str(failure)) from failure
    return JsonLines(path, items)
