"""Tools from typed functions: their schemas, their strict calls, and a session running them."""

from __future__ import annotations

import enum
import threading
from typing import Annotated, Any, Literal

import anyio
import attrs
import pydantic
import pytest
from google.genai import types as genai
from helpers import RecordingCommands, collect, provider_stream, wait_until
from openai.types.realtime import realtime_client_event as ga_client

from realtime_session import RealtimeSession, public
from realtime_session import events as ev
from realtime_session.tools import (
    FunctionTool,
    ToolArgumentsError,
    declare_gemini_tools,
    declare_openai_tools,
    function_tool,
    gemini_tools,
    openai_tools,
    tool_map,
)


class Unit(enum.Enum):
    CELSIUS = "celsius"
    FAHRENHEIT = "fahrenheit"


@attrs.frozen
class Party:
    """Who is coming."""

    size: int
    names: list[str] = attrs.Factory(list)
    high_chair: bool = False


@function_tool
async def get_weather(
    city: str, unit: Literal["celsius", "fahrenheit"] = "celsius"
) -> dict[str, Any]:
    """Today's weather for a city.

    :param city: the city's name, e.g. "Lisbon"
    :param unit: the temperature scale
    :returns: the weather
    """
    return {"city": city, "unit": unit}


@function_tool(name="book_table")
def book(
    party: Party,
    time: Annotated[str, "when, as HH:MM"],
    unit: Unit = Unit.CELSIUS,
    notes: str | None = None,
    tags: tuple[str, ...] = (),
    extras: dict[str, int] | None = None,
) -> Party:
    """Book a table for a party.

    Reservations are held for fifteen minutes.

    Args:
        party: who is coming
        unit (Unit): the scale the terrace heaters
            are set in
        notes: anything the restaurant should know
    """
    return attrs.evolve(party, size=party.size + len(tags))


# -- schemas ------------------------------------------------------------------------------------


def test_schema_of_a_simple_async_tool() -> None:
    assert isinstance(get_weather, FunctionTool)
    assert get_weather.openai_schema() == {
        "type": "function",
        "name": "get_weather",
        "description": "Today's weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": 'the city\'s name, e.g. "Lisbon"'},
                "unit": {
                    "type": "string",
                    "enum": ["celsius", "fahrenheit"],
                    "default": "celsius",
                    "description": "the temperature scale",
                },
            },
            "required": ["city"],
            "additionalProperties": False,
        },
    }


def test_schema_of_attrs_classes_enums_optionals_and_collections() -> None:
    assert book.name == "book_table"
    assert book.description == (
        "Book a table for a party.\n\nReservations are held for fifteen minutes."
    )
    assert book.parameters == {
        "type": "object",
        "properties": {
            "party": {
                "type": "object",
                "properties": {
                    "size": {"type": "integer"},
                    "names": {"type": "array", "items": {"type": "string"}},
                    "high_chair": {"type": "boolean", "default": False},
                },
                "required": ["size"],
                "additionalProperties": False,
                "description": "Who is coming.",
            },
            "time": {"type": "string", "description": "when, as HH:MM"},
            "unit": {
                "type": "string",
                "enum": ["celsius", "fahrenheit"],
                "default": "celsius",
                "description": "the scale the terrace heaters are set in",
            },
            "notes": {
                "anyOf": [{"type": "string"}, {"type": "null"}],
                "default": None,
                "description": "anything the restaurant should know",
            },
            "tags": {"type": "array", "items": {"type": "string"}, "default": []},
            "extras": {
                "anyOf": [
                    {"type": "object", "additionalProperties": {"type": "integer"}},
                    {"type": "null"},
                ],
                "default": None,
            },
        },
        "required": ["party", "time"],
        "additionalProperties": False,
    }


def test_declarations_for_each_provider() -> None:
    assert openai_tools([get_weather]) == [get_weather.openai_schema()]
    assert gemini_tools([get_weather, book]) == [
        {
            "functionDeclarations": [
                {
                    "name": "get_weather",
                    "description": "Today's weather for a city.",
                    "parametersJsonSchema": get_weather.parameters,
                },
                {
                    "name": "book_table",
                    "description": book.description,
                    "parametersJsonSchema": book.parameters,
                },
            ]
        }
    ]
    assert gemini_tools([]) == []
    assert tool_map([get_weather, book]) == {"get_weather": get_weather, "book_table": book}
    with pytest.raises(ValueError, match="two tools are named 'get_weather'"):
        tool_map([get_weather, get_weather])


def test_the_sdks_take_the_declarations_as_their_own_types() -> None:
    # OpenAI Realtime: the session.update a connect(tools=...) sends.
    config = declare_openai_tools({"type": "realtime", "instructions": "Be brief."}, [book])
    update = pydantic.TypeAdapter(ga_client.RealtimeClientEvent).validate_python(
        {"type": "session.update", "session": config}
    )
    tools = update.session.tools  # type: ignore[union-attr]
    assert tools is not None
    (tool,) = tools
    assert (tool.type, tool.name, tool.description) == ("function", "book_table", book.description)  # type: ignore[union-attr]
    assert tool.parameters == book.parameters  # type: ignore[union-attr]
    # Gemini Live: the setup message, strictly (an unknown key fails).
    setup = declare_gemini_tools({"model": "models/gemini-live-2.5-flash-preview"}, [book])
    message = genai.LiveClientMessage.model_validate({"setup": setup}, strict=True)
    assert message.setup is not None and message.setup.tools is not None
    (tool_set,) = message.setup.tools
    assert isinstance(tool_set, genai.Tool)
    (declaration,) = tool_set.function_declarations or []
    assert declaration.name == "book_table"
    assert declaration.parameters_json_schema == book.parameters


def test_declarations_join_those_a_configuration_already_has() -> None:
    mine = {"type": "function", "name": "hang_up", "parameters": {"type": "object"}}
    config = declare_openai_tools({"type": "realtime", "tools": [mine]}, [get_weather])
    assert config is not None
    assert config["tools"] == [mine, get_weather.openai_schema()]
    assert declare_openai_tools(None, [get_weather]) == {
        "type": "realtime",
        "tools": [get_weather.openai_schema()],
    }
    assert declare_openai_tools(None, []) is None
    assert declare_gemini_tools({"model": "m"}, []) == {"model": "m"}


def no_annotation(city) -> None:  # type: ignore[no-untyped-def]
    """Missing its annotation."""


def variadic(*cities: str) -> None:
    """Takes any number."""


def positional(city: str, /) -> None:
    """Positional only."""


def binary(data: bytes) -> None:
    """Bytes have no JSON form."""


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (no_annotation, r"no_annotation\(city\): the parameter needs a type annotation"),
        (variadic, r"variadic\(cities\): \*args and \*\*kwargs cannot be described"),
        (positional, r"positional\(city\): tools are called with keyword arguments"),
        (binary, r"binary\(data\): cannot describe <class 'bytes'> to a model as JSON"),
    ],
)
def test_signatures_a_model_cannot_call_are_refused(fn: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        function_tool(fn)


# -- calls --------------------------------------------------------------------------------------


async def test_arguments_are_structured_into_the_declared_types() -> None:
    seen: list[tuple[Party, Unit, tuple[str, ...], int]] = []

    @function_tool
    def reserve(party: Party, unit: Unit = Unit.CELSIUS, tags: tuple[str, ...] = ()) -> Party:
        """Reserve."""
        seen.append((party, unit, tags, threading.get_ident()))
        return party

    result = await reserve(party={"size": 2, "names": ["Ana"]}, unit="fahrenheit", tags=["x"])
    ((party, unit, tags, thread),) = seen
    assert party == Party(size=2, names=["Ana"])
    assert unit is Unit.FAHRENHEIT
    assert tags == ("x",)
    # A sync function runs in a worker thread; its attrs result comes back as JSON.
    assert thread != threading.get_ident()
    assert result == {"size": 2, "names": ["Ana"], "high_chair": False}


async def test_enum_results_and_numbers_become_json() -> None:
    @function_tool
    async def pick(scale: float) -> dict[str, Any]:
        """Pick."""
        return {"unit": Unit.CELSIUS, "scale": scale}

    assert await pick(scale=2) == {"unit": "celsius", "scale": 2.0}


@pytest.mark.parametrize(
    ("arguments", "problems"),
    [
        ({}, ["city: required, but missing"]),
        ({"city": 5}, ["city: expected a string, got a number"]),
        (
            {"city": "Lisbon", "unit": "kelvin"},
            ['unit: must be one of "celsius", "fahrenheit"'],
        ),
        (
            {"city": "Lisbon", "country": "PT"},
            ["arguments: unknown argument(s): country"],
        ),
    ],
)
async def test_arguments_that_do_not_fit_are_named(
    arguments: dict[str, Any], problems: list[str]
) -> None:
    with pytest.raises(ToolArgumentsError) as raised:
        await get_weather(**arguments)
    assert list(raised.value.problems) == problems
    assert str(raised.value) == (
        "arguments for 'get_weather' do not fit its parameters: " + "; ".join(problems)
    )


async def test_no_coercion_between_json_types() -> None:
    for party in ({"size": "2"}, {"size": True}, {"size": 2.5}, {"size": 2, "names": "Ana"}):
        with pytest.raises(ToolArgumentsError):
            await book(party=party, time="20:00")
    with pytest.raises(
        ToolArgumentsError, match=r"party\.size: expected an integer, got a boolean"
    ):
        await book(party={"size": True}, time="20:00")


# -- in a session -------------------------------------------------------------------------------


async def test_a_session_runs_function_tools_and_tells_the_model_what_did_not_fit() -> None:
    send, receive = provider_stream()
    commands = RecordingCommands()
    session = RealtimeSession(receive, commands=commands, tools=tool_map([get_weather]))
    subscription = session.events()
    async with session:
        async with send:
            await send.send(
                ev.ToolCallRequested(
                    call_id="c1", tool_name="get_weather", arguments={"city": "Porto"}
                )
            )
            await send.send(
                ev.ToolCallRequested(
                    call_id="c2", tool_name="get_weather", arguments={"city": "Porto", "unit": "K"}
                )
            )
            await wait_until(lambda: len(commands.calls) == 2)
        with anyio.fail_after(5):
            seen = await collect(subscription)
    assert commands.named("submit_tool_result") == [("c1", {"city": "Porto", "unit": "celsius"})]
    ((call_id, error),) = commands.named("submit_tool_error")
    assert call_id == "c2"
    assert 'unit: must be one of "celsius", "fahrenheit"' in str(error)
    outcomes = [e for e in seen if isinstance(e, public.ToolCallCompleted | public.ToolCallFailed)]
    assert {e.call_id: type(e).__name__ for e in outcomes} == {
        "c1": "ToolCallCompleted",
        "c2": "ToolCallFailed",
    }
