"""The wire codec: events and messages to and from JSON.

Every member of one of the vocabulary's unions travels as a JSON object whose
``"type"`` field is the class's wire tag, the snake_case class name
(``OutputTextDeltaForItem`` → ``"output_text_delta_for_item"``; see
:func:`wire_tag`). Nested records (``Usage``, audio and video chunks, message
blocks) carry no tag; a field typed as one of the unions (``RealtimeTranscript.event``,
``TranscriptCommitted.message``) holds a tagged object. ``AssistantMessage.blocks``
is the one untagged union: a ``TranscriptBlock`` always carries ``truncated`` and
``estimated``, a ``TextBlock`` never does.

Values map one to one: ``bytes`` as standard base64, enums by value, tuples as
arrays, ``ToolCallRequested.arguments`` as the JSON value it is. A field whose
value is ``None`` is left out, and a missing field reads as its default, or as
``None`` when its type allows it.

Decoding is strict and total. The caller names what it expects, because provider
events, public events and transcript events share tags
(``assistant_transcript_truncated`` exists in all three): ``from_json(text)``
decodes a provider event, ``from_json(text, type=public.RealtimeEvent)`` a
public one. Nothing is coerced: ``42`` is not a string, ``true`` is not an
integer, ``"1"`` is not a number (an integer is a valid float). An unknown key,
an unknown or mismatched tag, a missing field, invalid base64 or text that is
not JSON raises :class:`DecodeError`, whose :attr:`~DecodeError.path` names the
offending place; no other exception escapes and no partial object is returned.

Hooks are built once per class and per target type and kept for the life of the
process, so a call costs one dictionary lookup before the work itself. Decoding
first runs without bookkeeping; only a document that fails is decoded a second
time, tracking where it failed, to build the error.
"""

from __future__ import annotations

import binascii
import functools
import json
import math
import operator
import re
import types
import typing
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, TypeVar, final, overload

import attrs
import cattrs
from cattrs.errors import ClassValidationError
from cattrs.fns import identity
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import events, transcript
from .events import RealtimeInputChunk, RealtimeSessionEvent
from .public import RealtimeEvent
from .transcript import Block, Message, RealtimeTranscriptEvent, TranscriptChange

if TYPE_CHECKING:
    from typing_extensions import TypeForm

__all__ = (
    "DecodeError",
    "to_dict",
    "to_json",
    "from_dict",
    "from_json",
    "wire_tag",
    "check_json_value",
)

_T = TypeVar("_T")

_Hook = Callable[[Any, Any], Any]
_Body = Callable[[dict[str, Any]], Any]
_Unhook = Callable[[Any], Any]

# What ``to_dict`` accepts, for type checkers: every tagged class and the nested records.
_Encodable: typing.TypeAlias = (
    RealtimeSessionEvent
    | RealtimeEvent
    | RealtimeTranscriptEvent
    | RealtimeInputChunk
    | Message
    | TranscriptChange
    | Block
    | events.Usage
    | events.RealtimeAudioChunk
    | events.RealtimeVideoChunk
)

_TAG_KEY: Final = "type"

# The unions whose members travel tagged, with the names error messages use for them.
_TAGGED_UNIONS: Final[dict[object, str]] = {
    RealtimeSessionEvent: "events.RealtimeSessionEvent",
    RealtimeEvent: "public.RealtimeEvent",
    RealtimeTranscriptEvent: "transcript.RealtimeTranscriptEvent",
    Message: "transcript.Message",
    RealtimeInputChunk: "events.RealtimeInputChunk",
    TranscriptChange: "transcript.TranscriptChange",
}
_BLOCK_MEMBERS: Final = frozenset(typing.get_args(Block))
# A TranscriptBlock always encodes these (they are never None); a TextBlock has neither.
_TRANSCRIPT_BLOCK_MARKERS: Final = ("truncated", "estimated")

# Far deeper than any real tool argument, and shallow enough that the standard
# library's recursive JSON encoder can always write back what was accepted.
_MAX_JSON_DEPTH: Final = 256

_ABSENT: Final = object()


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_TAGS: Final[dict[type, str]] = {
    member: _snake_case(member.__name__)
    for union in _TAGGED_UNIONS
    for member in typing.get_args(union)
}


# Where each class is public, for error messages: private modules name no one.
_PUBLIC_HOMES: Final = {
    "realtime_session._media": "events",
    "realtime_session._turn": "events",
    "realtime_session._messages": "transcript",
    "realtime_session._transcript_events": "transcript",
}


def _qualified(cls: type) -> str:
    home = _PUBLIC_HOMES.get(cls.__module__) or cls.__module__.rpartition(".")[2]
    return f"{home}.{cls.__name__}"


def wire_tag(cls: type) -> str:
    """The ``"type"`` value that identifies ``cls`` on the wire: its snake_case name.

    Classes of different modules that share a name share a tag
    (``events.InputTranscriptPartial`` and ``public.InputTranscriptPartial`` are
    both ``"input_transcript_partial"``); the decoding target tells them apart.

    :raises TypeError: ``cls`` is not a member of a tagged union (nested records
        such as ``Usage`` carry no tag).
    """
    try:
        return _TAGS[cls]
    except (KeyError, TypeError):
        raise TypeError(f"{cls!r} is not a tagged wire class") from None


@final
class DecodeError(ValueError):
    """A document that does not decode into the requested type.

    ``path`` locates the fault in JSONPath form: ``"$"`` is the document itself,
    ``"$.chunk.data"`` a nested field, ``"$.message.blocks[2].text"`` an array
    element, ``"$.type"`` the tag. ``reason`` says what is wrong there; the message
    is ``"<path>: <reason>"``.
    """

    path: str
    reason: str

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type[DecodeError], tuple[str, str]]:
        return DecodeError, (self.path, self.reason)


# Failures raised by the hooks below carry the path relative to the value they
# were handed; cattrs' detailed mode records the field names on the way out.
class _Invalid(Exception):
    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


class _Nested(Exception):
    def __init__(self, segment: str, error: Exception) -> None:
        super().__init__(segment)
        self.segment = segment
        self.error = error


def _describe(value: object) -> str:
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
    return f"a Python {kind.__name__}"


def _preview(value: object) -> str:
    # Only scalars are shown, and only their start: an error message must not
    # cost more than the document it complains about.
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else f"{value[:57]}...")
    if isinstance(value, bool | float) or value is None:
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 64 else "a large integer"
    return _describe(value)


def _key_segment(key: object) -> str:
    if type(key) is str and key.isidentifier():
        return f".{key}"
    if type(key) is str:
        return f"[{json.dumps(key if len(key) <= 60 else key[:57] + '...')}]"
    return f"[{_preview(key)}]"


def _expected(what: str, value: object) -> _Invalid:
    return _Invalid(f"expected {what}, got {_describe(value)}")


# Scalars. JSON has exactly these shapes, so each hook accepts exactly one
# Python type; ``type(...) is`` also keeps ``bool`` out of the integers.


def _structure_str(value: object, _: object) -> str:
    if type(value) is str:
        return value
    raise _expected("a string", value)


def _structure_int(value: object, _: object) -> int:
    if type(value) is int:
        return value
    raise _expected("an integer", value)


def _structure_float(value: object, _: object) -> float:
    if type(value) is float:
        if math.isfinite(value):
            return value
        raise _Invalid(f"expected a finite number, got {value!r}")
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            raise _Invalid("integer too large for a float") from None
    raise _expected("a number", value)


def _structure_bool(value: object, _: object) -> bool:
    if value is True or value is False:
        return value
    raise _expected("a boolean", value)


def _structure_bytes(value: object, _: object) -> bytes:
    if type(value) is not str:
        raise _expected("a base64 string", value)
    try:
        return binascii.a2b_base64(value, strict_mode=True)
    except ValueError as error:  # binascii.Error, or a non-ASCII character
        raise _Invalid(f"invalid base64 ({error})") from None


def _unstructure_bytes(value: bytes) -> str:
    return binascii.b2a_base64(value, newline=False).decode("ascii")


def _structure_json_value(value: object, _: object) -> object:
    """Accept any JSON value unchanged; refuse what JSON cannot hold.

    Iterative, so depth is bounded by a limit rather than by the interpreter's
    stack; a container met twice (a cycle, or sharing that JSON cannot express)
    is refused too, so the walk is linear in the size of the value.
    """
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    # Each entry: a value, where it sits as a linked (parent, key or index) pair,
    # and its depth; the path is only spelled out for an error.
    stack: list[tuple[object, tuple[Any, str | int] | None, int]] = [(value, None, 0)]
    seen: set[int] = set()
    while stack:
        item, where, depth = stack.pop()
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if type(item) is float:
            if not math.isfinite(item):
                raise _Invalid(f"expected a finite number, got {item!r}", _join(where))
            continue
        if kind is not dict and kind is not list:
            raise _Invalid(f"not a JSON value: {_describe(item)}", _join(where))
        if depth >= _MAX_JSON_DEPTH:
            raise _Invalid(f"nested more than {_MAX_JSON_DEPTH} levels deep", _join(where))
        if id(item) in seen:
            raise _Invalid("the same container appears twice", _join(where))
        seen.add(id(item))
        if isinstance(item, dict):
            for key, child in item.items():
                if type(key) is not str:
                    raise _Invalid(
                        f"object keys must be strings, got {_describe(key)}", _join(where)
                    )
                stack.append((child, (where, key), depth + 1))
        elif isinstance(item, list):
            for index, child in enumerate(item):
                stack.append((child, (where, index), depth + 1))
    return value


def check_json_value(value: object) -> None:
    """Check that ``value`` is a JSON value the wire codec carries both ways.

    That is: ``None``, booleans, strings, integers, finite floats, and lists and
    string-keyed objects of those, at most 256 levels deep, with no container
    appearing twice. Adapters check tool arguments with it, so that what they
    hand the session can be recorded and read back.

    :raises DecodeError: naming where in ``value`` the fault is, as ``$`` paths.
    """
    try:
        _structure_json_value(value, None)
    except _Invalid as error:
        raise DecodeError(f"${error.path}", error.reason) from None


def _join(where: tuple[Any, str | int] | None) -> str:
    segments: list[str] = []
    while where is not None:
        where, step = where
        segments.append(f"[{step}]" if type(step) is int else _key_segment(step))
    return "".join(reversed(segments))


def _is_enum(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, Enum)


def _structure_enum_factory(cls: type[Enum]) -> _Hook:
    members = {member.value: member for member in cls}
    value_types = frozenset(type(value) for value in members)
    expected = ", ".join(repr(value) for value in members)

    def structure_enum(value: object, _: object) -> Enum:
        if type(value) in value_types:
            member = members.get(value)
            if member is not None:
                return member
        raise _Invalid(
            f"unknown {cls.__name__} value {_preview(value)}; expected one of {expected}"
        )

    return structure_enum


def _unstructure_enum(member: Enum) -> object:
    return member.value


def _is_union(tp: object) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _is_optional(tp: object) -> bool:
    return _is_union(tp) and type(None) in typing.get_args(tp)


def _is_variadic_tuple(tp: object) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


_JSON_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
_NULLABLE_SCALARS: Final[dict[type, str]] = {str: "a string", int: "an integer", bool: "a boolean"}


def _resolve_types(cls: type) -> None:
    attrs.resolve_types(cls)


def _json_value_fields(cls: type) -> frozenset[str]:
    # ``JsonValue`` is a recursive string alias that cattrs cannot resolve into a
    # hook; the fields annotated with it get an explicit one.
    annotations: dict[str, object] = getattr(cls, "__annotations__", {})
    return frozenset(
        name
        for name, annotation in annotations.items()
        if isinstance(annotation, str)
        and (annotation == "JsonValue" or annotation.endswith(".JsonValue"))
    )


def _unknown_tag(found: object, union_name: str) -> _Invalid:
    if found is _ABSENT:
        return _Invalid(
            f"missing the 'type' tag that selects a member of {union_name}", f".{_TAG_KEY}"
        )
    if type(found) is not str:
        return _Invalid(f"the 'type' tag must be a string, got {_describe(found)}", f".{_TAG_KEY}")
    owners = sorted(_qualified(cls) for cls, tag in _TAGS.items() if tag == found)
    hint = f" (it is the tag of {', '.join(owners)})" if owners else ""
    return _Invalid(f"unknown type {_preview(found)} for {union_name}{hint}", f".{_TAG_KEY}")


def _mismatched_tag(found: object, cls: type, tag: str) -> _Invalid:
    if found is _ABSENT:
        return _Invalid(f"missing the 'type' tag (expected {tag!r})", f".{_TAG_KEY}")
    if type(found) is not str:
        return _Invalid(f"the 'type' tag must be a string, got {_describe(found)}", f".{_TAG_KEY}")
    return _Invalid(
        f"type {_preview(found)} does not match {_qualified(cls)} (expected {tag!r})",
        f".{_TAG_KEY}",
    )


def _unknown_key(data: dict[Any, Any], allowed: frozenset[str], cls: type) -> _Invalid:
    extra = [key for key in data if key not in allowed]
    more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
    return _Invalid(
        f"unknown key {_preview(extra[0])} for {_qualified(cls)}{more}", _key_segment(extra[0])
    )


@final
class _Structurer:
    """Structure hooks of one cattrs converter, in fast or in detailed mode.

    A class gets two functions: its *body* decodes a dict already known to be an
    object with the right tag (what a union dispatches to, having read the tag),
    and its registered hook checks both first (what a field or a concrete target
    uses).
    """

    def __init__(self, *, detailed: bool) -> None:
        self._bodies: dict[type, _Body] = {}
        converter = cattrs.Converter(detailed_validation=detailed)
        for scalar, hook in (
            (str, _structure_str),
            (int, _structure_int),
            (float, _structure_float),
            (bool, _structure_bool),
            (bytes, _structure_bytes),
        ):
            converter.register_structure_hook(scalar, hook)
        converter.register_structure_hook_factory(_is_enum, _structure_enum_factory)
        converter.register_structure_hook_factory(_is_variadic_tuple, self._tuple_hook)
        converter.register_structure_hook_factory(_is_union, self._union_hook)
        converter.register_structure_hook_factory(attrs.has, self._class_hook)
        self._converter = converter

    def hook(self, target: object) -> _Hook:
        return self._converter.get_structure_hook(target)

    def _body(self, cls: type) -> _Body:
        body = self._bodies.get(cls)
        if body is None:
            body = self._bodies[cls] = self._make_body(cls)
        return body

    def _make_body(self, cls: type) -> _Body:
        _resolve_types(cls)
        fields = attrs.fields(cls)
        overrides: dict[str, Any] = {
            name: override(struct_hook=_structure_json_value) for name in _json_value_fields(cls)
        }
        inner: Callable[[dict[str, Any], type], Any] = make_dict_structure_fn(
            cls, self._converter, _cattrs_forbid_extra_keys=False, **overrides
        )
        allowed = frozenset(field.name for field in fields)
        if cls in _TAGS:
            allowed |= {_TAG_KEY}
        # A field without a default whose type allows None is left out when None,
        # so its absence must read back as None.
        nullable = tuple(
            field.name
            for field in fields
            if field.default is attrs.NOTHING and _is_optional(field.type)
        )

        if not nullable:

            def body(data: dict[str, Any]) -> Any:
                if not data.keys() <= allowed:
                    raise _unknown_key(data, allowed, cls)
                return inner(data, cls)

            return body

        def body_filling_nulls(data: dict[str, Any]) -> Any:
            if not data.keys() <= allowed:
                raise _unknown_key(data, allowed, cls)
            missing = [name for name in nullable if name not in data]
            if missing:
                data = {**data, **dict.fromkeys(missing)}
            return inner(data, cls)

        return body_filling_nulls

    def _class_hook(self, cls: type) -> _Hook:
        body = self._body(cls)
        tag = _TAGS.get(cls)
        if tag is None:

            def structure_record(value: object, _: object) -> Any:
                if not isinstance(value, dict):
                    raise _expected("an object", value)
                return body(value)

            return structure_record

        def structure_tagged(value: object, _: object) -> Any:
            if not isinstance(value, dict):
                raise _expected("an object", value)
            found = value.get(_TAG_KEY, _ABSENT)
            if found != tag:
                raise _mismatched_tag(found, cls, tag)
            return body(value)

        return structure_tagged

    def _tuple_hook(self, tp: object) -> _Hook:
        item_type = typing.get_args(tp)[0]
        item_hook = self.hook(item_type)

        def structure_tuple(value: object, _: object) -> tuple[Any, ...]:
            if type(value) is not list:
                raise _expected("an array", value)
            items = []
            for index, item in enumerate(value):
                try:
                    items.append(item_hook(item, item_type))
                except Exception as error:
                    raise _Nested(f"[{index}]", error) from None
            return tuple(items)

        return structure_tuple

    def _union_hook(self, tp: object) -> _Hook:
        members = typing.get_args(tp)
        if type(None) in members:
            rest = tuple(member for member in members if member is not type(None))
            inner_type: Any = functools.reduce(operator.or_, rest)
            if inner_type in _NULLABLE_SCALARS:
                # The common optional ids and counts: one check, no second call.
                expected = f"{_NULLABLE_SCALARS[inner_type]} or null"

                def structure_optional_scalar(value: object, _: object) -> Any:
                    if value is None or type(value) is inner_type:
                        return value
                    raise _expected(expected, value)

                return structure_optional_scalar
            inner_hook = self.hook(inner_type)

            def structure_optional(value: object, _: object) -> Any:
                return None if value is None else inner_hook(value, inner_type)

            return structure_optional

        if frozenset(members) == _BLOCK_MEMBERS:
            transcript_block = self._body(transcript.TranscriptBlock)
            text_block = self._body(transcript.TextBlock)
            markers = _TRANSCRIPT_BLOCK_MARKERS

            def structure_block(value: object, _: object) -> Any:
                if not isinstance(value, dict):
                    raise _expected("an object", value)
                if markers[0] in value or markers[1] in value:
                    return transcript_block(value)
                return text_block(value)

            return structure_block

        if not all(member in _TAGS for member in members):
            raise TypeError(f"{tp!r} is not a union of tagged wire classes")
        table: dict[str, _Body] = {}
        for member in members:
            tag = _TAGS[member]
            if tag in table:
                raise TypeError(f"{tp!r} holds two classes tagged {tag!r}")
            table[tag] = self._body(member)
        name = _TAGGED_UNIONS.get(tp) or " | ".join(_qualified(member) for member in members)

        def structure_union(value: object, _: object) -> Any:
            if not isinstance(value, dict):
                raise _expected("an object", value)
            found = value.get(_TAG_KEY, _ABSENT)
            body = table.get(found) if type(found) is str else None
            if body is None:
                raise _unknown_tag(found, name)
            return body(value)

        return structure_union


@final
class _Unstructurer:
    """Unstructure hooks: one generated function per class, tag included."""

    def __init__(self) -> None:
        converter = cattrs.Converter()
        converter.register_unstructure_hook(bytes, _unstructure_bytes)
        converter.register_unstructure_hook_factory(_is_enum, lambda _: _unstructure_enum)
        converter.register_unstructure_hook_factory(_is_variadic_tuple, self._tuple_hook)
        converter.register_unstructure_hook_factory(_is_union, self._union_hook)
        converter.register_unstructure_hook_factory(attrs.has, self._class_hook)
        self._converter = converter

    def hook(self, cls: type) -> _Unhook:
        return self._converter.get_unstructure_hook(cls)

    def _class_hook(self, cls: type) -> _Unhook:
        _resolve_types(cls)
        fields = attrs.fields(cls)
        overrides: dict[str, Any] = {
            name: override(unstruct_hook=identity) for name in _json_value_fields(cls)
        }
        for field in fields:
            if field.default is None:
                overrides[field.name] = override(omit_if_default=True)
        inner: _Unhook = make_dict_unstructure_fn(cls, self._converter, **overrides)
        nullable = tuple(
            field.name
            for field in fields
            if field.default is attrs.NOTHING and _is_optional(field.type)
        )
        if nullable:
            inner = _dropping_nulls(inner, nullable)
        tag = _TAGS.get(cls)
        if tag is None:
            return inner

        def unstructure_tagged(value: Any) -> dict[str, Any]:
            return {_TAG_KEY: tag, **inner(value)}

        return unstructure_tagged

    def _tuple_hook(self, tp: object) -> _Unhook:
        item_hook = self.hook(typing.get_args(tp)[0])
        if item_hook is identity:
            return list

        def unstructure_tuple(value: tuple[Any, ...]) -> list[Any]:
            return [item_hook(item) for item in value]

        return unstructure_tuple

    def _union_hook(self, tp: object) -> _Unhook:
        members = typing.get_args(tp)
        if all(member in _JSON_SCALARS for member in members):
            return identity
        table: dict[type, _Unhook] = {type(None): identity}
        for member in members:
            if member is not type(None):
                table[member] = self.hook(member)

        def unstructure_union(value: Any) -> Any:
            hook = table.get(value.__class__)
            if hook is None:
                raise TypeError(f"{type(value).__name__} is not a member of {tp}")
            return hook(value)

        return unstructure_union


def _dropping_nulls(inner: _Unhook, names: tuple[str, ...]) -> _Unhook:
    def unstructure_dropping_nulls(value: Any) -> dict[str, Any]:
        data: dict[str, Any] = inner(value)
        for name in names:
            if data[name] is None:
                del data[name]
        return data

    return unstructure_dropping_nulls


_FAST: Final = _Structurer(detailed=False)
_DETAILED: Final = _Structurer(detailed=True)
_UNSTRUCTURER: Final = _Unstructurer()


@functools.cache
def _records() -> frozenset[type]:
    """The untagged attrs classes reachable from the tagged ones' fields."""
    found: set[type] = set()
    pending: list[object] = []
    for cls in _TAGS:
        _resolve_types(cls)
        pending.extend(field.type for field in attrs.fields(cls))
    while pending:
        tp = pending.pop()
        if isinstance(tp, type) and attrs.has(tp):
            if tp not in _TAGS and tp not in found:
                found.add(tp)
                _resolve_types(tp)
                pending.extend(field.type for field in attrs.fields(tp))
        elif _is_union(tp) or _is_variadic_tuple(tp):
            pending.extend(typing.get_args(tp))
    return frozenset(found)


# Encoding: one hook per class, looked up by the instance's class.
_ENCODERS: dict[type, _Unhook] = {}


def _encoder(cls: type) -> _Unhook:
    if cls not in _TAGS and cls not in _records():
        raise TypeError(f"cannot encode {cls.__module__}.{cls.__qualname__}: not a wire class")
    encoder = _ENCODERS[cls] = _UNSTRUCTURER.hook(cls)
    return encoder


def to_dict(obj: _Encodable) -> dict[str, Any]:
    """Encode an event, message or record as a JSON-ready dict (a new one each call).

    A member of a tagged union carries its ``"type"`` tag first; ``bytes`` become
    base64 strings, enums their values, tuples lists; ``None`` fields are left out.
    ``ToolCallRequested.arguments`` is put in as is, not copied.

    :raises TypeError: ``obj`` is not a wire class of this package.
    """
    cls = obj.__class__
    encoder = _ENCODERS.get(cls)
    if encoder is None:
        encoder = _encoder(cls)
    result: dict[str, Any] = encoder(obj)
    return result


_JSON_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def to_json(obj: _Encodable) -> str:
    """Encode an event, message or record as compact JSON text (see :func:`to_dict`).

    The text is ASCII: characters outside it are ``\\u`` escapes, so a line written
    with any encoding reads back the same.

    :raises TypeError: ``obj`` is not a wire class of this package.
    :raises ValueError: a float is not finite (JSON has no NaN or infinity).
    """
    return _JSON_ENCODER.encode(to_dict(obj))


# Decoding: one decoder per target type.


@final
class _Decoder:
    __slots__ = ("_detailed", "fast", "target")

    def __init__(self, target: object) -> None:
        _check_target(target)
        self.target = target
        self.fast = _FAST.hook(target)
        self._detailed: _Hook | None = None

    def explain(self, data: object) -> Any:
        """Decode ``data`` again, keeping track of where it fails, and raise that.

        Both passes run the same hooks, so this pass fails as the first one did;
        were it ever to succeed, its result is a complete and valid object.
        """
        detailed = self._detailed
        if detailed is None:
            detailed = self._detailed = _DETAILED.hook(self.target)
        try:
            return detailed(data, self.target)
        except Exception as error:
            path, reason = _locate(error)
            raise DecodeError(f"${path}", reason) from None


def _check_target(target: object) -> None:
    if isinstance(target, type):
        if target in _TAGS or target in _records():
            return
    elif _is_union(target):
        members = typing.get_args(target)
        if all(member in _TAGS for member in members) or frozenset(members) == _BLOCK_MEMBERS:
            return
    raise TypeError(f"cannot decode into {target!r}: not a wire class or a union of them")


def _locate(error: BaseException) -> tuple[str, str]:
    """The path (relative to the document) and reason of the first failure in ``error``."""
    segments: list[str] = []
    while True:
        if isinstance(error, _Invalid):
            return "".join(segments) + error.path, error.reason
        if isinstance(error, _Nested):
            segments.append(error.segment)
            error = error.error
            continue
        if isinstance(error, ClassValidationError):
            noted, others = error.group_exceptions()
            if noted:
                cause, note = noted[0]
                segments.append(_key_segment(note.name))
                # cattrs reports an absent required key as the KeyError of its lookup.
                if type(cause) is KeyError:
                    return "".join(segments), "missing required field"
                error = cause
                continue
            if others:
                error = others[0]
                continue
        if isinstance(error, RecursionError):
            return "".join(segments), "nested too deeply"
        return "".join(segments), f"{type(error).__name__}: {error}"


_DECODERS: dict[object, _Decoder] = {}
# Union objects hash slowly (every member, every time), so the decoders of the
# targets seen so far are also found by identity. Holding the target keeps its
# id from being reused; the size cap bounds what callers building unions on the
# fly can pin.
_DECODERS_BY_ID: dict[int, tuple[object, _Decoder]] = {}
_DECODERS_BY_ID_LIMIT: Final = 64


def _decoder(target: object) -> _Decoder:
    entry = _DECODERS_BY_ID.get(id(target))
    if entry is not None and entry[0] is target:
        return entry[1]
    try:
        decoder = _DECODERS.get(target)
    except TypeError:
        raise TypeError(
            f"cannot decode into {target!r}: not a wire class or a union of them"
        ) from None
    if decoder is None:
        decoder = _DECODERS[target] = _Decoder(target)
    if len(_DECODERS_BY_ID) < _DECODERS_BY_ID_LIMIT:
        _DECODERS_BY_ID[id(target)] = (target, decoder)
    return decoder


@overload
def from_dict(data: object) -> RealtimeSessionEvent: ...
@overload
def from_dict(data: object, type: type[_T]) -> _T: ...
@overload
def from_dict(data: object, type: TypeForm[_T]) -> _T: ...
def from_dict(data: object, type: Any = RealtimeSessionEvent) -> Any:
    """Decode a parsed JSON value (as :func:`json.loads` returns it) into ``type``.

    ``type`` is one of the vocabulary's unions (``events.RealtimeSessionEvent``,
    the default; ``public.RealtimeEvent``, ``transcript.RealtimeTranscriptEvent``,
    ``transcript.Message``, ``events.RealtimeInputChunk``,
    ``transcript.TranscriptChange``), or one wire class: a tagged class still
    requires its ``"type"`` tag. ``ToolCallRequested.arguments`` is validated and
    kept as the same object, not copied.

    :raises DecodeError: ``data`` is not a valid encoding of ``type``.
    :raises TypeError: ``type`` is not a wire class or union.
    """
    entry = _DECODERS_BY_ID.get(id(type))
    decoder = entry[1] if entry is not None and entry[0] is type else _decoder(type)
    try:
        return decoder.fast(data, decoder.target)
    except Exception:
        return decoder.explain(data)


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


_JSON_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


@overload
def from_json(text: str | bytes) -> RealtimeSessionEvent: ...
@overload
def from_json(text: str | bytes, type: type[_T]) -> _T: ...
@overload
def from_json(text: str | bytes, type: TypeForm[_T]) -> _T: ...
def from_json(text: str | bytes, type: Any = RealtimeSessionEvent) -> Any:
    """Decode JSON text (``str``, or UTF-8 ``bytes``) into ``type``; see :func:`from_dict`.

    Text that is not a single JSON value, or that uses the non-standard
    ``NaN``/``Infinity`` constants, is a :class:`DecodeError` at ``"$"``.

    :raises DecodeError: ``text`` is not valid JSON or not a valid encoding of ``type``.
    :raises TypeError: ``type`` is not a wire class or union.
    """
    entry = _DECODERS_BY_ID.get(id(type))
    decoder = entry[1] if entry is not None and entry[0] is type else _decoder(type)
    try:
        if isinstance(text, bytes | bytearray):
            text = text.decode("utf-8")
        if not isinstance(text, str):
            raise TypeError(f"expected JSON text, got {text.__class__.__name__}")
        data = _JSON_DECODER.decode(text)
    except RecursionError:
        raise DecodeError("$", "not valid JSON: nested too deeply") from None
    except Exception as error:
        raise DecodeError("$", f"not valid JSON: {error}") from None
    try:
        return decoder.fast(data, decoder.target)
    except Exception:
        return decoder.explain(data)
