"""The command line: argument parsing, logging set-up and the ``replay`` command.

``python -m realtime_session demo`` runs the demo (:mod:`realtime_session._demo`);
``python -m realtime_session replay TRACE`` runs a recorded trace (``-``: read
from standard input) through a session as fast as it goes and prints the
canonical transcript and the session's counters, or with ``--json`` every
public event as one JSON line.
``python -m realtime_session tail URL SESSION_ID`` follows a session another
process publishes to Redis (:mod:`realtime_session._cli_remote`).

stdout carries only what the command is for: the demo's display, the
transcript, or the JSON lines. Logs and error messages go to stderr. The
command line is an application, so it configures structlog for itself (the
library never does): warnings and errors by default, more with ``-v``.

Exit codes: 0 on success, 1 when the session ended as ``failed``, 2 for a
usage error (``--backend trio`` without trio installed included) or a trace
that cannot be read (missing file, malformed line, unknown format, a
``--format`` its first line contradicts), 130 when interrupted with Ctrl-C.
"""

from __future__ import annotations

import argparse
import functools
import io
import logging
import math
import os
import sys
import wave
from typing import IO, TYPE_CHECKING, Final, TextIO, final

import anyio
import structlog

from . import __version__, codec, public
from . import events as ev
from . import transcript as tr
from ._cli_remote import add_publish_option, add_tail_command, tail
from ._demo import DEFAULT_SPEED, DEFAULT_STALLED_BUFFER, run_demo
from ._observed import observe_call, trace_session
from .providers import TraceFormatError
from .providers._trace import LoadedTrace, open_trace
from .providers.scripted import TRACE_FORMATS, TimedEvent, detect_trace_format
from .timeline import build_timeline, listen, render_html

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .providers.scripted import TraceFormat, TraceRecord

EXIT_OK: Final = 0
EXIT_SESSION_FAILED: Final = 1
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

BACKENDS: Final = ("asyncio", "trio")

STDIN: Final = "-"
_STDIN_NAME: Final = "<stdin>"

_TOP_LEVEL_OPTIONS: Final = frozenset({"-h", "--help", "--version"})

_FORMAT_NAMES: Final[dict[str, str]] = {
    "openai": "an OpenAI Realtime server event",
    "gemini": "a Gemini Live server message",
    "events": "a wire-codec event",
}


@final
class TraceUnreadable(Exception):
    """The trace given to ``replay`` cannot be used; the message says where and why."""


@final
class OutputUnwritable(Exception):
    """A file the command was asked to write cannot be written; the message says why."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    Without a command it runs the demo. Input and output are the ``sys.stdin``,
    ``sys.stdout`` and ``sys.stderr`` current at the call, so a caller may
    redirect them.
    """
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in _TOP_LEVEL_OPTIONS):
        # No command, only options (``--speed 4``): they are the demo's.
        args_list = ["demo", *args_list]
    parser = build_parser(_program_name() if argv is None else "realtime-session")
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exit_request:
        # argparse has printed the usage error (or the help); report its exit code.
        code = exit_request.code
        return code if isinstance(code, int) else EXIT_OK if code is None else EXIT_USAGE
    out, err = sys.stdout, sys.stderr
    if args.backend == "trio" and not _trio_installed():
        print(
            f"{parser.prog} {args.command}: error: --backend trio needs trio, which is not "
            "installed: pip install 'anyio[trio]'",
            file=err,
        )
        return EXIT_USAGE
    configure_logging(args.verbose, err)
    try:
        if args.command == "demo":
            return anyio.run(
                functools.partial(
                    run_demo,
                    speed=args.speed,
                    stalled_buffer=args.stalled_buffer,
                    out=out,
                    publish_to=args.publish,
                    err=err,
                ),
                backend=args.backend,
            )
        if args.command == "tail":
            return anyio.run(
                functools.partial(
                    tail,
                    args.url,
                    args.session_id,
                    as_json=args.json,
                    live=args.live,
                    out=out,
                    err=err,
                ),
                backend=args.backend,
            )
        try:
            trace = load_events(args.trace, args.format, err)
        except TraceUnreadable as error:
            print(f"{parser.prog} {args.command}: error: {error}", file=err)
            return EXIT_USAGE
        try:
            if args.command == "inspect":
                from_stdin = args.trace == STDIN
                title = _STDIN_NAME if from_stdin else os.path.basename(args.trace)
                stem = "call" if from_stdin else os.path.splitext(title)[0]
                return anyio.run(
                    functools.partial(
                        inspect,
                        trace,
                        title=title,
                        output=args.output or f"{stem}.html",
                        out=out,
                    ),
                    backend=args.backend,
                )
            return anyio.run(
                functools.partial(
                    replay,
                    trace.events,
                    format=trace.format,
                    as_json=args.json,
                    wav=args.wav,
                    out=out,
                ),
                backend=args.backend,
            )
        except OutputUnwritable as error:
            print(f"{parser.prog} {args.command}: error: {error}", file=err)
            return EXIT_USAGE
    except BaseException as exc:
        # Task groups may deliver these wrapped in an exception group.
        if _consists_of(exc, KeyboardInterrupt):
            return EXIT_INTERRUPTED
        if _consists_of(exc, BrokenPipeError):
            # The reader of stdout went away (`... | head`): not an error. Point stdout
            # at /dev/null so that the interpreter's last flush does not fail again.
            _silence_stdout()
            return EXIT_OK
        raise


def build_parser(prog: str = "realtime-session") -> argparse.ArgumentParser:
    """The argument parser of ``python -m realtime_session``, named ``prog`` in messages."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--backend",
        choices=BACKENDS,
        default="asyncio",
        help="the event loop to run on (default: %(default)s)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log more to stderr: -v for info, -vv for debug (default: warnings only)",
    )
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Realtime model sessions with a lossless transcript lane and a lossy media lane. "
            "Without a command (with or without the demo's options), runs the demo."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="play a recorded OpenAI Realtime call (a tool call and a barge-in) live, offline",
        description=(
            "Play the bundled OpenAI Realtime recording openai_demo.jsonl through the OpenAI "
            "translator and a session, at the recording's pace, with a real-time audio player "
            "and a stalled listener, and print the conversation as it happens."
        ),
    )
    demo.add_argument(
        "--speed",
        type=_positive_float,
        default=DEFAULT_SPEED,
        help="playback speed: 1 is real time, 2 twice as fast (default: %(default)s)",
    )
    demo.add_argument(
        "--stalled-buffer",
        type=_positive_int,
        default=DEFAULT_STALLED_BUFFER,
        metavar="CHUNKS",
        help="media buffer of the stalled listener (default: %(default)s)",
    )
    add_publish_option(demo)
    replay_parser = commands.add_parser(
        "replay",
        parents=[common],
        help="run a recorded trace and print its transcript (or every event as JSON)",
        description=(
            "Run a recorded trace through a session as fast as possible and print the "
            "canonical transcript and the session's counters. A trace is JSON Lines: raw "
            "OpenAI Realtime server events, raw Gemini Live server messages, or wire-codec "
            "events (a recording written by SessionConfig(record_to=...)), each optionally "
            'wrapped as {"t": seconds, "event": {...}}.'
        ),
    )
    replay_parser.add_argument(
        "trace", metavar="TRACE", help="the JSON Lines trace to replay (-: read standard input)"
    )
    replay_parser.add_argument(
        "--format",
        choices=TRACE_FORMATS,
        default=None,
        help="the trace's format (default: detected from its first line)",
    )
    replay_parser.add_argument(
        "--json",
        action="store_true",
        help="print every public event, audio included, as one JSON line each, and nothing else",
    )
    replay_parser.add_argument(
        "--wav",
        metavar="OUT.wav",
        default=None,
        help=(
            "also write the assistant's audio as a listener would have heard it: played in "
            "real time as it arrived, without what a barge-in flushed or cut"
        ),
    )
    inspect_parser = commands.add_parser(
        "inspect",
        parents=[common],
        help="write a recorded call as a timeline: one self-contained HTML page",
        description=(
            "Run a recorded trace (anything replay reads) through a session and write one "
            "self-contained HTML page showing the call on a time axis: user speech and "
            "transcripts, captions, assistant audio received and played, barge-ins, flushes, "
            "truncations (heard against generated text), tool calls, latency, media drops and "
            "provider errors, beside the canonical transcript. Open it in any browser; it "
            "loads nothing from the network."
        ),
    )
    inspect_parser.add_argument(
        "trace", metavar="TRACE", help="the JSON Lines trace to inspect (- for standard input)"
    )
    inspect_parser.add_argument(
        "-o",
        "--output",
        metavar="OUT.html",
        default=None,
        help="where to write the page (default: the trace's name with .html, or call.html, here)",
    )
    inspect_parser.add_argument(
        "--format",
        choices=TRACE_FORMATS,
        default=None,
        help="the trace's format (default: detected from its first line)",
    )
    add_tail_command(commands, common)
    return parser


def configure_logging(verbosity: int, stream: TextIO) -> None:
    """Send structlog output to ``stream`` (stderr), filtered by ``-v``.

    The library binds its context to structlog loggers and leaves configuration
    to the application; this is the command line's own.
    """
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%H:%M:%S", utc=False),
            structlog.processors.format_exc_info,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )


def load_events(path: str, format: TraceFormat | None, err: TextIO) -> LoadedTrace:
    """Read and translate a trace for ``replay``; ``path`` ``-`` reads ``sys.stdin``.

    The trace is read once, as it arrives (a pipe included). A recording that a
    crash cut off in the middle of its last line is still replayed, without that
    line, with a warning on ``err`` (only after a line that was written whole: a
    file of one bad line is no recording). A ``format`` that the first line
    plainly contradicts is refused: translated with the wrong translator, a
    trace would replay as an empty or broken conversation.

    :raises TraceUnreadable: naming the file, and the line when one is at fault.
    """
    shown = _STDIN_NAME if path == STDIN else path
    source = _standard_input(sys.stdin) if path == STDIN else path
    check = None if format is None else functools.partial(_check_format, format, shown)
    try:
        trace = open_trace(source, format, name=shown, skip_torn=True, check_first=check)
    except TraceFormatError as error:
        raise TraceUnreadable(f"{shown}, line {error.line}: {error.reason}") from error
    except FileNotFoundError as error:
        raise TraceUnreadable(f"{shown}: no such file") from error
    except IsADirectoryError as error:
        raise TraceUnreadable(f"{shown}: is a directory, not a trace file") from error
    except OSError as error:
        raise TraceUnreadable(f"{shown}: {error.strerror or error}") from error
    if trace.torn_line is not None:
        print(
            f"warning: {shown}, line {trace.torn_line}: ignoring the unterminated last line "
            "(a recording cut off while it was written)",
            file=err,
        )
    return trace


def _standard_input(stdin: TextIO) -> IO[bytes]:
    if hasattr(stdin, "buffer"):
        buffer: IO[bytes] = stdin.buffer
        return buffer
    # A text stream without bytes underneath (a test's StringIO).
    return io.BytesIO(stdin.read().encode())


async def replay(
    events: Sequence[TimedEvent],
    *,
    format: TraceFormat | None = None,
    as_json: bool,
    out: TextIO,
    wav: str | None = None,
) -> int:
    """Run ``events`` through a new session as fast as it goes and print the result.

    The session runs on the trace's clock and settles barge-ins as the call did
    (see :func:`~realtime_session._observed.trace_session`; ``format`` is the
    trace's). The subscription is registered before the session starts, so it
    sees every event; it is waited for (``backpressure``) and has room for
    every media chunk, so nothing is dropped either. Queued audio of a response
    the user barged in on is still flushed, as for any subscriber: it was never
    played.

    With ``wav``, the assistant's audio as a listener heard it is also written
    there (see :func:`write_heard_audio`).
    """
    if wav is not None:
        await write_heard_audio(events, wav, format=format)
    media_chunks = sum(
        isinstance(item.event, ev.OutputAudioChunk | ev.OutputVideoChunk) for item in events
    )
    closed: public.SessionClosed | None = None
    _, session = trace_session(events, format)
    subscription = session.events(
        media=as_json, media_buffer=max(1, media_chunks), backpressure=True
    )
    async with session:
        async for event in subscription:
            if as_json:
                out.write(codec.to_json(event) + "\n")
            if isinstance(event, public.SessionClosed):
                closed = event
    if not as_json:
        for message in session.transcript:
            for line in transcript_lines(message):
                print(line, file=out)
        print(file=out)
        stats = session.stats
        print(
            f"stats: events_in={stats.events_in} published={stats.published} "
            f"rejected={stats.rejected} media_dropped={stats.media_dropped} "
            f"media_flushed={stats.media_flushed} media_suppressed={stats.media_suppressed} "
            f"pending_items={stats.pending_items}",
            file=out,
        )
        if closed is not None:
            detail = f" ({closed.error})" if closed.error else ""
            print(f"closed: {closed.reason}{detail}", file=out)
    out.flush()
    failed = closed is None or closed.reason == "failed"
    return EXIT_SESSION_FAILED if failed else EXIT_OK


async def write_heard_audio(
    events: Sequence[TimedEvent], path: str, *, format: TraceFormat | None = None
) -> float:
    """Write the assistant audio of a recorded call as a listener heard it; return seconds.

    The audio the session published is played as a real-time player would
    play it (:class:`~realtime_session.timeline.ListenerModel`): each chunk
    from when it arrived, back to back; a barge-in cuts what was playing and
    flushes what was queued, and a provider's truncation caps the item at what
    was heard. The WAV takes the format of the first chunk; chunks in another
    format are left out.
    """
    listener = listen(await observe_call(events, format))
    return await anyio.to_thread.run_sync(_write_wav, path, listener.heard())


def _write_wav(path: str, heard: Sequence[public.OutputAudioChunk]) -> float:
    rate, channels = (
        (heard[0].chunk.sample_rate_hz, heard[0].chunk.channels) if heard else (24000, 1)
    )
    frames = 0
    try:
        with open(path, "wb") as file, wave.open(file, "wb") as wav:
            wav.setnchannels(channels)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            for event in heard:
                chunk = event.chunk
                if (chunk.sample_rate_hz, chunk.channels) == (rate, channels):
                    wav.writeframes(chunk.data)
                    frames += len(chunk.data) // (2 * channels)
    except OSError as error:
        raise OutputUnwritable(f"{path}: {error.strerror or error}") from error
    return frames / rate


async def inspect(trace: LoadedTrace, *, title: str, output: str, out: TextIO) -> int:
    """Write the timeline page of a recorded call to ``output``; print where it went."""
    timeline = await build_timeline(trace.events, title=title, format=trace.format)
    page = render_html(timeline)
    try:
        await anyio.Path(output).write_text(page, encoding="utf-8")
    except OSError as error:
        raise OutputUnwritable(f"{output}: {error.strerror or error}") from error
    print(f"wrote {output} ({len(page.encode()) / 1e6:.2f} MB): open it in a browser", file=out)
    closed = timeline.data["closed"]
    return EXIT_SESSION_FAILED if closed is None or closed["reason"] == "failed" else EXIT_OK


def transcript_lines(message: tr.Message) -> list[str]:
    """A message as transcript lines: every line starts with ``user:`` or ``assistant:``.

    Text that spans several lines gives several lines, each with the role, so
    that the printout can be read back line by line.
    """
    role = "user" if isinstance(message, tr.UserMessage) else "assistant"
    return [f"{role}: {line}".rstrip() for line in message.text.splitlines() or [""]]


def _check_format(format: TraceFormat, shown: str, first: TraceRecord) -> None:
    """Refuse ``format`` when the trace's first line is recognisably of another format."""
    try:
        detected = detect_trace_format(first.payload)
    except ValueError:
        return  # not recognisable: the format given is the way to read it
    if detected != format:
        raise TraceUnreadable(
            f"{shown}, line {first.line}: this is {_FORMAT_NAMES[detected]}, not "
            f"{_FORMAT_NAMES[format]} (without --format the format is detected)"
        )


def _trio_installed() -> bool:
    try:
        import trio  # noqa: F401
    except ImportError:
        return False
    return True


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def _program_name() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if name in ("", "__main__.py", "-c"):
        return "python -m realtime_session"
    return name


def _consists_of(exc: BaseException, kind: type[BaseException]) -> bool:
    """Whether ``exc`` is a ``kind``, or a group of nothing but ``kind``s."""
    if isinstance(exc, BaseExceptionGroup):
        return all(_consists_of(inner, kind) for inner in exc.exceptions)
    return isinstance(exc, kind)


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        # Not a file descriptor (a redirected sys.stdout): nothing will flush to the pipe.
        pass
