"""The session actor: one task that owns the transcript and publishes to subscribers.

Per incoming provider event the actor persists, then publishes: it records the
event (if recording), applies the transcript lane to the reducer, publishes the
projected public event, then one ``TranscriptCommitted``/``TranscriptRevised``
per change. It drains the provider stream in batches and never awaits per event;
the only thing it ever waits for between events is a full ``backpressure``
subscription.
"""

from __future__ import annotations

import contextlib
import math
import os
import uuid
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, final

import anyio
import anyio.abc
import attrs
import structlog

from . import events as ev
from . import public
from . import transcript as tr
from ._config import SessionConfig, SessionStats
from ._errors import NoProviderCommands, SessionFailed
from ._heard import estimate_heard_prefix
from ._latency import LatencyTracker, max_ms, median_ms
from ._log import library_logger
from ._playback import PlaybackTracker
from ._reducer import DROPPED_DUPLICATE
from ._routes import ROUTES, AssistantDeltaLane, announcement, change_event
from ._subscription import Fanout, Subscription
from ._tools import Tool, ToolRunner
from ._wakeup import native_checkpoint
from .recording import EventRecorder

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping

    import structlog.typing

    from ._commands import ProviderCommands

# Bounded so the actor still reaches a checkpoint regularly under a flood.
_BATCH: Final = 256
# Log the first few rejected objects in full, then only every this-many.
_REJECTION_LOG_EVERY: Final = 1000
_STREAM_CLOSE_TIMEOUT_S: Final = 1.0
_SUBMIT_GRACE_S: Final = 5.0
_VIDEO: Final = ROUTES[ev.OutputVideoChunk]


@final
class RealtimeSession(anyio.AsyncContextManagerMixin):
    """A realtime model session: a lossless transcript, a lossy media lane, many subscribers.

    ``provider_events`` is any anyio ``ObjectReceiveStream`` of
    :data:`~realtime_session.events.RealtimeSessionEvent`, usually fed by a provider
    adapter. The session owns it and closes it when it ends.

    Entering ``async with`` starts the actor in a task group; leaving it closes
    the session: every subscription ends with ``SessionClosed(reason="closed")``
    after what it already holds. When the provider stream ends, the session
    flushes the transcript and closes with ``"provider_closed"``; when the
    stream raises, or the provider reports a fatal error, it closes with
    ``"failed"``, and :meth:`wait_closed` raises :class:`SessionFailed`. The
    session itself never raises into the application's task group.

    A part that fails fails alone: a tool (its call is answered with an error),
    a subscriber (it gets ``SubscriberLagged``), the recording (announced with
    ``RecordingFailed``; fatal only with ``SessionConfig(recording_required=True)``).

    :param commands: the provider connection's command verbs; needed for tools,
        for sending truncations (``auto_truncate``) and for the command methods of
        this class. A session without commands cannot truncate the provider's
        audio: on a barge-in it cuts its own transcript at the reported playback
        position instead (see :meth:`report_playback`); without a report it
        leaves the item to what its stream brings next (a recording carries the
        decisions the recorded session took).
    :param tools: functions by name, run on ``ToolCallRequested`` with the
        call's arguments as keyword arguments: ``async`` ones in the session's
        task group, plain ones in a worker thread. See :data:`Tool`.
    :param playback_clock: the clock, in seconds, on which playback that no
        player reports is estimated; ``anyio.current_time`` by default. A replay
        of a recorded call passes the trace's own clock (and is not warned that
        playback goes unreported).
    :param logger: a structlog logger to bind the session id to. By default the
        session logs through structlog if the application configured it, and
        through the stdlib logger ``"realtime_session"`` otherwise; it never
        configures logging itself.
    """

    def __init__(
        self,
        provider_events: anyio.abc.ObjectReceiveStream[ev.RealtimeSessionEvent],
        *,
        config: SessionConfig = SessionConfig(),
        commands: ProviderCommands | None = None,
        tools: Mapping[str, Tool] | None = None,
        logger: structlog.typing.FilteringBoundLogger | None = None,
        playback_clock: Callable[[], float] | None = None,
    ) -> None:
        if not (
            callable(getattr(provider_events, "receive", None))
            and callable(getattr(provider_events, "aclose", None))
        ):
            raise TypeError(
                "provider_events must be an anyio ObjectReceiveStream of RealtimeSessionEvent "
                "(the receive end of anyio.create_memory_object_stream(), or the events an "
                f"adapter's connect() yields), got {type(provider_events).__name__}"
            )
        if tools is not None and commands is None:
            raise ValueError("tools need commands= to submit their results to the provider")
        self._provider_events = provider_events
        self._config = config
        self._commands = commands
        self._session_id = uuid.uuid4().hex[:12]
        base_logger = logger if logger is not None else library_logger()
        self._log: structlog.typing.FilteringBoundLogger = base_logger.bind(
            session_id=self._session_id
        )
        self._reducer = tr.TranscriptReducer(unheard_policy=config.unheard_policy, logger=self._log)
        self._fanout = Fanout()
        self._latency = LatencyTracker()
        self._tools = (
            ToolRunner(
                tools,
                commands=commands,
                timeout_s=config.tool_timeout_s,
                publish=self._publish_tool_outcome,
                log=self._log,
            )
            if tools is not None and commands is not None
            else None
        )
        # Whether a truncation sent to the provider comes back confirmed.
        self._provider_truncates = commands is not None and bool(
            getattr(commands, "supports_truncation", True)
        )
        # A caller that passes its own clock estimates playback on purpose (a replay).
        self._playback_warned = playback_clock is not None
        self._recorder: EventRecorder | None = None
        # Set once the recording failed: later events are counted as unrecorded.
        self._recording_lost = False
        self._events_not_recorded = 0
        self._task_group: anyio.abc.TaskGroup | None = None
        # anyio objects need a running event loop: they are made when first
        # needed, so a session can be constructed anywhere.
        self._actor_scope: anyio.CancelScope | None = None
        self._done: anyio.Event | None = None
        self._entered = False
        self._closed = False
        self._failure: SessionFailed | None = None
        # Why the session is to end: reason, error text, and the exception behind it.
        self._stop: tuple[str, str | None, BaseException | None] | None = None
        self._events_in = 0
        self._rejected = 0
        self._media_suppressed = 0
        # Responses in flight, finished and interrupted; audio received and played.
        self._playback = PlaybackTracker(playback_clock or anyio.current_time)
        # Connections replaced so far; an audio item belongs to the one it came on
        # (recorded once there was a replacement), and only the current one can
        # still truncate it.
        self._connection_epoch = 0
        self._audio_epoch: dict[str, int] = {}
        self._reconnects = 0
        self._reconnect_gap_ms = 0
        self._gap_input_held = 0
        self._gap_input_dropped = 0
        self._orphan_deadline: float | None = None
        self._orphan_snapshot: frozenset[str] = frozenset()
        self._facts = _SessionFacts(self._reducer, self._playback)
        self._handlers = self._make_handlers()

    # -- public API ---------------------------------------------------------

    @property
    def session_id(self) -> str:
        """A random id bound to every log line of this session."""
        return self._session_id

    @property
    def config(self) -> SessionConfig:
        return self._config

    @property
    def reducer(self) -> tr.TranscriptReducer:
        """The transcript reducer. Read from it; only the session should apply events."""
        return self._reducer

    @property
    def transcript(self) -> tuple[tr.Message, ...]:
        """The canonical transcript so far."""
        return self._reducer.messages

    @property
    def closed(self) -> bool:
        """Whether the session has ended (``SessionClosed`` was published)."""
        return self._closed

    @property
    def stats(self) -> SessionStats:
        """A snapshot of the session's counters."""
        latency = self._latency
        return SessionStats(
            events_in=self._events_in,
            published=self._fanout.seq,
            rejected=self._rejected + self._reducer.rejected,
            media_dropped=self._fanout.media_dropped,
            media_flushed=self._fanout.media_flushed,
            media_suppressed=self._media_suppressed,
            subscribers=self._fanout.subscriber_count,
            pending_items=len(self._reducer.pending_item_ids()),
            tool_calls=self._tools.calls if self._tools is not None else 0,
            events_not_recorded=self._events_not_recorded,
            duplicate_deltas=self._reducer.duplicate_deltas,
            reconnects=self._reconnects,
            reconnect_gap_ms=self._reconnect_gap_ms,
            gap_input_held=self._gap_input_held,
            gap_input_dropped=self._gap_input_dropped,
            responses_timed=len(latency.completed_ms),
            first_audio_ms_median=median_ms(latency.first_audio_ms),
            first_audio_ms_max=max_ms(latency.first_audio_ms),
            first_text_ms_median=median_ms(latency.first_text_ms),
            completed_ms_median=median_ms(latency.completed_ms),
            tool_ms_median=median_ms(latency.tool_ms),
            tool_ms_max=max_ms(latency.tool_ms),
        )

    def events(
        self,
        *,
        media: bool = True,
        media_buffer: int | None = None,
        max_pending: int | None = None,
        backpressure: bool = False,
    ) -> Subscription:
        """Subscribe to the session's public events.

        The subscription is registered now, not at first iteration: it receives
        every event published after this call. After the session closed it
        receives only ``SessionClosed``.

        :param media: ``False`` for a subscription that receives no media chunks.
        :param media_buffer: media chunks it may hold before its media lane drops
            (default: ``SessionConfig.media_buffer``).
        :param max_pending: undelivered control events it may hold before it is
            failed with ``SubscriberLagged`` (default: ``SessionConfig.max_pending``).
        :param backpressure: instead of failing it, slow the session to its pace:
            it never loses a control event. For durable sinks. Only so far: one
            that holds the session up for ``SessionConfig.backpressure_timeout_s``
            is failed with ``SubscriberLagged`` after all, and the session goes on.
        """
        return self._fanout.subscribe(
            media=media,
            media_buffer=self._config.media_buffer if media_buffer is None else media_buffer,
            media_drop=self._config.media_drop,
            max_pending=self._config.max_pending if max_pending is None else max_pending,
            backpressure=backpressure,
        )

    def report_playback(self, item_id: str, played_ms: float) -> None:
        """Record how much of an item's audio the application has actually played.

        A plain method, safe to call from an audio callback on the event loop's
        thread. The session keeps the furthest position reported per item (a
        report for an item it published no audio of is ignored) and uses it:

        - for a playback-aware barge-in: when the user starts talking
          (``TurnStarted``) while an item's reported playback is behind the audio
          received for it, the session interrupts that item's response itself;
        - with ``auto_truncate``, on a barge-in, for each interrupted item with
          audio: played to the end, it keeps its whole text (nothing is cut);
          otherwise the provider is told to truncate it at that position (never
          at 0 ms), or, for a provider that cannot truncate (and for a session
          without ``commands``), the session cuts its own transcript there.

        Without any report for an item, a session with ``commands`` estimates the
        position the way a player would have: the audio received, capped by the
        time since the item's first chunk. It logs once (``playback_not_reported``)
        that playback is not being reported. A session without commands has
        nobody to tell and estimates nothing: the item waits for a truncation
        from the provider's stream, or is settled by ``unheard_policy``.

        Every decision this leads to that changes the transcript or what
        subscribers see is written to the recording (``record_to``), so a replay
        through a session without commands reproduces it.
        """
        if isinstance(played_ms, bool) or not isinstance(played_ms, int | float):
            raise TypeError(f"played_ms must be a number, got {type(played_ms).__name__}")
        if not math.isfinite(played_ms) or played_ms < 0:
            raise ValueError(f"played_ms must be finite and >= 0, got {played_ms!r}")
        self._playback.report(item_id, float(played_ms))

    async def wait_closed(self) -> None:
        """Wait until the session has ended.

        :raises SessionFailed: if it ended as ``failed``.
        """
        if not self._closed:
            await self._done_event().wait()
        if self._failure is not None:
            raise self._failure

    async def aclose(self) -> None:
        """Close the session and wait until every subscription got ``SessionClosed``."""
        if not self._entered:
            self._finish("closed", None, None)
            await self._provider_events.aclose()
            return
        self._request_stop("closed")
        if not self._closed:
            await self._done_event().wait()

    async def send_input(self, chunk: ev.RealtimeInputChunk) -> None:
        """Forward user input (text, audio or video) to the provider.

        A text input is a whole user turn: the next response is timed from it
        (see :class:`~realtime_session.public.ResponseLatency`).
        """
        await self._require_commands("send_input").send_input(chunk)
        if isinstance(chunk, ev.TextInput):
            self._latency.turn_committed(anyio.current_time())

    async def commit_turn(self) -> None:
        """Ask the provider to commit the buffered user input as a turn.

        The next response is timed from here (see :class:`~realtime_session.public.ResponseLatency`).
        """
        await self._require_commands("commit_turn").commit_turn()
        self._latency.turn_committed(anyio.current_time())

    async def interrupt(self) -> None:
        """Ask the provider to cancel the response it is generating."""
        await self._require_commands("interrupt").interrupt()

    async def truncate_assistant_output(
        self, item_id: str, content_index: int, audio_played_ms: int
    ) -> None:
        """Tell the provider the user heard only ``audio_played_ms`` of an item."""
        commands = self._require_commands("truncate_assistant_output")
        await commands.truncate_assistant_output(item_id, content_index, audio_played_ms)

    async def submit_tool_result(self, call_id: str, output: ev.JsonValue) -> None:
        """Return a tool result to the provider (for tool calls the application runs itself)."""
        await self._require_commands("submit_tool_result").submit_tool_result(call_id, output)
        self._latency.tool_answered(anyio.current_time(), call_id)

    async def submit_tool_error(self, call_id: str, error: str) -> None:
        """Report a failed tool call to the provider."""
        await self._require_commands("submit_tool_error").submit_tool_error(call_id, error)
        self._latency.tool_answered(anyio.current_time(), call_id)

    # -- lifecycle ----------------------------------------------------------

    @asynccontextmanager
    async def __asynccontextmanager__(self) -> AsyncGenerator[RealtimeSession]:
        if self._entered:
            raise RuntimeError("a RealtimeSession can be entered only once")
        self._entered = True
        body_started = anyio.Event()
        try:
            async with anyio.create_task_group() as task_group:
                self._task_group = task_group
                await task_group.start(
                    self._run, body_started, name=f"realtime_session {self._session_id}"
                )
                # Nothing awaits between here and the body, so subscriptions the
                # body makes before its first await miss no event, even when the
                # provider stream is already full.
                body_started.set()
                try:
                    yield self
                finally:
                    self._request_stop("closed")
                    # The actor finishes synchronously once cancelled; what remains
                    # in the group (tools, truncation commands) is cancelled with it.
                    task_group.cancel_scope.cancel()
        except BaseExceptionGroup as group:
            # The session's own tasks never raise, so a group holding one exception
            # carries the application's own error: hand it back as it was raised.
            if len(group.exceptions) == 1:
                raise group.exceptions[0] from None
            raise

    def _request_stop(
        self, reason: str, error: str | None = None, cause: BaseException | None = None
    ) -> None:
        if self._stop is None:
            self._stop = (reason, error, cause)
        if self._actor_scope is not None:
            self._actor_scope.cancel()

    def _done_event(self) -> anyio.Event:
        if self._done is None:
            self._done = anyio.Event()
        return self._done

    def _new_actor_scope(self) -> anyio.CancelScope:
        scope = self._actor_scope = anyio.CancelScope()
        if self._stop is not None:
            scope.cancel()  # closed before the actor even started
        return scope

    def _require_commands(self, verb: str) -> ProviderCommands:
        if self._commands is None:
            raise NoProviderCommands(verb)
        return self._commands

    async def _run(
        self, body_started: anyio.Event, *, task_status: anyio.abc.TaskStatus[None]
    ) -> None:
        reason, error, cause = "closed", None, None
        self._log.info("session_started")
        try:
            with self._new_actor_scope():
                task_status.started()
                await body_started.wait()
                # Opened here, not on entering, so that what the body subscribes
                # first thing hears if the recording cannot even be opened.
                self._open_recording()
                reason, error, cause = await self._consume()
            if self._tools is not None:
                # Answers already on their way to the provider get to arrive, so
                # their outcome is known before the session closes.
                with anyio.move_on_after(_SUBMIT_GRACE_S, shield=True):
                    await self._tools.settle()
        finally:
            if self._stop is not None and reason == "closed":
                reason, error, cause = self._stop
            self._finish(reason, error, cause)
            with anyio.move_on_after(_STREAM_CLOSE_TIMEOUT_S, shield=True):
                await self._provider_events.aclose()

    async def _consume(self) -> tuple[str, str | None, BaseException | None]:
        try:
            while True:
                # One cancel scope per orphan timeout, not per event: its deadline
                # is the orphan deadline, armed when items start pending, and only
                # the receive waits under it. It ends the receive when due.
                with anyio.CancelScope(deadline=self._orphan_due()) as timer:
                    stop = await self._consume_until(timer)
                    if stop is not None:
                        return stop
                self._check_orphans()
        except anyio.EndOfStream:
            return "provider_closed", None, None
        except Exception as exc:
            self._log.error("provider_stream_failed", exc_info=exc)
            return "failed", f"provider stream failed: {type(exc).__name__}: {exc}", exc

    async def _consume_until(
        self, timer: anyio.CancelScope
    ) -> tuple[str, str | None, BaseException | None] | None:
        """Dispatch batches of events until the session is to stop, or ``timer`` is due (``None``)."""
        stream = self._provider_events
        receive = stream.receive
        receive_nowait: Callable[[], ev.RealtimeSessionEvent] | None = getattr(
            stream, "receive_nowait", None
        )
        checkpoint = native_checkpoint()
        dispatch = self._dispatch
        fanout = self._fanout
        event = await receive()
        while True:
            dispatch(event)
            if receive_nowait is not None:
                for _ in range(_BATCH):
                    if self._stop is not None:
                        break
                    try:
                        event = receive_nowait()
                    except anyio.WouldBlock:
                        break
                    dispatch(event)
            fanout.flush()
            if self._stop is not None:
                return self._stop
            if self._orphan_deadline is None:
                self._check_orphans()  # arms the deadline once items are pending
                due = self._orphan_due()
                if due != math.inf:
                    timer.deadline = due
            if timer.cancel_called:
                return None  # due while this batch ran
            if fanout.backpressure_blocked:
                # A wait for a subscriber is no receive: the timer waits with it.
                timer.deadline = math.inf
                await fanout.wait_for_backpressure(self._config.backpressure_timeout_s)
                timer.deadline = self._orphan_due()
            if receive_nowait is None:
                event = await receive()
                continue
            # The event loop's own checkpoint, then a look: fed one event at a
            # time, the next one is there by then, and anyio's receive() (a
            # checkpoint of its own, then an event object and a record of the
            # waiting task) is needed only when it is not.
            await checkpoint()
            try:
                event = receive_nowait()
            except anyio.WouldBlock:
                event = await receive()

    def _orphan_due(self) -> float:
        deadline = self._orphan_deadline
        return math.inf if deadline is None else deadline

    def _finish(self, reason: str, error: str | None, cause: BaseException | None) -> None:
        """End the session. Synchronous, so it completes even under cancellation.

        A transcript flush or a recording that fails here is logged (a recording
        failure also announced); every subscription gets ``SessionClosed`` and
        :meth:`wait_closed` returns whatever happens.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self._tools is not None:
                self._tools.close()
            try:
                self._publish_changes(self._reducer.flush())
            except Exception as exc:
                self._log.error("transcript_flush_failed", exc_info=exc)
            recorder, self._recorder = self._recorder, None
            if recorder is not None:
                try:
                    recorder.close()  # flushes what is left
                except OSError as exc:
                    if not self._recording_failed(exc) and reason != "failed":
                        reason, error, cause = "failed", _recording_error(exc), exc
            if reason == "failed":
                failure = SessionFailed(error or "session failed")
                failure.__cause__ = cause
                self._failure = failure
            self._log.info("session_closed", reason=reason, error=error, **attrs.asdict(self.stats))
        finally:
            self._fanout.close(public.SessionClosed(reason=reason, error=error))
            if self._done is not None:
                self._done.set()

    # -- per event ------------------------------------------------------------

    def _dispatch(self, event: object) -> None:
        self._events_in += 1
        handler = self._handlers.get(type(event))
        if handler is None:
            self._reject(event)
            return
        try:
            # A TurnStarted is recorded by its handler, after the barge-ins it decides.
            if (
                (self._recorder is not None or self._recording_lost)
                and type(event) is not ev.TurnStarted
                and not self._record(event)  # type: ignore[arg-type]
            ):
                return
            handler(event)
        except Exception as exc:
            self._rejected += 1
            self._log.error(
                "event_failed",
                event_type=type(event).__name__,
                error_type=type(exc).__name__,
                exc_info=exc,
            )

    def _reject(self, obj: object) -> None:
        self._rejected += 1
        if self._rejected <= 10 or self._rejected % _REJECTION_LOG_EVERY == 0:
            self._log.warning(
                "event_rejected",
                reason="not a RealtimeSessionEvent",
                object_type=type(obj).__name__,
                rejected=self._rejected,
            )

    def _make_handlers(self) -> dict[type, Callable[[Any], None]]:
        """One handler per event type, made once from its route: one look-up per event.

        An event the session does nothing more with than its route says (see
        ``_routes``) is handled by :meth:`_follow_route`.
        """
        own: dict[type, Callable[[Any], None]] = {
            ev.OutputAudioChunk: self._audio_handler(),
            ev.OutputVideoChunk: self._on_video,
            ev.TurnCommitted: self._on_turn_committed,
            ev.TurnStarted: self._on_turn_started,
            ev.TurnCompleted: self._on_turn_completed,
            ev.AssistantTranscriptFinal: self._on_assistant_final,
            ev.Interrupted: self._on_interrupted,
            ev.ToolCallRequested: self._on_tool_requested,
            ev.ToolCallCancelled: self._on_tool_cancelled,
            ev.RealtimeTranscript: self._on_transcript_event,
            ev.ProviderError: self._on_provider_error,
            ev.Reconnecting: self._on_reconnecting,
            ev.Reconnected: self._on_reconnected,
            ev.ReconnectFailed: self._on_reconnect_failed,
        }
        handlers: dict[type, Callable[[Any], None]] = {}
        for cls, route in ROUTES.items():
            lane = route.to_transcript
            if isinstance(lane, AssistantDeltaLane):
                handlers[cls] = self._delta_handler(lane.spoken, route.to_public)
            else:
                handlers[cls] = own.get(cls, self._follow_route)
        return handlers

    def _follow_route(self, event: ev.RealtimeSessionEvent) -> None:
        """Apply the event's transcript events, publish its public event, then the changes."""
        changes = self._apply(self._translate(event))
        self._publish_projection(event)
        self._publish_changes(changes)

    def _translate(self, event: ev.RealtimeSessionEvent) -> tuple[tr.RealtimeTranscriptEvent, ...]:
        translate = ROUTES[type(event)].to_transcript
        return () if translate is None else translate(event, self._facts)

    def _apply(
        self, facts: tuple[tr.RealtimeTranscriptEvent, ...]
    ) -> tuple[tr.TranscriptChange, ...]:
        changes: tuple[tr.TranscriptChange, ...] = ()
        for fact in facts:
            changes += self._reducer.apply(fact)
        return changes

    def _publish_projection(self, event: ev.RealtimeSessionEvent) -> None:
        projected = ROUTES[type(event)].to_public(event)
        if projected is not None:
            self._fanout.publish(projected)

    def _publish_changes(self, changes: tuple[tr.TranscriptChange, ...]) -> None:
        publish = self._fanout.publish
        for change in changes:
            publish(change_event(change))

    def _delta_handler(
        self,
        spoken: bool,
        project: Callable[[Any], public.RealtimeEvent | None],
    ) -> Callable[[ev.OutputTextDeltaForItem | ev.OutputAudioTranscriptDeltaForItem], None]:
        """The handler of one delta lane: the hot path, one reducer call and one event.

        A closure rather than a method taking the lane, so the lane costs
        nothing per delta. A delta the reducer dropped as a duplicate is not
        published either: captions show each piece of text once.
        """
        apply_delta = self._reducer.apply_assistant_delta
        publish = self._fanout.publish
        in_flight = self._playback.in_flight
        saw_response = self._playback.saw_response
        latency = self._latency
        text_seen = latency.text_seen

        def on_delta(
            event: ev.OutputTextDeltaForItem | ev.OutputAudioTranscriptDeltaForItem,
        ) -> None:
            response_id = event.response_id
            changes = apply_delta(
                spoken,
                response_id,
                event.delta_id,
                event.item_id,
                event.previous_item_id,
                event.content_index,
                event.delta,
            )
            if response_id not in in_flight:
                saw_response(response_id)
            if changes is DROPPED_DUPLICATE:
                return
            if response_id not in text_seen:
                latency.text(anyio.current_time(), response_id)
            publish(project(event))  # type: ignore[arg-type]
            if changes:
                self._publish_changes(changes)

        return on_delta

    def _audio_handler(self) -> Callable[[ev.OutputAudioChunk], None]:
        """The handler of audio chunks, the other half of the hot path: a closure, as for deltas."""
        playback = self._playback
        interrupted = playback.interrupted
        in_flight = playback.in_flight
        latency = self._latency
        audio_seen = latency.audio_seen
        publish_media = self._fanout.publish_media
        project = ROUTES[ev.OutputAudioChunk].to_public

        def on_audio(event: ev.OutputAudioChunk) -> None:
            response_id = event.response_id
            if response_id is not None:
                if response_id in interrupted:
                    self._media_suppressed += 1
                    return
                if response_id not in in_flight:
                    playback.saw_response(response_id)
                if response_id not in audio_seen:
                    latency.audio(anyio.current_time(), response_id)
            duration_ms = event.chunk.duration_ms or 0.0
            item_id = event.item_id
            if item_id is not None:
                playback.audio(response_id, item_id, event.content_index, duration_ms)
                if self._connection_epoch and item_id not in self._audio_epoch:
                    self._audio_epoch[item_id] = self._connection_epoch
            publish_media(project(event), response_id, duration_ms)  # type: ignore[arg-type]

        return on_audio

    def _on_video(self, event: ev.OutputVideoChunk) -> None:
        response_id = event.response_id
        if response_id is not None:
            if response_id in self._playback.interrupted:
                self._media_suppressed += 1
                return
            self._playback.saw_response(response_id)
        self._fanout.publish_media(_VIDEO.to_public(event), response_id, 0.0)  # type: ignore[arg-type]

    def _on_assistant_final(self, event: ev.AssistantTranscriptFinal) -> None:
        self._follow_route(event)
        self._playback.saw_response(event.response_id)
        self._latency.started(anyio.current_time(), event.response_id)

    def _on_turn_committed(self, event: ev.TurnCommitted) -> None:
        self._latency.turn_committed(anyio.current_time())
        self._follow_route(event)

    def _on_turn_completed(self, event: ev.TurnCompleted) -> None:
        response_id = event.response_id
        self._follow_route(event)
        self._playback.finished(response_id)
        latency = self._latency.completed(anyio.current_time(), response_id, event.stop_reason)
        if latency is not None and latency.since is not None:
            # A response that answers nothing the session saw has no figures to publish.
            self._fanout.publish(latency)

    def _on_turn_started(self, event: ev.TurnStarted) -> None:
        # Playback-aware barge-in: the provider may have finished a response the
        # application is still playing; talking over it is an interruption too.
        # The barge-ins (and what they settle) are recorded before the event, in
        # the order they are published, so a replay publishes the same sequence.
        for response_id in self._playback.responses_still_playing():
            decision = ev.Interrupted(response_id=response_id)
            if not self._recorded(decision):
                return
            self._on_interrupted(decision)
        if self._recorded(event):
            self._follow_route(event)

    def _on_interrupted(self, event: ev.Interrupted) -> None:
        """Barge-in on a response, or on every response in flight (``response_id=None``)."""
        facts = self._translate(event)
        changes = self._apply(facts)
        targets = [
            fact.response_id for fact in facts if isinstance(fact, tr.AssistantTurnInterrupted)
        ]
        for target in targets:
            self._playback.interrupt(target)
        self._fanout.flush_media(event.response_id)
        self._publish_projection(event)
        self._publish_changes(changes)
        if self._config.auto_truncate:
            for target in targets:
                self._settle_playback(target)

    def _settle_playback(self, response_id: str) -> None:
        """Settle each audio item of an interrupted response by how far its playback got.

        The position is the one reported (``report_playback``) or, for a session
        with commands, estimated. An item played to the end keeps its whole text;
        otherwise the provider is told where to truncate it, or, when no
        truncation will come back (a provider that cannot truncate, no
        commands), the session cuts its own transcript. What changes the
        transcript is recorded.
        """
        playback = self._playback
        for item_id, content_index, received_ms in playback.audio_items(response_id):
            if received_ms <= 0:
                continue
            played_ms = playback.reported_ms(item_id)
            if played_ms is None:
                if self._commands is None:
                    continue  # nothing known, nobody to tell: the stream may still cut it
                played_ms = playback.estimated_ms(item_id, content_index)
                self._warn_playback_not_reported(item_id, played_ms)
            if played_ms >= received_ms:
                self._apply_recorded(
                    tr.AssistantTranscriptHeardInFull(response_id=response_id, item_id=item_id)
                )
            elif self._provider_truncates and (
                # An item of a replaced connection is gone from the provider's side:
                # only the session's own transcript can still be cut.
                self._audio_epoch.get(item_id, 0) == self._connection_epoch
            ):
                position_ms = math.floor(played_ms)
                if position_ms > 0:  # a truncation at 0 ms would delete the whole item
                    self._start_truncate(item_id, content_index, position_ms)
            else:
                self._truncate_locally(response_id, item_id, content_index, math.floor(played_ms))

    def _warn_playback_not_reported(self, item_id: str, estimated_ms: float) -> None:
        if not self._playback_warned:
            self._playback_warned = True
            self._log.warning(
                "playback_not_reported",
                item_id=item_id,
                estimated_ms=round(estimated_ms),
                hint="call session.report_playback() from the player; "
                "until then barge-ins use the audio received, capped by the time since "
                "each item's first chunk",
            )

    def _start_truncate(self, item_id: str, content_index: int, position_ms: int) -> None:
        task_group = self._task_group
        if task_group is None:
            return
        task_group.start_soon(
            self._send_truncate, item_id, content_index, position_ms, name="auto truncate"
        )

    async def _send_truncate(self, item_id: str, content_index: int, position_ms: int) -> None:
        assert self._commands is not None
        try:
            await self._commands.truncate_assistant_output(item_id, content_index, position_ms)
        except Exception as exc:
            self._log.warning(
                "auto_truncate_failed",
                item_id=item_id,
                audio_played_ms=position_ms,
                exc_info=exc,
            )

    def _truncate_locally(
        self, response_id: str, item_id: str, content_index: int, position_ms: int
    ) -> None:
        # No truncation will come back, so the session cuts its own transcript,
        # at 0 ms too: then the user heard none of it.
        self._apply_recorded(
            tr.AssistantTranscriptTruncated(
                response_id=response_id,
                item_id=item_id,
                content_index=content_index,
                text=self._facts.heard_prefix(response_id, item_id, content_index, position_ms),
                audio_played_ms=position_ms,
                estimated=True,
            )
        )

    def _apply_recorded(self, event: tr.RealtimeTranscriptEvent) -> None:
        """Apply a decision the session took itself, recorded first so a replay takes it too."""
        wrapped = ev.RealtimeTranscript(event=event)
        if self._recorded(wrapped):
            self._on_transcript_event(wrapped)

    def _on_transcript_event(self, event: ev.RealtimeTranscript) -> None:
        changes = self._apply(self._translate(event))
        announced = announcement(event.event)
        if announced is not None:
            self._fanout.publish(announced)
        self._publish_changes(changes)

    def _on_tool_requested(self, event: ev.ToolCallRequested) -> None:
        self._latency.tool_requested(anyio.current_time(), event.call_id)
        self._follow_route(event)
        if self._tools is not None and self._task_group is not None:
            self._tools.start(self._task_group, event.call_id, event.tool_name, event.arguments)

    def _on_tool_cancelled(self, event: ev.ToolCallCancelled) -> None:
        self._latency.tool_withdrawn(event.call_id)
        if self._tools is None or self._tools.cancel(event.call_id):
            self._follow_route(event)

    def _publish_tool_outcome(self, outcome: public.RealtimeEvent) -> None:
        """A tool call's outcome, from the tool runner: its answer went to the provider."""
        if isinstance(
            outcome, public.ToolCallCompleted | public.ToolCallFailed | public.ToolCallTimedOut
        ):
            self._latency.tool_answered(anyio.current_time(), outcome.call_id)
        self._fanout.publish_now(outcome)

    def _on_provider_error(self, event: ev.ProviderError) -> None:
        self._follow_route(event)
        if event.fatal:
            self._log.error("provider_error_fatal", code=event.code, message=event.message)
            if self._stop is None:
                self._stop = ("failed", f"provider error {event.code}: {event.message}", None)
        else:
            self._log.warning("provider_error", code=event.code, message=event.message)

    # -- provider connections -------------------------------------------------------

    def _on_reconnecting(self, event: ev.Reconnecting) -> None:
        self._connection_epoch += 1
        self._log.warning("provider_reconnecting", provider=event.provider, reason=event.reason)
        self._follow_route(event)

    def _on_reconnected(self, event: ev.Reconnected) -> None:
        self._reconnects += 1
        self._reconnect_gap_ms += event.gap_ms
        self._gap_input_held += event.input_held
        self._gap_input_dropped += event.input_dropped
        self._log.info(
            "provider_reconnected",
            provider=event.provider,
            reason=event.reason,
            gap_ms=event.gap_ms,
            attempts=event.attempts,
        )
        self._follow_route(event)
        restore = getattr(self._commands, "restore_conversation", None)
        if event.restore_conversation and restore is not None and self._task_group is not None:
            # The events before this one are applied: the transcript holds what the
            # old connection said and what the user heard of it.
            self._task_group.start_soon(
                self._restore_conversation, restore, self._reducer.messages, name="restore"
            )

    async def _restore_conversation(
        self,
        restore: Callable[[tuple[tr.Message, ...]], Awaitable[None]],
        messages: tuple[tr.Message, ...],
    ) -> None:
        try:
            await restore(messages)
        except Exception as exc:
            self._log.warning(
                "conversation_restore_failed", error_type=type(exc).__name__, exc_info=exc
            )

    def _on_reconnect_failed(self, event: ev.ReconnectFailed) -> None:
        self._gap_input_dropped += event.input_dropped
        self._follow_route(event)
        error = (
            f"the {event.provider} connection was lost ({event.reason}) and "
            f"{event.attempts} reconnection attempt(s) failed: {event.error}"
        )
        self._log.error("provider_reconnect_failed", error=error)
        if self._stop is None:
            self._stop = ("failed", error, None)

    # -- recording ----------------------------------------------------------------

    def _open_recording(self) -> None:
        if self._config.record_to is None:
            return
        try:
            self._recorder = EventRecorder(self._config.record_to)
        except OSError as exc:
            self._recording_failed(exc)
            self._fanout.flush()  # the subscribers made so far hear of it now

    def _recorded(self, event: ev.RealtimeSessionEvent) -> bool:
        """Record ``event`` if the session records; return whether it may be applied."""
        if self._recorder is None and not self._recording_lost:
            return True
        return self._record(event)

    def _record(self, event: ev.RealtimeSessionEvent) -> bool:
        """Record an event before it is applied; return whether it may be applied.

        Also records the decisions the session takes itself, so that a replay
        takes them too. Once the recording failed, the event is counted as not
        recorded; with ``recording_required`` it is not applied at all.
        """
        recorder = self._recorder
        if recorder is None:
            if not self._recording_lost:
                return True
            if self._config.recording_required:
                return False
            self._events_not_recorded += 1
            return True
        try:
            recorder.write(event)
        except OSError as exc:
            if not self._recording_failed(exc):
                return False
            self._events_not_recorded += 1
        return True

    def _recording_failed(self, exc: OSError) -> bool:
        """The recording cannot be written: stop it, say so once; return whether to go on."""
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            with contextlib.suppress(OSError):
                recorder.close()  # what it still buffers cannot be written either
        self._recording_lost = True
        fatal = self._config.recording_required
        path = os.fspath(self._config.record_to) if self._config.record_to is not None else None
        self._log.error("recording_failed", path=path, fatal=fatal, exc_info=exc)
        self._fanout.publish(public.RecordingFailed(error=str(exc), fatal=fatal))
        if fatal:
            self._request_stop("failed", _recording_error(exc), exc)
        return not fatal

    # -- orphans ----------------------------------------------------------------

    def _check_orphans(self) -> None:
        """Release items waiting on a predecessor that never came, after the timeout.

        Called to arm the deadline (when items start pending) and when it is due,
        never per event. This is the one timed decision
        of the transcript lane: it is recorded as ``OrphansReleased``, so a replay
        of the recording releases the same items at the same point.
        """
        deadline = self._orphan_deadline
        if deadline is None:
            pending = self._reducer.pending_item_ids()
            if pending:
                self._orphan_deadline = anyio.current_time() + self._config.orphan_timeout_s
                self._orphan_snapshot = frozenset(pending)
            return
        if anyio.current_time() < deadline:
            return
        pending = self._reducer.pending_item_ids()
        orphans = self._reducer.orphan_item_ids()
        if orphans and any(item_id in self._orphan_snapshot for item_id in pending):
            release = tr.OrphansReleased(item_ids=orphans)
            if not self._recorded(ev.RealtimeTranscript(event=release)):
                return
            changes = self._reducer.apply(release)
            self._log.info("orphans_released", items=len(orphans), committed=len(changes))
            self._publish_changes(changes)
            self._fanout.flush()
            pending = self._reducer.pending_item_ids()
        if pending:
            self._orphan_deadline = anyio.current_time() + self._config.orphan_timeout_s
            self._orphan_snapshot = frozenset(pending)
        else:
            self._orphan_deadline = None
            self._orphan_snapshot = frozenset()


def _recording_error(exc: OSError) -> str:
    return f"recording failed: {exc}"


@final
class _SessionFacts:
    """What the routes' translations read of a session (``_routes.SessionFacts``)."""

    __slots__ = ("_playback", "_reducer")

    def __init__(self, reducer: tr.TranscriptReducer, playback: PlaybackTracker) -> None:
        self._reducer = reducer
        self._playback = playback

    def responses_in_flight(self) -> list[str]:
        return list(self._playback.in_flight)

    def response_of(self, item_id: str) -> str:
        return self._reducer.item_response_id(item_id) or self._playback.response_of(item_id) or ""

    def heard_prefix(
        self, response_id: str, item_id: str, content_index: int, played_ms: int
    ) -> str:
        """The estimated words heard after ``played_ms`` of a spoken item (see ``_heard``)."""
        return estimate_heard_prefix(
            self._reducer.item_spoken_text(item_id) or "",
            played_ms=played_ms,
            received_ms=self._playback.received_ms(item_id, content_index),
            audio_complete=self._reducer.response_stop_reason(response_id)
            not in (None, ev.StopReason.CANCELLED),
        )
