"""The wire codec: events and messages to and from JSON.

Every member of one of the vocabulary's unions travels as a JSON object whose
``"type"`` field is the class's wire tag (``OutputTextDeltaForItem`` →
``"output_text_delta_for_item"``; see :func:`wire_tag`). Tags are a fixed table
in this module, not derived from class names: renaming a class does not change
what recordings say. Nested records (``Usage``, audio and video chunks, message
blocks) carry no tag; a field typed as one of the unions
(``RealtimeTranscript.event``, ``TranscriptCommitted.message``) holds a tagged
object. ``AssistantMessage.blocks`` is the one untagged union: a
``TranscriptBlock`` always carries ``truncated`` and ``estimated``, a
``TextBlock`` never does.

Values map one to one: ``bytes`` as standard base64, enums by value, tuples as
arrays, ``ToolCallRequested.arguments`` as the JSON value it is. A field whose
value is ``None`` is left out, and a missing field reads as its default, or as
``None`` when its type allows it. Counts, indices, durations and token figures
are never negative; sample rates and channel counts are positive; the ids of
committed messages are never empty. The encoder refuses what the decoder would
refuse, so whatever it writes reads back.

Decoding is strict and total. The caller names what it expects, because provider
events, public events and transcript events share tags
(``assistant_transcript_truncated`` exists in all three): ``from_json(text)``
decodes a provider event, ``from_json(text, type=public.RealtimeEvent)`` a
public one. Nothing is coerced: ``42`` is not a string, ``true`` is not an
integer, ``"1"`` is not a number (an integer is a valid float). An unknown or
repeated key, an unknown or mismatched tag, a missing field, a value out of
range, invalid base64 or text that is not JSON raises :class:`DecodeError`,
whose :attr:`~DecodeError.path` names the offending place; no other exception
escapes and no partial object is returned.

The rules are cattrs': tagged unions by ``configure_tagged_union``, unknown
keys by ``forbid_extra_keys``, omitted ``None`` fields by omit-if-default, and
error locations from cattrs' validation error trees. A document is decoded
once, by a function generated for its class from the attrs fields (type tests
inline, one count of the keys, the instance built as attrs builds it); only a
document that fails is decoded a second time, by cattrs with detailed
validation, to say where and why. JSON text is read as
:mod:`realtime_session._json` reads it for the codec (a key repeated within an
object refused), or by ``jiter`` alone where that provably reads the same: a
text ``orjson`` writes back byte for byte, or whose colons are as many as the
keys read, repeats no key. It is written by
``orjson`` (several times faster than the standard library, which it falls back
to for the few documents it does not write the same way). Base64 is read as the
standard library's strict mode reads it, and written as it writes it
(:mod:`realtime_session._base64`).
"""

from __future__ import annotations

import functools
import inspect
import math
import operator
import types
import typing
from collections.abc import Callable, Mapping
from enum import Enum
from typing import TYPE_CHECKING, Any, Final, TypeVar, final, overload

import attrs
import cattrs
import jiter
import orjson
from cattrs.cols import homogenous_tuple_structure_factory
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)
from cattrs.fns import identity
from cattrs.gen import (
    make_dict_structure_fn_from_attrs,
    make_dict_unstructure_fn_from_attrs,
    override,
)
from cattrs.strategies import configure_tagged_union

from . import _base64, _json
from . import events as ev
from . import public as pub
from . import transcript as tr
from ._json import describe as _describe
from ._json import key_segment as _key_segment
from ._json import not_finite as _not_finite
from ._json import preview as _preview
from ._json import shortened as _shortened
from .events import RealtimeInputChunk, RealtimeSessionEvent
from .public import RealtimeEvent
from .transcript import Block, Message, RealtimeTranscriptEvent, TranscriptChange

if TYPE_CHECKING:
    from typing_extensions import TypeForm

__all__ = (
    "DecodeError",
    "to_dict",
    "to_json",
    "to_json_bytes",
    "from_dict",
    "from_json",
    "wire_tag",
    "check_json_value",
)

_T = TypeVar("_T")

_Hook = Callable[[Any, Any], Any]
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
    | ev.Usage
    | ev.RealtimeAudioChunk
    | ev.RealtimeVideoChunk
)

# -- Wire tags -----------------------------------------------------------------------------

_TAG_KEY: Final = "type"

# The tag of every class that travels tagged: the one place that says it. A tag is
# what recordings hold, so it never changes, whatever the class is called; a new
# member of a tagged union needs its line here (the codec refuses it until then).
_WIRE_TAGS: Final[Mapping[type, str]] = types.MappingProxyType(
    {
        # events.RealtimeSessionEvent
        ev.InputTranscriptPartial: "input_transcript_partial",
        ev.InputTranscriptFinal: "input_transcript_final",
        ev.InputTranscriptFinalForItem: "input_transcript_final_for_item",
        ev.TurnStarted: "turn_started",
        ev.TurnCommitted: "turn_committed",
        ev.TurnCompleted: "turn_completed",
        ev.OutputTextDelta: "output_text_delta",
        ev.OutputTextDeltaForItem: "output_text_delta_for_item",
        ev.OutputAudioTranscriptDeltaForItem: "output_audio_transcript_delta_for_item",
        ev.AssistantTranscriptFinal: "assistant_transcript_final",
        ev.OutputAudioChunk: "output_audio_chunk",
        ev.OutputVideoChunk: "output_video_chunk",
        ev.Interrupted: "interrupted",
        ev.ToolCallRequested: "tool_call_requested",
        ev.AssistantTranscriptTruncated: "assistant_transcript_truncated",
        ev.RealtimeTranscript: "realtime_transcript",
        ev.ProviderError: "provider_error",
        ev.ToolCallCancelled: "tool_call_cancelled",
        ev.Reconnecting: "reconnecting",
        ev.Reconnected: "reconnected",
        ev.ReconnectFailed: "reconnect_failed",
        # public.RealtimeEvent
        pub.InputTranscriptPartial: "input_transcript_partial",
        pub.InputTranscriptFinal: "input_transcript_final",
        pub.TurnStarted: "turn_started",
        pub.TurnCommitted: "turn_committed",
        pub.TurnCompleted: "turn_completed",
        pub.OutputTextDelta: "output_text_delta",
        pub.OutputAudioTranscriptDelta: "output_audio_transcript_delta",
        pub.OutputAudioChunk: "output_audio_chunk",
        pub.OutputVideoChunk: "output_video_chunk",
        pub.Interrupted: "interrupted",
        pub.ToolCallRequested: "tool_call_requested",
        pub.AssistantTranscriptTruncated: "assistant_transcript_truncated",
        pub.ProviderError: "provider_error",
        pub.ToolCallCancelled: "tool_call_cancelled",
        pub.TranscriptCommitted: "transcript_committed",
        pub.TranscriptRevised: "transcript_revised",
        pub.MediaDropped: "media_dropped",
        pub.ToolCallCompleted: "tool_call_completed",
        pub.ToolCallFailed: "tool_call_failed",
        pub.ToolCallTimedOut: "tool_call_timed_out",
        pub.SessionClosed: "session_closed",
        pub.RecordingFailed: "recording_failed",
        pub.Reconnecting: "reconnecting",
        pub.Reconnected: "reconnected",
        pub.ReconnectFailed: "reconnect_failed",
        pub.ResponseLatency: "response_latency",
        # transcript.RealtimeTranscriptEvent
        tr.ItemObserved: "item_observed",
        tr.ItemSkipped: "item_skipped",
        tr.UserTranscriptFinal: "user_transcript_final",
        tr.AssistantTextDelta: "assistant_text_delta",
        tr.AssistantTranscriptDelta: "assistant_transcript_delta",
        tr.AssistantTranscriptTruncated: "assistant_transcript_truncated",
        tr.AssistantTranscriptFinalText: "assistant_transcript_final_text",
        tr.AssistantTurnCompleted: "assistant_turn_completed",
        tr.AssistantTurnInterrupted: "assistant_turn_interrupted",
        tr.AssistantTranscriptHeardInFull: "assistant_transcript_heard_in_full",
        tr.OrphansReleased: "orphans_released",
        # transcript.Message
        tr.UserMessage: "user_message",
        tr.AssistantMessage: "assistant_message",
        # events.RealtimeInputChunk
        ev.TextInput: "text_input",
        ev.AudioInput: "audio_input",
        ev.VideoInput: "video_input",
        # transcript.TranscriptChange
        tr.Committed: "committed",
        tr.Revised: "revised",
    }
)

# The unions whose members travel tagged, with the names error messages use for them.
_TAGGED_UNIONS: Final[dict[object, str]] = {
    RealtimeTranscriptEvent: "transcript.RealtimeTranscriptEvent",
    Message: "transcript.Message",
    RealtimeSessionEvent: "events.RealtimeSessionEvent",
    RealtimeEvent: "public.RealtimeEvent",
    RealtimeInputChunk: "events.RealtimeInputChunk",
    TranscriptChange: "transcript.TranscriptChange",
}
_BLOCK_MEMBERS: Final = frozenset(typing.get_args(Block))
# A TranscriptBlock always encodes these (they are never None); a TextBlock has neither.
_TRANSCRIPT_BLOCK_MARKERS: Final = ("truncated", "estimated")

# The lowest value each of these fields may hold, by field name wherever it occurs:
# indices, counts, durations and token figures are never negative; an audio chunk
# has a positive rate and at least one channel.
_FIELD_MINIMUMS: Final[Mapping[str, int]] = types.MappingProxyType(
    {
        "content_index": 0,
        "audio_played_ms": 0,
        "elapsed_ms": 0,
        "dropped": 0,
        "dropped_ms": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_tokens": 0,
        "cache_read_tokens": 0,
        "sample_rate_hz": 1,
        "channels": 1,
    }
)

# Identities that are never empty. Only the reducer's output is listed: the ids of
# the events a session consumes are its input, and its reducer decides what a blank
# one means (the event is inert and counted as rejected), so a recording must carry
# them as they came for a replay to count them again.
_REQUIRED_IDS: Final[Mapping[type, frozenset[str]]] = types.MappingProxyType(
    {
        tr.UserMessage: frozenset({"item_id"}),
        tr.AssistantMessage: frozenset({"response_id", "item_ids"}),
        tr.TextBlock: frozenset({"item_id"}),
        tr.TranscriptBlock: frozenset({"item_id"}),
        tr.Revised: frozenset({"item_id"}),
        pub.TranscriptRevised: frozenset({"item_id"}),
    }
)

_ABSENT: Final = object()

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
    """The ``"type"`` value that identifies ``cls`` on the wire.

    Classes of different modules that mean the same share a tag
    (``events.InputTranscriptPartial`` and ``public.InputTranscriptPartial`` are
    both ``"input_transcript_partial"``); the decoding target tells them apart.

    :raises TypeError: ``cls`` is not a member of a tagged union (nested records
        such as ``Usage`` carry no tag).
    """
    try:
        return _WIRE_TAGS[cls]
    except (KeyError, TypeError):
        raise TypeError(f"{cls!r} is not a tagged wire class") from None


def _tag_of(cls: type) -> str:
    tag = _WIRE_TAGS.get(cls)
    if tag is None:
        raise TypeError(f"{_qualified(cls)} has no wire tag: add it to the codec's tag table")
    return tag


def _members_by_tag(union: object) -> dict[str, type]:
    """The members of a tagged union by their tags; two members may not share one."""
    members = typing.get_args(union)
    table = {_tag_of(member): member for member in members}
    if len(table) != len(members):
        tags = [_tag_of(member) for member in members]
        shared = next(tag for tag in tags if tags.count(tag) > 1)
        raise TypeError(f"{union!r} holds two classes tagged {shared!r}")
    return table


# -- Errors --------------------------------------------------------------------------------


@final
class DecodeError(ValueError):
    """A document that does not decode into the requested type.

    ``path`` locates the fault in JSONPath form: ``"$"`` is the document itself,
    ``"$.chunk.data"`` a nested field, ``"$.message.blocks[2].text"`` an array
    element, ``"$.type"`` the tag. ``reason`` says what is wrong there; the message
    is ``"<path>: <reason>"``. Keys and values are quoted only in part: a message
    never grows with the document.
    """

    path: str
    reason: str

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type[DecodeError], tuple[str, str]]:
        return DecodeError, (self.path, self.reason)


class _Invalid(Exception):
    """A fault the codec's own hooks found, ``path`` relative to the value they were handed."""

    def __init__(self, reason: str, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = path


def _expected(what: str, value: object) -> _Invalid:
    return _Invalid(f"expected {what}, got {_describe(value)}")


# -- JSON values: the one definition of what the codec carries ---------------------------
#
# JSON has exactly these shapes, so each accepts exactly one Python type;
# ``type(...) is`` also keeps ``bool`` out of the integers. The typed fields of the
# vocabulary use the scalar hooks, free-form values (tool arguments) the walk
# below, which applies the same rules at every depth.


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
        raise _Invalid(_not_finite(value))
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


# The same tests as the three hooks above, as the generated decoders spell them
# inline (see ``_FastDecoders``).
_INLINE_TESTS: Final[Mapping[object, str]] = types.MappingProxyType(
    {str: "type({v}) is str", int: "type({v}) is int", bool: "{v} is True or {v} is False"}
)


def _structure_bytes(value: object, _: object) -> bytes:
    if type(value) is not str:
        raise _expected("a base64 string", value)
    try:
        return _base64.decode_strict(value)
    except ValueError as error:  # binascii.Error, or a non-ASCII character
        raise _Invalid(f"invalid base64 ({error})") from None


_unstructure_bytes: Final = _base64.encode


def _check_json_value(value: object, _: object = None) -> object:
    """Return ``value`` unchanged if it is a JSON value (:func:`._json.check_value`)."""
    try:
        return _json.check_value(value)
    except _json.JsonError as error:
        raise _Invalid(error.reason, error.path) from None


def check_json_value(value: object) -> None:
    """Check that ``value`` is a JSON value the wire codec carries both ways.

    That is: ``None``, booleans, strings, integers, finite floats, and lists and
    string-keyed objects of those, at most 256 levels deep, with no container
    appearing twice. Adapters check tool arguments with it, so that what they
    hand the session can be recorded and read back.

    :raises DecodeError: naming where in ``value`` the fault is, as ``$`` paths.
    """
    try:
        _json.check_value(value)
    except _json.JsonError as error:
        raise DecodeError(f"${error.path}", error.reason) from None


# -- Ranges and identities -----------------------------------------------------------------


def _at_least(minimum: int) -> str:
    return "must not be negative" if minimum == 0 else f"must be at least {minimum}"


def _ranged_hook(minimum: int, base: _Hook, nullable: bool) -> _Hook:
    def structure_ranged(value: object, cl: object) -> Any:
        if value is None and nullable:
            return None
        checked = base(value, cl)
        if checked < minimum:
            raise _Invalid(f"{_at_least(minimum)}, got {_preview(value)}")
        return checked

    return structure_ranged


def _ranged_unhook(cls: type, name: str, minimum: int, base: _Unhook) -> _Unhook:
    def unstructure_ranged(value: Any) -> Any:
        if value is not None:
            if value < minimum:
                raise ValueError(
                    f"{_qualified(cls)}.{name} {_at_least(minimum)}, got {_preview(value)}"
                )
            if type(value) is float and not math.isfinite(value):
                raise ValueError(f"{_qualified(cls)}.{name}: {_not_finite(value)}")
        return base(value)

    return unstructure_ranged


def _required_id_hook(base: _Hook) -> _Hook:
    def structure_required_id(value: object, cl: object) -> Any:
        checked = base(value, cl)
        if type(checked) is not tuple:
            if not checked:
                raise _Invalid("must not be empty")
        elif not all(checked):
            raise _Invalid("must not be empty", f"[{checked.index('')}]")
        return checked

    return structure_required_id


def _required_id_unhook(cls: type, name: str, base: _Unhook) -> _Unhook:
    def unstructure_required_id(value: Any) -> Any:
        if not (all(value) if type(value) is tuple else value):
            raise ValueError(f"{_qualified(cls)}.{name} must not be empty or hold an empty id")
        return base(value)

    return unstructure_required_id


def _unstructure_json_value(value: object) -> object:
    # Checked on the way out too: a fast JSON writer turns NaN into null
    # silently, and the codec never writes what it would not read back.
    try:
        return _json.check_value(value)
    except _json.JsonError as error:
        raise ValueError(f"not a JSON value at ${error.path}: {error.reason}") from None


def _unstructure_float(value: float) -> float:
    if math.isfinite(value):
        return value
    raise ValueError(_not_finite(value))


# -- Type predicates ------------------------------------------------------------------------


def _is_enum(tp: object) -> bool:
    return isinstance(tp, type) and issubclass(tp, Enum)


def _is_union(tp: object) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _is_optional(tp: object) -> bool:
    return _is_union(tp) and type(None) in typing.get_args(tp)


def _without_none(tp: object) -> Any:
    return functools.reduce(
        operator.or_, [arg for arg in typing.get_args(tp) if arg is not type(None)]
    )


def _is_block_union(tp: object) -> bool:
    return _is_union(tp) and frozenset(typing.get_args(tp)) == _BLOCK_MEMBERS


def _is_tagged_union(tp: object) -> bool:
    return _is_union(tp) and all(member in _WIRE_TAGS for member in typing.get_args(tp))


def _is_plain_union(tp: object) -> bool:
    return _is_union(tp) and not _is_tagged_union(tp)


def _is_variadic_tuple(tp: object) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _is_wire_class(tp: object) -> bool:
    return isinstance(tp, type) and attrs.has(tp)


_NULLABLE_SCALARS: Final[dict[type, str]] = {str: "a string", int: "an integer", bool: "a boolean"}


def _json_value_fields(cls: type) -> frozenset[str]:
    # ``JsonValue`` is a recursive string alias that cattrs cannot resolve into a
    # hook; the fields annotated with it get explicit ones.
    annotations: dict[str, object] = getattr(cls, "__annotations__", {})
    return frozenset(
        name
        for name, annotation in annotations.items()
        if isinstance(annotation, str)
        and (annotation == "JsonValue" or annotation.endswith(".JsonValue"))
    )


def _nullable_without_default(cls: type) -> tuple[str, ...]:
    # A field without a default whose type allows None is left out when None
    # (see ``_unstructure_fields``), so its absence must read back as None.
    return tuple(
        field.name
        for field in attrs.fields(cls)
        if field.default is attrs.NOTHING and _is_optional(field.type)
    )


def _unknown_tag(found: object, union_name: str) -> _Invalid:
    where = f".{_TAG_KEY}"
    if found is _ABSENT:
        return _Invalid(f"missing the 'type' tag that selects a member of {union_name}", where)
    if type(found) is not str:
        return _Invalid(f"the 'type' tag must be a string, got {_describe(found)}", where)
    owners = sorted(_qualified(cls) for cls, tag in _WIRE_TAGS.items() if tag == found)
    hint = f" (it is the tag of {', '.join(owners)})" if owners else ""
    return _Invalid(f"unknown type {_preview(found)} for {union_name}{hint}", where)


def _mismatched_tag(found: object, cls: type, tag: str) -> _Invalid:
    where = f".{_TAG_KEY}"
    if found is _ABSENT:
        return _Invalid(f"missing the 'type' tag (expected {tag!r})", where)
    if type(found) is not str:
        return _Invalid(f"the 'type' tag must be a string, got {_describe(found)}", where)
    return _Invalid(
        f"type {_preview(found)} does not match {_qualified(cls)} (expected {tag!r})", where
    )


def _enum_members(cls: type[Enum]) -> tuple[dict[object, Enum], frozenset[type]]:
    """An enum's members by value, and the types of those values (the only ones taken)."""
    members = {member.value: member for member in cls}
    return members, frozenset(type(value) for value in members)


def _structure_enum_factory(cls: type[Enum]) -> _Hook:
    # cattrs calls the enum with the value, which accepts values of other types
    # that compare equal (``1.0`` for ``1``) and explains nothing.
    members, value_types = _enum_members(cls)
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


# Blocks are told apart by the markers a TranscriptBlock always carries; cattrs'
# own disambiguation would also take ``audio_played_ms`` for one.
def _structure_block(transcript_block: _Hook, text_block: _Hook) -> _Hook:
    first, second = _TRANSCRIPT_BLOCK_MARKERS

    def structure_block(value: object, _: object) -> Any:
        if not isinstance(value, dict):
            raise _expected("an object", value)
        if first in value or second in value:
            return transcript_block(value, tr.TranscriptBlock)
        return text_block(value, tr.TextBlock)

    return structure_block


# -- The converter ------------------------------------------------------------------------


@final
class _Converter:
    """The cattrs converter, set up for the wire format: it encodes, and it explains.

    Decoding runs the generated decoders below; a document they refuse is decoded
    again here, with cattrs' detailed validation, which records in its error
    trees which field or element each failure came from.
    """

    def __init__(self) -> None:
        converter = cattrs.Converter(detailed_validation=True, forbid_extra_keys=True)
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
        converter.register_structure_hook_factory(_is_optional, self._optional_hook)
        converter.register_structure_hook_factory(_is_block_union, self._block_hook)
        converter.register_structure_hook_factory(_is_wire_class, self._class_hook)
        converter.register_unstructure_hook(bytes, _unstructure_bytes)
        converter.register_unstructure_hook(float, _unstructure_float)
        converter.register_unstructure_hook_factory(_is_enum, lambda _: _unstructure_enum)
        converter.register_unstructure_hook_factory(_is_variadic_tuple, self._tuple_unhook)
        converter.register_unstructure_hook_factory(_is_plain_union, self._union_unhook)
        converter.register_unstructure_hook_factory(_is_wire_class, self._class_unhook)
        # A tagged union is configured when first needed, so that a process
        # generates only the hooks it uses.
        self._configured: set[object] = set()
        converter.register_structure_hook_factory(self._unconfigured, self._tagged_union_hook)
        converter.register_unstructure_hook_factory(self._unconfigured, self._tagged_union_unhook)
        self._converter = converter
        self._tagged: dict[type, _Hook] = {}

    def hook(self, target: object) -> _Hook:
        """The hook that decodes ``target``: a wire class, a tagged union or the blocks."""
        if isinstance(target, type) and target in _WIRE_TAGS:
            hook = self._tagged.get(target)
            if hook is None:
                hook = self._tagged[target] = self._tagged_class_hook(target)
            return hook
        return self._converter.get_structure_hook(target)

    def value_hook(self, tp: object) -> _Hook:
        """cattrs' hook for a field's type (a tagged class as a field carries no tag)."""
        return self._converter.get_structure_hook(tp)

    def unhook(self, cls: type) -> _Unhook:
        """The hook that encodes an instance of ``cls``, tag included."""
        return self._converter.get_unstructure_hook(cls)

    # Tagged unions are cattrs' tagged-union strategy. Two additions: the tag is
    # checked first, because the strategy reports a missing or unknown tag as a
    # bare KeyError of the tag value, with no field to name; and each member's
    # unstructure hook writes its own tag, first, because the strategy adds it
    # last and only when unstructuring as the union, while ``to_dict`` of any
    # member carries it (and 0.1.0 wrote it first).

    def _unconfigured(self, tp: object) -> bool:
        return _is_tagged_union(tp) and tp not in self._configured

    def _tagged_union_hook(self, union: object) -> _Hook:
        self._configure(union)
        return self._converter.get_structure_hook(union, cache_result=False)

    def _tagged_union_unhook(self, union: object) -> _Unhook:
        self._configure(union)
        return self._converter.get_unstructure_hook(union, cache_result=False)

    def _configure(self, union: Any) -> None:
        table = _members_by_tag(union)
        converter = self._converter
        self._configured.add(union)
        configure_tagged_union(union, converter, tag_generator=_tag_of, tag_name=_TAG_KEY)
        dispatch = converter.get_structure_hook(union)
        name = _TAGGED_UNIONS.get(union) or " | ".join(map(_qualified, table.values()))

        def structure_checked_union(value: object, cl: object) -> Any:
            if not isinstance(value, dict):
                raise _expected("an object", value)
            found = value.get(_TAG_KEY, _ABSENT)
            if type(found) is not str or found not in table:
                raise _unknown_tag(found, name)
            return dispatch(value, cl)

        converter.register_structure_hook(union, structure_checked_union)

    def _tagged_class_hook(self, cls: type) -> _Hook:
        # A tagged class decoded on its own (not through its union) still
        # requires its tag; the member hook, as the union strategy calls it,
        # sees the document without it.
        tag = _tag_of(cls)
        member = self._converter.get_structure_hook(cls)

        def structure_tagged(value: object, cl: object) -> Any:
            if not isinstance(value, dict):
                raise _expected("an object", value)
            found = value.get(_TAG_KEY, _ABSENT)
            if found != tag:
                raise _mismatched_tag(found, cls, tag)
            rest = value.copy()
            del rest[_TAG_KEY]
            return member(rest, cl)

        return structure_tagged

    # Records and members: cattrs' generated functions, with per-field overrides.

    def _class_hook(self, cls: type) -> _Hook:
        attrs.resolve_types(cls)
        fields = attrs.fields(cls)
        overrides: dict[str, Any] = {
            name: override(struct_hook=_check_json_value) for name in _json_value_fields(cls)
        }
        required_ids = _REQUIRED_IDS.get(cls, frozenset())
        for field in fields:
            minimum = _FIELD_MINIMUMS.get(field.name)
            if minimum is not None:
                nullable = _is_optional(field.type)
                base = self.value_hook(_without_none(field.type) if nullable else field.type)
                overrides[field.name] = override(struct_hook=_ranged_hook(minimum, base, nullable))
            elif field.name in required_ids:
                base = self.value_hook(field.type)
                overrides[field.name] = override(struct_hook=_required_id_hook(base))
        inner: _Hook = make_dict_structure_fn_from_attrs(
            list(fields), cls, self._converter, **overrides
        )
        nullable_fields = _nullable_without_default(cls)
        if nullable_fields:
            inner = _filling_nulls(inner, nullable_fields)

        # cattrs' generated function reports a value that is not an object by
        # whatever it trips over first (a missing key, a substring test on a string).
        def structure_object(value: object, cl: object) -> Any:
            if not isinstance(value, dict):
                raise _expected("an object", value)
            return inner(value, cl)

        return structure_object

    def _class_unhook(self, cls: type) -> _Unhook:
        attrs.resolve_types(cls)
        inner: _Unhook = _unstructure_fields(cls, self._converter)
        tag = _WIRE_TAGS.get(cls)
        if tag is None:
            return inner

        def unstructure_tagged(value: Any) -> dict[str, Any]:
            return {_TAG_KEY: tag, **inner(value)}

        return unstructure_tagged

    # Arrays. cattrs turns any iterable into a tuple (a string into its
    # characters); the wire has arrays only.

    def _tuple_hook(self, tp: object) -> _Hook:
        items = homogenous_tuple_structure_factory(tp, self._converter)  # type: ignore[arg-type]

        def structure_array(value: object, cl: object) -> Any:
            if type(value) is not list:
                raise _expected("an array", value)
            return items(value, cl)

        return structure_array

    def _tuple_unhook(self, tp: object) -> _Unhook:
        item_hook = self.unhook(typing.get_args(tp)[0])
        if item_hook is identity:
            return list

        def unstructure_tuple(value: tuple[Any, ...]) -> list[Any]:
            return [item_hook(item) for item in value]

        return unstructure_tuple

    # Optional values. cattrs dispatches on every call and names no alternative.

    def _optional_hook(self, tp: object) -> _Hook:
        inner_type = _without_none(tp)
        if inner_type in _NULLABLE_SCALARS:
            expected = f"{_NULLABLE_SCALARS[inner_type]} or null"

            def structure_optional_scalar(value: object, _: object) -> Any:
                if value is None or type(value) is inner_type:
                    return value
                raise _expected(expected, value)

            return structure_optional_scalar
        inner_hook = self._converter.get_structure_hook(inner_type)

        def structure_optional(value: object, _: object) -> Any:
            return None if value is None else inner_hook(value, inner_type)

        return structure_optional

    def _block_hook(self, _: object) -> _Hook:
        get = self._converter.get_structure_hook
        return _structure_block(get(tr.TranscriptBlock), get(tr.TextBlock))

    def _union_unhook(self, tp: object) -> _Unhook:
        # Dispatch on the exact class, looked up once; cattrs' default asks the
        # converter again on every call.
        members = typing.get_args(tp)
        if all(member in (str, int, bool, type(None)) for member in members):
            return identity
        table: dict[type, _Unhook] = {type(None): identity}
        for member in members:
            if member is not type(None):
                table[member] = self.unhook(member)

        def unstructure_union(value: Any) -> Any:
            hook = table.get(value.__class__)
            if hook is None:
                raise TypeError(f"{type(value).__name__} is not a member of {tp}")
            return hook(value)

        return unstructure_union


def _filling_nulls(inner: _Hook, names: tuple[str, ...]) -> _Hook:
    def structure_filling_nulls(value: Any, cl: object) -> Any:
        if isinstance(value, dict):
            missing = [name for name in names if name not in value]
            if missing:
                value = {**value, **dict.fromkeys(missing)}
        return inner(value, cl)

    return structure_filling_nulls


def _unstructure_fields(cls: type, converter: cattrs.Converter) -> _Unhook:
    """cattrs' generated unstructure function for ``cls``, ``None`` fields left out.

    omit-if-default leaves out what equals the default, so a field that defaults
    to ``None`` is written only when set. A field with no default that may be
    ``None`` is given ``None`` as its default here, for the same effect.
    """
    json_values = _json_value_fields(cls)
    required_ids = _REQUIRED_IDS.get(cls, frozenset())
    fields = []
    overrides: dict[str, Any] = {}
    for declared in attrs.fields(cls):
        nullable = _is_optional(declared.type) or declared.name in json_values
        field = (
            declared.evolve(default=None)
            if declared.default is attrs.NOTHING and nullable
            else declared
        )
        omit = field.default is None
        base = (
            _unstructure_json_value
            if field.name in json_values
            else converter.get_unstructure_hook(field.type)
        )
        minimum = _FIELD_MINIMUMS.get(field.name)
        if minimum is not None:
            overrides[field.name] = override(
                omit_if_default=omit, unstruct_hook=_ranged_unhook(cls, field.name, minimum, base)
            )
        elif field.name in required_ids:
            overrides[field.name] = override(
                omit_if_default=omit, unstruct_hook=_required_id_unhook(cls, field.name, base)
            )
        elif field.name in json_values:
            overrides[field.name] = override(omit_if_default=omit, unstruct_hook=base)
        elif omit:
            overrides[field.name] = override(omit_if_default=True)
        fields.append(field)
    hook: _Unhook = make_dict_unstructure_fn_from_attrs(fields, cls, converter, **overrides)
    return hook


@final
class _Unstructurer:
    """The converter's encoding hooks, one per class."""

    def __init__(self, converter: _Converter) -> None:
        self._converter = converter

    def hook(self, cls: type) -> _Unhook:
        return self._converter.unhook(cls)


# -- Generated decoders ---------------------------------------------------------------------
#
# cattrs' generated structure functions are not used on the way in: even without
# detailed validation they call a hook per field, gather the keyword arguments in
# a dict and build a set of the keys, which for the short events of a live session
# costs more than parsing their JSON. Each wire class gets a function of its own
# instead, generated from its attrs fields as attrs generates ``__init__``: the
# scalar tests inline, one count of the keys, and the instance built as that
# ``__init__`` builds it. It follows the converter's rules (a value to convert goes
# through the converter's own hook for its type; ranges and required ids come from
# the same tables) and explains nothing: a document it refuses, for any reason,
# goes to the converter, which decodes it again and says where and why. The tests
# check that both take exactly the same documents.


class _Refused(Exception):
    """A generated decoder gives up on a document; the converter explains why."""


@final
class _FastDecoders:
    """One generated decoder per wire class, and dispatch on the tag for the unions."""

    def __init__(self, converter: _Converter) -> None:
        self._converter = converter
        self._built: dict[object, _Hook] = {}
        self._tables: dict[object, Mapping[str, _Hook]] = {}

    def hook(self, target: object) -> _Hook:
        """The decoder of ``target``: a wire class, a tagged union or the blocks."""
        if not (isinstance(target, type) and target in _WIRE_TAGS):
            return self._decoder(target)
        # A tagged class decoded on its own still requires its tag.
        tag = _tag_of(target)
        member = self._decoder(target)

        def decode_tagged(value: Any, _: object) -> Any:
            if type(value) is dict and value.get(_TAG_KEY) == tag:
                return member(value, _)
            raise _Refused

        return decode_tagged

    def _decoder(self, tp: object) -> _Hook:
        decoder = self._built.get(tp)
        if decoder is None:
            if _is_tagged_union(tp):
                decoder = self._union(tp)
            elif _is_block_union(tp):
                decoder = _structure_block(
                    self._decoder(tr.TranscriptBlock), self._decoder(tr.TextBlock)
                )
            else:
                decoder = self._class(tp)  # type: ignore[arg-type]
            self._built[tp] = decoder
        return decoder

    def members(self, target: object) -> Mapping[str, _Hook] | None:
        """The decoders of a tagged union's members by tag; ``None`` for other targets."""
        if not _is_tagged_union(target):
            return None
        table = self._tables.get(target)
        if table is None:
            table = self._tables[target] = {
                tag: self._decoder(member) for tag, member in _members_by_tag(target).items()
            }
        return table

    def key_counters(self, target: object) -> Mapping[str, Callable[[dict[str, Any]], int]] | None:
        """For a tagged union, by tag, what counts the keys of a member's document.

        ``len`` where no field holds an object, :func:`_count_keys` elsewhere;
        ``None`` for other targets. Neither counts a key twice or one that is not
        there, whatever the document holds, which is all ``from_json`` relies on.
        """
        if not _is_tagged_union(target):
            return None
        return {
            tag: len if _holds_no_objects(member) else _count_keys
            for tag, member in _members_by_tag(target).items()
        }

    def _union(self, union: object) -> _Hook:
        table = self.members(union)
        assert table is not None

        def decode_union(value: Any, _: object) -> Any:
            # A missing, unhashable or unknown tag raises here too.
            if type(value) is dict:
                return table[value[_TAG_KEY]](value, _)
            raise _Refused

        return decode_union

    def _class(self, cls: type) -> _Hook:
        attrs.resolve_types(cls)
        fields = [field for field in attrs.fields(cls) if field.init]
        names: dict[str, Any] = {"_cls": cls, "_ABSENT": _ABSENT, "_Refused": _Refused}

        def bind(value: object) -> str:
            name = f"_{len(names)}"
            names[name] = value
            return name

        # A tagged class is reached through ``hook`` or a union, which test for a dict.
        body = [] if cls in _WIRE_TAGS else ["if type(d) is not dict:", "    raise _Refused"]
        # Documents usually hold every field (only None is left out), and then the
        # count of their keys says so: each is simply looked up. Otherwise ``n``
        # counts the keys taken; any other key makes ``len(d)`` larger.
        every = [f"if len(d) == {len(fields) + (cls in _WIRE_TAGS)}:"]
        required = [f for f in fields if f.default is attrs.NOTHING and not _is_optional(f.type)]
        some = [f"n = {len(required) + (cls in _WIRE_TAGS)}"]
        json_values = _json_value_fields(cls)
        required_ids = _REQUIRED_IDS.get(cls, frozenset())
        arguments = []
        for index, field in enumerate(fields):
            v = f"v{index}"
            optional = _is_optional(field.type)
            if field.name in json_values:  # the check takes null as any other JSON value
                # Tool arguments are mostly one object of scalars, which needs no walk.
                check = bind(_check_json_value)
                steps = [
                    f"if type({v}) is dict:",
                    f"    for k, x in {v}.items():",
                    "        if type(k) is not str or not (",
                    "            type(x) is str or type(x) is int or x is None or x is True or x is False",
                    "        ):",
                    f"            {check}({v})",
                    "            break",
                    "else:",
                    f"    {check}({v})",
                ]
            else:
                steps = self._steps(
                    _without_none(field.type) if optional else field.type,
                    v,
                    _FIELD_MINIMUMS.get(field.name),
                    field.name in required_ids,
                    bind,
                )
                if optional:
                    steps = [f"if {v} is not None:", *(f"    {step}" for step in steps)]
            every += [f"    {v} = d[{field.name!r}]", *(f"    {step}" for step in steps)]
            default = field.default
            if field in required:
                some += [f"{v} = d[{field.name!r}]", *steps]
            else:
                if default is attrs.NOTHING or default is None:
                    value = "None"  # a missing field that may be None reads as None
                elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                    if default.takes_self:
                        raise TypeError(f"{_qualified(cls)}.{field.name}: a default taking self")
                    value = f"{bind(default.factory)}()"
                else:
                    value = bind(default)
                # A test and a subscript cost less than a call to ``d.get``.
                some += [f"if {field.name!r} in d:", f"    {v} = d[{field.name!r}]", "    n += 1"]
                some += [*(f"    {s}" for s in steps), "else:", f"    {v} = {value}"]
            arguments.append(f"{field.alias}={v}")
        some += ["if len(d) != n:", "    raise _Refused"]
        if len(required) == len(fields):
            body += some  # the same lookups, the same count
        else:
            body += [*every, "else:", *(f"    {line}" for line in some)]
        setters = _slot_setters(cls)
        if setters is None:
            body.append(f"return _cls({', '.join(arguments)})")
        else:
            body.append(f"o = {bind(object.__new__)}(_cls)")
            body += [f"{bind(setter)}(o, v{index})" for index, setter in enumerate(setters)]
            body.append("return o")
        source = "def decode(d, _):\n" + "".join(f"    {line}\n" for line in body)
        # The source is this function's own, made from the class's attrs fields.
        exec(compile(source, f"<decoder of {_qualified(cls)}>", "exec"), names)  # noqa: S102
        decoder: _Hook = names["decode"]
        return decoder

    def _steps(
        self, tp: object, v: str, minimum: int | None, required: bool, bind: Callable[[object], str]
    ) -> list[str]:
        """The lines that check the value in ``v`` as a ``tp``, converting it in place."""
        refuse = "    raise _Refused"
        test = _INLINE_TESTS.get(tp)
        if test is not None:
            condition = test.format(v=v)
            if minimum is not None:
                condition += f" and {v} >= {minimum}"
            if required:
                condition += f" and {v}"
            return [f"if not ({condition}):", refuse]
        if tp is bytes:
            # ``_structure_bytes`` inline: a call less for every audio chunk.
            return [
                f"if type({v}) is not str:",
                refuse,
                "try:",
                f"    {v} = {bind(_base64.fast_decode)}({v}, None, True)",
                "except ValueError:",
                f"    {v} = {bind(_structure_bytes)}({v}, None)",
            ]
        if _is_enum(tp):
            # ``_structure_enum_factory``'s hook inline.
            members, value_types = _enum_members(tp)  # type: ignore[arg-type]
            return [
                f"if type({v}) not in {bind(value_types)}:",
                refuse,
                f"{v} = {bind(members)}.get({v})",
                f"if {v} is None:",
                refuse,
            ]
        if _is_variadic_tuple(tp):
            (item, _) = typing.get_args(tp)
            test = _INLINE_TESTS.get(item)
            if test is None:
                convert = bind(self._decoder(item))
                return [
                    f"if type({v}) is not list:",
                    refuse,
                    f"{v} = tuple([{convert}(x, None) for x in {v}])",
                ]
            condition = test.format(v="x") + (" and x" if required else "")
            return [
                f"if type({v}) is not list or not all({condition} for x in {v}):",
                refuse,
                f"{v} = tuple({v})",
            ]
        if (
            (_is_wire_class(tp) and tp not in _WIRE_TAGS)
            or _is_tagged_union(tp)
            or _is_block_union(tp)
        ):
            hook = self._decoder(tp)
        else:
            hook = self._converter.value_hook(tp)  # floats, bytes, enums: cattrs' hooks as they are
        steps = [f"{v} = {bind(hook)}({v}, None)"]
        if minimum is not None:
            steps += [f"if {v} < {minimum}:", refuse]
        return steps


def _holds_no_objects(cls: type) -> bool:
    """Whether no field of ``cls`` holds a JSON object in a valid document."""

    def scalar(tp: object) -> bool:
        if _is_optional(tp):
            tp = _without_none(tp)
        if _is_variadic_tuple(tp):
            tp = typing.get_args(tp)[0]
        return tp in (str, int, float, bool, bytes) or _is_enum(tp)

    attrs.resolve_types(cls)
    return not _json_value_fields(cls) and all(scalar(field.type) for field in attrs.fields(cls))


def _slot_setters(cls: type) -> list[Callable[[object, object], None]] | None:
    """The setters that fill a new instance's fields, when that is all its ``__init__`` does.

    attrs' ``__init__`` of a frozen slotted class sets each field with
    ``object.__setattr__``, which for a slot calls its descriptor's ``__set__``;
    calling those directly costs half as much, and building the event is most
    of what decoding a short one costs. Anything more ``__init__`` could do (a
    validator, a converter, a hook, a cached hash, an ``__init__`` of its own,
    a field it does not take) rules this out, and the decoder calls the class.
    """
    fields = attrs.fields(cls)
    init = getattr(cls.__dict__.get("__init__"), "__code__", None)
    if (
        init is None
        or not init.co_filename.startswith("<attrs generated ")
        or hasattr(cls, "__attrs_pre_init__")
        or hasattr(cls, "__attrs_post_init__")
        or any(not field.init or field.validator or field.converter for field in fields)
    ):
        return None
    slots = {slot for klass in cls.__mro__ for slot in getattr(klass, "__slots__", ())}
    if slots - {"__weakref__"} != {field.name for field in fields}:
        return None
    descriptors = [inspect.getattr_static(cls, field.name) for field in fields]
    if not all(isinstance(found, types.MemberDescriptorType) for found in descriptors):
        return None
    return [found.__set__ for found in descriptors]


_CONVERTER: Final = _Converter()
_UNSTRUCTURER: Final = _Unstructurer(_CONVERTER)
_FAST: Final = _FastDecoders(_CONVERTER)


@functools.cache
def _records() -> frozenset[type]:
    """The untagged attrs classes reachable from the tagged ones' fields."""
    found: set[type] = set()
    pending: list[object] = []
    for cls in _WIRE_TAGS:
        attrs.resolve_types(cls)
        pending.extend(field.type for field in attrs.fields(cls))
    while pending:
        tp = pending.pop()
        if isinstance(tp, type) and attrs.has(tp):
            if tp not in _WIRE_TAGS and tp not in found:
                found.add(tp)
                attrs.resolve_types(tp)
                pending.extend(field.type for field in attrs.fields(tp))
        elif _is_union(tp) or _is_variadic_tuple(tp):
            pending.extend(typing.get_args(tp))
    return frozenset(found)


# -- Encoding -------------------------------------------------------------------------------

# One hook per class, looked up by the instance's class.
_ENCODERS: dict[type, _Unhook] = {}


def _encoder(cls: type) -> _Unhook:
    if cls not in _WIRE_TAGS and cls not in _records():
        if any(cls in typing.get_args(union) for union in _TAGGED_UNIONS):
            _tag_of(cls)  # a new member of a union whose tag is missing: say so
        raise TypeError(f"cannot encode {cls.__module__}.{cls.__qualname__}: not a wire class")
    encoder = _ENCODERS[cls] = _UNSTRUCTURER.hook(cls)
    return encoder


def to_dict(obj: _Encodable) -> dict[str, Any]:
    """Encode an event, message or record as a JSON-ready dict (a new one each call).

    A member of a tagged union carries its ``"type"`` tag first; ``bytes`` become
    base64 strings, enums their values, tuples lists; ``None`` fields are left out.
    ``ToolCallRequested.arguments`` is checked and put in as is, not copied.

    :raises TypeError: ``obj`` is not a wire class of this package.
    :raises ValueError: a value the decoder would refuse: a figure out of range, an
        empty message id, a float that is not finite, arguments that are not JSON.
    """
    cls = obj.__class__
    encoder = _ENCODERS.get(cls)
    if encoder is None:
        encoder = _encoder(cls)
    result: dict[str, Any] = encoder(obj)
    return result


def to_json(obj: _Encodable) -> str:
    """Encode an event, message or record as compact JSON text (see :func:`to_dict`).

    The text is ASCII: characters outside it are ``\\u`` escapes, so a line written
    with any encoding reads back the same.

    :raises TypeError: ``obj`` is not a wire class of this package.
    :raises ValueError: as :func:`to_dict`.
    """
    return to_json_bytes(obj).decode("ascii")


def to_json_bytes(obj: _Encodable) -> bytes:
    """:func:`to_json`'s text as ASCII bytes, for a socket or a binary file.

    It spares a copy each way over ``to_json(obj).encode()``, which counts for
    audio: a 20 ms chunk is about 1.4 kB of JSON.

    :raises TypeError: ``obj`` is not a wire class of this package.
    :raises ValueError: as :func:`to_dict`.
    """
    data = to_dict(obj)
    try:
        text = orjson.dumps(data)
    except orjson.JSONEncodeError:
        # Integers beyond 64 bits, or a string with a lone surrogate.
        return _json.dumps(data, ascii=True).encode("ascii")
    # orjson writes UTF-8 and leaves DEL unescaped; the standard library's
    # ASCII form is the wire's, so a text with either is written by it.
    if text.isascii() and b"\x7f" not in text:
        return text
    return _json.dumps(data, ascii=True).encode("ascii")


# -- Decoding -------------------------------------------------------------------------------


@final
class _Decoder:
    __slots__ = ("_detailed", "_key_counters", "fast", "members", "target")

    def __init__(self, target: object) -> None:
        _check_target(target)
        self.target = target
        self.fast = _FAST.hook(target)
        # For a union, what ``fast`` dispatches to: ``from_json`` looks the tag
        # up itself, which spares it a call per document.
        self.members = _FAST.members(target)
        self._key_counters = _FAST.key_counters(target)
        self._detailed: _Hook | None = None

    def count_keys(self, data: object) -> int:
        """How many keys the objects of ``data`` hold, or fewer: never a key twice."""
        counters = self._key_counters
        if counters is not None and type(data) is dict:
            tag = data.get(_TAG_KEY)
            counter = counters.get(tag) if type(tag) is str else None
            if counter is not None:
                return counter(data)
        return _count_keys(data)

    def explain(self, data: object) -> Any:
        """Decode ``data`` again, with cattrs' detailed validation, and raise where it fails.

        Both passes apply the same rules, so this pass fails as the first one did.
        It succeeds where the first one merely declined (a value of a
        subclass of ``dict``, for one), and its result is a complete and valid object.
        """
        detailed = self._detailed
        if detailed is None:
            detailed = self._detailed = _CONVERTER.hook(self.target)
        try:
            return detailed(data, self.target)
        except Exception as error:
            path, reason = _locate(error, data)
            raise DecodeError(f"${path}", reason) from None


def _check_target(target: object) -> None:
    if isinstance(target, type):
        if target in _WIRE_TAGS or target in _records():
            return
    elif _is_tagged_union(target) or _is_block_union(target):
        return
    raise TypeError(f"cannot decode into {target!r}: not a wire class or a union of them")


def _locate(error: BaseException, data: object) -> tuple[str, str]:
    """The path (relative to ``data``) and reason of the first failure in ``error``.

    Walks cattrs' validation error tree, and the document beside it, to name an
    unknown key as it appears in the document.
    """
    segments: list[str] = []
    while True:
        if isinstance(error, _Invalid):
            return "".join(segments) + error.path, error.reason
        if isinstance(error, ClassValidationError):
            noted, others = error.group_exceptions()
            # An unknown key comes first: it often explains the rest (a misspelt
            # field, or a document of another class with the same tag).
            unknown = [other for other in others if isinstance(other, ForbiddenExtraKeysError)]
            if unknown:
                error = unknown[0]
                continue
            if noted:
                cause, note = noted[0]
                segments.append(_key_segment(note.name))
                data = data.get(note.name) if isinstance(data, dict) else None
                # cattrs reports an absent required key as the KeyError of its lookup.
                if type(cause) is KeyError:
                    return "".join(segments), "missing required field"
                error = cause
                continue
            if others:
                error = others[0]
                continue
        if isinstance(error, IterableValidationError):
            noted_items, other_items = error.group_exceptions()
            if noted_items:
                cause, item_note = noted_items[0]
                segments.append(f"[{item_note.index}]")
                index = item_note.index
                data = data[index] if type(data) is list and type(index) is int else None
                error = cause
                continue
            if other_items:
                error = other_items[0]
                continue
        if isinstance(error, ForbiddenExtraKeysError):
            found = data if isinstance(data, dict) else ()
            extra = [key for key in found if key in error.extra_fields]
            extra = extra or sorted(error.extra_fields, key=repr)
            more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
            segments.append(_key_segment(extra[0]))
            reason = f"unknown key {_preview(extra[0])} for {_qualified(error.cl)}{more}"
            return "".join(segments), reason
        if isinstance(error, RecursionError):
            return "".join(segments), "nested too deeply"
        return "".join(segments), _shortened(f"{type(error).__name__}: {error}")


_DECODERS: dict[object, _Decoder] = {}
# Union objects hash slowly (every member, every time), so the decoders of the
# targets seen so far are also found by identity. Holding the target keeps its
# id from being reused; the size cap bounds what callers building unions on the
# fly can pin.
_DECODERS_BY_ID: dict[int, tuple[object, _Decoder]] = {}
_DECODERS_BY_ID_LIMIT: Final = 64


# The target decoded into last, and its decoder: most callers decode into one
# type, and one identity test costs less than an id() and a look-up.
_last_decoder: tuple[object, _Decoder | None] = (_ABSENT, None)


def _decoder(target: object) -> _Decoder:
    global _last_decoder
    entry = _DECODERS_BY_ID.get(id(target))
    if entry is not None and entry[0] is target:
        _last_decoder = entry
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
    _last_decoder = (target, decoder)
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
    last = _last_decoder
    decoder = last[1] if last[0] is type else None
    if decoder is None:
        decoder = _decoder(type)
    try:
        return decoder.fast(data, decoder.target)
    except Exception:
        return decoder.explain(data)


# JSON text. cattrs' orjson preconf converter is not used: it writes bytes as
# base85, and reads without noticing a repeated key. Repeated keys are refused
# everywhere, tool arguments included: this codec never writes them, and an
# object that has them has no single meaning (a second "type" would silently
# pick another class).
#
# ``_json.parse`` is the reader that refuses them, and says where: jiter, told to
# catch a repeated key, which costs it more than reading the text does. So
# ``from_json`` has jiter read the text as ``_json.parse`` has it read but for
# that, and keeps what it returns when it can vouch that no key was dropped:
# then it is what ``_json.parse`` returns. Otherwise ``_json.parse`` reads the
# text again.
#
# Most texts are vouched for by writing the value back: a text orjson writes back
# byte for byte repeats no key (a repeat would have been dropped, shortening it).
# orjson writes characters outside ASCII as they are, where the wire has ``\u``
# escapes, and those texts are vouched for by counting keys, which costs more
# than writing a short text back. A reader that meets a repeated key keeps one
# of its members, so the objects it returns hold fewer keys than the text spells
# (K_data < K_text) exactly when the text repeats one. Each key of the text is
# followed by a colon of its own, outside any string, so the text holds
# C >= K_text colons; strings may hold more. ``_Decoder.count_keys`` counts no
# key twice and none that is not there: its count is at most K_data. If C equals
# it, then K_text <= C <= K_data <= K_text, and no key was dropped. That holds
# whatever whitespace, escapes or strings the text has; a colon in a string, or
# a count that leaves some objects out, merely makes the counts differ, and the
# text is read again.

_orjson_dumps: Final = orjson.dumps
# Reads short texts as fast as orjson and long strings (base64 audio) faster. Its
# default cache holds keys and short values (tags, ids), which repeat from one
# event to the next.
_jiter_loads: Final = jiter.from_json


def _count_keys(value: object) -> int:
    """How many keys the objects of a parsed JSON value hold, at every depth."""
    count = 0
    pending = [value]
    while pending:
        item = pending.pop()
        if type(item) is dict:
            count += len(item)
            pending += item.values()
        elif type(item) is list:
            pending += item
    return count


@overload
def from_json(text: str | bytes) -> RealtimeSessionEvent: ...
@overload
def from_json(text: str | bytes, type: type[_T]) -> _T: ...
@overload
def from_json(text: str | bytes, type: TypeForm[_T]) -> _T: ...
def from_json(text: str | bytes, type: Any = RealtimeSessionEvent) -> Any:
    """Decode JSON text (``str``, or UTF-8 ``bytes``) into ``type``; see :func:`from_dict`.

    Text that is not a single JSON value, that uses the non-standard
    ``NaN``/``Infinity`` constants, or that repeats a key within an object, is a
    :class:`DecodeError` (at ``"$"``, or at the repeated key).

    :raises DecodeError: ``text`` is not valid JSON or not a valid encoding of ``type``.
    :raises TypeError: ``type`` is not a wire class or union.
    """
    last = _last_decoder
    decoder = last[1] if last[0] is type else None
    if decoder is None:
        decoder = _decoder(type)
    data: Any = _ABSENT
    try:
        raw = text.encode() if isinstance(text, str) else text
        parsed = _jiter_loads(raw, allow_inf_nan=False)
        if _orjson_dumps(parsed) == raw or raw.count(b":") == decoder.count_keys(parsed):
            data = parsed
    except (ValueError, TypeError):
        # A lone surrogate (which a str holds and UTF-8 does not), text that is
        # not JSON, an integer beyond 64 bits or nesting too deep for orjson to
        # write back, text that is not ``str`` or ``bytes``: the strict reader judges.
        pass
    if data is _ABSENT:
        try:
            data = _json.parse(text, unique_keys=True)
        except _json.JsonError as error:
            raise DecodeError(f"${error.path}", error.reason) from None
    try:
        members = decoder.members
        if members is None:
            return decoder.fast(data, decoder.target)
        # Parsed JSON is an object exactly when its "type" can be looked up.
        return members[data[_TAG_KEY]](data, None)
    except Exception:
        return decoder.explain(data)
