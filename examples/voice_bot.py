"""A voice bot loop against the scripted provider: captions on stdout, its voice in a WAV file.

    python examples/voice_bot.py [OUT.wav] [--trace TRACE] [--speed SPEED]

It plays a recorded call (by default the bundled OpenAI Realtime call
``openai_demo``: a weather question, a tool call, a barge-in; ``--trace`` takes
another bundled one by name, or a trace file) through a
:class:`~realtime_session.RealtimeSession` with two subscribers: captions,
printed as the model speaks, and a player that writes the assistant's audio to
``OUT.wav`` at real-time pace and reports its playback to the session. The
model's ``get_weather`` tool runs for real. At the end it prints the
canonical transcript: what was said, cut to what the user heard.

Everything runs offline; ``--speed 4`` plays four times faster.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final, TextIO, final

import anyio
import anyio.lowlevel
from bundled_traces import bundled, scripted_provider, trace_argument, trace_help
from wav_player import WavPlayer

from realtime_session import RealtimeSession, ToolError, public
from realtime_session import events as ev
from realtime_session import transcript as tr

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from realtime_session import Subscription

DEFAULT_TRACE: Final = "openai_demo"
DEFAULT_WAV: Final = Path(tempfile.gettempdir()) / "realtime_session_voice_bot.wav"

_WEATHER: Final = {"lisbon": (21, "sunny"), "porto": (18, "cloudy"), "madrid": (27, "clear")}


async def get_weather(city: str, unit: str = "celsius") -> dict[str, ev.JsonValue]:
    """The model's tool: today's weather in ``city``, from a fixed table."""
    try:
        temperature_c, conditions = _WEATHER[city.strip().casefold()]
    except KeyError:
        # A ToolError's message is what the model is told; other exceptions are
        # reported by their type only, as their text may carry the arguments.
        raise ToolError(f"No weather for {city}: try a nearby larger city.") from None
    if unit not in ("celsius", "fahrenheit"):
        raise ToolError(f"Unknown unit {unit}: use celsius or fahrenheit.")
    temperature = temperature_c if unit == "celsius" else round(temperature_c * 9 / 5 + 32)
    await anyio.lowlevel.checkpoint()  # where a real tool would await a weather service
    return {"city": city, "temperature": temperature, "unit": unit, "conditions": conditions}


@final
class Captions:
    """Prints what the user said and, word by word, what the model is saying."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._speaking: str | None = None  # the response whose caption line is open

    async def run(self, subscription: Subscription) -> None:
        async with subscription:
            async for event in subscription:
                self._show(event)

    def _show(self, event: public.RealtimeEvent) -> None:
        match event:
            case public.InputTranscriptFinal(text=text):
                self._print(f"you: {text}")
            case public.OutputAudioTranscriptDelta(response_id=response_id, delta=delta):
                if self._speaking != response_id:
                    self._end_line()
                    self._write("bot: ")
                    self._speaking = response_id
                self._write(delta)
            case public.Interrupted():
                if self._speaking is not None:
                    self._write(" [interrupted]")
                self._end_line()
            case public.TurnCompleted():
                self._end_line()
            case public.ToolCallRequested(tool_name=name):
                self._print(f"  (calling {name})")
            case public.ToolCallFailed(error=error):
                self._print(f"  (tool failed: {error})")
            case public.SessionClosed(reason=reason):
                self._print(f"  (session closed: {reason})")
            case _:
                pass

    def _write(self, text: str) -> None:
        self._out.write(text)
        self._out.flush()

    def _end_line(self) -> None:
        if self._speaking is not None:
            self._write("\n")
            self._speaking = None

    def _print(self, line: str) -> None:
        self._end_line()
        self._write(line + "\n")


async def run(trace: Traversable, wav_path: Path, *, speed: float, out: TextIO) -> None:
    provider = scripted_provider(trace, speed=speed)
    async with provider.run() as events:
        session = RealtimeSession(events, commands=provider, tools={"get_weather": get_weather})
        captions = Captions(out)
        player = WavPlayer(session, wav_path, speed=speed)
        # Both subscribe before the session starts, so neither misses the beginning.
        caption_events = session.events(media=False)
        player_events = session.events()
        async with session, anyio.create_task_group() as task_group:
            task_group.start_soon(player.run, player_events)
            await captions.run(caption_events)

    print("\ntranscript (what was said, as the user heard it):", file=out)
    for message in session.transcript:
        role = "user" if isinstance(message, tr.UserMessage) else "assistant"
        print(f"{role}: {message.text}", file=out)
    for command in provider.commands_received:
        args = ", ".join(f"{name}={value!r}" for name, value in command.args.items())
        print(f"session -> provider: {command.name}({args})", file=out)
    print(
        f"wrote {player.played_ms / 1000:.2f} s of assistant audio to {player.path}",
        file=out,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "wav", nargs="?", type=Path, default=DEFAULT_WAV, help=f"default: {DEFAULT_WAV}"
    )
    parser.add_argument(
        "--trace",
        type=trace_argument,
        default=bundled(DEFAULT_TRACE),
        help=trace_help(DEFAULT_TRACE),
    )
    parser.add_argument("--speed", type=float, default=1.0, help="1 is real time (default)")
    args = parser.parse_args(argv)
    if not args.speed > 0:
        parser.error("--speed must be > 0")
    anyio.run(functools.partial(run, args.trace, args.wav, speed=args.speed, out=sys.stdout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
