"""How the session benchmarks state a figure: min, median and max of its repeats."""

from __future__ import annotations

import argparse
import json
import statistics
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

Spread = dict[str, float]


def spread(values: Sequence[float], digits: int = 1) -> Spread:
    """``{"min", "median", "max"}`` of repeated measurements of one figure."""
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
    }


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted samples."""
    if not ordered:
        raise ValueError("no samples")
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil without floats drifting
    return ordered[int(rank) - 1]


def command_line(
    run: Callable[[bool], Sequence[dict[str, object]]], doc: str | None, quick_help: str
) -> None:
    """A benchmark script's command line: ``--quick``, then its records printed as JSON."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    arguments = parser.parse_args()
    print(json.dumps(run(arguments.quick), indent=2))
