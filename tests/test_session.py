"""The session actor: lifecycle, faults, commands, barge-in, heard prefixes, orphans, logging."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import pytest
import structlog
from helpers import (
    RecordingCommands,
    audio,
    collect,
    of_type,
    provider_stream,
    replay,
    spoken,
    text,
    wait_until,
)

from realtime_session import (
    NoProviderCommands,
    RealtimeSession,
    SessionConfig,
    SessionFailed,
    public,
)
from realtime_session import events as ev
from realtime_session import transcript as tr
from realtime_session.recording import read_events

if TYPE_CHECKING:
    from collections.abc import Callable, MutableMapping
    from pathlib import Path

pytestmark = pytest.mark.anyio


class ListStream(anyio.abc.ObjectReceiveStream[ev.RealtimeSessionEvent]):
    """A plain ObjectReceiveStream with no receive_nowait, optionally failing at the end."""

    def __init__(
        self, events: list[ev.RealtimeSessionEvent], error: Exception | None = None
    ) -> None:
        self._events = list(events)
        self._error = error
        self.closed = False

    async def receive(self) -> ev.RealtimeSessionEvent:
        await anyio.lowlevel.checkpoint()
        if self._events:
            return self._events.pop(0)
        if self._error is not None:
            raise self._error
        raise anyio.EndOfStream

    async def aclose(self) -> None:
        self.closed = True


def words(response_id: str, item_id: str, sentence: str) -> list[ev.RealtimeSessionEvent]:
    return [spoken(response_id, item_id, w + " ", n) for n, w in enumerate(sentence.split())]


async def test_works_with_any_object_receive_stream_and_closes_it() -> None:
    stream = ListStream(
        [ev.InputTranscriptFinalForItem(item_id="u1", text="hello"), ev.TurnStarted()]
    )
    session = RealtimeSession(stream)
    subscription = session.events()  # before the actor starts reading
    async with session:
        with anyio.fail_after(5):
            seen = await collect(subscription)
    assert [type(e) for e in seen] == [
        public.InputTranscriptFinal,
        public.TranscriptCommitted,
        public.TurnStarted,
        public.SessionClosed,
    ]
    assert seen[-1] == public.SessionClosed(reason="provider_closed")
    assert stream.closed


def test_a_list_as_provider_events_is_refused_at_construction() -> None:
    with pytest.raises(TypeError) as caught:
        RealtimeSession([ev.TurnStarted()])  # type: ignore[arg-type]
    assert str(caught.value).startswith(
        "provider_events must be an anyio ObjectReceiveStream of RealtimeSessionEvent"
    )
    assert str(caught.value).endswith("got list")


def test_the_send_end_as_provider_events_is_refused_at_construction() -> None:
    send, receive = provider_stream()
    with send, receive, pytest.raises(TypeError, match="got MemoryObjectSendStream"):
        RealtimeSession(send)  # type: ignore[arg-type]


async def test_failing_provider_stream_fails_the_session_not_the_application() -> None:
    stream = ListStream([ev.TurnStarted()], error=ConnectionResetError("peer went away"))
    session = RealtimeSession(stream)
    subscription = session.events()
    async with session:
        with anyio.fail_after(5):
            seen = await collect(subscription)
            with pytest.raises(SessionFailed) as caught:
                await session.wait_closed()
    closed = seen[-1]
    assert isinstance(closed, public.SessionClosed)
    assert closed.reason == "failed"
    assert closed.error is not None and "peer went away" in closed.error
    assert isinstance(caught.value.__cause__, ConnectionResetError)
    assert caught.value.error == closed.error


async def test_fatal_provider_error_fails_the_session() -> None:
    send, receive = provider_stream()
    async with RealtimeSession(receive) as session:
        subscription = session.events()
        send.send_nowait(ev.ProviderError(code="rate_limited", message="slow down"))
        send.send_nowait(ev.ProviderError(code="session_expired", message="bye", fatal=True))
        send.send_nowait(ev.TurnStarted())  # never applied: the session has ended
        with anyio.fail_after(5):
            seen = await collect(subscription)
            with pytest.raises(SessionFailed, match="session_expired"):
                await session.wait_closed()
        send.close()
    assert seen == [
        public.ProviderError(code="rate_limited", message="slow down"),
        public.ProviderError(code="session_expired", message="bye", fatal=True),
        public.SessionClosed(reason="failed", error="provider error session_expired: bye"),
    ]


async def test_objects_that_are_not_events_are_rejected_and_counted() -> None:
    send, receive = provider_stream()
    async with RealtimeSession(receive) as session:
        subscription = session.events()
        with send:
            send.send_nowait("not an event")  # type: ignore[arg-type]
            send.send_nowait(public.TurnStarted())  # type: ignore[arg-type]
            send.send_nowait(ev.TurnStarted())
        with anyio.fail_after(5):
            seen = await collect(subscription)
    assert seen == [public.TurnStarted(), public.SessionClosed(reason="provider_closed")]
    assert session.stats.rejected == 2
    assert session.stats.events_in == 3


async def test_cancelling_the_enclosing_scope_leaves_no_task_behind() -> None:
    before = len(anyio.get_running_tasks())
    started = anyio.Event()

    async def forever() -> None:
        started.set()
        await anyio.sleep_forever()

    send, receive = provider_stream()
    commands = RecordingCommands()
    with send, anyio.CancelScope() as scope:
        async with RealtimeSession(
            receive, commands=commands, tools={"forever": forever}
        ) as session:
            subscription = session.events()
            send.send_nowait(ev.ToolCallRequested(call_id="c1", tool_name="forever", arguments={}))
            await started.wait()
            scope.cancel()
            await anyio.sleep_forever()
    assert scope.cancelled_caught
    assert len(anyio.get_running_tasks()) == before
    seen = await collect(subscription)
    assert seen[-2:] == [
        public.ToolCallFailed(call_id="c1", error="session closed"),
        public.SessionClosed(reason="closed"),
    ]


async def test_body_exception_propagates_unwrapped_and_closes_the_session() -> None:
    send, receive = provider_stream()
    with send, pytest.raises(KeyError, match="application bug"):
        async with RealtimeSession(receive) as session:
            subscription = session.events()
            raise KeyError("application bug")
    assert await collect(subscription) == [public.SessionClosed(reason="closed")]


async def test_command_verbs_forward_to_the_provider() -> None:
    send, receive = provider_stream()
    commands = RecordingCommands()
    chunk = ev.AudioInput(chunk=ev.RealtimeAudioChunk(data=b"\x00\x00"))
    with send:
        async with RealtimeSession(receive, commands=commands) as session:
            await session.send_input(chunk)
            await session.commit_turn()
            await session.interrupt()
            await session.truncate_assistant_output("a1", 0, 1200)
            await session.submit_tool_result("c1", {"ok": True})
            await session.submit_tool_error("c2", "nope")
    assert commands.calls == [
        ("send_input", (chunk,)),
        ("commit_turn", ()),
        ("interrupt", ()),
        ("truncate_assistant_output", ("a1", 0, 1200)),
        ("submit_tool_result", ("c1", {"ok": True})),
        ("submit_tool_error", ("c2", "nope")),
    ]


async def test_command_verbs_without_commands_raise_a_clear_error() -> None:
    send, receive = provider_stream()
    with send:
        async with RealtimeSession(receive) as session:
            with pytest.raises(
                NoProviderCommands, match=r"commit_turn\(\) needs provider commands"
            ):
                await session.commit_turn()


def test_tools_without_commands_are_refused() -> None:
    send, receive = provider_stream()
    with send, receive, pytest.raises(ValueError, match="tools need commands"):
        RealtimeSession(receive, tools={})


async def test_report_playback_validates_its_input() -> None:
    send, receive = provider_stream()
    with send, receive:
        session = RealtimeSession(receive)
        with pytest.raises(ValueError, match="played_ms"):
            session.report_playback("a1", -1)
        with pytest.raises(ValueError, match="played_ms"):
            session.report_playback("a1", float("nan"))
        with pytest.raises(TypeError, match="played_ms"):
            session.report_playback("a1", "10")  # type: ignore[arg-type]


ANSWER = "one two three four five six seven eight "


async def run_barge_in(
    *,
    played_ms: float | None,
    commands: RecordingCommands | None,
    completed: bool,
    config: SessionConfig = SessionConfig(),
    after: list[ev.RealtimeSessionEvent] | None = None,
) -> tuple[RealtimeSession, list[public.RealtimeEvent]]:
    """1 s of audio for r1/a1 with its words; playback reported; then the user talks."""
    prelude: list[ev.RealtimeSessionEvent] = [
        ev.InputTranscriptFinalForItem(item_id="u1", text="tell me a story"),
        *[audio("r1", "a1", tag, ms=100) for tag in range(10)],
        *[
            spoken("r1", "a1", w + " ", n, previous="u1")
            for n, w in enumerate(["one", "two", "three", "four", "five", "six", "seven", "eight"])
        ],
    ]
    if completed:
        prelude.append(ev.TurnCompleted(response_id="r1"))
    barge: list[ev.RealtimeSessionEvent] = (
        [ev.TurnStarted()] if completed else [ev.Interrupted(response_id="r1"), ev.TurnStarted()]
    )
    send, receive = provider_stream()
    async with RealtimeSession(receive, config=config, commands=commands) as session:
        subscription = session.events()
        with send:
            for event in prelude:
                send.send_nowait(event)
            await wait_until(lambda: session.stats.events_in == len(prelude))
            if played_ms is not None:
                session.report_playback("a1", played_ms)
            for event in barge:
                send.send_nowait(event)
            await wait_until(lambda: session.stats.events_in == len(prelude) + len(barge))
            await anyio.sleep(0.01)  # let a truncate command task run
            for event in after or []:
                send.send_nowait(event)
        with anyio.fail_after(5):
            seen = await collect(subscription)
    return session, seen


async def test_auto_truncate_sends_the_reported_position_on_interrupt() -> None:
    commands = RecordingCommands()
    _session, seen = await run_barge_in(played_ms=400.7, commands=commands, completed=False)
    assert commands.named("truncate_assistant_output") == [("a1", 0, 400)]
    assert public.Interrupted(response_id="r1") in seen


@pytest.mark.parametrize("played_ms", [0.0, 0.4, 1000.0, 5000.0])
async def test_auto_truncate_skips_zero_and_fully_played(played_ms: float) -> None:
    commands = RecordingCommands()
    await run_barge_in(played_ms=played_ms, commands=commands, completed=False)
    assert commands.named("truncate_assistant_output") == []


COMMANDS = [
    pytest.param(lambda: RecordingCommands(), id="provider-truncates"),
    pytest.param(lambda: RecordingCommands(supports_truncation=False), id="cannot-truncate"),
    pytest.param(lambda: None, id="no-commands"),
]


@pytest.mark.parametrize("make_commands", COMMANDS)
@pytest.mark.parametrize("played_ms", [1000.0, 5000.0])
async def test_an_item_heard_in_full_keeps_its_whole_text(
    make_commands: Callable[[], RecordingCommands | None], played_ms: float
) -> None:
    commands = make_commands()
    session, seen = await run_barge_in(played_ms=played_ms, commands=commands, completed=False)
    answer = session.transcript[-1]
    assert isinstance(answer, tr.AssistantMessage)
    assert answer.blocks == (tr.TranscriptBlock(item_id="a1", text=ANSWER),)
    assert answer.stop_reason is ev.StopReason.CANCELLED
    # Nothing was cut: no truncation sent, none applied.
    assert commands is None or commands.named("truncate_assistant_output") == []
    assert of_type(seen, public.AssistantTranscriptTruncated) == []


async def test_a_session_without_commands_cuts_its_own_transcript_where_playback_was() -> None:
    session, seen = await run_barge_in(played_ms=600, commands=None, completed=False)
    # No provider will confirm a truncation: the session cuts at the reported
    # position, 2.5 words/s while audio was still arriving -> 2 words.
    assert of_type(seen, public.AssistantTranscriptTruncated) == [
        public.AssistantTranscriptTruncated(
            item_id="a1", audio_played_ms=600, truncated_text="one two"
        )
    ]
    assert session.transcript[-1].text == "one two"


async def test_a_session_without_commands_or_reports_waits_for_the_streams_truncation() -> None:
    truncated = ev.AssistantTranscriptTruncated(item_id="a1", audio_played_ms=800)
    session, seen = await run_barge_in(
        played_ms=None, commands=None, completed=False, after=[truncated]
    )
    # It knows nothing of the playback and has nobody to tell: the provider's cut decides.
    assert of_type(seen, public.AssistantTranscriptTruncated) == [
        public.AssistantTranscriptTruncated(item_id="a1", audio_played_ms=800)
    ]
    assert session.transcript[-1].text == "one two"


async def barge_in_after(
    pause_s: float,
    commands: RecordingCommands,
    *,
    audio_ms: int = 1000,
    responses: int = 1,
) -> tuple[RealtimeSession, list[public.RealtimeEvent], float, list[MutableMapping[str, Any]]]:
    """Audio and words per response; ``pause_s`` later the provider reports a barge-in.

    No playback is reported. Returns the session, what a subscriber saw, an upper
    bound of the time between each item's first chunk and the barge-in, and the logs.
    """
    send, receive = provider_stream()
    with structlog.testing.capture_logs() as logs:
        async with RealtimeSession(receive, commands=commands) as session:
            subscription = session.events()
            with send:
                sent = 0
                started = anyio.current_time()
                for n in range(responses):
                    prelude = [
                        *[audio(f"r{n}", f"a{n}", tag, ms=100) for tag in range(audio_ms // 100)],
                        *words(f"r{n}", f"a{n}", ANSWER),
                    ]
                    for event in prelude:
                        send.send_nowait(event)
                    sent += len(prelude)
                await wait_until(lambda: session.stats.events_in == sent)
                await anyio.sleep(pause_s)
                for n in range(responses):
                    send.send_nowait(ev.Interrupted(response_id=f"r{n}"))
                sent += responses
                await wait_until(lambda: session.stats.events_in == sent)
                elapsed_ms = (anyio.current_time() - started) * 1000
                await anyio.sleep(0.01)  # let the truncate command tasks run
            with anyio.fail_after(5):
                seen = await collect(subscription)
    return session, seen, elapsed_ms, logs


async def test_without_playback_reports_the_position_is_estimated_as_a_player_would() -> None:
    commands = RecordingCommands()
    session, _, elapsed_ms, logs = await barge_in_after(0.3, commands, responses=2)
    # A player that started each item at its first chunk has played the time since,
    # at most the audio received: the truncation goes out at that position.
    sent = sorted(commands.named("truncate_assistant_output"))  # by item: tasks run in any order
    assert [(item, index) for item, index, _ in sent] == [("a0", 0), ("a1", 0)]
    for _, _, position in sent:
        assert isinstance(position, int)
        assert 300 <= position <= min(1000, elapsed_ms)
    # Said once per session, not once per item.
    warnings = [log for log in logs if log["event"] == "playback_not_reported"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"
    assert warnings[0]["session_id"] == session.session_id


async def test_without_playback_reports_audio_older_than_its_length_was_heard_in_full() -> None:
    commands = RecordingCommands(supports_truncation=False)
    session, seen, _, _ = await barge_in_after(0.25, commands, audio_ms=200)
    assert commands.named("truncate_assistant_output") == []
    assert of_type(seen, public.AssistantTranscriptTruncated) == []
    assert session.transcript[-1].text == ANSWER


async def test_without_playback_reports_a_provider_that_cannot_truncate_gets_an_estimated_cut() -> (
    None
):
    commands = RecordingCommands(supports_truncation=False)
    session, seen, elapsed_ms, _ = await barge_in_after(0.45, commands, audio_ms=5000)
    (cut,) = of_type(seen, public.AssistantTranscriptTruncated)
    assert 450 <= cut.audio_played_ms <= elapsed_ms
    # 2.5 words/s while the audio was still arriving: at least one word was heard.
    assert cut.truncated_text is not None
    assert cut.truncated_text.startswith("one")
    assert session.transcript[-1].text == cut.truncated_text


async def test_auto_truncate_off_sends_nothing() -> None:
    commands = RecordingCommands()
    await run_barge_in(
        played_ms=400, commands=commands, completed=False, config=SessionConfig(auto_truncate=False)
    )
    assert commands.named("truncate_assistant_output") == []


async def test_a_failing_truncate_is_logged_not_fatal() -> None:
    commands = RecordingCommands(failing=frozenset({"truncate_assistant_output"}))
    with structlog.testing.capture_logs() as logs:
        session, seen = await run_barge_in(played_ms=400, commands=commands, completed=False)
    assert seen[-1] == public.SessionClosed(reason="provider_closed")
    failures = [log for log in logs if log["event"] == "auto_truncate_failed"]
    assert len(failures) == 1
    assert failures[0]["item_id"] == "a1"
    assert failures[0]["session_id"] == session.session_id


async def test_playback_aware_barge_in_after_the_response_completed() -> None:
    commands = RecordingCommands()
    truncated = ev.AssistantTranscriptTruncated(item_id="a1", audio_played_ms=300)
    session, seen = await run_barge_in(
        played_ms=300, commands=commands, completed=True, after=[truncated, ev.TurnStarted()]
    )
    # The session interrupted r1 itself, once, before publishing TurnStarted.
    interrupts = [i for i, e in enumerate(seen) if isinstance(e, public.Interrupted)]
    assert len(interrupts) == 1
    assert seen[interrupts[0]] == public.Interrupted(response_id="r1")
    assert isinstance(seen[interrupts[0] + 1], public.TurnStarted)
    assert commands.named("truncate_assistant_output") == [("a1", 0, 300)]
    # The provider's late truncation revised the committed message: 8 words in
    # 1 s of complete audio, 0.3 s played -> floor(0.3 * 8 + 0.5) = 2 words.
    revised = of_type(seen, public.TranscriptRevised)
    assert len(revised) == 1
    message = revised[0].message
    assert isinstance(message, tr.AssistantMessage)
    assert message.text == "one two"
    block = message.blocks[0]
    assert isinstance(block, tr.TranscriptBlock)
    assert (block.truncated, block.estimated, block.audio_played_ms) == (True, True, 300)
    assert session.transcript[-1] == message


async def test_no_playback_reports_means_no_playback_aware_barge_in() -> None:
    commands = RecordingCommands()
    _, seen = await run_barge_in(played_ms=None, commands=commands, completed=True)
    assert of_type(seen, public.Interrupted) == []
    assert commands.calls == []


async def test_provider_without_truncation_gets_a_local_estimated_cut() -> None:
    commands = RecordingCommands(supports_truncation=False)
    session, seen = await run_barge_in(played_ms=600, commands=commands, completed=False)
    assert commands.named("truncate_assistant_output") == []
    # Audio still arriving: 2.5 words/s, 0.6 s played -> floor(2.0) = 2 words.
    assert of_type(seen, public.AssistantTranscriptTruncated) == [
        public.AssistantTranscriptTruncated(
            item_id="a1", audio_played_ms=600, truncated_text="one two"
        )
    ]
    assistant = session.transcript[-1]
    assert isinstance(assistant, tr.AssistantMessage)
    assert assistant.text == "one two"
    assert assistant.stop_reason is ev.StopReason.CANCELLED
    block = assistant.blocks[0]
    assert isinstance(block, tr.TranscriptBlock)
    assert (block.truncated, block.estimated) == (True, True)


async def test_truncation_without_text_is_estimated_from_audio() -> None:
    base: list[ev.RealtimeSessionEvent] = [
        *[audio("r1", "a1", t, ms=500) for t in range(4)],  # 2 s of audio
        *words("r1", "a1", "one two three four five six seven eight"),
    ]
    # Complete audio: the item's own rate, 8 words / 2 s; 1 s played -> 4 words.
    session, _ = await replay(
        [
            *base,
            ev.TurnCompleted(response_id="r1"),
            ev.AssistantTranscriptTruncated(item_id="a1", audio_played_ms=1000),
        ]
    )
    assert session.transcript[-1].text == "one two three four"
    # Audio cut off by the interrupt: 2.5 words/s; 1 s played -> floor(3.0) = 3 words.
    session, _ = await replay(
        [
            *base,
            ev.Interrupted(response_id="r1"),
            ev.AssistantTranscriptTruncated(item_id="a1", audio_played_ms=1000),
        ]
    )
    message = session.transcript[-1]
    assert isinstance(message, tr.AssistantMessage)
    assert message.text == "one two three"
    assert message.blocks[0] == tr.TranscriptBlock(
        item_id="a1", text="one two three", truncated=True, estimated=True, audio_played_ms=1000
    )


async def test_truncation_at_zero_ms_keeps_nothing() -> None:
    session, _ = await replay(
        [
            *words("r1", "a1", "never heard"),
            ev.Interrupted(response_id="r1"),
            ev.AssistantTranscriptTruncated(item_id="a1", audio_played_ms=0),
            ev.InputTranscriptFinalForItem(item_id="u2", previous_item_id="a1", text="next"),
        ]
    )
    assert session.transcript == (tr.UserMessage(item_id="u2", text="next"),)


async def test_truncation_with_text_is_taken_as_given() -> None:
    session, seen = await replay(
        [
            *words("r1", "a1", "one two three"),
            ev.Interrupted(response_id="r1"),
            ev.AssistantTranscriptTruncated(
                item_id="a1", audio_played_ms=700, truncated_text="one tw"
            ),
        ]
    )
    message = session.transcript[-1]
    assert isinstance(message, tr.AssistantMessage)
    assert message.blocks[0] == tr.TranscriptBlock(
        item_id="a1", text="one tw", truncated=True, estimated=False, audio_played_ms=700
    )
    assert (
        public.AssistantTranscriptTruncated(
            item_id="a1", audio_played_ms=700, truncated_text="one tw"
        )
        in seen
    )


async def test_interrupt_without_response_id_reaches_every_response_in_flight() -> None:
    _session, seen = await replay(
        [text("r1", "t1", "written one", 0), text("r2", "t2", "written two", 0), ev.Interrupted()]
    )
    committed = [e.message for e in of_type(seen, public.TranscriptCommitted)]
    assert [m.response_id for m in committed] == ["r1", "r2"]  # type: ignore[union-attr]
    assert all(m.stop_reason is ev.StopReason.CANCELLED for m in committed)  # type: ignore[union-attr]
    assert seen.index(public.Interrupted(response_id=None)) < seen.index(
        public.TranscriptCommitted(message=committed[0])
    )


async def test_orphans_are_released_after_the_timeout() -> None:
    send, receive = provider_stream()
    config = SessionConfig(orphan_timeout_s=0.05)
    async with RealtimeSession(receive, config=config) as session:
        subscription = session.events()
        with send:
            send.send_nowait(
                ev.InputTranscriptFinalForItem(
                    item_id="u2", previous_item_id="never-seen", text="hi"
                )
            )
            with anyio.fail_after(5):
                first = await subscription.receive()
                assert isinstance(first, public.InputTranscriptFinal)
                assert session.stats.pending_items == 1
                committed = await subscription.receive()
    assert committed == public.TranscriptCommitted(message=tr.UserMessage(item_id="u2", text="hi"))
    assert session.stats.pending_items == 0


async def test_logs_are_bound_to_the_session_and_never_per_chunk() -> None:
    with structlog.testing.capture_logs() as logs:
        session, seen = await replay(
            [audio("r1", "a1", t) for t in range(500)], SessionConfig(media_buffer=8)
        )
    assert len(of_type(seen, public.OutputAudioChunk)) == 8
    assert len(logs) <= 3
    assert {log["session_id"] for log in logs} == {session.session_id}
    closed = next(log for log in logs if log["event"] == "session_closed")
    assert closed["media_dropped"] == 492
    assert closed["reason"] == "provider_closed"


async def test_stats_snapshot() -> None:
    session, _ = await replay(
        [ev.InputTranscriptFinalForItem(item_id="u1", text="a"), audio("r1", "a1")],
        SessionConfig(),
    )
    stats = session.stats
    assert stats.events_in == 2
    # InputTranscriptFinal, TranscriptCommitted, audio, SessionClosed
    assert stats.published == 4
    assert (stats.rejected, stats.subscribers, stats.pending_items, stats.tool_calls) == (
        0,
        0,
        0,
        0,
    )


class CountingStream(anyio.abc.ObjectReceiveStream[ev.RealtimeSessionEvent]):
    """Wraps a memory stream and counts awaited and immediate receives."""

    def __init__(self, inner: anyio.abc.ObjectReceiveStream[ev.RealtimeSessionEvent]) -> None:
        self._inner = inner
        self.awaited = 0
        self.immediate = 0

    async def receive(self) -> ev.RealtimeSessionEvent:
        self.awaited += 1
        return await self._inner.receive()

    def receive_nowait(self) -> ev.RealtimeSessionEvent:
        self.immediate += 1
        return self._inner.receive_nowait()  # type: ignore[attr-defined,no-any-return]

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_the_actor_drains_in_batches_instead_of_awaiting_per_event() -> None:
    send, receive = provider_stream(1000)
    with send:
        for index in range(600):
            send.send_nowait(ev.InputTranscriptPartial(text=str(index)))
    stream = CountingStream(receive)
    session = RealtimeSession(stream)
    subscription = session.events()
    async with session:
        with anyio.fail_after(5):
            seen = await collect(subscription)
    assert len(seen) == 601
    # One awaited receive per batch of up to 256 events, plus the one that ends.
    assert stream.awaited <= 4
    assert stream.immediate >= 597


def test_a_session_can_be_constructed_outside_an_event_loop() -> None:
    send, receive = provider_stream()
    session = RealtimeSession(receive)
    subscription = session.events()

    async def main() -> list[public.RealtimeEvent]:
        async with session:
            with send:
                send.send_nowait(ev.TurnStarted())
            await session.wait_closed()
        return await collect(subscription)

    assert anyio.run(main) == [public.TurnStarted(), public.SessionClosed(reason="provider_closed")]


async def test_aclose_before_entering_closes_every_subscription() -> None:
    send, receive = provider_stream()
    with send:
        session = RealtimeSession(receive)
        subscription = session.events()
        await session.aclose()
        await session.wait_closed()
    assert session.closed
    assert await collect(subscription) == [public.SessionClosed(reason="closed")]
    receive.close()


# -- the decisions a session takes on its own are recorded --------------------------------


def control_events(seen: list[public.RealtimeEvent]) -> list[public.RealtimeEvent]:
    return [e for e in seen if not isinstance(e, public.OutputAudioChunk | public.MediaDropped)]


async def test_orphans_released_on_a_timer_replay_in_the_same_order(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    send, receive = provider_stream()
    config = SessionConfig(orphan_timeout_s=0.05, record_to=path)
    async with RealtimeSession(receive, config=config) as live:
        subscription = live.events()
        seen: list[public.RealtimeEvent] = []
        with send:
            # The answer names a user turn that has not arrived: it waits for it...
            send.send_nowait(spoken("r1", "a1", "Hello.", 0, previous="u1"))
            send.send_nowait(ev.TurnCompleted(response_id="r1"))
            with anyio.fail_after(5):
                # ...until the orphan timeout releases it.
                while not of_type(seen, public.TranscriptCommitted):
                    seen.append(await subscription.receive())
            send.send_nowait(ev.InputTranscriptFinalForItem(item_id="u1", text="Hi"))
        with anyio.fail_after(5):
            seen += await collect(subscription)
    assert [message.text for message in live.transcript] == ["Hello.", "Hi"]
    replayed, replayed_seen = await replay(read_events(path))
    assert [message.text for message in replayed.transcript] == ["Hello.", "Hi"]
    assert control_events(replayed_seen) == control_events(seen)


@pytest.mark.parametrize(
    "make_commands",
    [
        pytest.param(lambda: RecordingCommands(), id="provider-truncates"),
        pytest.param(lambda: RecordingCommands(supports_truncation=False), id="cannot-truncate"),
    ],
)
async def test_a_playback_aware_barge_in_replays_to_the_same_public_events(
    tmp_path: Path, make_commands: Callable[[], RecordingCommands]
) -> None:
    path = tmp_path / "session.jsonl"
    commands = make_commands()
    truncated = ev.AssistantTranscriptTruncated(item_id="a1", audio_played_ms=300)
    live, seen = await run_barge_in(
        played_ms=300,
        commands=commands,
        completed=True,
        config=SessionConfig(record_to=path),
        after=[truncated] if commands.supports_truncation else [],
    )
    assert seen.index(public.Interrupted(response_id="r1")) < seen.index(public.TurnStarted())
    replayed, replayed_seen = await replay(read_events(path))
    assert replayed.transcript == live.transcript
    assert control_events(replayed_seen) == control_events(seen)


async def test_cuts_and_heard_in_full_items_replay_to_the_same_public_events(
    tmp_path: Path,
) -> None:
    for played_ms in (600, 1000):
        path = tmp_path / f"session-{played_ms}.jsonl"
        live, seen = await run_barge_in(
            played_ms=played_ms,
            commands=RecordingCommands(supports_truncation=False),
            completed=False,
            config=SessionConfig(record_to=path),
        )
        replayed, replayed_seen = await replay(read_events(path))
        assert replayed.transcript == live.transcript
        assert control_events(replayed_seen) == control_events(seen)


# -- duplicates --------------------------------------------------------------------------


async def test_a_replayed_delta_is_counted_logged_once_and_not_captioned_twice() -> None:
    # A provider that reconnects and replays what it sent: every delta arrives twice.
    first = [spoken("r1", "a1", word, n) for n, word in enumerate(["Hello ", "there."])]
    with structlog.testing.capture_logs() as logs:
        session, seen = await replay([*first, *first, *first, ev.TurnCompleted(response_id="r1")])
    assert session.transcript[0].text == "Hello there."
    assert session.stats.duplicate_deltas == 4
    assert [e.delta for e in of_type(seen, public.OutputAudioTranscriptDelta)] == [
        "Hello ",
        "there.",
    ]
    # One line for the first duplicate, not one per duplicate.
    dropped = [log for log in logs if log["event"] == "transcript_duplicate_deltas_dropped"]
    assert len(dropped) == 1
    assert dropped[0]["session_id"] == session.session_id
    closed = next(log for log in logs if log["event"] == "session_closed")
    assert closed["duplicate_deltas"] == 4
