"""Standard JSON, strictly: how this package reads, checks and writes JSON.

Python's ``json`` module reads and writes more than JSON: the constants
``NaN``, ``Infinity`` and ``-Infinity``, numbers too large for a float (read
as infinity), an object that repeats a key (the last one wins). No other JSON
peer reads these back, and a repeated key has no single meaning, so:

- :func:`parse` reads standard JSON only: the constants and overflowing
  numbers are errors. With ``unique_keys`` (how the wire codec reads) a key
  repeated within an object is an error too, and the text is read by ``jiter``,
  several times faster than the standard library; the standard library reads
  again only what ``jiter`` refuses, to say precisely what is wrong (and to
  accept what ``jiter`` cannot hold: lone surrogate escapes, which Python
  strings carry). ``jiter`` reads an overflowing number as infinity, so in this
  mode the standard library does too, and :func:`check_value` (or the
  codec's float fields) refuses it.
- :func:`check_value` says whether a Python value is JSON that reads back as
  it was written: nulls, booleans, strings, integers, finite floats, and lists
  and string-keyed dicts of those, at most :data:`MAX_DEPTH` levels deep.
- :func:`dumps` writes nothing else.

Errors are :class:`JsonError`, whose reason is phrased the same wherever JSON
is read (``not valid JSON: Expecting value at column 10``) and whose path
names where in a value the fault is (``.arguments[0]``). Messages quote at most
:data:`QUOTE_LIMIT` characters of a key or a value.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final

import jiter

__all__ = (
    "MAX_DEPTH",
    "QUOTE_LIMIT",
    "JsonError",
    "check_value",
    "describe",
    "dumps",
    "key_segment",
    "not_finite",
    "parse",
    "parse_slowly",
    "preview",
    "shortened",
)

MAX_DEPTH: Final = 256
"""Far deeper than any real tool argument, and shallow enough that the standard
library's recursive encoder can always write back what was accepted."""

QUOTE_LIMIT: Final = 60
"""How much of a key or value a message quotes."""


class JsonError(ValueError):
    """Text that is not standard JSON, or a value that is not JSON.

    ``str()`` is the :attr:`reason`; :attr:`path` says where in the value the
    fault is, relative to its root (``""`` for the text or the value itself).
    """

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


# -- Describing values in messages ----------------------------------------------------------


def shortened(text: str) -> str:
    """``text``, or its first :data:`QUOTE_LIMIT` characters and its length."""
    if len(text) <= QUOTE_LIMIT:
        return text
    return f"{text[:QUOTE_LIMIT]}... ({len(text)} characters)"


def describe(value: object) -> str:
    """The JSON kind of ``value`` (``an integer``), or its Python type when it has none."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "a boolean"
    kind = type(value)
    if kind is int:
        return "an integer"
    if kind is float:
        return "a number"
    if kind is str:
        return "a string"
    if kind is list:
        return "an array"
    if kind is dict:
        return "an object"
    return f"a Python {shortened(kind.__name__)}"


def preview(value: object) -> str:
    """A scalar as a message quotes it, bounded; anything else by its kind."""
    # An error message must not cost more than the document it complains about.
    if isinstance(value, str):
        if len(value) <= QUOTE_LIMIT:
            return repr(value)
        return f"{value[:QUOTE_LIMIT]!r}... ({len(value)} characters)"
    if isinstance(value, bool | float) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 64 else "a large integer"
    return describe(value)


def key_segment(key: object) -> str:
    """A step of a path to a member: ``.name``, or ``["odd key"]``."""
    if type(key) is str and key.isidentifier() and len(key) <= QUOTE_LIMIT:
        return f".{key}"
    if type(key) is str:
        return f"[{json.dumps(key) if len(key) <= QUOTE_LIMIT else preview(key)}]"
    return f"[{preview(key)}]"


def not_finite(value: float) -> str:
    """Why ``value`` (``nan`` or an infinity) is not JSON."""
    return f"expected a finite number, got {value!r} (JSON has no NaN or infinity)"


# -- Reading --------------------------------------------------------------------------------


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"{text} does not fit a finite number")
    return value


class _Repeated(dict[str, Any]):
    """An object that held ``key`` more than once (marked, to be found with its path)."""

    key: str


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    repeated = _Repeated(value)
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            repeated.key = key
            break
        seen.add(key)
    return repeated


# Built once: ``json.loads`` builds a new decoder per call when given options.
_STANDARD: Final = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)
_UNIQUE: Final = json.JSONDecoder(parse_constant=_refuse_constant, object_pairs_hook=_pairs)


def _decode(text: object, decoder: json.JSONDecoder) -> Any:
    try:
        if isinstance(text, bytes | bytearray | memoryview):
            text = bytes(text).decode("utf-8")
        if not isinstance(text, str):
            raise JsonError(f"not valid JSON: expected JSON text, got {describe(text)}")
        return decoder.decode(text)
    except json.JSONDecodeError as exc:
        where = (
            f"column {exc.colno}" if exc.lineno == 1 else f"line {exc.lineno}, column {exc.colno}"
        )
        raise JsonError(f"not valid JSON: {exc.msg} at {where}") from exc
    except RecursionError as exc:
        raise JsonError("not valid JSON: nested too deeply") from exc
    except JsonError:
        raise
    except ValueError as exc:
        raise JsonError(f"not valid JSON: {exc}") from exc


def _find_repeated(value: object) -> tuple[str, str] | None:
    """The path and key of the first object (in document order) that repeats a key."""
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, _Repeated):
            return path, item.key
        if type(item) is list:
            stack.extend(
                (child, f"{path}[{index}]") for index, child in reversed(list(enumerate(item)))
            )
        elif isinstance(item, dict):
            stack.extend((child, path + key_segment(key)) for key, child in reversed(item.items()))
    return None


def parse_slowly(text: str | bytes) -> Any:
    """:func:`parse` with ``unique_keys``, by the standard library alone."""
    data = _decode(text, _UNIQUE)
    repeated = _find_repeated(data)
    if repeated is not None:
        path, key = repeated
        raise JsonError(f"repeated key {preview(key)}", path + key_segment(key))
    return data


def parse(text: str | bytes, *, unique_keys: bool = False) -> Any:
    """Decode one JSON document (``bytes`` as UTF-8); see the module documentation.

    :raises JsonError: ``not valid JSON: ...`` naming the column (and the line,
        past the first) of a syntax error; for the constants, invalid UTF-8,
        nesting deeper than the interpreter can follow, overflowing numbers
        (without ``unique_keys``); with ``unique_keys``, ``repeated key ...``
        at the path of the repeated key.
    """
    if not unique_keys:
        return _decode(text, _STANDARD)
    if type(text) is str:
        try:
            raw = text.encode()
        except UnicodeEncodeError:  # a lone surrogate, which Python strings may hold
            return parse_slowly(text)
    elif isinstance(text, bytes | bytearray | memoryview):
        raw = bytes(text)
    else:
        return parse_slowly(text)
    try:
        # Caching keys only: values (deltas, base64 audio) rarely repeat.
        return jiter.from_json(
            raw, allow_inf_nan=False, catch_duplicate_keys=True, cache_mode="keys"
        )
    except ValueError:
        return parse_slowly(text)


# -- Checking values ------------------------------------------------------------------------


def check_value(value: object) -> object:
    """Return ``value`` unchanged if it is JSON (see the module documentation).

    Iterative, so depth is bounded by :data:`MAX_DEPTH` rather than by the
    interpreter's stack; a container met twice (a cycle, or sharing that JSON
    cannot express) is refused too, so the walk is linear in the size of the value.

    :raises JsonError: at the path of the first fault found.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    # Each entry: a value, where it sits as a linked (parent, key or index) pair,
    # and its depth; the path is only spelled out for an error.
    stack: list[tuple[Any, tuple[Any, str | int] | None, int]] = [(value, None, 0)]
    seen: set[int] = set()
    while stack:
        item, where, depth = stack.pop()
        kind = type(item)
        if kind is float:
            if not math.isfinite(item):
                raise JsonError(not_finite(item), _join(where))
            continue
        if kind is not dict and kind is not list:
            raise JsonError(f"not a JSON value: {describe(item)}", _join(where))
        if depth >= MAX_DEPTH:
            raise JsonError(f"nested more than {MAX_DEPTH} levels deep", _join(where))
        if id(item) in seen:
            raise JsonError("the same container appears twice", _join(where))
        seen.add(id(item))
        # Strings, integers, booleans and nulls are all right wherever they are.
        if kind is dict:
            for key, child in item.items():
                if type(key) is not str:
                    raise JsonError(
                        f"object keys must be strings, got {describe(key)}", _join(where)
                    )
                kind = type(child)
                if not (kind is str or kind is int or kind is bool or child is None):
                    stack.append((child, (where, key), depth + 1))
        else:
            for index, child in enumerate(item):
                kind = type(child)
                if not (kind is str or kind is int or kind is bool or child is None):
                    stack.append((child, (where, index), depth + 1))
    return value


def _join(where: tuple[Any, str | int] | None) -> str:
    segments: list[str] = []
    while where is not None:
        where, step = where
        segments.append(f"[{step}]" if type(step) is int else key_segment(step))
    return "".join(reversed(segments))


# -- Writing --------------------------------------------------------------------------------

_COMPACT: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_SPACED: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False)
_ASCII: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def dumps(
    value: object, *, what: str = "the value", spaced: bool = False, ascii: bool = False
) -> str:
    """Encode ``value`` as JSON text, non-ASCII characters as they are unless ``ascii``.

    Compact (``{"a":1}``) for machines; ``spaced`` (``{"a": 1}``) for text a
    model or a person reads, such as a tool's result; ``ascii`` escapes every
    character outside ASCII (``\\u00e9``), so the text reads back the same in
    any encoding.

    :raises TypeError: naming ``what``, for a value JSON cannot carry: an
        object that is not JSON, ``NaN`` or an infinity.
    """
    encoder = _ASCII if ascii else _SPACED if spaced else _COMPACT
    try:
        return encoder.encode(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} is not JSON-serialisable: {exc}") from exc
