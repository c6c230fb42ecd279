"""Tool dispatch: one outcome per call, results submitted, the session keeps flowing."""

from __future__ import annotations

import anyio
import pytest
from helpers import RecordingCommands, collect, of_type, provider_stream

from realtime_session import RealtimeSession, SessionConfig, Subscription, Tool, public
from realtime_session import events as ev

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
    assert outcomes["c2"] == public.ToolCallFailed(call_id="c2", error="RuntimeError: kaboom")
    timed_out = outcomes["c3"]
    assert isinstance(timed_out, public.ToolCallTimedOut)
    assert timed_out.elapsed_ms >= 200
    assert commands.named("submit_tool_result") == [("c1", 5)]
    errors = commands.submitted_errors()
    assert errors["c2"] == "RuntimeError: kaboom"
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


async def test_events_keep_flowing_while_a_tool_runs() -> None:
    release = anyio.Event()
    commands = RecordingCommands()

    async def waits() -> str:
        await release.wait()
        return "done"

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
                release.set()
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
