"""The command line's remote side: ``tail`` a published session, ``demo --publish`` one.

``python -m realtime_session tail redis://HOST:PORT SESSION_ID`` prints the
transcript of a session published to Redis by another process, as ``replay``
prints a trace's: the canonical messages, each line starting with ``user:`` or
``assistant:``, as they commit (a revision prints the revised message again),
then how the session closed. ``--json`` prints every public event as a JSON
line instead, audio included. It starts from the beginning of the session (or
``--live``: from now) and ends with the session.

Exit codes: 0 when the session closed normally, 1 when it failed, its
publisher vanished or the reader lagged, 2 for an unknown session or a log
that cannot be reached.
"""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final, TextIO

from . import codec, public
from ._errors import SubscriberLagged
from .remote import (
    LogUnavailable,
    PublisherLost,
    RedisLog,
    SessionNotFound,
    publish,
    subscribe,
)

if TYPE_CHECKING:
    import argparse
    from collections.abc import AsyncGenerator

    from ._session import RealtimeSession

_EXIT_OK: Final = 0
_EXIT_FAILED: Final = 1
_EXIT_USAGE: Final = 2
# A reader that cannot reach the log gives up after this long.
_RECONNECT_TIMEOUT_S: Final = 5.0


def add_tail_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``tail`` to the command line's subcommands."""
    tail_parser = commands.add_parser(
        "tail",
        parents=[common],
        help="print the transcript of a session another process publishes to Redis",
        description=(
            "Print the transcript of a live session that another process publishes to "
            "Redis (realtime_session.remote.publish, or demo --publish), from its "
            "beginning, as it happens, until it closes."
        ),
    )
    tail_parser.add_argument("url", metavar="URL", help="the Redis server, redis://HOST:PORT")
    tail_parser.add_argument("session_id", metavar="SESSION_ID", help="the session to follow")
    tail_parser.add_argument(
        "--json",
        action="store_true",
        help="print every public event, audio included, as one JSON line each, and nothing else",
    )
    tail_parser.add_argument(
        "--live", action="store_true", help="start from now instead of the session's beginning"
    )


def add_publish_option(demo_parser: argparse.ArgumentParser) -> None:
    """Add ``--publish URL`` to the ``demo`` command."""
    demo_parser.add_argument(
        "--publish",
        metavar="URL",
        default=None,
        help=(
            "also publish the session to Redis at URL (redis://HOST:PORT), to watch it "
            "from another terminal with the tail command; the session id goes to stderr"
        ),
    )


async def tail(
    url: str, session_id: str, *, as_json: bool, live: bool, out: TextIO, err: TextIO
) -> int:
    """Follow a published session, printing to ``out``; return the exit code."""
    from ._cli import transcript_lines  # the replay display; _cli imports this module

    try:
        redis_log = RedisLog(url)
    except ImportError as error:  # pragma: no cover - depends on the installation
        print(f"error: {error}", file=err)
        return _EXIT_USAGE
    closed: public.SessionClosed | None = None
    try:
        async with redis_log as log:
            subscription = subscribe(
                log,
                session_id,
                start="live" if live else "beginning",
                media=as_json,
                media_buffer=10_000,
                reconnect_timeout_s=_RECONNECT_TIMEOUT_S,
            )
            async with subscription:
                async for event in subscription:
                    if as_json:
                        out.write(codec.to_json(event) + "\n")
                    elif isinstance(event, public.TranscriptCommitted | public.TranscriptRevised):
                        if isinstance(event, public.TranscriptRevised):
                            print(f"(revised {event.item_id} to what the user heard)", file=err)
                        for line in transcript_lines(event.message):
                            print(line, file=out)
                    if isinstance(event, public.SessionClosed):
                        closed = event
                    out.flush()
    except SessionNotFound as error:
        print(f"error: {error}", file=err)
        return _EXIT_USAGE
    except (LogUnavailable, OSError) as error:
        print(f"error: cannot reach {url}: {error}", file=err)
        return _EXIT_USAGE
    except (PublisherLost, SubscriberLagged) as error:
        print(f"error: {error}", file=err)
        return _EXIT_FAILED
    if not as_json and closed is not None:
        print(file=out)
        detail = f" ({closed.error})" if closed.error else ""
        print(f"closed: {closed.reason}{detail}", file=out)
        out.flush()
    return _EXIT_FAILED if closed is None or closed.reason == "failed" else _EXIT_OK


@asynccontextmanager
async def publishing(
    session: RealtimeSession, url: str | None, err: TextIO = sys.stderr
) -> AsyncGenerator[None]:
    """Publish ``session`` to Redis at ``url`` while open (nothing when ``url`` is None)."""
    if url is None:
        yield
        return
    async with RedisLog(url) as log, publish(session, log) as publisher:
        print(
            f"publishing session {publisher.session_id} to {url}; watch it from another "
            f"terminal with:\n  python -m realtime_session tail {url} {publisher.session_id}",
            file=err,
            flush=True,
        )
        yield
