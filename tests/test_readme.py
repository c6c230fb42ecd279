"""Every Python code block of the README runs as shown.

A block that talks to a provider reads its endpoint from ``OPENAI_REALTIME_URL``
or ``GEMINI_LIVE_URL`` (unset, it goes to the provider itself). Here those
point at a WebSocket server on 127.0.0.1 that replays a recorded call of that
provider, so the block runs as written, with a dummy key.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import tomllib
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from realtime_session.providers import read_trace

if TYPE_CHECKING:
    from collections.abc import Iterator

README = Path(__file__).resolve().parent.parent / "README.md"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
# The environment variable a block reads its endpoint from, and the call replayed there.
PROVIDER_ENDPOINTS = {
    "OPENAI_REALTIME_URL": ("openai_voice_turn", False),
    "GEMINI_LIVE_URL": ("gemini_voice_turn", True),
}


@contextmanager
def replaying(trace: str, *, binary: bool) -> Iterator[str]:
    """A loopback server answering each connection's first message with a recorded call."""
    frames = [json.dumps(record.payload) for record in read_trace(FIXTURES / f"{trace}.jsonl")]

    def handler(connection: ServerConnection) -> None:
        try:
            connection.recv(timeout=10)  # the session configuration or setup
            for frame in frames:
                connection.send(frame.encode() if binary else frame)
            connection.close()
        except (ConnectionClosed, TimeoutError):
            pass

    with serve(handler, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, name=f"replay {trace}")
        thread.start()
        try:
            yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
        finally:
            server.shutdown()
            thread.join(10)


def test_the_readme_has_python_examples() -> None:
    assert BLOCKS


def test_the_readme_shows_a_live_session_for_each_provider() -> None:
    for variable in PROVIDER_ENDPOINTS:
        assert any(variable in block and "send_input" in block for block in BLOCKS), variable


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_block_runs(source: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(source, encoding="utf-8")
    variable = next((name for name in PROVIDER_ENDPOINTS if name in source), None)
    env = {**os.environ, "OPENAI_API_KEY": "sk-test", "GEMINI_API_KEY": "g-test"}
    if variable is None:
        endpoint = _nothing()
    else:
        trace, binary = PROVIDER_ENDPOINTS[variable]
        endpoint = replaying(trace, binary=binary)
    with endpoint as url:
        if variable is not None:
            env[variable] = url
        result = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            check=False,
            env=env,
        )
    assert result.returncode == 0, result.stderr
    expected = re.search(r"# prints:\n((?:# .*\n)+)", source)
    if expected is not None:
        lines = [line[2:] for line in expected.group(1).splitlines()]
        assert result.stdout.splitlines()[: len(lines)] == lines


ROOT = README.parent


def test_the_test_command_and_ci_install_the_one_pinned_test_extra() -> None:
    setup = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)[0]
    # It may install system packages the tests need first (the browser tests' Chromium).
    assert setup.splitlines()[1].endswith("pip install -e '.[test]' && pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install" in ci and "-e '.[test]'" in ci
    # The development tools in that extra are pinned, so a fresh machine runs what
    # was checked: anyio too, the pytest plugin that runs every async test.
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    names = set()
    for requirement in extras["test"]:
        name = re.split(r"[\[=<>;! ]", requirement, maxsplit=1)[0]
        names.add(name)
        assert "==" in requirement, requirement
    assert {"pytest", "anyio", "hypothesis", "ruff", "mypy"} <= names


def test_install_advice_is_what_works_from_a_checkout() -> None:
    # The package is not on PyPI: "pip install 'realtime-session[ws]'" fails.
    texts = [README, ROOT / "CHANGELOG.md", *ROOT.glob("realtime_session/**/*.py")]
    texts += [*ROOT.glob("examples/*.py")]
    for path in texts:
        assert "install 'realtime-session[" not in path.read_text(encoding="utf-8"), path
    assert "pip install -e '.[ws]'" in README.read_text(encoding="utf-8")


@contextmanager
def _nothing() -> Iterator[str]:
    yield ""
