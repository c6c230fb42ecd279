"""A long conversation under load: a million provider events (about 50,000 by default).

Turn after turn of user speech, spoken answers (a transcript delta and an audio chunk
at a time), tool calls, and barge-ins with a truncation, through a session with three
subscribers: one whose media lane is stalled (tiny ``media_buffer``), one that reads
too slowly and must fail with ``SubscriberLagged``, and a back-pressure one that reads
everything. Memory is sampled with ``tracemalloc`` at quiet points: after warm-up it
grows with the committed transcript only, never with the number of deltas or chunks;
and no subscriber but the lagging one misses a control event.
"""

from __future__ import annotations

import gc
import itertools
import tracemalloc
from typing import TYPE_CHECKING, Final

import anyio
import anyio.lowlevel
import attrs
import pytest

from realtime_session import RealtimeSession, SessionConfig, SubscriberLagged, public
from realtime_session import events as ev

if TYPE_CHECKING:
    from collections.abc import Iterator

    from realtime_session import Subscription

pytestmark = pytest.mark.anyio

DELTAS_PER_ANSWER: Final = 100
CHUNK: Final = ev.RealtimeAudioChunk(data=bytes(960))  # 20 ms
WORD: Final = "w "
MEDIA: Final = (public.OutputAudioChunk, public.OutputVideoChunk)
# Bytes the library may keep per committed item beyond its text, measured at about
# 800 here: a message, its block, the reducer's record of the item and the session's
# per-response bookkeeping. Keeping anything per delta or chunk (a delta id, a
# duration, a queued event) would cost at least 50 bytes each, 100 of each per item.
PER_ITEM_BYTES: Final = 1_200
# Tracemalloc's own books and the dict resizes that fall between two samples.
SLACK_BYTES: Final = 128 * 1024


def conversation(counts: Counts) -> Iterator[ev.RealtimeSessionEvent]:
    """A conversation that never ends; counts what it produced so far."""
    previous: str | None = None
    for turn in itertools.count():
        user, response, answer = f"u{turn}", f"r{turn}", f"a{turn}"
        yield ev.TurnStarted()
        yield ev.InputTranscriptFinalForItem(
            item_id=user, previous_item_id=previous, text=f"question number {turn}"
        )
        barge_in = turn % 7 == 5
        spoken = DELTAS_PER_ANSWER // 2 if barge_in else DELTAS_PER_ANSWER
        for n in range(spoken):
            yield ev.OutputAudioTranscriptDeltaForItem(
                response_id=response,
                delta_id=f"{answer}:{n}",
                item_id=answer,
                previous_item_id=user,
                delta=WORD,
            )
            counts.media += 1
            yield ev.OutputAudioChunk(chunk=CHUNK, response_id=response, item_id=answer)
        if turn % 10 == 3:
            yield ev.ToolCallRequested(
                call_id=f"call{turn}", tool_name="lookup", arguments={"turn": turn}
            )
        if barge_in:
            yield ev.Interrupted(response_id=response)
            for _ in range(5):  # audio still in flight: the session must not publish it
                counts.media += 1
                counts.suppressed += 1
                yield ev.OutputAudioChunk(chunk=CHUNK, response_id=response, item_id=answer)
            counts.completed += 1
            yield ev.TurnCompleted(response_id=response, stop_reason=ev.StopReason.CANCELLED)
            yield ev.AssistantTranscriptTruncated(item_id=answer, audio_played_ms=2_000)
        else:
            usage = ev.Usage(input_tokens=20, output_tokens=DELTAS_PER_ANSWER)
            counts.completed += 1
            yield ev.TurnCompleted(response_id=response, usage=usage)
        previous = answer


@attrs.define
class Counts:
    media: int = 0
    suppressed: int = 0
    completed: int = 0


class Commands:
    """Provider commands that keep nothing: the soak measures the library's memory."""

    supports_truncation = True
    submitted = 0

    async def send_input(self, chunk: ev.RealtimeInputChunk) -> None:
        pass

    async def commit_turn(self) -> None:
        pass

    async def interrupt(self) -> None:
        pass

    async def truncate_assistant_output(
        self, item_id: str, content_index: int, audio_played_ms: int
    ) -> None:
        pass

    async def submit_tool_result(self, call_id: str, output: ev.JsonValue) -> None:
        self.submitted += 1

    async def submit_tool_error(self, call_id: str, error: str) -> None:
        raise AssertionError(f"tool call {call_id} failed: {error}")

    async def aclose(self) -> None:
        pass


async def lookup(turn: int) -> dict[str, int]:
    return {"turn": turn}


@attrs.define
class Reader:
    """What a subscriber saw, in constant space: counts and an order-sensitive digest."""

    control: int = 0
    digest: int = 0
    media: int = 0
    markers: int = 0
    committed: int = 0
    committed_bytes: int = 0
    last_completed: int = -1
    first_keys: list[int] = attrs.Factory(list)
    lagged: SubscriberLagged | None = None

    def see(self, event: public.RealtimeEvent) -> None:
        if isinstance(event, MEDIA):
            self.media += 1
            return
        if isinstance(event, public.MediaDropped):
            self.markers += event.dropped
            return
        self.control += 1
        key = hash(event)
        self.digest = hash((self.digest, key))
        if len(self.first_keys) < 1_000:
            self.first_keys.append(key)
        if isinstance(event, public.TranscriptCommitted):
            self.committed += 1
            self.committed_bytes += len(event.message.text)
        elif isinstance(event, public.TurnCompleted):
            turn = int(event.response_id[1:])
            assert turn == self.last_completed + 1, "a TurnCompleted is missing or out of order"
            self.last_completed = turn

    async def read(self, subscription: Subscription, *, pause_every: int, pause_s: float) -> None:
        try:
            async for event in subscription:
                self.see(event)
                if (self.control + self.media) % pause_every == 0:
                    await anyio.sleep(pause_s)
        except SubscriberLagged as exc:
            self.lagged = exc


@attrs.define
class Sample:
    events: int
    traced: int
    committed: int
    committed_bytes: int


async def soak(total_events: int) -> None:
    counts = Counts()
    commands = Commands()
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](256)
    session = RealtimeSession(
        receive,
        config=SessionConfig(tool_timeout_s=60),
        commands=commands,
        tools={"lookup": lookup},
    )
    durable, stalled, lagging = Reader(), Reader(), Reader()
    durable_subscription = session.events(backpressure=True, media=False, max_pending=256)
    stalled_subscription = session.events(media_buffer=2, max_pending=100_000)
    lagging_subscription = session.events(max_pending=64)
    samples: list[Sample] = []
    sent = 0

    async def sample() -> None:
        """Measure at a quiet point: everything sent applied, both readers caught up."""
        quiet = 0
        while quiet < 20:
            caught_up = session.stats.events_in == sent and stalled.control == durable.control
            quiet = quiet + 1 if caught_up else 0
            await anyio.lowlevel.checkpoint()
        gc.collect()
        traced, _ = tracemalloc.get_traced_memory()
        samples.append(Sample(sent, traced, durable.committed, durable.committed_bytes))

    tracemalloc.start()
    try:
        with anyio.fail_after(600):
            async with session, anyio.create_task_group() as readers:
                readers.start_soon(
                    lambda: durable.read(durable_subscription, pause_every=10**9, pause_s=0)
                )
                # It keeps up with control events, but its two-chunk media lane
                # overflows with every batch the session publishes.
                readers.start_soon(
                    lambda: stalled.read(stalled_subscription, pause_every=4096, pause_s=0)
                )
                readers.start_soon(
                    lambda: lagging.read(lagging_subscription, pause_every=1, pause_s=0.001)
                )
                sample_every = max(total_events // 20, 1)
                async with send:
                    for event in itertools.islice(conversation(counts), total_events):
                        try:
                            send.send_nowait(event)
                        except anyio.WouldBlock:
                            await send.send(event)
                        sent += 1
                        if sent % sample_every == 0:
                            await sample()
                    await sample()
                await session.wait_closed()
    finally:
        tracemalloc.stop()

    stats = session.stats
    # Barge-in: the chunks of an interrupted response were not published.
    assert stats.media_suppressed == counts.suppressed
    media_published = counts.media - counts.suppressed
    # The back-pressure subscriber got every control event, in order.
    assert durable.lagged is None
    assert durable.control == stats.published - media_published
    assert sent == total_events
    assert durable.last_completed == counts.completed - 1
    assert commands.submitted == stats.tool_calls > 0
    # The stalled one lost media, never a control event.
    assert stalled.lagged is None
    assert (stalled.control, stalled.digest) == (durable.control, durable.digest)
    dropped = stalled_subscription.dropped_media
    assert dropped > 0
    assert stalled.markers == dropped
    assert stalled.media + dropped + stalled_subscription.flushed_media == media_published
    # The lagging one was told, and what it got before was the start of the same sequence.
    assert isinstance(lagging.lagged, SubscriberLagged)
    assert lagging.first_keys == durable.first_keys[: len(lagging.first_keys)]

    # Memory: after warm-up, growth is paid for by committed items and their text.
    warm = samples[len(samples) // 5]
    last = samples[-1]
    items = last.committed - warm.committed
    text = last.committed_bytes - warm.committed_bytes
    assert items > 0
    growth = last.traced - warm.traced
    budget = 2 * text + PER_ITEM_BYTES * items + SLACK_BYTES
    assert growth <= budget, (
        f"{growth} bytes retained over {last.events - warm.events} events "
        f"and {items} committed items ({growth / items:.0f} per item)"
    )


async def test_a_soak_of_50_000_events_loses_nothing_and_holds_memory_flat(
    anyio_backend: object,
) -> None:
    await soak(50_000)


@pytest.mark.slow
@pytest.mark.timeout(900)
async def test_a_soak_of_1_000_000_events_loses_nothing_and_holds_memory_flat(
    anyio_backend: object,
) -> None:
    await soak(1_000_000)
