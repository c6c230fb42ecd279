"""Sessions on a real WebSocket: barge-in truncation and tool round trips, on both backends.

A loopback server on 127.0.0.1 replays a recorded trace, holds where a real
server would wait for the client (the truncation confirmation after the
client's truncate, the model's continuation after the tool output), and
records every client message. The client side is the adapter's ``connect()``
wired to a :class:`RealtimeSession` with tools, as an application would.
"""

from __future__ import annotations

from typing import Any

import anyio
from helpers import collect, of_type
from test_provider_sessions import (
    BARGE_ANSWER,
    BARGE_FIRST,
    BARGE_SECOND,
    BARGE_SECOND_USER,
    BARGE_STORY,
    BARGE_USER,
    CANCELLED,
    END_TURN,
    GEMINI_CALL,
    TOOL_CALL,
    TOOL_CALL_TRANSCRIPT,
    TOOL_FIRST,
    TOOL_OUTCOMES,
    TOOL_SECOND,
    TOOL_USE,
    Player,
    said,
    tool_events,
    turns,
    usage,
    user,
)
from test_ws_transport import Backend, loopback, trace_payloads
from wsserver import SETTLE, Expect, Hold, Message, ScriptedServer, client_sent

from realtime_session import RealtimeSession, Tool, public
from realtime_session.providers import gemini, openai


def position(payloads: list[Message], wanted: Any) -> int:
    return next(index for index, payload in enumerate(payloads) if wanted(payload))


# -- OpenAI Realtime ------------------------------------------------------------------------------


async def test_openai_barge_in_truncates_at_the_played_position(anyio_backend: Backend) -> None:
    payloads = trace_payloads("openai_barge_in")
    barge = position(
        payloads,
        lambda p: (
            p["type"] == "input_audio_buffer.speech_started" and p["item_id"] == BARGE_SECOND_USER
        ),
    )
    recorded_confirmation = position(payloads, client_sent("conversation.item.truncated"))

    def confirm(truncate: Message) -> list[Message]:
        # The server cuts the item where the client said and confirms it.
        return [
            {
                "type": "conversation.item.truncated",
                "event_id": "event_confirm_truncate",
                "item_id": truncate["item_id"],
                "content_index": truncate["content_index"],
                "audio_end_ms": truncate["audio_end_ms"],
            }
        ]

    user_talks = anyio.Event()
    server = ScriptedServer(
        [
            *payloads[:barge],
            Hold("the user talks over the story", user_talks),
            payloads[barge],
            Expect("the truncate", client_sent("conversation.item.truncate"), reply=confirm),
            Expect("the cancel", client_sent("response.cancel")),
            *payloads[recorded_confirmation + 1 :],
        ]
    )

    with anyio.fail_after(20):
        async with (
            loopback(anyio_backend, server) as (url, _),
            openai.connect(api_key="sk-test", url=url) as (events, commands),
        ):
            session = RealtimeSession(events, commands=commands)
            subscription = session.events(media=False)
            # The bot also stops the model itself when the user barges in.
            player = Player(
                session, BARGE_STORY, stop_at_ms=1212.5, on_interrupted=session.interrupt
            )
            async with session, anyio.create_task_group() as task_group:
                task_group.start_soon(player.run)
                await player.user_talks.wait()
                user_talks.set()
                seen = await collect(subscription)

    assert server.failure is None
    truncates = [m for m in server.messages if m["type"] == "conversation.item.truncate"]
    cancels = [m for m in server.messages if m["type"] == "response.cancel"]
    # Floored to whole milliseconds, and aimed at the story the user talked over.
    assert truncates == [
        {
            "type": "conversation.item.truncate",
            "item_id": BARGE_STORY,
            "content_index": 0,
            "audio_end_ms": 1212,
        }
    ]
    assert cancels == [{"type": "response.cancel", "response_id": BARGE_FIRST}]
    assert len(server.messages) == 2
    # 1.212 s at 150 words per minute (the story's audio never finished): three words.
    assert session.transcript == (
        user(BARGE_USER, "Tell me a story about a lighthouse."),
        said(
            BARGE_FIRST, BARGE_STORY, "Once upon a", CANCELLED, usage(240, 220, 0), cut_at_ms=1212
        ),
        user(BARGE_SECOND_USER, "Actually, what time is it in Tokyo?"),
        said(
            BARGE_SECOND,
            BARGE_ANSWER,
            "It's just past midnight in Tokyo.",
            END_TURN,
            usage(480, 120, 320),
        ),
    )
    assert of_type(seen, public.Interrupted) == [public.Interrupted(response_id=BARGE_FIRST)]
    assert turns(seen) == [(BARGE_FIRST, CANCELLED), (BARGE_SECOND, END_TURN)]
    assert seen[-1] == public.SessionClosed(reason="provider_closed")


async def test_openai_tool_result_goes_back_and_the_model_goes_on(anyio_backend: Backend) -> None:
    payloads = trace_payloads("openai_tool_call")
    done = position(payloads, client_sent("response.done"))

    def is_function_output(message: Message) -> bool:
        item = message.get("item")
        return (
            message.get("type") == "conversation.item.create"
            and isinstance(item, dict)
            and item.get("type") == "function_call_output"
        )

    # The tool answers before the first response is done; a response.create then
    # would be refused, so the model's continuation is asked for after it.
    server = ScriptedServer(
        [
            *payloads[:done],
            Expect("the function_call_output", is_function_output),
            SETTLE,
            payloads[done],
            Expect("response.create", client_sent("response.create")),
            *payloads[done + 1 :],
        ]
    )
    arguments: list[dict[str, Any]] = []

    async def get_weather(**kwargs: Any) -> dict[str, Any]:
        arguments.append(kwargs)
        return {"temperature_c": 21, "conditions": "sunny"}

    tools: dict[str, Tool] = {"get_weather": get_weather}
    with anyio.fail_after(20):
        async with (
            loopback(anyio_backend, server) as (url, _),
            openai.connect(api_key="sk-test", url=url) as (events, commands),
        ):
            session = RealtimeSession(events, commands=commands, tools=tools)
            subscription = session.events(media=False)
            async with session:
                seen = await collect(subscription)

    assert server.failure is None
    assert arguments == [{"city": "Lisbon", "unit": "celsius"}]
    assert server.messages == [
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": TOOL_CALL,
                "output": '{"temperature_c": 21, "conditions": "sunny"}',
            },
        },
        {"type": "response.create"},
    ]
    output, create = server.received
    assert output.after_sent <= done
    assert create.after_sent == done + 1  # only once the server had said the response was done
    assert tool_events(seen) == [
        public.ToolCallRequested(call_id=TOOL_CALL, tool_name="get_weather"),
        public.ToolCallCompleted(call_id=TOOL_CALL),
    ]
    assert session.transcript == TOOL_CALL_TRANSCRIPT
    assert turns(seen) == [(TOOL_FIRST, TOOL_USE), (TOOL_SECOND, END_TURN)]
    assert seen[-1] == public.SessionClosed(reason="provider_closed")


# -- Gemini Live ----------------------------------------------------------------------------------


async def test_gemini_tool_response_goes_back_before_the_model_goes_on(
    anyio_backend: Backend,
) -> None:
    payloads = trace_payloads("gemini_interruption")
    call = position(payloads, lambda p: "toolCall" in p)
    # A server that has the answer does not withdraw the call, as it did in the recording.
    rest = [p for p in payloads[call + 1 :] if "toolCallCancellation" not in p]
    server = ScriptedServer(
        [
            Expect("the setup", lambda message: "setup" in message),
            *payloads[: call + 1],
            Expect("the toolResponse", lambda message: "toolResponse" in message),
            *rest,
        ],
        binary=True,
    )
    arguments: list[dict[str, Any]] = []

    async def find_table(**kwargs: Any) -> dict[str, Any]:
        arguments.append(kwargs)
        return {"booked": True, "table": 12}

    tools: dict[str, Tool] = {"find_table": find_table}
    with anyio.fail_after(20):
        async with (
            loopback(anyio_backend, server) as (url, _),
            # The recording ends with goAway then a close: without reconnection
            # that close ends the session, which is what this test is about.
            gemini.connect(api_key="g-key", url=url, reconnect=None) as (events, commands),
        ):
            session = RealtimeSession(events, commands=commands, tools=tools)
            subscription = session.events(media=False)
            async with session:
                seen = await collect(subscription)

    assert server.failure is None
    assert arguments == [{"party_size": 2, "time": "20:00"}]
    setup, answer = server.messages
    assert "setup" in setup
    assert answer == {
        "toolResponse": {
            "functionResponses": [
                {"id": GEMINI_CALL, "name": "find_table", "response": {"booked": True, "table": 12}}
            ]
        }
    }
    assert [e for e in seen if isinstance(e, TOOL_OUTCOMES)] == [
        public.ToolCallCompleted(call_id=GEMINI_CALL)
    ]
    # Nobody reported playback, so the answer the user talked over is dropped as unheard.
    assert session.transcript == (
        user("gemini_user_1", "Book a table for two at eight tonight."),
        user("gemini_user_4", "Wait, make it three people."),
        said(
            "gemini_resp_5",
            "gemini_item_6",
            "No problem, a table for three at eight.",
            END_TURN,
            usage(420, 75, 128),
        ),
    )
    assert turns(seen) == [("gemini_resp_2", CANCELLED), ("gemini_resp_5", END_TURN)]
    assert seen[-1] == public.SessionClosed(reason="provider_closed")
