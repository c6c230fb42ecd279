"""Subscriptions and the fan-out that feeds them: the two lanes, per subscriber.

Every published event gets a session-wide sequence number. Each subscription
keeps two queues of ``(seq, event, ...)`` entries: a lossless control queue and
a bounded, lossy media queue. Reading merges them back into sequence order, so
a subscriber sees events in the order they were published, minus the media
chunks its media lane dropped, with a ``MediaDropped`` marker where they stood.

Publishing is synchronous and never waits for a subscriber; only
``backpressure=True`` subscriptions can make the session wait, only between
batches of events, and only up to a bound (see :meth:`Fanout.wait_for_backpressure`).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Final, Self, final

import anyio
import anyio.lowlevel
import attrs

from . import public
from ._errors import SubscriberLagged
from ._wakeup import Wakeup

if TYPE_CHECKING:
    from collections.abc import Callable
    from types import TracebackType

    from ._config import MediaDropPolicy

_ControlEntry = tuple[int, public.RealtimeEvent]
# seq, event, duration in ms (0.0 when unknown), response id
_MediaEntry = tuple[int, public.RealtimeEvent, float, str | None]

# A reader with events queued takes them without waiting, and yields to the
# scheduler once per this many: draining a backlog would otherwise starve every
# other task (the session's actor included) until the queue is empty, while a
# yield per event costs a scheduler pass per event on the hot path.
_EVENTS_PER_CHECKPOINT: Final = 256


@final
@attrs.frozen(kw_only=True)
class SubscriptionStatistics:
    """A snapshot of a :class:`Subscription`'s queues and counters (:meth:`Subscription.statistics`).

    :param queued_control: control events queued, not yet received.
    :param queued_media: media chunks queued, not yet received.
    :param max_pending: the control events it may hold before it lags (or, with
        ``backpressure``, before the session waits for it).
    :param media_buffer: the media chunks it may hold before its media lane drops.
    :param delivered: events received so far, ``MediaDropped`` markers included.
    :param dropped_media: media chunks its media lane dropped under back-pressure.
    :param flushed_media: queued media chunks a barge-in discarded.
    :param tasks_waiting_receive: tasks blocked in :meth:`Subscription.receive`.
    """

    queued_control: int
    queued_media: int
    max_pending: int
    media_buffer: int
    delivered: int
    dropped_media: int
    flushed_media: int
    tasks_waiting_receive: int


@final
class Subscription:
    """One subscriber's view of a session: an async iterator of public events.

    Created by :meth:`RealtimeSession.events`, which registers it at once: it
    receives every event published after that call. It is also an async context
    manager; :meth:`aclose` (or leaving the ``async with``) unregisters it.

    Control events (everything but media chunks) are never dropped. If this
    subscription falls more than ``max_pending`` control events behind, it is
    failed: its queue is released and the next step raises
    :class:`~realtime_session.SubscriberLagged`. Media chunks are held up to
    ``media_buffer``; beyond that the media lane drops (counted in
    :attr:`dropped_media`) and yields one :class:`~realtime_session.public.MediaDropped`
    marker in their place. On barge-in, queued media of the interrupted response
    is discarded (counted in :attr:`flushed_media`).

    The last event is always :class:`~realtime_session.public.SessionClosed`;
    iteration ends after it.

    Like an anyio memory object receive stream, it can be read by several tasks
    at once: they compete for its events, each event going to exactly one of
    them, and none of them hangs while events are queued. :meth:`statistics`
    tells what is queued and what was delivered.
    """

    __slots__ = (
        "__weakref__",
        "_backpressure",
        "_control",
        "_delivered",
        "_drop_oldest",
        "_dropped",
        "_ended",
        "_failure",
        "_fanout",
        "_flushed",
        "_last_drop_seq",
        "_max_pending",
        "_media",
        "_media_buffer",
        "_media_enabled",
        "_next_checkpoint",
        "_pending_drop_ms",
        "_pending_drops",
        "_space",
        "_wakeup",
    )

    def __init__(
        self,
        fanout: Fanout,
        *,
        media: bool,
        media_buffer: int,
        media_drop: MediaDropPolicy,
        max_pending: int,
        backpressure: bool,
    ) -> None:
        if media_buffer < 1:
            raise ValueError(f"media_buffer must be >= 1, got {media_buffer!r}")
        if max_pending < 1:
            raise ValueError(f"max_pending must be >= 1, got {max_pending!r}")
        self._fanout: Fanout | None = fanout
        self._control: deque[_ControlEntry] = deque()
        self._media: deque[_MediaEntry] = deque()
        self._media_enabled = media
        self._media_buffer = media_buffer
        self._drop_oldest = media_drop == "oldest"
        self._max_pending = max_pending
        self._backpressure = backpressure
        self._dropped = 0
        self._flushed = 0
        self._pending_drops = 0
        self._pending_drop_ms = 0.0
        self._last_drop_seq = -1
        self._failure: SubscriberLagged | None = None
        self._ended = False
        # What waiting readers wait on, made once: the session wakes them when it queues.
        self._wakeup = Wakeup()
        self._space: anyio.Event | None = None
        self._delivered = 0
        # receive() yields to the scheduler before returning this delivery.
        self._next_checkpoint = _EVENTS_PER_CHECKPOINT

    @property
    def dropped_media(self) -> int:
        """Media chunks this subscription's media lane dropped under back-pressure."""
        return self._dropped

    @property
    def flushed_media(self) -> int:
        """Queued media chunks discarded by barge-in (not counted as drops)."""
        return self._flushed

    @property
    def backpressure(self) -> bool:
        """Whether the session waits for this subscription instead of failing it."""
        return self._backpressure

    def statistics(self) -> SubscriptionStatistics:
        """What is queued, and what was delivered, dropped and flushed so far."""
        return SubscriptionStatistics(
            queued_control=len(self._control),
            queued_media=len(self._media),
            max_pending=self._max_pending,
            media_buffer=self._media_buffer,
            delivered=self._delivered,
            dropped_media=self._dropped,
            flushed_media=self._flushed,
            tasks_waiting_receive=self._wakeup.waiting,
        )

    def receive_nowait(self) -> public.RealtimeEvent:
        """Return the next event if one is ready.

        :raises ~anyio.WouldBlock: if nothing is ready yet.
        :raises ~anyio.EndOfStream: after ``SessionClosed`` was delivered, or after
            :meth:`aclose`.
        :raises ~realtime_session.SubscriberLagged: if this subscription lagged.
        """
        if self._failure is not None:
            raise self._failure
        control = self._control
        media = self._media
        if control:
            if media and media[0][0] < control[0][0]:
                seq = media[0][0]
                from_media = True
            else:
                seq = control[0][0]
                from_media = False
        elif media:
            seq = media[0][0]
            from_media = True
        elif self._ended:
            raise anyio.EndOfStream
        else:
            raise anyio.WouldBlock
        self._delivered += 1
        if self._pending_drops and seq > self._last_drop_seq:
            marker = public.MediaDropped(
                dropped=self._pending_drops, dropped_ms=self._pending_drop_ms
            )
            self._pending_drops = 0
            self._pending_drop_ms = 0.0
            return marker
        if from_media:
            return media.popleft()[1]
        event = control.popleft()[1]
        space = self._space
        if space is not None and len(control) <= self._max_pending // 2:
            self._space = None
            space.set()
        return event

    async def receive(self) -> public.RealtimeEvent:
        """Wait for the next event.

        It suspends when nothing is queued. While events are queued it returns
        them without waiting, and is a schedule point (it yields to the
        scheduler, and a cancellation takes effect) at least once every 256
        events it delivers. So a reader draining a backlog cannot starve other
        tasks, the session's actor included: each task ready to run gets to run
        at least once per 512 events delivered (just before or just after a
        schedule point, as the scheduler orders the tasks ready at the same
        time). Iterating with ``async for`` keeps the same bound. A schedule
        point per event would cost a pass through the scheduler per event.

        Cancellation is safe: an event is taken from the queue only when it is
        returned, so a cancelled ``receive()`` leaves the subscription
        unchanged. Several tasks may receive at once, like readers of one anyio
        memory object stream: they compete for the events, each event goes to
        exactly one of them, and no reader waits while an event is queued.

        :raises ~anyio.EndOfStream: after ``SessionClosed`` was delivered.
        :raises ~realtime_session.SubscriberLagged: if this subscription lagged.
        """
        if self._delivered >= self._next_checkpoint:
            await anyio.lowlevel.checkpoint()
            self._next_checkpoint = self._delivered + _EVENTS_PER_CHECKPOINT
        # Checked and waited on without a yield in between, so no wake-up is
        # missed; a woken reader looks again, as another may have taken the event.
        while not (self._control or self._media or self._ended or self._failure is not None):
            await self._wakeup.wait()
            self._next_checkpoint = self._delivered + _EVENTS_PER_CHECKPOINT
        return self.receive_nowait()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> public.RealtimeEvent:
        # Fast path: something queued (control or media) and no schedule point
        # due, so no coroutine to enter. receive_nowait() merges the lanes.
        if (self._control or self._media) and self._delivered < self._next_checkpoint:
            return self.receive_nowait()
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Unregister from the session and release everything queued.

        Later steps end the iteration. Idempotent.
        """
        self.close()

    def close(self) -> None:
        """Synchronous :meth:`aclose`, for ``finally`` blocks and callbacks."""
        fanout = self._fanout
        if fanout is not None:
            fanout.remove(self)
        self._release()
        self._ended = True
        self._wake()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "failed" if self._failure else "ended" if self._ended else "open"
        return (
            f"<Subscription {state} control={len(self._control)} media={len(self._media)} "
            f"delivered={self._delivered} dropped_media={self._dropped} "
            f"flushed_media={self._flushed}>"
        )

    # -- called by the fan-out (same event loop, never concurrently) --------

    def _notify(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` whenever the session queues something here, or ends or
        fails this subscription: for an owner that takes the events when it needs
        them (with :meth:`receive_nowait`), not a task woken per event. It runs in
        the session's task, so it must be brief and must not raise."""
        self._wakeup.notify = callback

    def _queued(self) -> int:
        """Events queued here (control and media)."""
        return len(self._control) + len(self._media)

    def _ready(self) -> bool:
        """Whether :meth:`receive_nowait` has something to return (or to raise)."""
        return bool(self._control or self._media) or self._ended or self._failure is not None

    def _fail(self, stalled_s: float | None = None) -> None:
        self._failure = SubscriberLagged(len(self._control), self._max_pending, stalled_s=stalled_s)
        self._release()
        self._wake()

    def _end(self) -> None:
        self._ended = True
        self._fanout = None
        self._wake()

    def _release(self) -> None:
        self._control.clear()
        self._media.clear()
        self._pending_drops = 0
        space = self._space
        if space is not None:
            self._space = None
            space.set()

    def _wake(self) -> None:
        self._wakeup.wake_all()


@final
class Fanout:
    """Publishes events to every registered subscription, in one sequence.

    Owned by the session's actor. All methods are synchronous and run on the
    actor's event loop; none of them waits for a subscriber.
    """

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self._media_subscriptions: list[Subscription] = []
        self._closing_event: public.SessionClosed | None = None
        self._batch: list[_ControlEntry] = []
        self._backpressure_blocked = False
        # Media queued since the last flush, whose readers are woken there.
        self._media_queued = False
        self.seq = 0
        self.media_dropped = 0
        self.media_flushed = 0

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    @property
    def backpressure_blocked(self) -> bool:
        """A ``backpressure=True`` subscription is full; the actor should wait for it."""
        return self._backpressure_blocked

    def subscribe(
        self,
        *,
        media: bool,
        media_buffer: int,
        media_drop: MediaDropPolicy,
        max_pending: int,
        backpressure: bool,
    ) -> Subscription:
        subscription = Subscription(
            self,
            media=media,
            media_buffer=media_buffer,
            media_drop=media_drop,
            max_pending=max_pending,
            backpressure=backpressure,
        )
        self.flush()  # it must not receive what was published before it existed
        if self._closing_event is not None:
            # Registered after the end: it still gets the session's last word.
            subscription._control.append((self.seq, self._closing_event))
            subscription._end()
            return subscription
        self._subscriptions.append(subscription)
        if media:
            self._media_subscriptions.append(subscription)
        return subscription

    def remove(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)
        if subscription in self._media_subscriptions:
            self._media_subscriptions.remove(subscription)
        subscription._fanout = None

    def publish(self, event: public.RealtimeEvent) -> None:
        """Publish a control event: numbered now, handed to subscribers at :meth:`flush`.

        The actor publishes a whole batch of events before it yields to the
        scheduler, and subscribers can only read once it has, so handing them
        the batch in one step changes nothing they can observe, at a fraction
        of the cost per subscriber.
        """
        self.seq += 1
        self._batch.append((self.seq, event))

    def publish_now(self, event: public.RealtimeEvent) -> None:
        """Publish a control event from outside the actor's batch (a tool task)."""
        self.publish(event)
        self.flush()

    def flush(self) -> None:
        """Hand the published batch to every subscription: lossless, never waits.

        A default subscription that now holds more than its ``max_pending`` is
        failed on the spot; a ``backpressure`` one marks the fan-out blocked.
        The readers of what was queued since the last flush, media included,
        are woken.
        """
        batch = self._batch
        if batch:
            self._batch = []
            lagged: list[Subscription] | None = None
            for sub in self._subscriptions:
                queue = sub._control
                if len(batch) == 1:
                    queue.append(batch[0])
                else:
                    queue.extend(batch)
                if len(queue) >= sub._max_pending:
                    if sub._backpressure:
                        self._backpressure_blocked = True
                    elif len(queue) > sub._max_pending:
                        if lagged is None:
                            lagged = []
                        lagged.append(sub)
                        continue
                sub._wakeup.wake_all()
            if lagged is not None:
                for sub in lagged:
                    self.remove(sub)
                    sub._fail()
        # Media last: a subscription's owner may take what is queued as it is woken
        # (see Subscription._notify), and the batch's control events must be there.
        if self._media_queued:
            self._media_queued = False
            for sub in self._media_subscriptions:
                if sub._media:
                    sub._wakeup.wake_all()

    def publish_media(
        self, event: public.RealtimeEvent, response_id: str | None, duration_ms: float
    ) -> None:
        """Queue a media chunk for every media subscription: lossy, never waits.

        Its readers are woken at :meth:`flush`, with the batch's control events:
        they could not run before the actor yields anyway.
        """
        self.seq += 1
        seq = self.seq
        entry = (seq, event, duration_ms, response_id)
        for sub in self._media_subscriptions:
            queue = sub._media
            if len(queue) >= sub._media_buffer:
                if sub._drop_oldest:
                    lost_seq, _, lost_ms, _ = queue.popleft()
                    queue.append(entry)
                else:
                    lost_seq, lost_ms = seq, duration_ms
                sub._dropped += 1
                sub._pending_drops += 1
                sub._pending_drop_ms += lost_ms
                sub._last_drop_seq = max(sub._last_drop_seq, lost_seq)
                self.media_dropped += 1
            else:
                queue.append(entry)
        self._media_queued = True

    def flush_media(self, response_id: str | None) -> None:
        """Discard queued media of ``response_id`` (of every response if ``None``)."""
        for sub in self._media_subscriptions:
            queue = sub._media
            if not queue:
                continue
            if response_id is None:
                flushed = len(queue)
                queue.clear()
            else:
                kept = [entry for entry in queue if entry[3] != response_id]
                flushed = len(queue) - len(kept)
                if flushed:
                    queue.clear()
                    queue.extend(kept)
            sub._flushed += flushed
            self.media_flushed += flushed

    async def wait_for_backpressure(self, timeout_s: float) -> None:
        """Wait until no ``backpressure`` subscription is full, for at most ``timeout_s``.

        A full one is considered drained once its reader brought it down to half
        of ``max_pending``, so the session does not stop and start per event.
        One still full after ``timeout_s`` has held the session up long enough
        (nobody reads the provider meanwhile): it is failed with
        ``SubscriberLagged``, like a default subscription that lags, and the
        session goes on without it.
        """
        with anyio.move_on_after(timeout_s):
            while True:
                full = next(filter(_holds_up, self._subscriptions), None)
                if full is None:
                    self._backpressure_blocked = False
                    return
                space = full._space = anyio.Event()
                await space.wait()
        for sub in list(filter(_holds_up, self._subscriptions)):
            self.remove(sub)
            sub._fail(stalled_s=timeout_s)
        self._backpressure_blocked = False

    def close(self, event: public.SessionClosed) -> None:
        """Deliver ``event`` as the last event of every subscription and end them.

        No subscription is failed for lagging at this point: the closing event is
        always delivered, after everything still queued.
        """
        if self._closing_event is not None:
            return
        self.flush()
        self._closing_event = event
        self.seq += 1
        entry = (self.seq, event)
        subscriptions = self._subscriptions
        self._subscriptions = []
        self._media_subscriptions = []
        self._backpressure_blocked = False
        for sub in subscriptions:
            sub._control.append(entry)
            sub._end()


def _holds_up(subscription: Subscription) -> bool:
    """Whether the session must wait for ``subscription`` before it publishes more."""
    return subscription._backpressure and len(subscription._control) >= subscription._max_pending
