"""Tool dispatch: one outcome per call, results submitted, the session keeps flowing."""

from __future__ import annotations

import asyncio
import datetime
import math
import threading
from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel
import pytest
import structlog
from helpers import RecordingCommands, collect, of_type, provider_stream

from realtime_session import RealtimeSession, SessionConfig, Subscription, Tool, ToolError, public
from realtime_session import events as ev

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.anyio

OUTCOMES = (
    public.ToolCallCompleted,
    public.ToolCallFailed,
    public.ToolCallTimedOut,
    public.ToolCallCancelled,
)


async def add(a: int, b: int) -> int:
    return a + b


async def boom() -> None:
    raise RuntimeError("kaboom")


async def slow() -> None:
    await anyio.sleep(30)


def call(call_id: str, name: str, arguments: ev.JsonValue = None) -> ev.ToolCallRequested:
    return ev.ToolCallRequested(
        call_id=call_id, tool_name=name, arguments={} if arguments is None else arguments
    )


async def run_calls(
    requests: list[ev.RealtimeSessionEvent], commands: RecordingCommands, *, wait_for: int
) -> tuple[RealtimeSession, list[public.RealtimeEvent]]:
    tools: dict[str, Tool] = {"add": add, "boom": boom, "slow": slow}
    send, receive = provider_stream()
    config = SessionConfig(tool_timeout_s=0.2)
    async with RealtimeSession(receive, config=config, commands=commands, tools=tools) as session:
        subscription = session.events()
        seen: list[public.RealtimeEvent] = []
        with send:
            for request in requests:
                send.send_nowait(request)
            with anyio.fail_after(10):
                while len([e for e in seen if isinstance(e, OUTCOMES)]) < wait_for:
                    seen.append(await subscription.receive())
        seen.extend(await collect(subscription))
    return session, seen


async def test_three_outcomes_and_what_is_submitted() -> None:
    commands = RecordingCommands()
    session, seen = await run_calls(
        [call("c1", "add", {"a": 2, "b": 3}), call("c2", "boom"), call("c3", "slow")],
        commands,
        wait_for=3,
    )
    outcomes = {e.call_id: e for e in seen if isinstance(e, OUTCOMES)}
    assert outcomes["c1"] == public.ToolCallCompleted(call_id="c1")
    # The type, never the text: exception messages carry arguments.
    assert outcomes["c2"] == public.ToolCallFailed(
        call_id="c2", error="tool 'boom' raised RuntimeError"
    )
    timed_out = outcomes["c3"]
    assert isinstance(timed_out, public.ToolCallTimedOut)
    assert timed_out.elapsed_ms >= 200
    assert commands.named("submit_tool_result") == [("c1", 5)]
    errors = commands.submitted_errors()
    assert errors["c2"] == "tool 'boom' raised RuntimeError"
    assert "timed out" in str(errors["c3"])
    assert session.stats.tool_calls == 3
    # Arguments are never public.
    assert public.ToolCallRequested(call_id="c1", tool_name="add") in seen


async def test_exactly_one_outcome_per_call() -> None:
    commands = RecordingCommands()
    _, seen = await run_calls(
        [call(f"c{i}", name) for i, name in enumerate(["boom", "nope", "boom", "slow"])],
        commands,
        wait_for=4,
    )
    per_call: dict[str, int] = {}
    for event in seen:
        if isinstance(event, OUTCOMES):
            per_call[event.call_id] = per_call.get(event.call_id, 0) + 1
    assert per_call == {"c0": 1, "c1": 1, "c2": 1, "c3": 1}


async def test_unknown_tool_and_non_object_arguments_fail_without_calling() -> None:
    commands = RecordingCommands()
    _, seen = await run_calls(
        [call("c1", "missing"), call("c2", "add", "a=1,b=2"), call("c3", "add", [1, 2])],
        commands,
        wait_for=3,
    )
    failures = {e.call_id: e.error for e in of_type(seen, public.ToolCallFailed)}
    assert failures["c1"] == "unknown tool 'missing'"
    assert failures["c2"] == "tool arguments must be a JSON object, got str"
    assert failures["c3"] == "tool arguments must be a JSON object, got list"
    assert commands.submitted_errors() == failures
    assert commands.named("submit_tool_result") == []


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_events_keep_flowing_while_a_tool_runs(kind: str) -> None:
    # A plain function blocks its worker thread, never the session.
    commands = RecordingCommands()
    waits: Tool
    release: Callable[[], None]
    if kind == "async":
        released = anyio.Event()
        release = released.set

        async def waits_async() -> str:
            await released.wait()
            return "done"

        waits = waits_async
    else:
        unblocked = threading.Event()
        release = unblocked.set

        def waits_sync() -> str:
            unblocked.wait(10)
            return "done"

        waits = waits_sync

    send, receive = provider_stream()
    async with RealtimeSession(receive, commands=commands, tools={"waits": waits}) as session:
        subscription = session.events()
        with send:
            send.send_nowait(call("c1", "waits"))
            send.send_nowait(ev.InputTranscriptPartial(text="still talking"))
            with anyio.fail_after(5):
                assert await subscription.receive() == public.ToolCallRequested(
                    call_id="c1", tool_name="waits"
                )
                assert await subscription.receive() == public.InputTranscriptPartial(
                    text="still talking"
                )
                release()
                assert await subscription.receive() == public.ToolCallCompleted(call_id="c1")
    assert commands.named("submit_tool_result") == [("c1", "done")]


async def test_provider_cancellation_stops_the_tool_and_submits_nothing() -> None:
    cancelled = anyio.Event()
    started = anyio.Event()
    commands = RecordingCommands()

    async def long_job() -> None:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    send, receive = provider_stream()
    async with RealtimeSession(receive, commands=commands, tools={"long_job": long_job}) as session:
        subscription = session.events()
        with send:
            send.send_nowait(call("c1", "long_job"))
            with anyio.fail_after(5):
                await started.wait()
                send.send_nowait(ev.ToolCallCancelled(call_id="c1"))
                await cancelled.wait()
        with anyio.fail_after(5):
            seen = await collect(subscription)
    assert seen == [
        public.ToolCallRequested(call_id="c1", tool_name="long_job"),
        public.ToolCallCancelled(call_id="c1"),
        public.SessionClosed(reason="provider_closed"),
    ]
    assert commands.calls == []


async def test_tool_running_at_close_is_cancelled_and_reported_before_session_closed() -> None:
    started = anyio.Event()
    commands = RecordingCommands()

    async def forever() -> None:
        started.set()
        await anyio.sleep_forever()

    send, receive = provider_stream()
    with send:
        async with RealtimeSession(
            receive, commands=commands, tools={"forever": forever}
        ) as session:
            subscription = session.events()
            send.send_nowait(call("c9", "forever"))
            with anyio.fail_after(5):
                await started.wait()
    seen = await collect(subscription)
    assert seen[-2:] == [
        public.ToolCallFailed(call_id="c9", error="session closed"),
        public.SessionClosed(reason="closed"),
    ]
    assert commands.calls == []


async def test_a_replayed_request_runs_the_tool_once() -> None:
    commands = RecordingCommands()
    _, seen = await run_calls(
        [call("c1", "add", {"a": 1, "b": 1}), call("c1", "add", {"a": 1, "b": 1})],
        commands,
        wait_for=1,
    )
    assert commands.named("submit_tool_result") == [("c1", 2)]
    assert len(of_type(seen, public.ToolCallCompleted)) == 1


async def test_a_result_that_cannot_be_submitted_is_a_failure() -> None:
    commands = RecordingCommands(failing=frozenset({"submit_tool_result"}))
    _, seen = await run_calls([call("c1", "add", {"a": 1, "b": 2})], commands, wait_for=1)
    [failure] = of_type(seen, public.ToolCallFailed)
    assert failure.call_id == "c1"
    assert "could not submit result" in failure.error
    assert of_type(seen, public.ToolCallCompleted) == []


async def test_a_result_being_submitted_when_the_provider_closes_still_completes() -> None:
    commands = RecordingCommands(submit_delay_s=0.2)
    returned = anyio.Event()

    async def answer() -> int:
        returned.set()
        return 42

    send, receive = provider_stream()
    session = RealtimeSession(receive, commands=commands, tools={"answer": answer})
    subscription = session.events()
    async with session:
        with send:
            send.send_nowait(call("c1", "answer"))
            with anyio.fail_after(5):
                await returned.wait()
            await anyio.sleep(0.05)  # the result is now on its way to the provider
        # The provider stream ended meanwhile; the answer still arrives.
        with anyio.fail_after(5):
            seen = await collect(subscription)
    assert commands.named("submit_tool_result") == [("c1", 42)]
    assert seen[-2:] == [
        public.ToolCallCompleted(call_id="c1"),
        public.SessionClosed(reason="provider_closed"),
    ]


async def test_a_tool_not_yet_returned_when_the_provider_closes_is_cancelled() -> None:
    commands = RecordingCommands()
    send, receive = provider_stream()
    session = RealtimeSession(receive, commands=commands, tools={"slow": slow})
    subscription = session.events()
    async with session:
        with send:
            send.send_nowait(call("c1", "slow"))
        with anyio.fail_after(5):
            seen = await collect(subscription)
    assert seen[-2:] == [
        public.ToolCallFailed(call_id="c1", error="session closed"),
        public.SessionClosed(reason="provider_closed"),
    ]
    assert commands.calls == []


async def test_a_withdrawal_after_the_outcome_is_not_a_second_outcome() -> None:
    commands = RecordingCommands()
    send, receive = provider_stream()
    session = RealtimeSession(receive, commands=commands, tools={"add": add})
    subscription = session.events()
    async with session:
        with send:
            send.send_nowait(call("c1", "add", {"a": 1, "b": 1}))
            with anyio.fail_after(5):
                while not of_type(
                    await collect_until_outcome(subscription), public.ToolCallCompleted
                ):
                    pass
            send.send_nowait(ev.ToolCallCancelled(call_id="c1"))
            send.send_nowait(ev.ToolCallCancelled(call_id="never-requested"))
        rest = await collect(subscription)
    assert rest == [
        public.ToolCallCancelled(call_id="never-requested"),
        public.SessionClosed(reason="provider_closed"),
    ]
    assert commands.named("submit_tool_result") == [("c1", 2)]


async def test_a_tool_that_never_awaits_withdrawn_before_it_ran_submits_nothing() -> None:
    commands = RecordingCommands()

    async def instant() -> str:
        return "cached"

    send, receive = provider_stream()
    session = RealtimeSession(receive, commands=commands, tools={"instant": instant})
    subscription = session.events()
    async with session:
        with send:
            # Requested and withdrawn in the same batch: the tool task has not started.
            send.send_nowait(call("c1", "instant"))
            send.send_nowait(ev.ToolCallCancelled(call_id="c1"))
        with anyio.fail_after(5):
            seen = await collect(subscription)
    assert seen == [
        public.ToolCallRequested(call_id="c1", tool_name="instant"),
        public.ToolCallCancelled(call_id="c1"),
        public.SessionClosed(reason="provider_closed"),
    ]
    assert commands.calls == []


async def collect_until_outcome(subscription: Subscription) -> list[public.RealtimeEvent]:
    seen = [await subscription.receive()]
    while not isinstance(seen[-1], OUTCOMES):
        seen.append(await subscription.receive())
    return seen


# -- hostile tools ------------------------------------------------------------------------------

CARD = "4111-1111-1111-1111"


async def run_one(
    tool: Tool, arguments: dict[str, ev.JsonValue] | None = None
) -> tuple[RecordingCommands, list[public.RealtimeEvent]]:
    """Run one call of ``tool`` named ``"t"``, then an event after it; what the call led to.

    The session must outlive the call: the event after it still arrives, and
    the session closes as the provider closed it.
    """
    commands = RecordingCommands()
    send, receive = provider_stream()
    async with RealtimeSession(receive, commands=commands, tools={"t": tool}) as session:
        subscription = session.events()
        with send:
            send.send_nowait(call("c1", "t", arguments))
            with anyio.fail_after(5):
                seen = await collect_until_outcome(subscription)
            send.send_nowait(ev.InputTranscriptPartial(text="still here"))
        with anyio.fail_after(5):
            seen += await collect(subscription)
    assert seen[-2:] == [
        public.InputTranscriptPartial(text="still here"),
        public.SessionClosed(reason="provider_closed"),
    ]
    return commands, seen


@pytest.mark.parametrize(
    "value",
    [datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC), math.nan, {"when": {1, 2}}],
    ids=["datetime", "nan", "set"],
)
async def test_a_result_json_cannot_carry_is_answered_with_an_error(value: object) -> None:
    async def returns_it() -> object:
        return value

    commands, seen = await run_one(returns_it)
    [failed] = of_type(seen, public.ToolCallFailed)
    assert failed.error.startswith("tool 't' returned a value JSON cannot carry")
    # The model is answered: one error, no result.
    assert commands.submitted_errors() == {"c1": failed.error}
    assert commands.named("submit_tool_result") == []


async def test_an_exception_is_reported_by_its_type_never_its_text() -> None:
    async def lookup(card: str) -> str:
        return {"5500-0000-0000-0004": "Jane"}[card]  # KeyError: '4111-...'

    with structlog.testing.capture_logs() as logs:
        commands, seen = await run_one(lookup, {"card": CARD})
    assert of_type(seen, public.ToolCallFailed) == [
        public.ToolCallFailed(call_id="c1", error="tool 't' raised KeyError")
    ]
    assert commands.submitted_errors() == {"c1": "tool 't' raised KeyError"}
    assert CARD not in repr(seen)
    [failure] = [entry for entry in logs if entry["event"] == "tool_call_failed"]
    assert failure["error_type"] == "KeyError"
    # Logged with the tool's traceback, as any renderer would print it, minus the card.
    rendered = structlog.processors.format_exc_info(None, "error", dict(failure))
    assert "Traceback" in rendered["exception"]
    assert "in lookup" in rendered["exception"]
    assert "KeyError" in rendered["exception"]
    for entry in logs:
        assert CARD not in repr(entry)
        assert CARD not in repr(structlog.processors.format_exc_info(None, "x", dict(entry)))


async def test_a_tool_error_is_meant_for_display_and_shown_as_it_is() -> None:
    async def lookup(card: str) -> str:
        raise ToolError("No card on file: ask for another one.")

    commands, seen = await run_one(lookup, {"card": CARD})
    expected = "No card on file: ask for another one."
    assert of_type(seen, public.ToolCallFailed) == [
        public.ToolCallFailed(call_id="c1", error=expected)
    ]
    assert commands.submitted_errors() == {"c1": expected}


async def raises_asyncio_cancelled() -> None:
    await anyio.lowlevel.checkpoint()
    raise asyncio.CancelledError


async def raises_a_cancellation_of_its_own_scope() -> None:
    # The backend's own cancellation exception, raised outside the scope it belongs to.
    caught: BaseException | None = None
    with anyio.CancelScope() as scope:
        scope.cancel()
        try:
            await anyio.sleep(1)
        except anyio.get_cancelled_exc_class() as exc:
            caught = exc
    assert caught is not None
    raise caught


@pytest.mark.parametrize("tool", [raises_asyncio_cancelled, raises_a_cancellation_of_its_own_scope])
async def test_a_tool_raising_a_cancellation_fails_that_call_alone(tool: Tool) -> None:
    commands, seen = await run_one(tool)
    [failed] = of_type(seen, public.ToolCallFailed)
    assert failed.error.startswith("tool 't' raised ")
    assert commands.submitted_errors() == {"c1": failed.error}


@pytest.mark.parametrize("anyio_backend", [pytest.param(("asyncio", {}), id="asyncio")])
async def test_a_tool_cancelling_its_own_task_fails_that_call_alone() -> None:
    async def cancels_itself() -> str:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await anyio.sleep(1)
        return "never"

    commands, seen = await run_one(cancels_itself)
    assert of_type(seen, public.ToolCallFailed) == [
        public.ToolCallFailed(call_id="c1", error="tool 't' raised CancelledError")
    ]
    assert commands.submitted_errors() == {"c1": "tool 't' raised CancelledError"}


async def test_a_synchronous_tool_runs_in_a_worker_thread() -> None:
    loop_thread = threading.get_ident()
    ran_in: list[int] = []

    def add_sync(a: int, b: int) -> dict[str, int]:
        ran_in.append(threading.get_ident())
        return {"sum": a + b}

    commands, seen = await run_one(add_sync, {"a": 2, "b": 3})
    assert of_type(seen, public.ToolCallCompleted) == [public.ToolCallCompleted(call_id="c1")]
    assert commands.named("submit_tool_result") == [("c1", {"sum": 5})]
    assert ran_in and ran_in[0] != loop_thread


async def test_a_synchronous_tool_past_its_timeout_is_answered_and_abandoned() -> None:
    release = threading.Event()

    def hangs() -> str:
        release.wait(10)
        return "late"

    commands = RecordingCommands()
    send, receive = provider_stream()
    config = SessionConfig(tool_timeout_s=0.2)
    try:
        async with RealtimeSession(
            receive, config=config, commands=commands, tools={"hangs": hangs}
        ) as session:
            subscription = session.events()
            with send:
                send.send_nowait(call("c1", "hangs"))
                with anyio.fail_after(5):
                    seen = await collect_until_outcome(subscription)
    finally:
        release.set()
    [timed_out] = of_type(seen, public.ToolCallTimedOut)
    assert timed_out.call_id == "c1"
    assert "timed out" in str(commands.submitted_errors()["c1"])
    assert commands.named("submit_tool_result") == []


def test_a_tool_that_is_not_callable_is_refused_at_construction() -> None:
    send, receive = provider_stream()
    with send, receive, pytest.raises(TypeError, match="tool 'weather' must be callable, got str"):
        RealtimeSession(
            receive,
            commands=RecordingCommands(),
            tools={"weather": "sunny"},  # type: ignore[dict-item]
        )
