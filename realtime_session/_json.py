"""Standard JSON, strictly: how this package reads and writes JSON text.

Python's ``json`` module reads and writes more than JSON: the constants
``NaN``, ``Infinity`` and ``-Infinity``, and numbers too large for a float
(read as infinity). No other JSON peer reads them back, so they must neither
get into events nor onto a provider's wire: :func:`parse` refuses them, and
:func:`dumps` refuses to write a value that would need them.

Errors say what is wrong in one phrasing wherever JSON is read: ``not valid
JSON: <what> at column <n>``.
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = ("JsonError", "dumps", "parse")


class JsonError(ValueError):
    """Text that is not standard JSON; the message says what and where."""


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} does not fit a finite number")
    return value


# One decoder and two encoders, built once: ``json.loads`` and ``json.dumps``
# build a new one per call when given options, which a message per audio chunk
# would pay every time.
_DECODER: Final = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
_COMPACT: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_SPACED: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def parse(text: str | bytes) -> Any:
    """Decode one JSON document (``bytes`` as UTF-8).

    :raises JsonError: ``not valid JSON: ...``, naming the column (and the line,
        past the first) for a syntax error; for ``NaN``, infinities, numbers that
        overflow a float, invalid UTF-8, and nesting deeper than the interpreter
        can follow.
    """
    try:
        if not isinstance(text, str):
            text = bytes(text).decode("utf-8")
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        where = (
            f"column {exc.colno}" if exc.lineno == 1 else f"line {exc.lineno}, column {exc.colno}"
        )
        raise JsonError(f"not valid JSON: {exc.msg} at {where}") from exc
    except RecursionError as exc:
        raise JsonError("not valid JSON: nested too deeply") from exc
    except ValueError as exc:
        raise JsonError(f"not valid JSON: {exc}") from exc


def dumps(value: object, *, what: str = "the value", spaced: bool = False) -> str:
    """Encode ``value`` as JSON text, non-ASCII characters as they are.

    Compact (``{"a":1}``) for machines; ``spaced`` (``{"a": 1}``) for text a
    model or a person reads, such as a tool's result.

    :raises TypeError: naming ``what``, for a value JSON cannot carry: an
        object that is not JSON, ``NaN`` or an infinity.
    """
    try:
        return (_SPACED if spaced else _COMPACT).encode(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} is not JSON-serialisable: {exc}") from exc
