"""Packaging: what each install brings, the version, and what the command line runs by default."""

from __future__ import annotations

import ast
import importlib.metadata
import io
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import realtime_session
from realtime_session.__main__ import main

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
BASE = {"anyio", "attrs", "cattrs", "structlog", "jiter", "orjson", "pybase64"}
# The import name of each distribution the tests may use.
IMPORT_NAMES = {
    "pytest-timeout": "pytest_timeout",
    "anyio[trio]": "anyio",
    "google-genai": "google",
}
# Modules a pinned package of the test extra brings along: the SDKs' types are
# pydantic models, which the tests validate wire messages with.
BROUGHT_ALONG = {"pydantic"}


def requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def run_blocked(blocked: set[str], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the command line in a Python that cannot import ``blocked`` (as if not installed)."""
    script = (
        "import runpy, sys\n"
        f"BLOCKED = {sorted(blocked)!r}\n"
        "class Blocker:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Blocker())\n"
        f"sys.argv = ['realtime-session', *{list(args)!r}]\n"
        "runpy.run_module('realtime_session', run_name='__main__')\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


# -- what installs what -------------------------------------------------------------------------


def test_the_library_alone_needs_only_its_own_few_dependencies() -> None:
    assert {requirement_name(r) for r in PROJECT["dependencies"]} == BASE
    assert set(EXTRAS) >= {"ws", "trio", "audio", "test"}
    assert {requirement_name(r) for r in EXTRAS["ws"]} == {"websockets"}
    assert {requirement_name(r) for r in EXTRAS["trio"]} == {"trio"}
    assert {requirement_name(r) for r in EXTRAS["audio"]} == {"numpy", "soxr"}


def test_the_test_extra_pins_every_tool_and_covers_every_extra() -> None:
    test = EXTRAS["test"]
    for requirement in test:
        if requirement_name(requirement) == "anyio":
            continue  # the library's own dependency, with its trio extra
        assert "==" in requirement, f"{requirement} is not pinned to an exact version"
    in_test = {requirement_name(r) for r in test}
    for extra, requirements in EXTRAS.items():
        if extra != "test":
            assert {requirement_name(r) for r in requirements} <= in_test, extra


def test_the_tests_import_nothing_the_test_extra_does_not_install() -> None:
    provided = BASE | BROUGHT_ALONG
    provided |= {IMPORT_NAMES.get(requirement_name(r), requirement_name(r)) for r in EXTRAS["test"]}
    first_party = {"realtime_session"} | {path.stem for path in (ROOT / "tests").glob("*.py")}
    first_party |= {path.stem for path in (ROOT / "benchmarks").glob("*.py")}
    first_party |= {path.stem for path in (ROOT / "examples").glob("*.py")}
    imported: set[str] = set()
    for folder in ("tests", "benchmarks", "examples"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - first_party - {"__future__"}
    # Imported only when installed, and reported as missing otherwise (bench_audio).
    optional = {"scipy", "samplerate"}
    assert third_party - optional <= provided


def test_readme_installs_the_library_alone_for_the_demo_and_the_test_extra_for_the_tests() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"```bash\n(.*?)```", readme, re.DOTALL)
    assert first_block is not None
    demo, tests = first_block.group(1).splitlines()
    assert demo == "pip install -e . && python -m realtime_session demo"
    assert tests.endswith("pip install -e '.[test]' && pytest")
    # The browser tests need Chromium, the remote tests a redis-server.
    assert "apt-get install -y chromium redis-server" in tests


def test_the_demo_replay_and_inspect_run_with_the_library_alone(tmp_path: Path) -> None:
    blocked = {"websockets", "numpy", "soxr", "trio", "uvloop", "hypothesis", "redis", "coredis"}
    demo = run_blocked(blocked, "--speed", "50", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "user: What's the weather in Lisbon?" in demo.stdout
    trace = Path(realtime_session.__file__).parent / "traces" / "openai_barge_in.jsonl"
    replay = run_blocked(blocked, "replay", str(trace), "--wav", "heard.wav", cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    assert "assistant: Once upon" in replay.stdout
    assert (tmp_path / "heard.wav").stat().st_size > 1000
    inspect = run_blocked(blocked, "inspect", str(trace), cwd=tmp_path)
    assert inspect.returncode == 0, inspect.stderr
    assert (tmp_path / "openai_barge_in.html").exists()
    # Only what needs an extra says so, with the install command.
    trio = run_blocked(blocked, "replay", str(trace), "--backend", "trio", cwd=tmp_path)
    assert trio.returncode != 0
    assert "trio" in trio.stderr


# -- the version --------------------------------------------------------------------------------


def test_version_is_the_installed_version() -> None:
    assert realtime_session.__version__ == importlib.metadata.version("realtime-session")
    assert re.fullmatch(r"\d+\.\d+\.\d+", realtime_session.__version__)
    assert PROJECT["dynamic"] == ["version"]


def test_version_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"realtime-session {realtime_session.__version__}\n"


# -- the default command ------------------------------------------------------------------------


def run_main(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    monkeypatch.setattr("sys.stderr", err)
    return main(args), out.getvalue(), err.getvalue()


@pytest.mark.parametrize("args", [["--speed", "50"], ["--speed=50", "--backend", "trio"]])
def test_only_options_run_the_demo_with_them(
    args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_main(args, monkeypatch)
    assert code == 0, err
    assert "user: What's the weather in Lisbon?" in out


def test_help_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_main(["--help"], monkeypatch)
    assert code == 0
    assert "Without a command (with or without the demo's options), runs the demo." in out
    assert "--version" in out
    code, _, err = run_main(["--speed", "fast"], monkeypatch)
    assert code == 2
    assert "demo: error: argument --speed" in err
