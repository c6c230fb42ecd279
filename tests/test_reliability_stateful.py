"""Random programs against a live session: provider events, subscribers and commands interleaved.

A hypothesis state machine writes a *program*: provider events on both lanes (deltas,
user finals, audio and video, turn boundaries, interrupts with and without a response,
truncations with and without text, final texts, tool requests and cancellations,
errors), subscriptions of every temperament (readers, subscribers that never read or
read rarely with a tiny media buffer, back-pressure subscribers, subscribers without
media) created and closed at any point, reads of a few events, playback reports,
command verbs, and pauses long enough for the session's timers to matter (the orphan
timeout, and the playback it estimates where none was reported). Each program then
runs in one event loop, on asyncio and on trio, against a session that records to a
file. Afterwards:

(a) the session's transcript equals a ``TranscriptReducer`` fed the recording,
    translated to transcript events the way the specification's §3.4 says;
(b) every subscriber that was neither failed nor closed received every control event
    published while it was subscribed, in order, like a back-pressure reference
    subscriber that read everything (and a closed or failed one a prefix of them);
(c) media balance per subscriber: delivered + dropped + flushed = media published
    while it was subscribed (chunks received minus the chunks of interrupted
    responses the session suppressed, which ``stats.media_suppressed`` counts), and
    the ``MediaDropped`` markers add up to ``dropped_media``;
(d) replaying the recording through a new session without commands reproduces the
    transcript and the public events: every decision the live session took on its own
    (orphans released on a timer, barge-ins it detected from playback, items it found
    heard in full or cut itself, from reported or estimated playback) was recorded.
"""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal

import anyio
import anyio.lowlevel
import attrs
import pytest
from helpers import RecordingCommands, replay
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)

from realtime_session import (
    RealtimeSession,
    SessionConfig,
    SubscriberLagged,
    Subscription,
    public,
    recording,
)
from realtime_session import events as ev
from realtime_session import transcript as tr
from realtime_session.transcript import UnheardPolicy

if TYPE_CHECKING:
    from collections.abc import Iterable

SubscriberKind = Literal["reader", "never", "backpressure", "no_media"]
MEDIA: Final = (public.OutputAudioChunk, public.OutputVideoChunk)
NOT_CONTROL: Final = (*MEDIA, public.MediaDropped)
BOUND_S: Final = 10.0
# Scheduler passes without anything happening before the session counts as settled.
QUIET_PASSES: Final = 12

RESPONSES = ("r0", "r1", "r2", "r3")
USER_ITEMS = ("u0", "u1", "u2", "u3")
# Each response has a display item, a spoken item, and one whose lane is contested.
ASSISTANT_ITEMS = tuple(f"{r}-{lane}" for r in RESPONSES for lane in ("t", "s", "x"))
ITEMS = USER_ITEMS + ASSISTANT_ITEMS
SPOKEN_ITEMS = tuple(f"{r}-s" for r in RESPONSES)
CALLS = ("c0", "c1", "c2")
WORDS = ("hi ", "there ", "a", " b", "  ", "", "long sentence here. ", "é ")


def _response_of(item_id: str) -> str:
    return item_id.split("-", 1)[0]


# -- the program --------------------------------------------------------------------------


@attrs.frozen
class Send:
    events: tuple[ev.RealtimeSessionEvent, ...]


@attrs.frozen
class Subscribe:
    name: int
    kind: SubscriberKind
    media_buffer: int
    max_pending: int


@attrs.frozen
class Read:
    name: int
    count: int


@attrs.frozen
class Close:
    name: int


@attrs.frozen
class Playback:
    item_id: str
    played_ms: float


@attrs.frozen
class Command:
    verb: str


@attrs.frozen
class Yield:
    passes: int


@attrs.frozen
class Settle:
    pass


@attrs.frozen
class Pause:
    seconds: float


Step = Send | Subscribe | Read | Close | Playback | Command | Yield | Settle | Pause


@attrs.frozen
class Setup:
    unheard_policy: UnheardPolicy
    auto_truncate: bool
    supports_truncation: bool
    media_buffer: int
    reference_max_pending: int
    reference_media_buffer: int
    orphan_timeout_s: float


# -- running a program ----------------------------------------------------------------------


@attrs.define
class Subscriber:
    subscription: Subscription
    kind: SubscriberKind | Literal["reference"]
    # Control events the reference had received when this one subscribed.
    offset: int
    # Recording lines written when this one subscribed.
    recorded_before: int
    seen: list[public.RealtimeEvent] = attrs.Factory(list)
    closed_early: bool = False
    lagged: SubscriberLagged | None = None
    ended: bool = False

    @property
    def done(self) -> bool:
        return self.ended or self.closed_early or self.lagged is not None

    def read(self, limit: int) -> int:
        """Take up to ``limit`` events that are ready; never waits. Returns how many."""
        taken = 0
        while taken < limit and not self.done:
            try:
                event = self.subscription.receive_nowait()
            except anyio.WouldBlock:
                break
            except anyio.EndOfStream:
                self.ended = True
                break
            except SubscriberLagged as exc:
                self.lagged = exc
                break
            self.seen.append(event)
            taken += 1
        return taken


async def echo(**arguments: object) -> dict[str, object]:
    await anyio.lowlevel.checkpoint()
    return dict(arguments)


@attrs.define
class Run:
    """Executes a program against a session; keeps what the checks need."""

    setup: Setup
    path: Path
    backend: tuple[str, dict[str, object]]
    commands: RecordingCommands = attrs.field(init=False)
    session: RealtimeSession = attrs.field(init=False)
    reference: Subscriber = attrs.field(init=False)
    subscribers: dict[int, Subscriber] = attrs.Factory(dict)
    sent: int = 0

    async def execute(self, program: Iterable[Step]) -> None:
        setup = self.setup
        self.commands = RecordingCommands(supports_truncation=setup.supports_truncation)
        send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](100_000)
        self.session = RealtimeSession(
            receive,
            config=SessionConfig(
                record_to=self.path,
                media_buffer=setup.media_buffer,
                unheard_policy=setup.unheard_policy,
                auto_truncate=setup.auto_truncate,
                # Timed decisions are recorded: a replay takes the same ones.
                orphan_timeout_s=setup.orphan_timeout_s,
                tool_timeout_s=3600,
            ),
            commands=self.commands,
            tools={"echo": echo},
        )
        self.reference = Subscriber(
            self.session.events(
                backpressure=True,
                max_pending=setup.reference_max_pending,
                media_buffer=setup.reference_media_buffer,
            ),
            kind="reference",
            offset=0,
            recorded_before=0,
        )
        with anyio.fail_after(BOUND_S):
            async with self.session:
                for step in program:
                    await self.step(step, send)
                await self.settle()
                send.close()
                everyone = [self.reference, *self.subscribers.values()]
                while not all(subscriber.done for subscriber in everyone):
                    for subscriber in everyone:
                        subscriber.read(1_000)
                    await anyio.lowlevel.checkpoint()
                await self.session.wait_closed()

    async def step(self, step: Step, send: anyio.abc.ObjectSendStream[Any]) -> None:
        match step:
            case Send(events):
                for event in events:
                    send.send_nowait(event)  # type: ignore[attr-defined]
                    self.sent += 1
            case Subscribe(name, kind, media_buffer, max_pending):
                # Settled first, so that what it must receive is known exactly; a
                # timer may still have fired during the last quiet passes, so the
                # reference takes what it holds without yielding to the session.
                await self.settle()
                self.reference.read(10_000)
                self.subscribers[name] = Subscriber(
                    self.session.events(
                        media=kind != "no_media",
                        media_buffer=media_buffer,
                        max_pending=max_pending,
                        backpressure=kind == "backpressure",
                    ),
                    kind=kind,
                    offset=len(control(self.reference.seen)),
                    recorded_before=len(self.path.read_text(encoding="utf-8").splitlines()),
                )
            case Read(name, count):
                subscriber = self.subscribers[name]
                if subscriber.kind != "never":
                    subscriber.read(count)
            case Close(name):
                subscriber = self.subscribers[name]
                if not subscriber.done:
                    subscriber.closed_early = True
                    await subscriber.subscription.aclose()
            case Playback(item_id, played_ms):
                self.session.report_playback(item_id, played_ms)
            case Command(verb):
                await self.command(verb)
            case Yield(passes):
                for _ in range(passes):
                    await anyio.lowlevel.checkpoint()
            case Settle():
                await self.settle()
            case Pause(seconds):
                await anyio.sleep(seconds)

    async def command(self, verb: str) -> None:
        session = self.session
        before = len(self.commands.named(verb))
        if verb == "send_input":
            await session.send_input(ev.TextInput(text="hello"))
        elif verb == "commit_turn":
            await session.commit_turn()
        elif verb == "interrupt":
            await session.interrupt()
        elif verb == "truncate_assistant_output":
            await session.truncate_assistant_output("r0-s", 0, 120)
        elif verb == "submit_tool_result":
            await session.submit_tool_result("c0", {"ok": True})
        else:
            await session.submit_tool_error("c0", "no")
        assert len(self.commands.named(verb)) == before + 1, verb

    async def settle(self) -> None:
        """Let the session apply everything sent and its tools finish; read the durable sinks."""
        quiet = 0
        while quiet < QUIET_PASSES:
            moved = self.reference.read(10_000)
            for subscriber in self.subscribers.values():
                if subscriber.kind == "backpressure":
                    moved += subscriber.read(10_000)
            busy = moved or self.session.stats.events_in < self.sent
            quiet = 0 if busy else quiet + 1
            await anyio.lowlevel.checkpoint()


def control(events: Iterable[public.RealtimeEvent]) -> list[public.RealtimeEvent]:
    return [event for event in events if not isinstance(event, NOT_CONTROL)]


# What the application's tools did is not in the recording: a replay has no tools.
TOOL_OUTCOMES: Final = (
    public.ToolCallCompleted,
    public.ToolCallFailed,
    public.ToolCallTimedOut,
    public.ToolCallCancelled,
)


# Nor when things happened: a replay times its responses on its own clock (and,
# without tools, has no tool answers to time a continuation from).
NOT_REPLAYED: Final = (*TOOL_OUTCOMES, public.ResponseLatency)


def replayable(events: Iterable[public.RealtimeEvent]) -> list[public.RealtimeEvent]:
    return [event for event in events if not isinstance(event, NOT_REPLAYED)]


# -- the reference transcript and media model, from the recording ------------------------------


_WORD = re.compile(r"\S+")


def heard_prefix(text: str, *, played_ms: int, received_ms: float, complete: bool) -> str:
    """§3.4: the first ``n`` words, ``n = min(words, floor(played_s * rate + 0.5))``."""
    if played_ms <= 0:
        return ""
    ends = [match.end() for match in _WORD.finditer(text)]
    if not ends:
        return ""
    rate = len(ends) / (received_ms / 1000.0) if complete and received_ms > 0 else 2.5
    n = min(len(ends), math.floor(played_ms / 1000.0 * rate + 0.5))
    return text[: ends[n - 1]] if n > 0 else ""


@attrs.define
class Model:
    """Replays a recording the way §3.4 translates provider events, independently of the session.

    It keeps the session's response bookkeeping too: a finished response is forgotten,
    with its audio, once a response first seen after it finished has finished.
    """

    reducer: tr.TranscriptReducer
    # Moments "first seen" and "finished", in one sequence, of responses not forgotten.
    moment: int = 0
    first_seen: dict[str, int] = attrs.Factory(dict)
    finished_at: dict[str, int] = attrs.Factory(dict)
    in_flight: dict[str, None] = attrs.Factory(dict)
    interrupted: set[str] = attrs.Factory(set)
    # The first way each response ended: its completion's reason, or cancelled by a barge-in.
    ended_as: dict[str, ev.StopReason] = attrs.Factory(dict)
    # Audio items: the response their chunks named first (None: no response), and their audio.
    audio_owner: dict[str, str | None] = attrs.Factory(dict)
    audio_ms: dict[tuple[str, int], float] = attrs.Factory(dict)
    media_published: int = 0
    media_suppressed: int = 0
    published_after: list[int] = attrs.Factory(list)

    def _saw(self, response_id: str) -> None:
        if response_id not in self.first_seen:
            self.moment += 1
            self.first_seen[response_id] = self.moment
            self.in_flight[response_id] = None

    def _finish(self, response_id: str) -> None:
        if response_id in self.first_seen:
            if response_id not in self.in_flight:
                return
            del self.in_flight[response_id]
        else:
            self.moment += 1
            self.first_seen[response_id] = self.moment
        self.moment += 1
        self.finished_at[response_id] = self.moment
        started = self.first_seen[response_id]
        for old in [r for r, at in self.finished_at.items() if at < started]:
            del self.first_seen[old], self.finished_at[old]
            self.interrupted.discard(old)
            for item_id in [i for i, owner in self.audio_owner.items() if owner == old]:
                del self.audio_owner[item_id]
                for key in [key for key in self.audio_ms if key[0] == item_id]:
                    del self.audio_ms[key]

    def _interrupt(self, response_id: str) -> None:
        self.reducer.apply(tr.AssistantTurnInterrupted(response_id=response_id))
        self._finish(response_id)
        self.interrupted.add(response_id)
        self.ended_as.setdefault(response_id, ev.StopReason.CANCELLED)

    def apply(self, event: ev.RealtimeSessionEvent) -> None:
        apply = self.reducer.apply
        assistant = tr.RealtimeTranscriptRole.ASSISTANT
        match event:
            case ev.InputTranscriptFinalForItem():
                apply(
                    tr.ItemObserved(
                        item_id=event.item_id,
                        previous_item_id=event.previous_item_id,
                        role=tr.RealtimeTranscriptRole.USER,
                    )
                )
                apply(
                    tr.UserTranscriptFinal(
                        item_id=event.item_id,
                        previous_item_id=event.previous_item_id,
                        content_index=event.content_index,
                        text=event.text,
                    )
                )
            case ev.OutputTextDeltaForItem() | ev.OutputAudioTranscriptDeltaForItem():
                apply(
                    tr.ItemObserved(
                        item_id=event.item_id,
                        previous_item_id=event.previous_item_id,
                        role=assistant,
                        response_id=event.response_id,
                    )
                )
                kind = (
                    tr.AssistantTextDelta
                    if isinstance(event, ev.OutputTextDeltaForItem)
                    else tr.AssistantTranscriptDelta
                )
                apply(
                    kind(
                        response_id=event.response_id,
                        delta_id=event.delta_id,
                        item_id=event.item_id,
                        previous_item_id=event.previous_item_id,
                        content_index=event.content_index,
                        delta=event.delta,
                    )
                )
                self._saw(event.response_id)
            case ev.AssistantTranscriptFinal():
                apply(
                    tr.ItemObserved(
                        item_id=event.item_id,
                        previous_item_id=event.previous_item_id,
                        role=assistant,
                        response_id=event.response_id,
                    )
                )
                apply(
                    tr.AssistantTranscriptFinalText(
                        response_id=event.response_id,
                        item_id=event.item_id,
                        content_index=event.content_index,
                        text=event.text,
                    )
                )
                self._saw(event.response_id)
            case ev.TurnCompleted():
                apply(
                    tr.AssistantTurnCompleted(
                        response_id=event.response_id,
                        stop_reason=event.stop_reason,
                        usage=event.usage,
                    )
                )
                self._finish(event.response_id)
                self.ended_as.setdefault(event.response_id, event.stop_reason)
            case ev.Interrupted(response_id=None):
                for response_id in list(self.in_flight):
                    self._interrupt(response_id)
            case ev.Interrupted(response_id=str(response_id)):
                self._interrupt(response_id)
            case ev.AssistantTranscriptTruncated():
                item_id, index = event.item_id, event.content_index
                response_id = (
                    event.response_id
                    or self.reducer.item_response_id(item_id)
                    or self.audio_owner.get(item_id)
                    or ""
                )
                text = event.truncated_text
                if text is None:
                    text = heard_prefix(
                        self.reducer.item_spoken_text(item_id) or "",
                        played_ms=event.audio_played_ms,
                        received_ms=self.audio_ms.get((item_id, index), 0.0),
                        complete=self.ended_as.get(response_id, ev.StopReason.CANCELLED)
                        is not ev.StopReason.CANCELLED,
                    )
                apply(
                    tr.AssistantTranscriptTruncated(
                        response_id=response_id,
                        item_id=item_id,
                        content_index=index,
                        text=text,
                        audio_played_ms=event.audio_played_ms,
                        estimated=event.truncated_text is None,
                    )
                )
            case ev.RealtimeTranscript():
                apply(event.event)
            case ev.OutputAudioChunk() | ev.OutputVideoChunk():
                owner = event.response_id
                if owner is not None and owner in self.interrupted:
                    # The session stops publishing media of an interrupted response.
                    self.media_suppressed += 1
                else:
                    self.media_published += 1
                    if owner is not None:
                        self._saw(owner)
                    if isinstance(event, ev.OutputAudioChunk) and event.item_id is not None:
                        if self.audio_owner.get(event.item_id) is None:
                            self.audio_owner[event.item_id] = owner
                        key = (event.item_id, event.content_index)
                        duration = event.chunk.duration_ms or 0.0
                        self.audio_ms[key] = self.audio_ms.get(key, 0.0) + duration
            case _:
                pass  # display-only and session-level events: nothing for the transcript
        self.published_after.append(self.media_published)

    def media_published_since(self, recorded_before: int) -> int:
        before = self.published_after[recorded_before - 1] if recorded_before else 0
        return self.media_published - before


def model_of(recorded: list[ev.RealtimeSessionEvent], policy: UnheardPolicy) -> Model:
    model = Model(reducer=tr.TranscriptReducer(unheard_policy=policy))
    for event in recorded:
        model.apply(event)
    model.reducer.flush()
    return model


def transcript_from_changes(events: Iterable[public.RealtimeEvent]) -> list[tr.Message]:
    """The transcript a subscriber rebuilds from ``TranscriptCommitted``/``TranscriptRevised``."""
    messages: list[tr.Message] = []
    for event in events:
        if isinstance(event, public.TranscriptCommitted):
            messages.append(event.message)
        elif isinstance(event, public.TranscriptRevised):
            (index,) = [
                i
                for i, message in enumerate(messages)
                if isinstance(message, tr.AssistantMessage) and event.item_id in message.item_ids
            ]
            messages[index] = event.message
    return messages


def check(run: Run) -> None:
    session = run.session
    recorded = recording.read_events(run.path)
    model = model_of(recorded, run.setup.unheard_policy)

    # (a) the transcript, from the recording alone.
    assert session.transcript == model.reducer.messages
    reference = run.reference
    assert transcript_from_changes(reference.seen) == list(session.transcript)

    # (b) control events: the reference got every one, each subscriber its share, in order.
    reference_control = control(reference.seen)
    assert reference_control[-1] == public.SessionClosed(reason="provider_closed")
    stats = session.stats
    assert len(reference_control) + model.media_published == stats.published
    for subscriber in run.subscribers.values():
        received = control(subscriber.seen)
        share = reference_control[subscriber.offset :]
        if subscriber.closed_early or subscriber.lagged is not None:
            assert received == share[: len(received)]
        else:
            assert received == share
    for subscriber in run.subscribers.values():
        if subscriber.lagged is not None:
            assert subscriber.kind == "never"

    # (c) media accounting, per subscriber that stayed to the end.
    assert stats.media_suppressed == model.media_suppressed
    everyone = [reference, *run.subscribers.values()]
    for subscriber in everyone:
        markers = [e.dropped for e in subscriber.seen if isinstance(e, public.MediaDropped)]
        if subscriber.closed_early or subscriber.lagged is not None:
            continue
        assert sum(markers) == subscriber.subscription.dropped_media
        delivered = sum(isinstance(event, MEDIA) for event in subscriber.seen)
        accounted = (
            delivered
            + subscriber.subscription.dropped_media
            + subscriber.subscription.flushed_media
        )
        if subscriber.kind == "no_media":
            assert accounted == 0
        else:
            assert accounted == model.media_published_since(subscriber.recorded_before)
    assert stats.media_dropped == sum(s.subscription.dropped_media for s in everyone)
    assert stats.media_flushed == sum(s.subscription.flushed_media for s in everyone)

    # (d) the recording replays to the same transcript and the same public events.
    replayed, replayed_seen = anyio.run(
        replay,
        recorded,
        SessionConfig(unheard_policy=run.setup.unheard_policy),
        backend=run.backend[0],
        backend_options=run.backend[1],
    )
    assert replayed.transcript == session.transcript
    assert replayable(control(replayed_seen)) == replayable(reference_control)
    assert replayed.stats.published - len(control(replayed_seen)) == model.media_published

    # Tools: one terminal outcome at most per call, and none left without an answer.
    requested = {e.call_id for e in reference.seen if isinstance(e, public.ToolCallRequested)}
    terminal = (public.ToolCallCompleted, public.ToolCallFailed, public.ToolCallTimedOut)
    for call_id in requested:
        outcomes = [e for e in reference.seen if isinstance(e, terminal) and e.call_id == call_id]
        withdrawn = public.ToolCallCancelled(call_id=call_id) in reference.seen
        assert len(outcomes) <= 1
        assert outcomes or withdrawn, call_id


# -- the machine that writes programs ------------------------------------------------------


responses = st.sampled_from(RESPONSES)
items = st.sampled_from(ITEMS)
# Mostly none or a real item; now and then one that never shows up (an orphan).
predecessors = st.one_of(st.none(), st.sampled_from(ITEMS), st.none(), st.just("ghost"))
words = st.sampled_from(WORDS)
delta_ids = st.integers(0, 12).map(lambda n: f"d{n}")
content_indexes = st.sampled_from([0, 0, 0, 1])
stop_reasons = st.sampled_from(list(ev.StopReason))


def _chunk(ms: int) -> ev.RealtimeAudioChunk:
    return ev.RealtimeAudioChunk(data=bytes(48 * ms))


class SessionProgram(RuleBasedStateMachine):
    """Writes a program with its rules; runs and checks it when the example ends."""

    backend: ClassVar[tuple[str, dict[str, object]]] = ("asyncio", {})
    subscriptions = Bundle("subscriptions")
    utterances = Bundle("utterances")

    def __init__(self) -> None:
        super().__init__()
        self.program: list[Step] = []
        self.setup: Setup | None = None
        self.names = 0

    def _send(self, *events: ev.RealtimeSessionEvent) -> None:
        self.program.append(Send(events))

    @initialize(
        policy=st.sampled_from(["drop", "keep"]),
        auto_truncate=st.booleans(),
        supports_truncation=st.booleans(),
        media_buffer=st.integers(1, 6),
        reference_max_pending=st.integers(1, 8),
        reference_media_buffer=st.integers(1, 64),
        orphan_timeout_s=st.sampled_from([0.01, 0.03, 3600.0]),
    )
    def configure(
        self,
        policy: UnheardPolicy,
        auto_truncate: bool,
        supports_truncation: bool,
        media_buffer: int,
        reference_max_pending: int,
        reference_media_buffer: int,
        orphan_timeout_s: float,
    ) -> None:
        self.setup = Setup(
            unheard_policy=policy,
            auto_truncate=auto_truncate,
            supports_truncation=supports_truncation,
            media_buffer=media_buffer,
            reference_max_pending=reference_max_pending,
            reference_media_buffer=reference_media_buffer,
            orphan_timeout_s=orphan_timeout_s,
        )

    # -- provider events --

    @rule(item=items, previous=predecessors, n=delta_ids, delta=words, spoken=st.booleans())
    def assistant_delta(
        self, item: str, previous: str | None, n: str, delta: str, spoken: bool
    ) -> None:
        if item.startswith("u"):
            item = f"r0-{item}"
        lane = ev.OutputAudioTranscriptDeltaForItem if spoken else ev.OutputTextDeltaForItem
        self._send(
            lane(
                response_id=_response_of(item),
                delta_id=n,
                item_id=item,
                previous_item_id=previous,
                delta=delta,
            )
        )

    def _utter(self, response: str, previous: str | None, count: int, ms: int, ending: str) -> str:
        item = f"{response}-s"
        events: list[ev.RealtimeSessionEvent] = []
        for n in range(count):
            events.append(
                ev.OutputAudioTranscriptDeltaForItem(
                    response_id=response,
                    delta_id=f"u{n}",
                    item_id=item,
                    previous_item_id=previous,
                    delta=f"word{n} ",
                )
            )
            events.append(ev.OutputAudioChunk(chunk=_chunk(ms), response_id=response, item_id=item))
        if ending != "open":
            reason = ev.StopReason.END_TURN if ending == "completed" else ev.StopReason.CANCELLED
            events.append(ev.TurnCompleted(response_id=response, stop_reason=reason))
        self._send(*events)
        return response

    @initialize(target=utterances, count=st.integers(1, 6), ms=st.sampled_from([20, 200]))
    def opening(self, count: int, ms: int) -> str:
        """A first answer that commits at once; later rules cut it or talk over it."""
        return self._utter("r0", None, count, ms, "completed")

    @rule(
        target=utterances,
        response=responses,
        previous=st.sampled_from([None, None, *ITEMS]),
        count=st.integers(1, 6),
        ms=st.sampled_from([20, 200]),
        ending=st.sampled_from(["completed", "completed", "cancelled", "open"]),
    )
    def utterance(
        self, response: str, previous: str | None, count: int, ms: int, ending: str
    ) -> str:
        """A coherent spoken answer: words with their audio, usually completed."""
        return self._utter(response, previous, count, ms, ending)

    @rule(
        response=utterances,
        played_ms=st.sampled_from([0, 50, 400, 1000, 5000]),
        text=st.one_of(st.none(), words),
    )
    def late_truncation(self, response: str, played_ms: int, text: str | None) -> None:
        """The provider cuts an answer that may already be committed (§2.3 R9)."""
        self._send(
            ev.AssistantTranscriptTruncated(
                item_id=f"{response}-s", audio_played_ms=played_ms, truncated_text=text
            )
        )

    @rule(response=utterances, played_ms=st.sampled_from([10, 150, 600]))
    def talk_over_playback(self, response: str, played_ms: int) -> None:
        """The user speaks while the answer is still playing: a playback-aware barge-in."""
        self.program.append(Playback(f"{response}-s", played_ms))
        self._send(ev.TurnStarted())

    @rule(
        item=st.sampled_from(USER_ITEMS), previous=predecessors, text=words, index=content_indexes
    )
    def user_final(self, item: str, previous: str | None, text: str, index: int) -> None:
        self._send(
            ev.InputTranscriptFinalForItem(
                item_id=item, previous_item_id=previous, content_index=index, text=text
            )
        )

    @rule(
        item=st.one_of(st.none(), st.sampled_from(ASSISTANT_ITEMS)),
        ms=st.sampled_from([10, 20, 40]),
        count=st.integers(1, 12),
        identified=st.booleans(),
    )
    def audio(self, item: str | None, ms: int, count: int, identified: bool) -> None:
        response = _response_of(item) if item is not None and identified else None
        chunk = ev.OutputAudioChunk(chunk=_chunk(ms), response_id=response, item_id=item)
        self._send(*[chunk] * count)

    @rule(response=st.one_of(st.none(), responses))
    def video(self, response: str | None) -> None:
        frame = ev.RealtimeVideoChunk(data=b"\xff\xd8")
        self._send(ev.OutputVideoChunk(chunk=frame, response_id=response))

    @rule(committed=st.booleans())
    def turn_boundary(self, committed: bool) -> None:
        self._send(ev.TurnCommitted() if committed else ev.TurnStarted())

    @rule(response=responses, reason=stop_reasons, tokens=st.integers(0, 5))
    def turn_completed(self, response: str, reason: ev.StopReason, tokens: int) -> None:
        usage = ev.Usage(input_tokens=tokens, output_tokens=tokens)
        self._send(ev.TurnCompleted(response_id=response, stop_reason=reason, usage=usage))

    @rule(response=st.one_of(st.none(), responses))
    def interrupted(self, response: str | None) -> None:
        self._send(ev.Interrupted(response_id=response))

    @rule(
        item=st.one_of(st.sampled_from(SPOKEN_ITEMS), st.sampled_from(ASSISTANT_ITEMS)),
        played_ms=st.sampled_from([0, 50, 400, 1000, 5000]),
        text=st.one_of(st.none(), words),
        with_response=st.booleans(),
    )
    def truncated(self, item: str, played_ms: int, text: str | None, with_response: bool) -> None:
        self._send(
            ev.AssistantTranscriptTruncated(
                response_id=_response_of(item) if with_response else None,
                item_id=item,
                audio_played_ms=played_ms,
                truncated_text=text,
            )
        )

    @rule(item=st.sampled_from(ASSISTANT_ITEMS), previous=predecessors, text=words)
    def assistant_final(self, item: str, previous: str | None, text: str) -> None:
        self._send(
            ev.AssistantTranscriptFinal(
                response_id=_response_of(item), item_id=item, previous_item_id=previous, text=text
            )
        )

    @rule(
        call=st.sampled_from(CALLS),
        name=st.sampled_from(["echo", "missing"]),
        arguments=st.sampled_from([{}, {"city": "Lisbon"}, "not an object", [1]]),
    )
    def tool_requested(self, call: str, name: str, arguments: ev.JsonValue) -> None:
        self._send(ev.ToolCallRequested(call_id=call, tool_name=name, arguments=arguments))

    @rule(call=st.sampled_from(CALLS))
    def tool_cancelled(self, call: str) -> None:
        self._send(ev.ToolCallCancelled(call_id=call))

    @rule(item=items, previous=predecessors, skipped=st.booleans())
    def ordering_fact(self, item: str, previous: str | None, skipped: bool) -> None:
        fact: tr.RealtimeTranscriptEvent = (
            tr.ItemSkipped(item_id=f"anchor-{item}", previous_item_id=previous)
            if skipped
            else tr.ItemObserved(
                item_id=item,
                previous_item_id=previous,
                role=tr.RealtimeTranscriptRole.USER
                if item.startswith("u")
                else tr.RealtimeTranscriptRole.ASSISTANT,
            )
        )
        self._send(ev.RealtimeTranscript(event=fact))

    @rule(kind=st.sampled_from(["partial", "final", "text", "error"]), text=words)
    def display_only(self, kind: str, text: str) -> None:
        event: ev.RealtimeSessionEvent
        if kind == "partial":
            event = ev.InputTranscriptPartial(text=text)
        elif kind == "final":
            event = ev.InputTranscriptFinal(text=text)
        elif kind == "text":
            event = ev.OutputTextDelta(delta=text)
        else:
            event = ev.ProviderError(code="rate_limited", message=text)
        self._send(event)

    # -- subscribers --

    @rule(
        target=subscriptions,
        kind=st.sampled_from(["reader", "never", "backpressure", "no_media"]),
        media_buffer=st.integers(1, 4),
        max_pending=st.sampled_from([1, 3, 8, 10_000]),
    )
    def subscribe(self, kind: SubscriberKind, media_buffer: int, max_pending: int) -> int:
        self.names += 1
        if kind != "never" and kind != "backpressure":
            max_pending = 10_000  # a reader only reads now and then: it must not lag
        self.program.append(Subscribe(self.names, kind, media_buffer, max_pending))
        return self.names

    @rule(name=subscriptions, count=st.integers(1, 20))
    def read(self, name: int, count: int) -> None:
        self.program.append(Read(name, count))

    @rule(name=subscriptions)
    def close(self, name: int) -> None:
        self.program.append(Close(name))

    # -- the application --

    @rule(
        item=st.one_of(st.sampled_from(SPOKEN_ITEMS), st.sampled_from(ASSISTANT_ITEMS)),
        played_ms=st.sampled_from([0, 20, 60, 500]),
    )
    def playback(self, item: str, played_ms: float) -> None:
        self.program.append(Playback(item, played_ms))

    @rule(
        verb=st.sampled_from(
            [
                "send_input",
                "commit_turn",
                "interrupt",
                "truncate_assistant_output",
                "submit_tool_result",
                "submit_tool_error",
            ]
        )
    )
    def command(self, verb: str) -> None:
        self.program.append(Command(verb))

    @rule(passes=st.integers(1, 4))
    def let_it_run(self, passes: int) -> None:
        self.program.append(Yield(passes))

    @rule()
    def settle(self) -> None:
        self.program.append(Settle())

    @rule(ms=st.sampled_from([5, 15, 40]))
    def pause(self, ms: int) -> None:
        """Time passes: orphan timers run out, unreported playback advances."""
        self.program.append(Pause(ms / 1000))

    def teardown(self) -> None:
        setup = self.setup or Setup(
            unheard_policy="drop",
            auto_truncate=True,
            supports_truncation=True,
            media_buffer=2,
            reference_max_pending=2,
            reference_media_buffer=4,
            orphan_timeout_s=3600.0,
        )
        name, options = self.backend
        with tempfile.TemporaryDirectory() as directory:
            run = Run(setup=setup, path=Path(directory) / "session.jsonl", backend=self.backend)
            anyio.run(run.execute, self.program, backend=name, backend_options=options)
            check(run)


def run_programs(backend: tuple[str, dict[str, object]], examples: int, steps: int) -> None:
    machine = type("Program", (SessionProgram,), {"backend": backend})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


@pytest.mark.timeout(600)  # forty programs: the per-test default is for single scenarios
def test_random_programs_keep_the_transcript_the_control_lane_and_the_media_books(
    anyio_backend: tuple[str, dict[str, object]],
) -> None:
    run_programs(anyio_backend, examples=40, steps=60)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_random_programs_keep_the_transcript_the_control_lane_and_the_media_books_long(
    anyio_backend: tuple[str, dict[str, object]],
) -> None:
    run_programs(anyio_backend, examples=600, steps=150)
