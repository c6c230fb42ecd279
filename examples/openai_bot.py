"""A bot on the real OpenAI Realtime API: text prompts in, spoken answers out.

    OPENAI_API_KEY=sk-... python examples/openai_bot.py "What's the weather in Lisbon?"
    python examples/openai_bot.py --wav answer.wav --model gpt-realtime "Hello!" "And in Porto?"

Needs the ``ws`` extra (from a checkout: ``pip install -e '.[ws]'``) and an API key
in ``OPENAI_API_KEY``. Each prompt is sent as a user message; the bot prints
the model's captions as it speaks, writes its voice to a WAV file at
real-time pace (reporting playback to the session, so that a barge-in would
cut the transcript to what was heard), runs the model's ``get_weather`` tool,
and waits for the answer before sending the next prompt. At the end it prints
the canonical transcript.

``--url`` points the bot at another server speaking the OpenAI Realtime
protocol (a proxy, or a local test server); the key is still sent.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO, final

import anyio
import anyio.lowlevel
import attrs
from wav_player import WavPlayer

from realtime_session import RealtimeSession, ToolError, public
from realtime_session import events as ev
from realtime_session import transcript as tr
from realtime_session.providers import MissingDependencyError, ProviderConnectionError, openai

if TYPE_CHECKING:
    from collections.abc import Sequence

    from anyio.streams.memory import MemoryObjectSendStream

    from realtime_session import Subscription

DEFAULT_MODEL: Final = "gpt-realtime"
DEFAULT_WAV: Final = Path(tempfile.gettempdir()) / "realtime_session_openai_bot.wav"
EXIT_NO_KEY: Final = 2

WEATHER_TOOL: Final[dict[str, Any]] = {
    "type": "function",
    "name": "get_weather",
    "description": "Today's weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
}

SESSION_CONFIG: Final[dict[str, Any]] = {
    "type": "realtime",
    "instructions": "You are a friendly voice assistant. Keep answers short.",
    "output_modalities": ["audio"],
    "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}}},
    "tools": [WEATHER_TOOL],
    "tool_choice": "auto",
}

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


@attrs.frozen(kw_only=True)
class BotReport:
    """How a run of the bot went."""

    transcript: tuple[tr.Message, ...]
    answers: int
    audio_ms: float
    closed_reason: str | None


@final
class _Captions:
    """Prints captions, and signals each answer: a response that did not stop for a tool."""

    def __init__(self, out: TextIO, answers: MemoryObjectSendStream[public.TurnCompleted]) -> None:
        self._out = out
        self._answers = answers
        self._speaking: str | None = None
        self.closed: public.SessionClosed | None = None

    async def run(self, subscription: Subscription) -> None:
        # Closing the answers stream when the session ends tells the prompt loop
        # that no more answers will come.
        async with subscription, self._answers:
            async for event in subscription:
                self._show(event)

    def _show(self, event: public.RealtimeEvent) -> None:
        match event:
            case public.OutputAudioTranscriptDelta(response_id=response_id, delta=delta):
                if self._speaking != response_id:
                    self._end_line()
                    self._write("bot: ")
                    self._speaking = response_id
                self._write(delta)
            case public.OutputTextDelta(delta=delta):
                self._write(delta)
            case public.Interrupted():
                if self._speaking is not None:
                    self._write(" [interrupted]")
                self._end_line()
            case public.TurnCompleted(stop_reason=stop_reason):
                self._end_line()
                if stop_reason is not ev.StopReason.TOOL_USE:
                    self._answers.send_nowait(event)
            case public.ToolCallRequested(tool_name=name):
                self._print(f"  (calling {name})")
            case public.ToolCallFailed(error=error) | public.ProviderError(message=error):
                self._print(f"  (error: {error})")
            case public.SessionClosed():
                self.closed = event
                self._print(f"  (session closed: {event.reason})")
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


async def run_bot(
    prompts: Sequence[str],
    *,
    api_key: str,
    url: str | None = None,
    model: str = DEFAULT_MODEL,
    wav_path: str | os.PathLike[str] = DEFAULT_WAV,
    speed: float = 1.0,
    answer_timeout_s: float = 60.0,
    out: TextIO | None = None,
) -> BotReport:
    """Connect, send each prompt and wait for its answer, then close; what happened.

    The session is wired with the ``get_weather`` tool, a caption printer and
    a :class:`WavPlayer` playing at ``speed`` times real time. The bot stops
    early if the server ends the session. Raises
    ``realtime_session.providers.ProviderConnectionError`` if the connection
    cannot be opened, and ``TimeoutError`` if an answer takes longer than
    ``answer_timeout_s``.
    """
    out = sys.stdout if out is None else out
    # Unbounded: the captions never wait for the prompt loop to take an answer.
    answers_send, answers = anyio.create_memory_object_stream[public.TurnCompleted](math.inf)
    captions = _Captions(out, answers_send)
    answered = 0
    async with openai.connect(
        api_key=api_key, model=model, url=url, session_config=SESSION_CONFIG
    ) as (events, commands):
        session = RealtimeSession(events, commands=commands, tools={"get_weather": get_weather})
        player = WavPlayer(session, wav_path, speed=speed)
        caption_events = session.events(media=False)
        player_events = session.events()
        with answers:
            async with session, anyio.create_task_group() as task_group:
                task_group.start_soon(captions.run, caption_events)
                task_group.start_soon(player.run, player_events)
                for prompt in prompts:
                    print(f"you: {prompt}", file=out, flush=True)
                    await session.send_input(ev.TextInput(text=prompt))
                    try:
                        with anyio.fail_after(answer_timeout_s):
                            await answers.receive()
                    except anyio.EndOfStream:
                        break  # the server ended the session
                    answered += 1
                # Closing ends both subscriptions; the player still plays what it holds.
                await session.aclose()
    closed = captions.closed
    return BotReport(
        transcript=session.transcript,
        answers=answered,
        audio_ms=player.played_ms,
        closed_reason=closed.reason if closed is not None else None,
    )


async def run(args: argparse.Namespace, api_key: str) -> int:
    try:
        report = await run_bot(
            args.prompts,
            api_key=api_key,
            url=args.url,
            model=args.model,
            wav_path=args.wav,
            speed=args.speed,
        )
    except (MissingDependencyError, ProviderConnectionError) as exc:
        print(f"openai_bot: {exc}", file=sys.stderr)
        return 1
    print("\ntranscript:")
    for message in report.transcript:
        role = "user" if isinstance(message, tr.UserMessage) else "assistant"
        print(f"{role}: {message.text}")
    print(f"wrote {report.audio_ms / 1000:.2f} s of assistant audio to {args.wav}")
    return 0 if report.answers == len(args.prompts) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "prompts",
        nargs="*",
        metavar="PROMPT",
        default=["What's the weather in Lisbon?"],
        help="what to say, one prompt per argument (default: a weather question)",
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help="default: %(default)s")
    parser.add_argument("--url", default=None, help="another server speaking the same protocol")
    parser.add_argument("--wav", type=Path, default=DEFAULT_WAV, help="default: %(default)s")
    parser.add_argument(
        "--speed", type=float, default=1.0, help="playback speed, 1 is real time (default)"
    )
    args = parser.parse_args(argv)
    if not args.speed > 0:
        parser.error("--speed must be > 0")
    api_key = os.environ.get("OPENAI_API_KEY", "").strip()
    if not api_key:
        print(
            "openai_bot: OPENAI_API_KEY is not set. This example talks to the real OpenAI "
            "Realtime API:\n  OPENAI_API_KEY=sk-... python examples/openai_bot.py "
            '"What\'s the weather in Lisbon?"\n'
            "For an offline bot, run examples/voice_bot.py.",
            file=sys.stderr,
        )
        return EXIT_NO_KEY
    return anyio.run(run, args, api_key)


if __name__ == "__main__":
    sys.exit(main())
