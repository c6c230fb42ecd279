"""A voice call with OpenAI Realtime or Gemini Live: a WAV file in, the bot's voice out.

    OPENAI_API_KEY=sk-... python examples/voice_call.py openai --mic question.wav
    GEMINI_API_KEY=... python examples/voice_call.py gemini --mic question.wav --out heard.wav

Needs the ``ws`` and ``audio`` extras (``pip install -e '.[ws,audio]'`` in a checkout).
It speaks ``--mic`` to the model as a microphone would (20 ms chunks at
real-time pace, resampled to what the provider takes, followed by a second of
silence so that the provider hears the user stop), prints the captions as the
model speaks, plays the model's voice into ``--out`` through a sound card
thread that reports what it played (:class:`~realtime_session.playback.PlaybackClock`),
and runs the model's ``get_weather`` tool, declared to the provider from its
signature. When the user talks over the model, the session cuts the
transcript, and OpenAI's server-side conversation, at what the player had
played. It ends after ``--answers`` answers, or when the server closes.

``--url`` points it at another server speaking the same protocol (a proxy, or
a local test server); a key is still needed.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TextIO, final

import anyio
import anyio.lowlevel
import attrs

from realtime_session import RealtimeSession, public
from realtime_session import events as ev
from realtime_session import transcript as tr
from realtime_session.playback import PlaybackClock, WavFileMicrophone, WavFilePlayer
from realtime_session.providers import MissingDependencyError, ProviderConnectionError
from realtime_session.tools import function_tool, tool_map

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

    from realtime_session import ProviderCommands, Subscription

Provider = Literal["openai", "gemini"]

DEFAULT_OUT: Final = Path(tempfile.gettempdir()) / "realtime_session_voice_call.wav"
# What each provider takes as input audio (both answer at 24 kHz).
INPUT_RATE_HZ: Final[dict[str, int]] = {"openai": 24000, "gemini": 16000}
KEY_VARIABLE: Final[dict[str, str]] = {"openai": "OPENAI_API_KEY", "gemini": "GEMINI_API_KEY"}
INSTRUCTIONS: Final = "You are a friendly voice assistant. Keep answers short."
EXIT_NO_KEY: Final = 2

_WEATHER: Final = {"lisbon": (21, "sunny"), "porto": (18, "cloudy"), "madrid": (27, "clear")}


@function_tool
async def get_weather(
    city: str, unit: Literal["celsius", "fahrenheit"] = "celsius"
) -> dict[str, ev.JsonValue]:
    """Today's weather for a city.

    :param city: the city's name, e.g. "Lisbon"
    :param unit: the temperature scale to answer in
    """
    try:
        temperature_c, conditions = _WEATHER[city.strip().casefold()]
    except KeyError:
        raise LookupError(f"no weather for {city!r}") from None
    temperature = temperature_c if unit == "celsius" else round(temperature_c * 9 / 5 + 32)
    await anyio.lowlevel.checkpoint()  # where a real tool would await a weather service
    return {"city": city, "temperature": temperature, "unit": unit, "conditions": conditions}


TOOLS: Final = [get_weather]


@attrs.frozen(kw_only=True)
class CallReport:
    """How the call went."""

    transcript: tuple[tr.Message, ...]
    answers: int
    played_ms: float
    flushed_ms: float
    closed_reason: str | None


def connect(
    provider: Provider, *, api_key: str, url: str | None, model: str | None
) -> AbstractAsyncContextManager[
    tuple[MemoryObjectReceiveStream[ev.RealtimeSessionEvent], ProviderCommands]
]:
    """Open the provider; ``tools=`` declares the tools, from their signatures, in its setup."""
    if provider == "openai":
        from realtime_session.providers import openai

        session_config: dict[str, Any] = {
            "type": "realtime",
            "instructions": INSTRUCTIONS,
            "output_modalities": ["audio"],
            "audio": {
                "input": {
                    "format": {"type": "audio/pcm", "rate": INPUT_RATE_HZ["openai"]},
                    "transcription": {"model": "gpt-4o-mini-transcribe"},
                    "turn_detection": {"type": "server_vad", "interrupt_response": True},
                },
                "output": {"format": {"type": "audio/pcm", "rate": 24000}},
            },
            "tool_choice": "auto",
        }
        return openai.connect(
            api_key=api_key,
            url=url,
            model=model or "gpt-realtime",
            session_config=session_config,
            tools=TOOLS,
        )
    from realtime_session.providers import gemini

    setup = {"systemInstruction": {"parts": [{"text": INSTRUCTIONS}]}}
    return gemini.connect(
        api_key=api_key,
        url=url,
        model=model or "gemini-live-2.5-flash-preview",
        session_config=setup,
        tools=TOOLS,
    )


@final
class Captions:
    """Prints what the user said and what the model says; counts the answers."""

    def __init__(self, out: TextIO, answers: MemoryObjectSendStream[None]) -> None:
        self._out = out
        self._answers = answers
        self._speaking: str | None = None
        self.closed: public.SessionClosed | None = None

    async def run(self, subscription: Subscription) -> None:
        async with subscription, self._answers:
            async for event in subscription:
                self._show(event)

    def _show(self, event: public.RealtimeEvent) -> None:
        match event:
            case public.InputTranscriptFinal(text=text):
                self._print(f"you: {text.strip()}")
            case public.OutputAudioTranscriptDelta(response_id=response_id, delta=delta):
                if self._speaking != response_id:
                    self._end_line()
                    self._write("bot: ")
                    self._speaking = response_id
                self._write(delta)
            case public.Interrupted():
                if self._speaking is not None:
                    self._write(" [you cut in]")
                self._end_line()
            case public.TurnCompleted(stop_reason=stop_reason):
                self._end_line()
                if stop_reason not in (ev.StopReason.TOOL_USE, ev.StopReason.CANCELLED):
                    self._answers.send_nowait(None)
            case public.ToolCallRequested(tool_name=name):
                self._print(f"  (calling {name})")
            case public.ToolCallFailed(error=error) | public.ProviderError(message=error):
                self._print(f"  (error: {error})")
            case public.SessionClosed():
                self.closed = event
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


async def run_call(
    provider: Provider,
    mic_path: str | os.PathLike[str],
    *,
    api_key: str,
    url: str | None = None,
    model: str | None = None,
    out_path: str | os.PathLike[str] = DEFAULT_OUT,
    mic_speed: float = 1.0,
    answers: int = 1,
    out: TextIO | None = None,
) -> CallReport:
    """Hold the call: speak the file, play and caption the answers, run the tool; what happened."""
    out = sys.stdout if out is None else out
    mic = WavFileMicrophone(
        mic_path,
        sample_rate_hz=INPUT_RATE_HZ[provider],
        speed=mic_speed,
        trailing_silence_ms=1000,
    )
    answered_send, answered = anyio.create_memory_object_stream[None](math.inf)
    captions = Captions(out, answered_send)
    clock = PlaybackClock()
    player = WavFilePlayer(out_path, clock=clock)
    count = 0
    async with connect(provider, api_key=api_key, url=url, model=model) as (events, commands):
        session = RealtimeSession(events, commands=commands, tools=tool_map(TOOLS))
        caption_events = session.events(media=False)
        player_events = session.events()
        with answered:
            async with (
                session,
                clock.reporting(session),
                anyio.create_task_group() as task_group,
            ):
                task_group.start_soon(captions.run, caption_events)
                task_group.start_soon(player.play, player_events)
                speaking = anyio.CancelScope()

                async def speak() -> None:
                    with speaking:
                        await mic.send_to(session)

                task_group.start_soon(speak)
                async for _ in answered:
                    count += 1
                    if count >= answers:
                        break
                # Hang up: the microphone stops; closing the session ends both
                # subscriptions, and the player plays out what it holds.
                speaking.cancel()
                await session.aclose()
    closed = captions.closed
    return CallReport(
        transcript=session.transcript,
        answers=count,
        played_ms=player.played_ms,
        flushed_ms=player.flushed_ms,
        closed_reason=closed.reason if closed is not None else None,
    )


async def _main(args: argparse.Namespace, api_key: str) -> int:
    try:
        report = await run_call(
            args.provider,
            args.mic,
            api_key=api_key,
            url=args.url,
            model=args.model,
            out_path=args.out,
            mic_speed=args.mic_speed,
            answers=args.answers,
        )
    except (MissingDependencyError, ProviderConnectionError) as exc:
        print(f"voice_call: {exc}", file=sys.stderr)
        return 1
    print("\ntranscript (as the user heard it):")
    for message in report.transcript:
        role = "user" if isinstance(message, tr.UserMessage) else "assistant"
        print(f"{role}: {message.text.strip()}")
    print(
        f"played {report.played_ms / 1000:.2f} s of the bot's voice into {args.out} "
        f"({report.flushed_ms / 1000:.2f} s dropped when you cut in)"
    )
    return 0 if report.answers >= args.answers else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("provider", choices=("openai", "gemini"))
    parser.add_argument("--mic", type=Path, required=True, help="a 16-bit PCM WAV file to speak")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: %(default)s")
    parser.add_argument("--url", default=None, help="another server speaking the same protocol")
    parser.add_argument("--model", default=None, help="default: the provider's realtime model")
    parser.add_argument(
        "--mic-speed", type=float, default=1.0, help="speak the file faster (default: 1)"
    )
    parser.add_argument(
        "--answers", type=int, default=1, help="hang up after this many answers (default: 1)"
    )
    args = parser.parse_args(argv)
    if not args.mic_speed > 0 or args.answers < 1:
        parser.error("--mic-speed must be > 0 and --answers >= 1")
    variable = KEY_VARIABLE[args.provider]
    api_key = os.environ.get(variable, "").strip()
    if not api_key:
        print(f"voice_call: {variable} is not set.", file=sys.stderr)
        return EXIT_NO_KEY
    return anyio.run(_main, args, api_key)


if __name__ == "__main__":
    sys.exit(main())
