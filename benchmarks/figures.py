"""How the benchmarks state a figure (min, median and max of its repeats), and time it."""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from typing import TYPE_CHECKING, Any

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


def cpu_rate(operation: Callable[[Any], object], items: Sequence[object], passes: int) -> float:
    """Operations per second of one timed run over ``items``, ``passes`` times.

    Timed in CPU time of this thread (on a shared machine the time spent waiting
    for a core is nobody's work), with the garbage collector paused, as
    ``timeit`` does.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.thread_time()
        for _ in range(passes):
            for item in items:
                operation(item)
        elapsed = time.thread_time() - start
    finally:
        if gc_was_enabled:
            gc.enable()
    return passes * len(items) / elapsed


def paired_cpu_rates(
    measured: tuple[Callable[[Any], object], Sequence[object]],
    baseline: tuple[Callable[[Any], object], Sequence[object]],
    passes: int,
    repeats: int,
) -> tuple[list[float], list[float]]:
    """``repeats`` timed runs of each (:func:`cpu_rate`), interleaved, after a warm-up run of each.

    Interleaving lets both see the same machine: on a shared one the load
    changes from second to second, and two series run one after the other
    would each see a different part of it.
    """
    rates: tuple[list[float], list[float]] = ([], [])
    pair = (measured, baseline)
    for run in range(repeats + 1):
        # Alternate which goes first, so that neither always follows the other.
        order = (0, 1) if run % 2 else (1, 0)
        for which in order:
            operation, items = pair[which]
            rate = cpu_rate(operation, items, passes)
            if run:  # the first run warms caches and hooks up
                rates[which].append(rate)
    return rates
