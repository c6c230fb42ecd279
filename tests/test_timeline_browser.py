"""The timeline page in a real browser: headless Chromium loads what ``inspect`` wrote.

Chromium is Debian's (``apt-get install chromium``; ``.ci/run`` installs it).
These tests fail, never skip, when it is missing. Each page is loaded twice:
once to dump the DOM after its first paint (the page writes a report of what
it drew, counting painted pixels per lane, and any script error, into an
``<output>`` element), once for a screenshot kept as a test artifact.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import realtime_session

TRACES = Path(realtime_session.__file__).parent / "traces"
BUNDLED = sorted(path.name for path in TRACES.glob("*.jsonl"))
# How the machine's Chromium runs headless as root with no network and no display.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--enable-logging=stderr",
    "--v=0",
)


@pytest.fixture(scope="session")
def chromium() -> str:
    path = (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )
    if path is None:
        pytest.fail(
            "Chromium is needed for the timeline's browser tests: "
            "apt-get install chromium (.ci/run installs it)"
        )
    return path


def run_chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def inspect(trace: Path, out: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "realtime_session", "inspect", str(trace), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out} (")


def load(
    chromium: str, page: Path, tmp: Path, fragment: str = "selftest"
) -> tuple[dict[str, Any], str]:
    """The page's render report and its DOM after the first paint."""
    result = run_chromium(
        chromium, tmp / "profile-dom", "--dump-dom", f"{page.as_uri()}#{fragment}"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    # Console errors from the page itself (not Chromium's own D-Bus chatter).
    console_errors = [line for line in result.stderr.splitlines() if "Uncaught" in line]
    assert console_errors == []
    match = re.search(
        r'<output id="render-report" data-errors="(\d+)">(.*?)</output>', dom, re.DOTALL
    )
    assert match is not None, "the page never finished its first paint"
    report: dict[str, Any] = json.loads(html.unescape(match.group(2)))
    assert match.group(1) == "0"
    assert report["errors"] == []
    assert 'data-rendered="1"' in dom
    return report, dom


def screenshot(chromium: str, page: Path, tmp: Path) -> Path:
    shot = tmp / f"{page.stem}.png"
    result = run_chromium(
        chromium,
        tmp / "profile-shot",
        "--window-size=1400,800",
        f"--screenshot={shot}",
        page.as_uri(),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000  # a drawn page, not a blank one
    print(f"timeline screenshot: {shot}")
    return shot


@pytest.mark.parametrize("trace", BUNDLED)
def test_bundled_traces_render_without_script_errors(
    trace: str, chromium: str, tmp_path: Path
) -> None:
    page = tmp_path / f"{Path(trace).stem}.html"
    inspect(TRACES / trace, page)
    report, dom = load(chromium, page, tmp_path)
    assert report["lanes"] == [
        "user",
        "captions",
        "received",
        "played",
        "bargein",
        "tools",
        "latency",
        "drops",
        "errors",
    ]
    for label in ("User speech", "Captions &amp; text", "Audio received", "Audio played"):
        assert f">{label}<" in dom
    # Every call has speech, captions and audio, and they reached the canvas.
    for lane in ("user", "captions", "received", "played"):
        assert report["painted"][lane] > 200, (lane, report["painted"])
    assert report["transcript"] >= 2
    screenshot(chromium, page, tmp_path)


def test_barge_in_trace_shows_its_lanes_and_markers(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "barge_in.html"
    inspect(TRACES / "openai_barge_in.jsonl", page)
    report, dom = load(chromium, page, tmp_path, "selftest-click=interrupted")
    assert report["markers"] == {"interrupted": 1, "truncated": 1}
    assert report["items"]["played"] == {"played": 2, "flushed": 1}
    assert report["items"]["bargein"] == {"interrupted": 1, "truncated": 1}
    assert report["painted"]["played"] > 500
    assert re.search(r'class="marker interrupted[^"]*"[^>]*aria-label="barge-in"', dom)
    assert re.search(r'class="marker truncated[^"]*"[^>]*aria-label="cut at 800 ms"', dom)
    # Clicking the barge-in shows its public JSON.
    assert report["clicked"] == "interrupted"
    shown = re.search(r'<pre[^>]*id="json"[^>]*>(.*?)</pre>', dom, re.DOTALL)
    assert shown is not None
    assert json.loads(html.unescape(shown.group(1))) == {
        "t": 2.933,
        "type": "interrupted",
        "response_id": "resp_MQSkS3u9I5KKgTPnO1Krs",
    }
    # The transcript beside it: the heard words, and the generated rest struck through.
    assert "Once upon" in dom
    assert re.search(r'class="unheard"[^>]*>\s*a time, on a rocky island', dom)
    assert "estimated cut at 800 ms" in dom
    screenshot(chromium, page, tmp_path)


def test_a_script_error_is_reported(chromium: str, tmp_path: Path) -> None:
    # The check above can fail: a page whose script breaks says so in its report.
    page = tmp_path / "broken.html"
    inspect(TRACES / "openai_barge_in.jsonl", page)
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("var DATA = JSON.parse(", "var DATA = JSON.parse(nope + "))
    result = run_chromium(chromium, tmp_path / "profile", "--dump-dom", page.as_uri())
    assert 'data-errors="1"' in result.stdout
    assert "Uncaught ReferenceError: nope is not defined" in result.stderr
    assert 'data-rendered="1"' not in result.stdout
