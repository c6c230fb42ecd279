"""Tools from typed Python functions: the schema the model sees, and a strict call.

::

    @function_tool
    async def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
        '''Today's weather for a city.

        :param city: the city's name, e.g. "Lisbon"
        '''

:func:`function_tool` turns a typed function, sync or async, into a
:class:`FunctionTool`: its JSON schema comes from the signature (parameters,
defaults, ``Literal``, enums, attrs classes, lists, mappings, optionals,
``Annotated[..., "description"]``), its description from the docstring (the
text before the parameters; reST ``:param x:`` or Google ``Args:`` lines
describe the parameters). Called with the model's arguments, it structures
them with cattrs into the declared types before the call, strictly (a JSON
``"5"`` is not an ``int``, unknown names are refused), and raises
:class:`ToolArgumentsError` naming each field that does not fit: the session
submits that message to the model, which can correct itself. A sync function
runs in a worker thread, so the event loop keeps flowing.

A :class:`FunctionTool` is the async callable ``RealtimeSession(tools=...)``
takes; :func:`tool_map` builds that mapping. The adapters' ``connect(tools=...)``
declare the tools in the provider's session configuration (OpenAI Realtime's
``session.update``, Gemini Live's ``setup``); :func:`openai_tools` and
:func:`gemini_tools` give those declarations for a configuration of your own.
"""

from __future__ import annotations

import enum
import functools
import inspect
import json
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, final

import anyio.to_thread
import attrs
import cattrs
import cattrs.cols
from cattrs.strategies import configure_union_passthrough

from ._errors import ToolError

__all__ = (
    "FunctionTool",
    "ToolArgumentsError",
    "declare_gemini_tools",
    "declare_openai_tools",
    "function_tool",
    "gemini_tools",
    "openai_tools",
    "tool_map",
)

_JSON_TYPES: Final[dict[type, str]] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
}
_SECTION: Final = re.compile(
    r"^\s*(:param\b|:raises?\b|:returns?:|(Args|Arguments|Parameters|Returns|Raises):\s*$)"
)
_REST_PARAM: Final = re.compile(r"^\s*:param\s+(?:[^:\s]+\s+)?(\w+)\s*:\s*(.*)$")
_GOOGLE_PARAM: Final = re.compile(r"^\s+(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


@final
class ToolArgumentsError(ToolError):
    """The model's arguments do not fit the tool's parameters; the message names each field.

    A :class:`~realtime_session.ToolError`: its message is what the model is told,
    so it can call again with arguments that fit. It names the fields and what
    each should be, never the values the model sent.
    """

    def __init__(self, tool_name: str, problems: Sequence[str]) -> None:
        self.tool_name = tool_name
        self.problems = tuple(problems)
        super().__init__(
            f"arguments for {tool_name!r} do not fit its parameters: " + "; ".join(problems)
        )


# -- strict JSON structuring ------------------------------------------------------------------


def _strict(kind: type, name: str) -> Callable[[object, object], Any]:
    def structure(value: object, _: object) -> Any:
        if isinstance(value, bool) and kind is not bool:
            raise TypeError(f"expected {name}, got a boolean")
        if not isinstance(value, kind):
            raise TypeError(f"expected {name}, got {_json_kind(value)}")
        return value

    return structure


def _structure_float(value: object, _: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {_json_kind(value)}")
    return float(value)


def _json_kind(value: object) -> str:
    # The kind only, never the value: tool arguments stay out of logs and public events.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _json_checked(
    json_type: type,
    kind: str,
    inner_factory: Callable[..., Callable[[Any, Any], Any]],
    converter: cattrs.Converter,
) -> Callable[[Any], Callable[[object, object], Any]]:
    """A hook factory: cattrs' own collection hook, behind a check of the JSON type.

    cattrs builds a list from any iterable (a string becomes its characters);
    the model's JSON must be an array (or an object) where one is declared.
    """

    def factory(tp: Any) -> Callable[[object, object], Any]:
        inner = inner_factory(tp, converter)

        def structure(value: object, target: object) -> Any:
            if not isinstance(value, json_type):
                raise TypeError(f"expected {kind}, got {_json_kind(value)}")
            return inner(value, target)

        return structure

    return factory


def _is_array(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin is tuple:
        return False  # tuples have a hook of their own below
    return cattrs.cols.is_sequence(tp) or cattrs.cols.is_any_set(tp)


def _is_homogenous_tuple(tp: Any) -> bool:
    args = typing.get_args(tp)
    return typing.get_origin(tp) is tuple and len(args) == 2 and args[1] is Ellipsis


def _make_converter() -> cattrs.Converter:
    """cattrs, as strict as JSON: no coercion between strings, numbers and booleans."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(str, _strict(str, "a string"))
    converter.register_structure_hook(int, _strict(int, "an integer"))
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(bool, _strict(bool, "a boolean"))
    tuples = cattrs.cols.homogenous_tuple_structure_factory
    lists = cattrs.cols.list_structure_factory
    mappings = cattrs.cols.mapping_structure_factory
    converter.register_structure_hook_factory(
        _is_homogenous_tuple, _json_checked(list, "an array", tuples, converter)
    )
    converter.register_structure_hook_factory(
        _is_array, _json_checked(list, "an array", lists, converter)
    )
    converter.register_structure_hook_factory(
        cattrs.cols.is_mapping, _json_checked(dict, "an object", mappings, converter)
    )
    configure_union_passthrough(str | int | float | bool | None, converter)
    return converter


_CONVERTER: Final = _make_converter()


# -- schemas --------------------------------------------------------------------------------


def _schema(tp: Any, where: str) -> dict[str, Any]:
    """The JSON schema of a parameter type; ``where`` names it in errors."""
    if tp is Any or tp is object:
        return {}
    if tp is None or tp is type(None):
        return {"type": "null"}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        schema = _schema(args[0], where)
        notes = [meta for meta in args[1:] if isinstance(meta, str)]
        if notes:
            schema["description"] = " ".join(notes)
        return schema
    if tp in _JSON_TYPES:
        return {"type": _JSON_TYPES[tp]}
    if origin is typing.Literal:
        return _enum_schema(list(args))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        schema = _enum_schema([member.value for member in tp])
        return schema
    if origin is typing.Union or origin is types.UnionType:
        members = [_schema(arg, where) for arg in args]
        return {"anyOf": members}
    if origin is tuple:
        if _is_homogenous_tuple(tp):
            return {"type": "array", "items": _schema(args[0], where)}
        items = [_schema(arg, where) for arg in args]
        return {
            "type": "array",
            "prefixItems": items,
            "minItems": len(items),
            "maxItems": len(items),
        }
    if origin is not None and isinstance(origin, type):
        if issubclass(origin, Mapping):
            key, value = args if args else (str, Any)
            if key is not str:
                raise TypeError(f"{where}: mapping keys must be str (JSON object keys), not {key}")
            return {"type": "object", "additionalProperties": _schema(value, where)}
        if issubclass(origin, Iterable) and not issubclass(origin, str | bytes):
            item = args[0] if args else Any
            schema = {"type": "array", "items": _schema(item, where)}
            if issubclass(origin, set | frozenset):
                schema["uniqueItems"] = True
            return schema
    if isinstance(tp, type) and attrs.has(tp):
        return _attrs_schema(tp, where)
    raise TypeError(f"{where}: cannot describe {tp!r} to a model as JSON")


def _enum_schema(values: list[Any]) -> dict[str, Any]:
    kinds = {type(value) for value in values}
    schema: dict[str, Any] = {"enum": values}
    if len(kinds) == 1 and (kind := kinds.pop()) in _JSON_TYPES:
        schema = {"type": _JSON_TYPES[kind], "enum": values}
    return schema


def _attrs_schema(cls: type, where: str) -> dict[str, Any]:
    hints = typing.get_type_hints(cls, include_extras=True)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in attrs.fields(cls):
        name = field.alias or field.name
        schema = _schema(hints.get(field.name, field.type), f"{where}.{name}")
        if field.default is attrs.NOTHING:
            required.append(name)
        elif not isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            _add_default(schema, field.default)
        properties[name] = schema
    schema = {"type": "object", "properties": properties, "required": required}
    schema["additionalProperties"] = False
    doc = inspect.getdoc(cls)
    if doc and doc != inspect.getdoc(object) and not doc.startswith(f"{cls.__name__}("):
        schema["description"] = _split_docstring(doc)[0]
    return schema


def _add_default(schema: dict[str, Any], default: object) -> None:
    try:
        value = _CONVERTER.unstructure(default)
    except Exception:
        return
    if isinstance(value, str | int | float | bool | list | dict) or value is None:
        schema["default"] = value


def _split_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The description (text before any parameter section) and each parameter's text."""
    lines = doc.splitlines()
    description: list[str] = []
    params: dict[str, str] = {}
    current: str | None = None
    in_google = False
    in_section = False
    for line in lines:
        if not in_section and _SECTION.match(line):
            in_section = True
        if not in_section:
            description.append(line)
            continue
        stripped = line.strip()
        if re.match(r"^(Args|Arguments|Parameters):\s*$", stripped):
            in_google, current = True, None
            continue
        if re.match(r"^(Returns|Raises|Yields):\s*$", stripped) or stripped.startswith(
            (":return", ":raise", ":rtype")
        ):
            in_google, current = False, None
            continue
        rest = _REST_PARAM.match(line)
        google = _GOOGLE_PARAM.match(line) if in_google else None
        if rest:
            current = rest.group(1)
            params[current] = rest.group(2).strip()
        elif google and (current is None or len(line) - len(line.lstrip()) <= 4):
            current = google.group(1)
            params[current] = google.group(2).strip()
        elif current is not None and stripped:
            params[current] = f"{params[current]} {stripped}".strip()
        elif not stripped:
            current = None if not in_google else current
    text = "\n".join(description).strip()
    return re.sub(r"\s*\n\s*", " ", text) if "\n\n" not in text else text, params


# -- the tool -------------------------------------------------------------------------------


@final
class FunctionTool:
    """A typed function the model can call: its schema, and a strict, awaitable call.

    Build one with :func:`function_tool`. ``await tool(**arguments)`` checks and
    structures the model's JSON arguments into the declared types (raising
    :class:`ToolArgumentsError`), calls the function (a sync one in a worker
    thread; if the call is cancelled, the thread is abandoned to finish on its
    own) and returns its result, attrs instances and enums turned into JSON
    values.
    """

    def __init__(
        self, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None
    ) -> None:
        self.fn = fn
        self.name = name or fn.__name__
        doc_description, doc_params = _split_docstring(inspect.getdoc(fn) or "")
        self.description = description if description is not None else doc_description
        self.is_async = inspect.iscoroutinefunction(fn)
        hints = _parameter_hints(fn)
        properties: dict[str, Any] = {}
        required: list[str] = []
        fields: dict[str, Any] = {}
        for param in inspect.signature(fn).parameters.values():
            where = f"{self.name}({param.name})"
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                raise TypeError(f"{where}: *args and **kwargs cannot be described to a model")
            if param.kind is param.POSITIONAL_ONLY:
                raise TypeError(f"{where}: tools are called with keyword arguments")
            if param.name not in hints:
                raise TypeError(f"{where}: the parameter needs a type annotation")
            hint = hints[param.name]
            schema = _schema(hint, where)
            if param.name in doc_params and "description" not in schema:
                schema["description"] = doc_params[param.name]
            if param.default is param.empty:
                required.append(param.name)
                fields[param.name] = attrs.field(type=hint)
            else:
                _add_default(schema, param.default)
                fields[param.name] = attrs.field(type=hint, default=param.default)
            properties[param.name] = schema
        self.parameters: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        }
        self._arguments = attrs.make_class(f"{self.name}_arguments", fields, kw_only=True)
        functools.update_wrapper(self, fn)

    def __repr__(self) -> str:
        return f"<FunctionTool {self.name!r}>"

    def structure(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The model's JSON arguments as keyword arguments of the declared types.

        :raises ToolArgumentsError: naming each argument that does not fit.
        """
        try:
            instance: Any = _CONVERTER.structure(dict(arguments), self._arguments)
        except Exception as exc:
            problems = []
            for message in cattrs.transform_error(exc, path="$", format_exception=_describe):
                text, _, path = message.rpartition(" @ $")
                problems.append(f"{path.lstrip('.') or 'arguments'}: {text}")
            raise ToolArgumentsError(self.name, problems) from None
        return {field.name: getattr(instance, field.name) for field in attrs.fields(type(instance))}

    async def __call__(self, **arguments: Any) -> Any:
        kwargs = self.structure(arguments)
        if self.is_async:
            result = await self.fn(**kwargs)
        else:
            result = await anyio.to_thread.run_sync(
                functools.partial(self.fn, **kwargs), abandon_on_cancel=True
            )
        return _CONVERTER.unstructure(result)

    def openai_schema(self) -> dict[str, Any]:
        """The tool as OpenAI Realtime's ``session.tools`` takes it."""
        return {
            "type": "function",
            "name": self.name,
            "description": self.description,
            "parameters": self.parameters,
        }

    def gemini_declaration(self) -> dict[str, Any]:
        """The tool as Gemini Live's ``setup.tools[].functionDeclarations`` takes it."""
        return {
            "name": self.name,
            "description": self.description,
            "parametersJsonSchema": self.parameters,
        }


def _parameter_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """The evaluated annotations of ``fn``'s parameters.

    The return annotation is left alone: only the parameters are described to
    the model, and a return type may be one no schema needs (a recursive alias).
    """
    annotations = {
        name: value
        for name, value in getattr(fn, "__annotations__", {}).items()
        if name != "return"
    }
    unwrapped = inspect.unwrap(fn)
    holder = types.SimpleNamespace(
        __annotations__=annotations, __globals__=getattr(unwrapped, "__globals__", {})
    )
    return typing.get_type_hints(holder, include_extras=True)


def _describe(exc: BaseException, type_: Any) -> str:
    """One problem with an argument, said so the model can fix it."""
    if isinstance(exc, KeyError):
        return "required, but missing"
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"unknown argument(s): {', '.join(sorted(exc.extra_fields))}"
    choices: list[Any] | None = None
    if typing.get_origin(type_) is typing.Literal:
        choices = list(typing.get_args(type_))
    elif isinstance(type_, type) and issubclass(type_, enum.Enum):
        choices = [member.value for member in type_]
    if choices is not None:
        return "must be one of " + ", ".join(json.dumps(choice) for choice in choices)
    if isinstance(exc, TypeError | ValueError) and str(exc):
        return str(exc)
    return f"not a valid {getattr(type_, '__name__', type_)}"


@typing.overload
def function_tool(fn: Callable[..., Any], /) -> FunctionTool: ...
@typing.overload
def function_tool(
    *, name: str | None = None, description: str | None = None
) -> Callable[[Callable[..., Any]], FunctionTool]: ...
def function_tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make a typed function a tool: ``@function_tool`` or ``@function_tool(name=...)``.

    :raises TypeError: a parameter has no annotation, is positional-only or
        variadic, or has a type that has no JSON form.
    """
    if fn is not None:
        return FunctionTool(fn, name=name, description=description)
    return functools.partial(FunctionTool, name=name, description=description)


def tool_map(tools: Iterable[FunctionTool]) -> dict[str, FunctionTool]:
    """Tools by name, for ``RealtimeSession(tools=...)``; two tools with one name are refused."""
    by_name: dict[str, FunctionTool] = {}
    for tool in tools:
        if tool.name in by_name:
            raise ValueError(f"two tools are named {tool.name!r}")
        by_name[tool.name] = tool
    return by_name


def openai_tools(tools: Iterable[FunctionTool]) -> list[dict[str, Any]]:
    """The ``tools`` list of an OpenAI Realtime ``session.update``."""
    return [tool.openai_schema() for tool in tools]


def gemini_tools(tools: Iterable[FunctionTool]) -> list[dict[str, Any]]:
    """The ``tools`` list of a Gemini Live ``setup`` message."""
    declarations = [tool.gemini_declaration() for tool in tools]
    return [{"functionDeclarations": declarations}] if declarations else []


def declare_openai_tools(
    session_config: Mapping[str, Any] | None, tools: Iterable[FunctionTool]
) -> dict[str, Any] | None:
    """``session_config`` with ``tools`` added to its ``tools`` (what ``session.update`` sends).

    Without tools it is returned as given. Without a configuration, one is
    made for the tools alone (a GA ``"type": "realtime"`` session).
    """
    declared = openai_tools(tools)
    if not declared:
        return dict(session_config) if session_config is not None else None
    config: dict[str, Any] = (
        dict(session_config) if session_config is not None else {"type": "realtime"}
    )
    config["tools"] = [*config.get("tools", ()), *declared]
    return config


def declare_gemini_tools(setup: Mapping[str, Any], tools: Iterable[FunctionTool]) -> dict[str, Any]:
    """A ``setup`` message body with ``tools`` added to its ``tools``."""
    declared = gemini_tools(tools)
    result = dict(setup)
    if declared:
        result["tools"] = [*result.get("tools", ()), *declared]
    return result
