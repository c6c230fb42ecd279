"""The recorded calls bundled with realtime_session, by name: the examples' ``--trace``.

``--trace`` takes a trace file, or the name of a bundled trace, with or without
its ``.jsonl``: ``--trace gemini_voice_turn``. Any other value is a usage error
that lists the names.
"""

from __future__ import annotations

import argparse
import importlib.resources
from pathlib import Path
from typing import TYPE_CHECKING, Final

from realtime_session.providers import ScriptedProvider

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ("NAMES", "bundled", "scripted_provider", "trace_argument", "trace_help")

_TRACES: Final = importlib.resources.files("realtime_session").joinpath("traces")

NAMES: Final = tuple(
    sorted(
        entry.name.removesuffix(".jsonl")
        for entry in _TRACES.iterdir()
        if entry.name.endswith(".jsonl")
    )
)
"""The bundled traces, e.g. ``openai_demo`` (``realtime_session/traces/openai_demo.jsonl``)."""


def bundled(name: str) -> Traversable:
    """The bundled trace called ``name`` (``.jsonl`` optional)."""
    stem = name.removesuffix(".jsonl")
    if stem not in NAMES:
        raise ValueError(f"no bundled trace {name!r}")
    return _TRACES.joinpath(f"{stem}.jsonl")


def trace_argument(value: str) -> Traversable:
    """An argparse ``type``: a trace file, or the name of a bundled trace."""
    path = Path(value)
    if path.is_file():
        return path
    try:
        return bundled(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither a trace file nor a bundled trace ({', '.join(NAMES)})"
        ) from None


def trace_help(default: str) -> str:
    """The help of ``--trace``, naming every bundled trace."""
    return (
        f"a trace file (OpenAI Realtime, Gemini Live or events), or the name of a trace "
        f"bundled with realtime_session: {', '.join(NAMES)} (default: {default})"
    )


def scripted_provider(trace: Traversable, *, speed: float | None = None) -> ScriptedProvider:
    """A provider playing ``trace``, paced at ``speed`` (``None``: as fast as it is read)."""
    with importlib.resources.as_file(trace) as path:
        return ScriptedProvider(path, speed=speed)
