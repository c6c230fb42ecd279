"""Typed reads of untrusted provider JSON.

Provider messages are decoded JSON: any field may be missing, null, or of the
wrong type. The translators read every field through these helpers, which
either return a value of the promised type or raise :class:`MalformedEvent`
naming the field path, so a translator can turn the whole event into one
non-fatal ``ProviderError`` (:func:`failure`) instead of crashing halfway
through it.

Identity fields (ids) must be non-blank strings. Auxiliary figures (token
counts) are read leniently: a wrong type reads as absent, because losing a
usage figure is better than losing the end of a turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from .. import _base64
from .. import events as ev

if TYPE_CHECKING:
    from .._log import ModuleLogger

JsonObject: TypeAlias = Mapping[str, Any]


class MalformedEvent(Exception):
    """A provider event lacks a required field or carries a value of the wrong type."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field {field!r} {problem}")
        self.field = field


def _describe(value: object) -> str:
    return "null" if value is None else type(value).__name__


def malformed(where: str, problem: str) -> ev.ProviderError:
    """The non-fatal error a translator yields for a message it cannot read."""
    return ev.ProviderError(code="malformed_event", message=f"{where}: {problem}")


def not_an_object(where: str, value: object) -> ev.ProviderError:
    """The error for a message (or a part of one) that is not a JSON object."""
    return malformed(where, f"must be an object, not {type(value).__name__}")


def failure(
    exc: Exception, where: str, log: ModuleLogger, *, detail: str | None = None
) -> ev.ProviderError:
    """What a translation step that raised ``exc`` yields, from its ``except`` clause.

    A :class:`MalformedEvent` is the message's fault; anything else is a defect
    of the translator, logged with its traceback and reported as
    ``translator_error``: it must not take the connection down with it.
    ``detail`` names the part of the message more precisely than ``where``.
    """
    if isinstance(exc, MalformedEvent):
        return malformed(where, str(exc))
    detail = where if detail is None else detail
    log.exception("translator_failed", where=detail)
    # The exception's text may quote the message it choked on (a transcript, tool
    # arguments): subscribers get its type; the log has the traceback.
    return ev.ProviderError(code="translator_error", message=f"{detail}: {type(exc).__name__}")


def obj(parent: JsonObject, key: str, where: str) -> JsonObject:
    """A required JSON object."""
    value = parent.get(key)
    if isinstance(value, Mapping):
        return value
    if value is None:
        raise MalformedEvent(f"{where}{key}", "is missing")
    raise MalformedEvent(f"{where}{key}", f"must be an object, not {_describe(value)}")


def opt_obj(parent: JsonObject, key: str, where: str) -> JsonObject | None:
    """An optional JSON object: ``None`` when missing or null."""
    value = parent.get(key)
    if value is None or isinstance(value, Mapping):
        return value
    raise MalformedEvent(f"{where}{key}", f"must be an object, not {_describe(value)}")


def opt_list(parent: JsonObject, key: str, where: str) -> list[Any] | None:
    """An optional JSON array: ``None`` when missing or null."""
    value = parent.get(key)
    if value is None or isinstance(value, list):
        return value
    raise MalformedEvent(f"{where}{key}", f"must be an array, not {_describe(value)}")


def ident(parent: JsonObject, key: str, where: str) -> str:
    """A required identifier: a string that is not blank."""
    value = parent.get(key)
    if isinstance(value, str):
        if value.strip():
            return value
        raise MalformedEvent(f"{where}{key}", "is blank")
    if value is None:
        raise MalformedEvent(f"{where}{key}", "is missing")
    raise MalformedEvent(f"{where}{key}", f"must be a string, not {_describe(value)}")


def opt_ident(parent: JsonObject, key: str, where: str) -> str | None:
    """An optional identifier: ``None`` when missing, null or blank."""
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    raise MalformedEvent(f"{where}{key}", f"must be a string, not {_describe(value)}")


def text(parent: JsonObject, key: str, where: str) -> str:
    """A required string (it may be empty)."""
    value = parent.get(key)
    if isinstance(value, str):
        return value
    if value is None:
        raise MalformedEvent(f"{where}{key}", "is missing")
    raise MalformedEvent(f"{where}{key}", f"must be a string, not {_describe(value)}")


def opt_text(parent: JsonObject, key: str, where: str) -> str | None:
    """An optional string: ``None`` when missing or null."""
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    raise MalformedEvent(f"{where}{key}", f"must be a string, not {_describe(value)}")


def count(parent: JsonObject, key: str, where: str, *, default: int = 0) -> int:
    """An optional non-negative integer (an index or a duration); ``default`` when missing."""
    value = parent.get(key)
    if value is None:
        return default
    # bool is an int subclass, and true is not an index.
    if isinstance(value, int) and not isinstance(value, bool):
        if value >= 0:
            return value
        raise MalformedEvent(f"{where}{key}", f"must not be negative, got {value}")
    raise MalformedEvent(f"{where}{key}", f"must be an integer, not {_describe(value)}")


def opt_bool(parent: JsonObject, key: str, where: str) -> bool:
    """An optional boolean flag: ``False`` when missing or null."""
    value = parent.get(key)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    raise MalformedEvent(f"{where}{key}", f"must be a boolean, not {_describe(value)}")


_URLSAFE_TO_STANDARD = str.maketrans("-_", "+/")


def base64_bytes(parent: JsonObject, key: str, where: str) -> bytes:
    """Required base64 media: either alphabet, standard or URL-safe, padded or not.

    Protocol-buffer JSON (Gemini's wire) allows both, and Google's own SDK
    writes the URL-safe one. Anything else raises :class:`MalformedEvent`.
    """
    payload = text(parent, key, where)
    urlsafe = "-" in payload or "_" in payload
    if urlsafe and ("+" in payload or "/" in payload):
        raise MalformedEvent(f"{where}{key}", "mixes the standard and URL-safe base64 alphabets")
    if urlsafe:
        payload = payload.translate(_URLSAFE_TO_STANDARD)
    try:
        return _base64.decode(payload + "=" * (-len(payload) % 4))
    except ValueError:  # binascii.Error, or a non-ASCII character
        raise MalformedEvent(f"{where}{key}", "is not valid base64") from None


def lenient_count(parent: JsonObject | None, key: str) -> int | None:
    """A non-negative integer figure, or ``None`` when it is missing or not one."""
    if parent is None:
        return None
    value = parent.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def lenient_obj(parent: JsonObject | None, key: str) -> JsonObject | None:
    """A nested object, or ``None`` when it is missing or not one."""
    if parent is None:
        return None
    value = parent.get(key)
    return value if isinstance(value, Mapping) else None
