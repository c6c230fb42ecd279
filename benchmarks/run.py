"""Run every benchmark and print (or write) the figures as JSON.

``python benchmarks/run.py [--quick] [--json OUT] [--peer-python PATH]``

Each figure stands beside a baseline measured in the same process and run, fed
the same way; throughput is never asserted by a unit test. ``--quick`` uses
smaller runs and finishes in about a minute; it is what continuous integration
runs. ``benchmarks/report.py OUT`` turns a full run's JSON into the README's tables.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import sys
import time
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_adapters
import bench_audio
import bench_capacity
import bench_codec
import bench_inspect
import bench_reducer
import bench_remote
import bench_session
import peer_agents_sdk


def _command(args: argparse.Namespace) -> str:
    """The command line, with the peer's interpreter named by its role, not its path."""
    words = ["python", "benchmarks/run.py"]
    if args.quick:
        words.append("--quick")
    for backend in args.backend or ():
        words += ["--backend", backend]
    if args.json is not None:
        words += ["--json", args.json.name]
    if args.peer_python is not None:
        words += ["--peer-python", "PEER_PYTHON"]
    return shlex.join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (about a minute)")
    parser.add_argument("--json", metavar="OUT", type=Path, help="also write the results here")
    parser.add_argument(
        "--backend",
        action="append",
        choices=sorted(bench_session.BACKENDS),
        help="session benchmarks on this backend only (repeatable; default: all)",
    )
    parser.add_argument(
        "--peer-python",
        metavar="PATH",
        help="an interpreter with the peer installed, for the peer comparison (default: this one)",
    )
    args = parser.parse_args()
    # An application decides what is logged; a benchmark wants only warnings.
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        # stdout carries the figures, as JSON: warnings go to stderr.
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )

    load_average = os.getloadavg()
    started = time.perf_counter()
    results: list[dict[str, object]] = []
    results.extend(bench_codec.run(quick=args.quick))
    results.extend(bench_adapters.run(quick=args.quick))
    results.extend(bench_reducer.run(quick=args.quick))
    backends = args.backend or tuple(bench_session.BACKENDS)
    results.extend(bench_session.run(quick=args.quick, backends=backends))
    results.extend(bench_capacity.run(quick=args.quick))
    results.extend(peer_agents_sdk.run(quick=args.quick, python=args.peer_python))
    results.extend(bench_inspect.run(quick=args.quick))
    results.extend(bench_audio.run(quick=args.quick))
    # Publishing to a real redis-server this script starts (asyncio and trio only).
    results.extend(
        bench_remote.run(
            quick=args.quick, backends=[name for name in backends if name in ("asyncio", "trio")]
        )
    )
    report = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "quick": args.quick,
        "command": _command(args),
        "load_average": [round(load, 2) for load in load_average],
        "elapsed_s": round(time.perf_counter() - started, 1),
        "results": results,
    }
    text = json.dumps(report, indent=2)
    if args.json is not None:
        args.json.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
