"""The demo behind ``python -m realtime_session demo``: a recorded call, replayed live.

It plays the bundled OpenAI Realtime recording ``openai_demo.jsonl`` (a user
asks for the weather, the model calls a tool and answers, the user talks over
the answer) through the OpenAI translator into a :class:`RealtimeSession`, at
the recording's own pace, with three subscribers:

- the display, which prints the conversation as it happens;
- a player, which plays the audio at real-time pace and reports its playback
  position to the session, so that the barge-in cuts the transcript to what
  the user actually heard;
- a stalled listener that reads nothing until the session has ended, with a
  media buffer of a few chunks: its media lane drops audio, the session never
  waits for it, and it still receives every control event.

The model's tool, ``get_weather``, runs for real, from a fixed table. Nothing
touches the network.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import sys
from collections import Counter
from typing import TYPE_CHECKING, Final, TextIO, final

import anyio
import anyio.abc
import anyio.lowlevel

from . import events as ev
from . import public
from . import transcript as tr
from ._cli_remote import publishing
from ._errors import ToolError
from ._session import RealtimeSession
from .providers.openai import OpenAIRealtimeTranslator
from .providers.scripted import ScriptedProvider, TimedEvent, read_trace

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from ._subscription import Subscription

DEMO_TRACE: Final = "openai_demo.jsonl"
DEFAULT_SPEED: Final = 1.0
DEFAULT_STALLED_BUFFER: Final = 8

# The recording keeps the server's answer to the recorded client's truncation.
# This run's session sends its own, from this run's player, and the demo plays
# the server's answer to that one instead (see _DemoCommands).
_RECORDED_TRUNCATION: Final = "conversation.item.truncated"

# How late a queued chunk may start before the player gives up keeping time.
_MAX_CATCH_UP_S: Final = 0.05

_FORECASTS: Final[dict[str, tuple[str, int, str]]] = {
    "lisbon": ("Lisbon", 21, "sunny"),
    "porto": ("Porto", 18, "cloudy"),
    "madrid": ("Madrid", 27, "clear"),
    "paris": ("Paris", 16, "light rain"),
    "tokyo": ("Tokyo", 12, "clear"),
}


async def get_weather(city: str, unit: str = "celsius") -> dict[str, ev.JsonValue]:
    """Today's weather in ``city``, in ``unit`` (``"celsius"`` or ``"fahrenheit"``).

    It reads a fixed table, as the demo runs offline. An unknown city or unit
    raises :class:`~realtime_session.ToolError`, whose message the session tells
    the model (any other exception would be reported by its type only).
    """
    forecast = _FORECASTS.get(city.strip().casefold())
    if forecast is None:
        raise ToolError(f"No forecast for {city}: try a nearby larger city.")
    if unit not in ("celsius", "fahrenheit"):
        raise ToolError(f"Unknown unit {unit}: use celsius or fahrenheit.")
    name, temperature_c, conditions = forecast
    temperature = temperature_c if unit == "celsius" else round(temperature_c * 9 / 5 + 32)
    # A real tool would await a weather service here; the session runs it in a
    # task of its own, so the conversation keeps flowing meanwhile.
    await anyio.lowlevel.checkpoint()
    return {"city": name, "temperature": temperature, "unit": unit, "conditions": conditions}


def load_demo_script() -> tuple[list[TimedEvent], OpenAIRealtimeTranslator]:
    """The demo recording, translated, without its recorded truncation; and the translator."""
    translator = OpenAIRealtimeTranslator()
    trace = importlib.resources.files("realtime_session").joinpath("traces", DEMO_TRACE)
    with importlib.resources.as_file(trace) as path:
        records = read_trace(path)
    script = [
        TimedEvent(t=record.t, event=event)
        for record in records
        if record.payload.get("type") != _RECORDED_TRUNCATION
        for event in translator.translate(record.payload)
    ]
    return script, translator


@final
class TraceClock(anyio.abc.ObjectReceiveStream[ev.RealtimeSessionEvent]):
    """The session's input, which keeps the time of the recording as the session reads it.

    :attr:`now` is the recorded time (``t``, seconds into the recording) of the
    last event of ``script`` the session received: the time of the call as the
    session has got to it, whatever the speed and however late the scheduler
    runs the session. Events that are not in the script (this run's truncation
    confirmations) leave it as it is. The script reaches the stream in order, so
    the next of its events the session receives is always the next one here.
    """

    def __init__(
        self,
        events: MemoryObjectReceiveStream[ev.RealtimeSessionEvent],
        script: Sequence[TimedEvent],
    ) -> None:
        self._events = events
        self._script = script
        self._next = 0
        self.now = 0.0

    def _passing(self, event: ev.RealtimeSessionEvent) -> ev.RealtimeSessionEvent:
        script, index = self._script, self._next
        if index < len(script) and script[index].event is event:
            self._next = index + 1
            t = script[index].t
            if t is not None:
                self.now = t
        return event

    async def receive(self) -> ev.RealtimeSessionEvent:
        return self._passing(await self._events.receive())

    def receive_nowait(self) -> ev.RealtimeSessionEvent:
        return self._passing(self._events.receive_nowait())

    async def aclose(self) -> None:
        await self._events.aclose()


@final
class Console:
    """The demo's stdout: transcript lines as they are, event lines indented and timed.

    Times are the recording's own (see :class:`TraceClock`), so they read the
    same at any speed.
    """

    def __init__(self, out: TextIO, clock: TraceClock) -> None:
        self._out = out
        self._clock = clock

    def line(self, text: str = "") -> None:
        print(text, file=self._out, flush=True)

    def event(self, text: str) -> None:
        self.line(f"  [{self._clock.now:5.2f}s] {text}")

    def message(self, message: tr.Message) -> None:
        role = "user" if isinstance(message, tr.UserMessage) else "assistant"
        for text in message.text.splitlines() or [""]:
            self.line(f"{role}: {text}".rstrip())


@final
class RealtimePlayer:
    """Plays a subscription's audio at real-time pace and reports playback to the session.

    It stands in for an audio device: each chunk takes its duration (divided by
    ``speed``) to play, a chunk already queued when the previous one ends plays
    right after it, and after each chunk the player calls
    ``session.report_playback(item_id, played_ms)`` with the audio played of that
    item so far. That is what lets the session cut an interrupted answer to what
    the user heard.
    """

    def __init__(self, session: RealtimeSession, *, speed: float) -> None:
        self._session = session
        self._speed = speed
        self._positions: dict[str, float] = {}
        self._busy_until = 0.0
        self.chunks = 0
        self.played_ms = 0.0

    async def run(self, subscription: Subscription) -> None:
        """Play until the subscription ends (after ``SessionClosed``)."""
        async with subscription:
            while True:
                try:
                    event = subscription.receive_nowait()
                    queued = True
                except anyio.WouldBlock:
                    queued = False
                    try:
                        event = await subscription.receive()
                    except anyio.EndOfStream:
                        return
                except anyio.EndOfStream:
                    return
                if isinstance(event, public.OutputAudioChunk):
                    await self._play(event, gapless=queued)

    async def _play(self, event: public.OutputAudioChunk, *, gapless: bool) -> None:
        duration_ms = event.chunk.duration_ms or 0.0
        now = anyio.current_time()
        # A device plays queued audio back to back: the scheduler waking this task
        # a little late must not stretch the playback, so a queued chunk starts
        # where the previous one ended (unless the player fell far behind).
        continues = gapless and now - self._busy_until < _MAX_CATCH_UP_S
        start = self._busy_until if continues else now
        self._busy_until = start + duration_ms / 1000 / self._speed
        await anyio.sleep_until(self._busy_until)
        self.chunks += 1
        self.played_ms += duration_ms
        if event.item_id is not None:
            position = self._positions.get(event.item_id, 0.0) + duration_ms
            self._positions[event.item_id] = position
            self._session.report_playback(event.item_id, position)


@final
class _DemoCommands:
    """The provider's command side: recorded by the scripted provider, and shown.

    A recording cannot answer commands, except in one case the demo plays back:
    an OpenAI Realtime server confirms a truncation with
    ``conversation.item.truncated`` at the position the client sent, so this
    run's confirmation is translated and written to the session's input, and
    the transcript is cut where this run's player actually was.
    """

    supports_truncation: Final = True

    def __init__(
        self,
        provider: ScriptedProvider,
        translator: OpenAIRealtimeTranslator,
        confirmations: MemoryObjectSendStream[ev.RealtimeSessionEvent],
        console: Console,
    ) -> None:
        self._provider = provider
        self._translator = translator
        self._confirmations = confirmations
        self._console = console

    async def send_input(self, chunk: ev.RealtimeInputChunk) -> None:
        await self._provider.send_input(chunk)

    async def commit_turn(self) -> None:
        await self._provider.commit_turn()

    async def interrupt(self) -> None:
        await self._provider.interrupt()

    def _show(self, text: str) -> None:
        # These run in the session's own tasks, where a failure would count as a
        # failed command; when stdout is gone the display is the one to stop the demo.
        with contextlib.suppress(BrokenPipeError):
            self._console.event(f"session -> provider: {text}")

    async def truncate_assistant_output(
        self, item_id: str, content_index: int, audio_played_ms: int
    ) -> None:
        await self._provider.truncate_assistant_output(item_id, content_index, audio_played_ms)
        self._show(f"truncate {item_id} at {audio_played_ms} ms (where the player was)")
        confirmation = {
            "type": _RECORDED_TRUNCATION,
            "event_id": f"event_demo_truncated_{item_id}",
            "item_id": item_id,
            "content_index": content_index,
            "audio_end_ms": audio_played_ms,
        }
        try:
            for event in self._translator.translate(confirmation):
                await self._confirmations.send(event)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            # The recording already ended: there is no server left to confirm.
            pass

    async def submit_tool_result(self, call_id: str, output: ev.JsonValue) -> None:
        await self._provider.submit_tool_result(call_id, output)
        self._show(f"result of {call_id}: {json.dumps(output)}")

    async def submit_tool_error(self, call_id: str, error: str) -> None:
        await self._provider.submit_tool_error(call_id, error)
        self._show(f"error for {call_id}: {error}")

    async def aclose(self) -> None:
        await self._provider.aclose()


@final
class _Display:
    """Prints a control-only subscription as it arrives, and the other listeners' losses."""

    def __init__(
        self,
        console: Console,
        *,
        player: Subscription,
        stalled: Subscription,
    ) -> None:
        self._console = console
        self._listeners = {"player": player, "stalled listener": stalled}
        self._dropped = dict.fromkeys(self._listeners, 0)
        self._flushed = dict.fromkeys(self._listeners, 0)
        self._tool_names: dict[str, str] = {}
        # The blocks of each assistant message shown, by its first item id.
        self._blocks: dict[str, tuple[tr.Block, ...]] = {}
        self.control_events = 0
        self.closed: public.SessionClosed | None = None

    async def run(self, subscription: Subscription) -> None:
        async with subscription:
            async for event in subscription:
                self.control_events += 1
                if isinstance(event, _MILESTONES):
                    self._show_drops()
                self._show(event)

    def _show(self, event: public.RealtimeEvent) -> None:
        say = self._console.event
        match event:
            case public.TurnStarted():
                say("user started speaking")
            case public.TurnCommitted():
                say("user turn committed")
            case public.TranscriptCommitted(message=message):
                self._remember(message)
                self._console.message(message)
                self._show_cut(message)
            case public.TranscriptRevised(message=tr.AssistantMessage() as message) if (
                self._blocks.get(message.item_ids[0]) == message.blocks
            ):
                # Same words: the usage of a response cancelled by the barge-in arrived.
                usage = message.usage
                tokens = f"{usage.input_tokens} in, {usage.output_tokens} out" if usage else "none"
                say(f"usage of the interrupted response {message.response_id}: {tokens}")
            case public.TranscriptRevised(message=message):
                self._remember(message)
                say("the message above was revised to what the user heard:")
                self._console.message(message)
                self._show_cut(message)
            case public.TurnCompleted(response_id=response_id, stop_reason=stop_reason):
                if stop_reason is ev.StopReason.CANCELLED:
                    say(f"response {response_id} cancelled")
                else:
                    say(f"response {response_id} done ({stop_reason.value})")
            case public.Interrupted(response_id=response_id):
                target = response_id if response_id is not None else "the response in flight"
                say(f"barge-in: the user talked over {target}")
                say(f"  queued audio flushed: {self._flushes()}")
            case public.AssistantTranscriptTruncated(item_id=item_id, audio_played_ms=played):
                say(f"provider: {item_id} truncated at {played} ms")
            case public.ToolCallRequested(call_id=call_id, tool_name=tool_name):
                self._tool_names[call_id] = tool_name
                say(f"model calls tool {tool_name} ({call_id})")
            case public.ToolCallCompleted(call_id=call_id):
                say(f"tool {self._tool_name(call_id)} completed")
            case public.ToolCallFailed(call_id=call_id, error=error):
                say(f"tool {self._tool_name(call_id)} failed: {error}")
            case public.ToolCallTimedOut(call_id=call_id, elapsed_ms=elapsed_ms):
                say(f"tool {self._tool_name(call_id)} timed out after {elapsed_ms} ms")
            case public.ToolCallCancelled(call_id=call_id):
                say(f"tool {self._tool_name(call_id)} cancelled by the provider")
            case public.ProviderError(code=code, message=text, fatal=fatal):
                say(f"provider {'fatal ' if fatal else ''}error {code}: {text}")
            case public.SessionClosed(reason=reason, error=error):
                self.closed = event
                say(f"session closed: {reason}" + (f" ({error})" if error else ""))
            case _:
                # Partial transcripts and captions: the committed messages say it all.
                pass

    def _remember(self, message: tr.Message) -> None:
        if isinstance(message, tr.AssistantMessage) and message.item_ids:
            self._blocks[message.item_ids[0]] = message.blocks

    def _show_cut(self, message: tr.Message) -> None:
        if not isinstance(message, tr.AssistantMessage):
            return
        for block in message.blocks:
            if isinstance(block, tr.TranscriptBlock) and block.truncated:
                how = "estimated from playback time" if block.estimated else "as reported"
                self._console.line(
                    f"  (cut to what the user heard: {block.audio_played_ms} ms of audio played; "
                    f"words {how})"
                )

    def _tool_name(self, call_id: str) -> str:
        return self._tool_names.get(call_id, call_id)

    def _flushes(self) -> str:
        parts = []
        for name, subscription in self._listeners.items():
            flushed = subscription.flushed_media - self._flushed[name]
            self._flushed[name] = subscription.flushed_media
            parts.append(f"{name} {_count(flushed, 'chunk')}")
        return ", ".join(parts)

    def _show_drops(self) -> None:
        # Drops happen on the media lane, which this subscription does not receive:
        # the other listeners' counters are read at each milestone of the call.
        for name, subscription in self._listeners.items():
            dropped = subscription.dropped_media
            new = dropped - self._dropped[name]
            if new > 0:
                self._dropped[name] = dropped
                self._console.event(
                    f"{name}: {_count(new, 'audio chunk')} dropped ({dropped} so far); "
                    "the session did not wait for it"
                )


# Events before which the display reports what the other listeners lost.
_MILESTONES: Final = (public.TurnCompleted, public.Interrupted, public.SessionClosed)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@final
class _StalledReport:
    """What the stalled listener found once it finally read its subscription."""

    def __init__(self) -> None:
        self.control_events = 0
        self.audio_chunks = 0
        self.markers = 0
        self.marked_chunks = 0
        self.marked_ms = 0.0

    async def read(self, subscription: Subscription) -> None:
        async with subscription:
            async for event in subscription:
                if isinstance(event, public.MediaDropped):
                    self.markers += 1
                    self.marked_chunks += event.dropped
                    self.marked_ms += event.dropped_ms
                elif isinstance(event, public.OutputAudioChunk | public.OutputVideoChunk):
                    self.audio_chunks += 1
                else:
                    self.control_events += 1


async def _play_recording(
    provider: ScriptedProvider,
    send: MemoryObjectSendStream[ev.RealtimeSessionEvent],
    confirmations: MemoryObjectSendStream[ev.RealtimeSessionEvent],
) -> None:
    # The session's input ends when both the recording and the confirmations
    # have closed their ends of the stream.
    async with confirmations:
        await provider.feed(send)


async def run_demo(
    *,
    speed: float = DEFAULT_SPEED,
    stalled_buffer: int = DEFAULT_STALLED_BUFFER,
    out: TextIO,
    publish_to: str | None = None,
    err: TextIO = sys.stderr,
) -> int:
    """Run the demo, printing to ``out``; return the exit code (0, or 1 if the session failed).

    With ``publish_to`` (a ``redis://`` URL) the session is also published there,
    and its id is printed to ``err``, for ``tail`` in another terminal.
    """
    script, translator = load_demo_script()
    provider = ScriptedProvider(script, speed=speed)
    send, receive = anyio.create_memory_object_stream[ev.RealtimeSessionEvent](provider.buffer)
    clock = TraceClock(receive, provider.events)
    console = Console(out, clock)
    confirmations = send.clone()
    session = RealtimeSession(
        clock,
        commands=_DemoCommands(provider, translator, confirmations, console),
        tools={"get_weather": get_weather},
    )
    # Subscribed before the session starts: each of them sees the whole call.
    display_subscription = session.events(media=False)
    player_subscription = session.events()
    stalled_subscription = session.events(media_buffer=stalled_buffer)
    display = _Display(console, player=player_subscription, stalled=stalled_subscription)
    player = RealtimePlayer(session, speed=speed)

    console.line(f"realtime_session demo: a recorded OpenAI Realtime call ({DEMO_TRACE})")
    console.line(
        f"played at {speed:g}x real time, offline; the model's get_weather tool runs for real"
    )
    console.line("  player: plays the audio in real time and reports playback to the session")
    console.line(
        f"  stalled listener: reads nothing until the end, media buffer of {stalled_buffer} chunks"
    )
    console.line()
    async with (
        publishing(session, publish_to, err),
        session,
        anyio.create_task_group() as task_group,
    ):
        task_group.start_soon(_play_recording, provider, send, confirmations)
        task_group.start_soon(player.run, player_subscription)
        await display.run(display_subscription)
    stalled = _StalledReport()
    await stalled.read(stalled_subscription)

    stats = session.stats
    console.line()
    console.line("summary")
    console.line(
        f"  session: {_count(stats.events_in, 'event')} in, {stats.published} published, "
        f"{stats.rejected} rejected, {_count(stats.tool_calls, 'tool call')}"
    )
    console.line(
        f"  media: {_count(stats.media_dropped, 'chunk')} dropped, {stats.media_flushed} "
        f"flushed at barge-in, {stats.media_suppressed} suppressed after it"
    )
    console.line(
        f"  player: played {player.played_ms / 1000:.2f} s of audio in "
        f"{_count(player.chunks, 'chunk')}, {player_subscription.dropped_media} dropped, "
        f"{player_subscription.flushed_media} flushed at barge-in"
    )
    every = (
        f"all {stalled.control_events}"
        if stalled.control_events == display.control_events
        else f"{stalled.control_events} of {display.control_events}"
    )
    console.line(
        f"  stalled listener: {every} control events, {_count(stalled.audio_chunks, 'audio chunk')}, "
        f"{_count(stalled.markers, 'MediaDropped marker')} for "
        f"{_count(stalled.marked_chunks, 'lost chunk')} ({stalled.marked_ms:.0f} ms), "
        f"{stalled_subscription.flushed_media} flushed at barge-in"
    )
    sent = Counter(command.name for command in provider.commands_received)
    console.line(
        "  provider commands: "
        + (", ".join(f"{name} x{count}" for name, count in sorted(sent.items())) or "none")
    )
    console.line()
    console.line("transcript")
    for message in session.transcript:
        console.message(message)
    closed = display.closed
    return 0 if closed is not None and closed.reason != "failed" else 1
