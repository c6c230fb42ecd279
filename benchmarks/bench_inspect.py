"""The timeline of a long call: how long ``inspect`` takes, and how fast the page opens.

A 50 MB raw OpenAI Realtime trace spread over an hour (``long_call.py``: the
bundled demo call repeated, ids made unique) is laid out by ``inspect``, and
the page is opened in headless Chromium. Figures, each beside a baseline from
the same run:

- ``inspect_s``: reading the trace, running it through a session, laying it
  out and rendering the page, beside ``load_trace_s``, reading and
  translating the same trace and nothing else (the floor of any tool that
  reads it);
- ``page_ready_ms``: from navigation start to the end of the page's first
  paint, as the page measures it (``performance.now()``), for the long call's
  page beside the bundled demo call's page (five seconds, a few dozen events);
  ``chromium_s``: the whole headless Chromium run (start, load, paint, dump,
  exit) for each.

Each figure gives min / median / max over the repeats. ``--quick`` uses a
10 MB trace and fewer repeats. Needs Debian's ``chromium``; without it the
page figures are left out (and say so).
"""

from __future__ import annotations

import argparse
import html
import importlib.resources
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from long_call import write_long_call

from realtime_session.providers import load_trace
from realtime_session.timeline import build_timeline, render_html

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def _spread(values: list[float], digits: int = 3) -> dict[str, float]:
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
    }


def _inspect(trace: Path, out: Path) -> None:
    events = load_trace(trace)
    timeline = anyio.run(lambda: build_timeline(events, title=trace.name))
    out.write_text(render_html(timeline), encoding="utf-8")


def _open(chromium: str, page: Path, profile: Path) -> tuple[float, float]:
    """Chromium's wall time and the page's own time to first paint, in seconds and ms."""
    started = time.perf_counter()
    result = subprocess.run(
        [chromium, *_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    wall = time.perf_counter() - started
    match = re.search(r'<output id="render-report"[^>]*>(.*?)</output>', result.stdout, re.DOTALL)
    if match is None:
        raise RuntimeError(f"{page} did not finish its first paint")
    report = json.loads(html.unescape(match.group(1)))
    return wall, float(report["since_navigation_ms"])


def run(quick: bool = False) -> list[dict[str, object]]:
    size_mb = 10.0 if quick else 50.0
    repeats = 2 if quick else 3
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        trace = work / "long_call.jsonl"
        write_long_call(trace, size_mb=size_mb)
        page = work / "long_call.html"
        inspect_s: list[float] = []
        load_s: list[float] = []
        for _ in range(repeats):
            started = time.perf_counter()
            load_trace(trace)
            load_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            _inspect(trace, page)
            inspect_s.append(time.perf_counter() - started)
        record: dict[str, Any] = {
            "benchmark": "inspect",
            "trace_mb": round(trace.stat().st_size / 1e6, 1),
            "page_mb": round(page.stat().st_size / 1e6, 2),
            "inspect_s": _spread(inspect_s),
            "load_trace_s": _spread(load_s),
            "inspect_vs_load_trace": round(
                statistics.median(inspect_s) / statistics.median(load_s), 2
            ),
        }
        chromium = shutil.which("chromium")
        if chromium is None:
            record["page"] = "not measured: chromium is not installed"
            return [record]
        demo_page = work / "demo.html"
        demo = importlib.resources.files("realtime_session").joinpath("traces", "openai_demo.jsonl")
        with importlib.resources.as_file(demo) as demo_trace:
            _inspect(demo_trace, demo_page)
        figures: dict[str, tuple[list[float], list[float]]] = {}
        for name, target in (("long_call", page), ("demo_call", demo_page)):
            walls: list[float] = []
            ready: list[float] = []
            for n in range(repeats):
                wall, ms = _open(chromium, target, work / f"profile-{name}-{n}")
                walls.append(wall)
                ready.append(ms)
            figures[name] = (walls, ready)
        for name, (walls, ready) in figures.items():
            record[f"page_ready_ms_{name}"] = _spread(ready, 0)
            record[f"chromium_s_{name}"] = _spread(walls)
        return [record]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a 10 MB trace, fewer repeats")
    arguments = parser.parse_args()
    for record in run(quick=arguments.quick):
        print(json.dumps(record))


if __name__ == "__main__":
    main()
