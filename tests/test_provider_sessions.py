"""Recorded provider traces through the real translators and a session: what the user ends up with.

Each trace is replayed through :class:`ScriptedProvider` (which translates it
with a fresh translator) into a :class:`RealtimeSession`, and the test pins the
canonical transcript exactly. Where the user talks over the model, a player
reports its playback position before the barge-in reaches the session, as a
real player would, so the heard-prefix and truncation paths run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import pytest
import structlog
from helpers import collect, of_type, provider_stream

from realtime_session import RealtimeSession, Subscription, Tool, public
from realtime_session import events as ev
from realtime_session import transcript as tr
from realtime_session.providers import ScriptedProvider
from realtime_session.providers.openai import OpenAIRealtimeTranslator

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from anyio.streams.memory import MemoryObjectSendStream

FIXTURES = Path(__file__).parent / "fixtures"

END_TURN = ev.StopReason.END_TURN
TOOL_USE = ev.StopReason.TOOL_USE
CANCELLED = ev.StopReason.CANCELLED

TOOL_OUTCOMES = (
    public.ToolCallCompleted,
    public.ToolCallFailed,
    public.ToolCallTimedOut,
    public.ToolCallCancelled,
)


def trace(name: str, **options: Any) -> ScriptedProvider:
    return ScriptedProvider(FIXTURES / f"{name}.jsonl", **options)


def user(item_id: str, text: str) -> tr.UserMessage:
    return tr.UserMessage(item_id=item_id, text=text)


def said(
    response_id: str,
    item_id: str,
    text: str,
    stop_reason: ev.StopReason,
    usage: ev.Usage | None,
    *,
    cut_at_ms: int | None = None,
) -> tr.AssistantMessage:
    """A one-item spoken answer; ``cut_at_ms`` marks it cut to an estimated heard prefix."""
    block = (
        tr.TranscriptBlock(item_id=item_id, text=text)
        if cut_at_ms is None
        else tr.TranscriptBlock(
            item_id=item_id, text=text, truncated=True, estimated=True, audio_played_ms=cut_at_ms
        )
    )
    return tr.AssistantMessage(
        response_id=response_id,
        item_ids=(item_id,),
        blocks=(block,),
        stop_reason=stop_reason,
        usage=usage,
    )


def usage(input_tokens: int, output_tokens: int, cached: int | None) -> ev.Usage:
    return ev.Usage(
        input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cached
    )


def turns(seen: Sequence[public.RealtimeEvent]) -> list[tuple[str, ev.StopReason]]:
    return [(e.response_id, e.stop_reason) for e in of_type(seen, public.TurnCompleted)]


def interruptions(seen: Sequence[public.RealtimeEvent]) -> list[str | None]:
    return [e.response_id for e in of_type(seen, public.Interrupted)]


def tool_events(seen: Sequence[public.RealtimeEvent]) -> list[public.RealtimeEvent]:
    return [e for e in seen if isinstance(e, (public.ToolCallRequested, *TOOL_OUTCOMES))]


def assert_closed_by_provider(seen: Sequence[public.RealtimeEvent]) -> None:
    assert seen[-1] == public.SessionClosed(reason="provider_closed")
    assert len(of_type(seen, public.SessionClosed)) == 1


def index_of(events: Sequence[ev.RealtimeSessionEvent], wanted: Callable[[Any], bool]) -> int:
    return next(index for index, event in enumerate(events) if wanted(event))


def anchor_of(item_id: str) -> Callable[[Any], bool]:
    """Matches the contentless anchor the translator emits for a non-dialogue item."""
    return lambda event: (
        isinstance(event, ev.RealtimeTranscript)
        and (getattr(event.event, "item_id", None) == item_id)
    )


class Player:
    """Plays one item's audio from a subscription and reports its position, like an app's player.

    Each chunk played moves the position on by the chunk's duration. At
    ``stop_at_ms`` the user starts talking over it: the player reports that
    position, stops playing and sets :attr:`user_talks`. It keeps listening
    until the session publishes ``Interrupted``, then calls ``on_interrupted``
    (if given) and ends.
    """

    def __init__(
        self,
        session: RealtimeSession,
        item_id: str,
        stop_at_ms: float,
        *,
        on_interrupted: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._session = session
        self._subscription: Subscription = session.events()
        self._item_id = item_id
        self._stop_at_ms = stop_at_ms
        self._on_interrupted = on_interrupted
        self.user_talks = anyio.Event()
        self.interrupted: public.Interrupted | None = None

    async def run(self) -> None:
        played_ms = 0.0
        async with self._subscription:
            async for event in self._subscription:
                if isinstance(event, public.Interrupted) and self.user_talks.is_set():
                    self.interrupted = event
                    if self._on_interrupted is not None:
                        await self._on_interrupted()
                    return
                if (
                    isinstance(event, public.OutputAudioChunk)
                    and event.item_id == self._item_id
                    and not self.user_talks.is_set()
                ):
                    played_ms += event.chunk.duration_ms or 0.0
                    self._session.report_playback(self._item_id, min(played_ms, self._stop_at_ms))
                    if played_ms >= self._stop_at_ms:
                        self.user_talks.set()


async def feed(
    send: MemoryObjectSendStream[ev.RealtimeSessionEvent],
    events: Sequence[ev.RealtimeSessionEvent],
    holds: Mapping[int, Callable[[], Awaitable[object]]],
) -> None:
    """Feed a trace's events, holding before an index until its hold returns; then end the stream."""
    async with send:
        for index, event in enumerate(events):
            hold = holds.get(index)
            if hold is not None:
                await hold()
            await send.send(event)


async def play_until_the_user_talks(
    session: RealtimeSession,
    player: Player,
    events: Sequence[ev.RealtimeSessionEvent],
    send: MemoryObjectSendStream[ev.RealtimeSessionEvent],
    user_talks: Callable[[], Awaitable[object]],
) -> list[public.RealtimeEvent]:
    """Run the session with the player; the provider's ``Interrupted`` waits for ``user_talks``."""
    subscription = session.events(media=False)
    holds = {index_of(events, lambda e: isinstance(e, ev.Interrupted)): user_talks}
    with anyio.fail_after(10):
        async with session, anyio.create_task_group() as task_group:
            task_group.start_soon(player.run)
            task_group.start_soon(feed, send, events, holds)
            seen = await collect(subscription)
    return seen


async def first(subscription: Subscription, kind: type[public.RealtimeEvent]) -> None:
    """Read ``subscription`` until an event of ``kind`` arrives, then close it."""
    async with subscription:
        async for event in subscription:
            if isinstance(event, kind):
                return


async def replay(
    provider: ScriptedProvider, **options: Any
) -> tuple[RealtimeSession, list[public.RealtimeEvent]]:
    """Run the whole trace unpaced through a session; return it and every control event."""
    async with provider.run() as stream:
        session = RealtimeSession(stream, **options)
        subscription = session.events(media=False)
        with anyio.fail_after(10):
            async with session:
                seen = await collect(subscription)
    return session, seen


# -- OpenAI Realtime ------------------------------------------------------------------------------

VOICE_USER = "item_yBMWXaSCrUZoL8g5ubbbP"
VOICE_REPLY = "item_Ia84yRnBUbHoWC8FJowoR"
VOICE_RESPONSE = "resp_oWD8s7bA16J7PglOU3shV"


async def test_openai_voice_turn() -> None:
    session, seen = await replay(trace("openai_voice_turn"))

    assert session.transcript == (
        user(VOICE_USER, "Tell me a fun fact about octopuses."),
        said(
            VOICE_RESPONSE,
            VOICE_REPLY,
            "Octopuses have three hearts and blue blood.",
            END_TURN,
            usage(236, 176, 64),
        ),
    )
    assert turns(seen) == [(VOICE_RESPONSE, END_TURN)]
    assert interruptions(seen) == []
    assert of_type(seen, public.TurnStarted) == [public.TurnStarted()]
    assert of_type(seen, public.InputTranscriptFinal) == [
        public.InputTranscriptFinal(text="Tell me a fun fact about octopuses.", item_id=VOICE_USER)
    ]
    assert_closed_by_provider(seen)


TOOL_USER = "item_RkBOzZU3G8xI7CGr5c3bx"
TOOL_INTRO = "item_D7u6yB54HkJlpobluliGG"
TOOL_OUTPUT = "item_Ck9WzTVDPHpFr7FGG1YwQ"
TOOL_ANSWER = "item_4D55DwKU6JUDFQo8u0S1k"
TOOL_FIRST = "resp_46NrX6Ett9ZT1GJHGPNLA"
TOOL_SECOND = "resp_tUnFGx7RN4eY0vUa60mVg"
TOOL_CALL = "call_dKPdrLoR46gWHi2r"

TOOL_CALL_TRANSCRIPT = (
    user(TOOL_USER, "What's the weather like in Lisbon right now?"),
    said(TOOL_FIRST, TOOL_INTRO, "Let me check that for you.", TOOL_USE, usage(310, 95, 0)),
    said(
        TOOL_SECOND,
        TOOL_ANSWER,
        "It's twenty-one degrees and sunny in Lisbon.",
        END_TURN,
        usage(420, 160, 256),
    ),
)


async def test_openai_tool_call_runs_the_tool_before_the_model_goes_on() -> None:
    provider = trace("openai_tool_call")
    events = [timed.event for timed in provider.events]
    arguments: list[dict[str, Any]] = []

    async def get_weather(**kwargs: Any) -> dict[str, Any]:
        arguments.append(kwargs)
        return {"temperature_c": 21, "conditions": "sunny"}

    send, receive = provider_stream(len(events))
    tools: dict[str, Tool] = {"get_weather": get_weather}
    session = RealtimeSession(receive, commands=provider, tools=tools)
    subscription = session.events(media=False)
    answered = session.events(media=False)
    # The provider adds the function output to the conversation once the client sent it.
    holds = {
        index_of(events, anchor_of(TOOL_OUTPUT)): lambda: first(answered, public.ToolCallCompleted)
    }
    with anyio.fail_after(10):
        async with session, anyio.create_task_group() as task_group:
            task_group.start_soon(feed, send, events, holds)
            seen = await collect(subscription)

    assert session.transcript == TOOL_CALL_TRANSCRIPT
    assert arguments == [{"city": "Lisbon", "unit": "celsius"}]
    assert provider.commands_named("submit_tool_result") == [
        {"call_id": TOOL_CALL, "output": {"temperature_c": 21, "conditions": "sunny"}}
    ]
    # Arguments are never public: the request names only the call and the tool.
    assert tool_events(seen) == [
        public.ToolCallRequested(call_id=TOOL_CALL, tool_name="get_weather"),
        public.ToolCallCompleted(call_id=TOOL_CALL),
    ]
    assert turns(seen) == [(TOOL_FIRST, TOOL_USE), (TOOL_SECOND, END_TURN)]
    assert interruptions(seen) == []
    assert_closed_by_provider(seen)


BARGE_USER = "item_EI1JEzO3joOj37HyVaQXe"
BARGE_STORY = "item_kW9LctXb03rEMU64yTY6B"
BARGE_SECOND_USER = "item_zUZKC97i4xgciFnq9RBXO"
BARGE_ANSWER = "item_2tAG1yKwILALo5vR67b2r"
BARGE_FIRST = "resp_MQSkS3u9I5KKgTPnO1Krs"
BARGE_SECOND = "resp_MNWcyTLvJ47rGpctaegMI"


async def test_openai_barge_in_cuts_the_story_to_what_was_heard() -> None:
    provider = trace("openai_barge_in")
    events = [timed.event for timed in provider.events]
    send, receive = provider_stream(len(events))
    session = RealtimeSession(receive, commands=provider)
    subscription = session.events(media=False)
    # The recorded client truncated at 800 ms; this player got to 800.6 ms.
    player = Player(session, BARGE_STORY, stop_at_ms=800.6)
    holds = {index_of(events, lambda e: isinstance(e, ev.Interrupted)): player.user_talks.wait}
    with anyio.fail_after(10):
        async with session, anyio.create_task_group() as task_group:
            task_group.start_soon(player.run)
            task_group.start_soon(feed, send, events, holds)
            seen = await collect(subscription)

    assert provider.commands_named("truncate_assistant_output") == [
        {"item_id": BARGE_STORY, "content_index": 0, "audio_played_ms": 800}
    ]
    # 0.8 s at 150 words per minute (the story's audio never finished): two words.
    assert session.transcript == (
        user(BARGE_USER, "Tell me a story about a lighthouse."),
        said(BARGE_FIRST, BARGE_STORY, "Once upon", CANCELLED, usage(240, 220, 0), cut_at_ms=800),
        user(BARGE_SECOND_USER, "Actually, what time is it in Tokyo?"),
        said(
            BARGE_SECOND,
            BARGE_ANSWER,
            "It's just past midnight in Tokyo.",
            END_TURN,
            usage(480, 120, 320),
        ),
    )
    assert player.interrupted == public.Interrupted(response_id=BARGE_FIRST)
    assert interruptions(seen) == [BARGE_FIRST]
    # The discarded response the server never announced does not show up.
    assert turns(seen) == [(BARGE_FIRST, CANCELLED), (BARGE_SECOND, END_TURN)]
    assert of_type(seen, public.AssistantTranscriptTruncated) == [
        public.AssistantTranscriptTruncated(item_id=BARGE_STORY, audio_played_ms=800)
    ]
    assert_closed_by_provider(seen)


DEMO_USER = "item_rXl0gqn87b1PZqZrmktsO"
DEMO_INTRO = "item_3U9224xf2MvQyGplpErf8"
DEMO_OUTPUT = "item_sBCkotq0ZcfcDOrHIPESv"
DEMO_FORECAST = "item_jRmeA6mOOCrlwBVLuOJm5"
DEMO_SECOND_USER = "item_ug1dTorWLN3phv7lsDbcw"
DEMO_GOODBYE = "item_Sf599sVR9ubusu9jXPA38"
DEMO_FIRST = "resp_3NR0esNm5CsiqyM9kvKax"
DEMO_SECOND = "resp_cDkxYZxsKgCnB6nhdddVk"
DEMO_THIRD = "resp_pCAFcoACpP4B1nFmccqqp"
DEMO_CALL = "call_HnXoA3qjud57uKhK"


async def test_openai_demo_tool_call_then_barge_in() -> None:
    provider = trace("openai_demo")
    events = [timed.event for timed in provider.events]

    async def get_weather(city: str) -> dict[str, Any]:
        return {"temperature_c": 21, "conditions": "sunny", "city": city}

    send, receive = provider_stream(len(events))
    session = RealtimeSession(receive, commands=provider, tools={"get_weather": get_weather})
    subscription = session.events(media=False)
    answered = session.events(media=False)
    player = Player(session, DEMO_FORECAST, stop_at_ms=600.4)
    holds: dict[int, Callable[[], Awaitable[object]]] = {
        index_of(events, anchor_of(DEMO_OUTPUT)): lambda: first(answered, public.ToolCallCompleted),
        index_of(events, lambda e: isinstance(e, ev.Interrupted)): player.user_talks.wait,
    }
    with anyio.fail_after(10):
        async with session, anyio.create_task_group() as task_group:
            task_group.start_soon(player.run)
            task_group.start_soon(feed, send, events, holds)
            seen = await collect(subscription)

    assert provider.commands_named("submit_tool_result") == [
        {
            "call_id": DEMO_CALL,
            "output": {"temperature_c": 21, "conditions": "sunny", "city": "Lisbon"},
        }
    ]
    assert provider.commands_named("truncate_assistant_output") == [
        {"item_id": DEMO_FORECAST, "content_index": 0, "audio_played_ms": 600}
    ]
    assert session.transcript == (
        user(DEMO_USER, "What's the weather in Lisbon?"),
        said(DEMO_FIRST, DEMO_INTRO, "Let me check.", TOOL_USE, usage(280, 70, 0)),
        said(
            DEMO_SECOND,
            DEMO_FORECAST,
            "It's twenty-one",
            CANCELLED,
            usage(240, 150, 0),
            cut_at_ms=600,
        ),
        user(DEMO_SECOND_USER, "Great, thanks! That's all I needed."),
        said(
            DEMO_THIRD,
            DEMO_GOODBYE,
            "You're welcome. Enjoy the sunshine!",
            END_TURN,
            usage(520, 110, 384),
        ),
    )
    assert tool_events(seen) == [
        public.ToolCallRequested(call_id=DEMO_CALL, tool_name="get_weather"),
        public.ToolCallCompleted(call_id=DEMO_CALL),
    ]
    assert interruptions(seen) == [DEMO_SECOND]
    assert turns(seen) == [(DEMO_FIRST, TOOL_USE), (DEMO_SECOND, CANCELLED), (DEMO_THIRD, END_TURN)]
    assert_closed_by_provider(seen)


# -- Gemini Live ----------------------------------------------------------------------------------


async def test_gemini_voice_turn() -> None:
    session, seen = await replay(trace("gemini_voice_turn"))

    # The second question's transcription arrived after the answer had started;
    # the question still comes first.
    assert session.transcript == (
        user("gemini_user_1", "What's the capital of Portugal?"),
        said(
            "gemini_resp_2",
            "gemini_item_3",
            "The capital of Portugal is Lisbon.",
            END_TURN,
            usage(260, 90, None),
        ),
        user("gemini_user_4", "And of Spain?"),
        said(
            "gemini_resp_5",
            "gemini_item_6",
            "Madrid is the capital of Spain.",
            END_TURN,
            usage(380, 70, 256),
        ),
    )
    assert turns(seen) == [("gemini_resp_2", END_TURN), ("gemini_resp_5", END_TURN)]
    assert interruptions(seen) == []
    assert_closed_by_provider(seen)


GEMINI_CALL = "function-call-9174002975504736881"


async def test_gemini_interruption_cuts_the_answer_and_cancels_the_withdrawn_tool() -> None:
    provider = trace("gemini_interruption", supports_truncation=False)
    events = [timed.event for timed in provider.events]
    started = anyio.Event()
    stopped = anyio.Event()

    async def find_table(party_size: int, time: str) -> dict[str, Any]:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            stopped.set()
        raise AssertionError("unreachable")

    send, receive = provider_stream(len(events))
    session = RealtimeSession(receive, commands=provider, tools={"find_table": find_table})
    player = Player(session, "gemini_item_3", stop_at_ms=480.5)

    async def user_talks() -> None:
        await player.user_talks.wait()
        await started.wait()

    seen = await play_until_the_user_talks(session, player, events, send, user_talks)

    # Gemini cannot truncate: the session cuts its own transcript at the reported
    # position, 0.48 s at 150 words per minute.
    assert provider.commands_received == []
    assert of_type(seen, public.AssistantTranscriptTruncated) == [
        public.AssistantTranscriptTruncated(
            item_id="gemini_item_3", audio_played_ms=480, truncated_text="Sure,"
        )
    ]
    assert session.transcript == (
        user("gemini_user_1", "Book a table for two at eight tonight."),
        said(
            "gemini_resp_2",
            "gemini_item_3",
            "Sure,",
            CANCELLED,
            usage(300, 60, None),
            cut_at_ms=480,
        ),
        user("gemini_user_4", "Wait, make it three people."),
        said(
            "gemini_resp_5",
            "gemini_item_6",
            "No problem, a table for three at eight.",
            END_TURN,
            usage(420, 75, 128),
        ),
    )
    # The provider withdrew the call: the tool is stopped and nothing is answered.
    assert stopped.is_set()
    assert tool_events(seen) == [
        public.ToolCallRequested(call_id=GEMINI_CALL, tool_name="find_table"),
        public.ToolCallCancelled(call_id=GEMINI_CALL),
    ]
    assert interruptions(seen) == ["gemini_resp_2"]
    assert turns(seen) == [("gemini_resp_2", CANCELLED), ("gemini_resp_5", END_TURN)]
    # The trace's goAway is about the connection, not the conversation: a replay
    # has no connection to move, so subscribers see no error for it.
    assert of_type(seen, public.ProviderError) == []
    assert_closed_by_provider(seen)


# -- tools when the provider closes, or withdraws the call, right away ------------------------------


async def test_unpaced_replay_cancels_a_tool_that_has_not_returned() -> None:
    provider = trace("openai_tool_call")

    async def get_weather(city: str, unit: str) -> dict[str, Any]:
        await anyio.sleep(30)  # a slow weather service
        return {"temperature_c": 21}

    session, seen = await replay(provider, commands=provider, tools={"get_weather": get_weather})

    # The trace ends right after the request: the session closes, stops the tool
    # and says so before it closes.
    assert tool_events(seen) == [
        public.ToolCallRequested(call_id=TOOL_CALL, tool_name="get_weather"),
        public.ToolCallFailed(call_id=TOOL_CALL, error="session closed"),
    ]
    assert seen[-2:] == [
        public.ToolCallFailed(call_id=TOOL_CALL, error="session closed"),
        public.SessionClosed(reason="provider_closed"),
    ]
    assert provider.commands_received == []
    assert session.transcript == TOOL_CALL_TRANSCRIPT


async def test_unpaced_replay_reports_what_happened_to_a_tool_that_returns_at_once() -> None:
    provider = trace("openai_tool_call")

    async def get_weather(city: str, unit: str) -> dict[str, Any]:
        return {"temperature_c": 21}  # from a cache: no await

    _, seen = await replay(provider, commands=provider, tools={"get_weather": get_weather})

    # Either outcome is honest; a failure whose result reached the provider is not.
    outcome = [e for e in seen if isinstance(e, TOOL_OUTCOMES)]
    submitted = provider.commands_named("submit_tool_result")
    assert (outcome, submitted) in [
        ([public.ToolCallFailed(call_id=TOOL_CALL, error="session closed")], []),
        (
            [public.ToolCallCompleted(call_id=TOOL_CALL)],
            [{"call_id": TOOL_CALL, "output": {"temperature_c": 21}}],
        ),
    ]


async def test_a_call_withdrawn_before_its_tool_ran_is_not_answered() -> None:
    provider = trace("gemini_interruption", supports_truncation=False, hold_open=True)

    async def find_table(party_size: int, time: str) -> dict[str, Any]:
        return {"table": 12}  # no await

    async with provider.run() as stream:
        session = RealtimeSession(stream, commands=provider, tools={"find_table": find_table})
        subscription = session.events(media=False)
        withdrawn = session.events(media=False)
        with anyio.fail_after(10):
            async with session:
                await first(withdrawn, public.ToolCallCancelled)
                await anyio.wait_all_tasks_blocked()
                answers = list(provider.commands_received)
            seen = await collect(subscription)

    # The request and the withdrawal arrived together: the tool never got to answer.
    assert tool_events(seen) == [
        public.ToolCallRequested(call_id=GEMINI_CALL, tool_name="find_table"),
        public.ToolCallCancelled(call_id=GEMINI_CALL),
    ]
    assert answers == []


async def test_a_gemini_answer_played_to_the_end_keeps_its_whole_text() -> None:
    # The scripted provider knows Gemini cannot truncate; the player played all
    # 600 ms of the answer before the user spoke: nothing of it is cut or lost.
    provider = trace("gemini_interruption")
    assert provider.supports_truncation is False
    events = [timed.event for timed in provider.events]
    send, receive = provider_stream(len(events))
    session = RealtimeSession(receive, commands=provider)
    player = Player(session, "gemini_item_3", stop_at_ms=600)
    seen = await play_until_the_user_talks(session, player, events, send, player.user_talks.wait)

    assert provider.commands_received == []
    assert of_type(seen, public.AssistantTranscriptTruncated) == []
    assert session.transcript[1] == said(
        "gemini_resp_2",
        "gemini_item_3",
        "Sure, I'll look for a table for two at eight.",
        CANCELLED,
        usage(300, 60, None),
    )


def openai_answer(lane: str, deltas: Sequence[tuple[str, str]], full: str) -> list[dict[str, Any]]:
    """OpenAI Realtime server events of a one-item answer: ``deltas`` as (event id, text)."""
    kind = "output_text" if lane == "text" else "output_audio_transcript"
    where = {"response_id": "resp_1", "item_id": "item_1", "output_index": 0, "content_index": 0}
    item = {"id": "item_1", "type": "message", "role": "assistant", "content": []}
    return [
        {"type": "response.created", "event_id": "e0", "response": {"id": "resp_1"}},
        {
            "type": "response.output_item.added",
            "event_id": "e1",
            "response_id": "resp_1",
            "output_index": 0,
            "item": item,
        },
        *[
            {"type": f"response.{kind}.delta", "event_id": event_id, **where, "delta": delta}
            for event_id, delta in deltas
        ],
        {
            "type": f"response.{kind}.done",
            "event_id": "e9",
            **where,
            ("text" if lane == "text" else "transcript"): full,
        },
        {
            "type": "response.done",
            "event_id": "e10",
            "response": {"id": "resp_1", "status": "completed", "output": []},
        },
    ]


@pytest.mark.parametrize("lane", ["text", "spoken"])
async def test_a_repeated_openai_event_id_is_counted_and_the_done_event_repairs_the_text(
    lane: str,
) -> None:
    # The second delta reuses the first one's event id: the session drops it as a
    # duplicate, and the .done event, which carries the full text, brings it back.
    translator = OpenAIRealtimeTranslator()
    wire = openai_answer(lane, [("e2", "Hello "), ("e2", "world")], "Hello world")
    events = [event for server_event in wire for event in translator.translate(server_event)]
    with structlog.testing.capture_logs() as logs:
        session, seen = await replay(ScriptedProvider(events))
    assert session.transcript[0].text == "Hello world"
    assert session.stats.duplicate_deltas == 1
    (logged,) = [log for log in logs if log["event"] == "transcript_duplicate_deltas_dropped"]
    assert (logged["delta_id"], logged["session_id"]) == ("e2", session.session_id)
    # Captions say each word once: the dropped delta is not shown, the repair is.
    captions = [
        e.delta
        for e in seen
        if isinstance(e, public.OutputTextDelta | public.OutputAudioTranscriptDelta)
    ]
    assert "".join(captions) == "Hello world"
