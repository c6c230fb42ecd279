"""``tail`` and ``demo --publish``: watching a session from another terminal."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from realtime_session import codec, public

if TYPE_CHECKING:
    from redis_server import RedisServer

pytestmark = pytest.mark.timeout(90)

DEMO_TRANSCRIPT = [
    "user: What's the weather in Lisbon?",
    "assistant: Let me check.",
    "assistant: It's twenty-one",
    "user: Great, thanks! That's all I needed.",
    "assistant: You're welcome. Enjoy the sunshine!",
]


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "realtime_session", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(params=["asyncio", "trio"])
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def test_tail_follows_the_demo_from_a_second_terminal(
    redis_server: RedisServer, backend: str
) -> None:
    demo = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "realtime_session",
            "demo",
            "--speed",
            "2",
            "--backend",
            backend,
            "--publish",
            redis_server.url,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert demo.stderr is not None
        announcement = demo.stderr.readline() + demo.stderr.readline()
        match = re.search(r"tail (\S+) ([0-9a-f]+)", announcement)
        assert match is not None, announcement
        assert match.group(1) == redis_server.url
        # Started while the call is still on: it prints the whole call, live, then the close.
        tail = cli("tail", redis_server.url, match.group(2), "--backend", backend)
        assert demo.wait(30) == 0
    finally:
        demo.kill()
        demo.wait()
        assert demo.stderr is not None
        demo.stderr.close()
    assert tail.returncode == 0, tail.stderr
    lines = tail.stdout.splitlines()
    spoken = [line for line in lines if line.startswith(("user:", "assistant:"))]
    # The interrupted answer is cut where this run's player was, and may be printed
    # again, revised to what the user heard (stderr says so).
    revisions = tail.stderr.count("(revised ")
    assert len(spoken) == len(DEMO_TRANSCRIPT) + revisions
    assert spoken[:2] == DEMO_TRANSCRIPT[:2]
    assert spoken[-2:] == DEMO_TRANSCRIPT[-2:]
    assert all(line.startswith("assistant: It's") for line in spoken[2:-2])
    assert lines[-1] == "closed: provider_closed"

    replayed = cli("tail", redis_server.url, match.group(2), "--json", "--backend", backend)
    assert replayed.returncode == 0, replayed.stderr
    events = [
        codec.from_json(line, type=public.RealtimeEvent) for line in replayed.stdout.splitlines()
    ]
    assert isinstance(events[-1], public.SessionClosed)
    assert any(isinstance(event, public.OutputAudioChunk) for event in events)


def test_tail_of_an_unknown_session_says_so(redis_server: RedisServer) -> None:
    result = cli("tail", redis_server.url, "0123456789ab")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "0123456789ab: no such session" in result.stderr


def test_tail_of_an_unreachable_server_says_so(redis_server: RedisServer) -> None:
    url = redis_server.url
    redis_server.stop()
    result = cli("tail", url, "0123456789ab")
    assert result.returncode == 2
    assert f"cannot reach {url}" in result.stderr
