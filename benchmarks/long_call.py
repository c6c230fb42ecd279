"""A long recorded call for the timeline's benchmark: the bundled demo call, repeated.

``write_long_call(path, size_mb)`` writes a raw OpenAI Realtime trace of about
``size_mb`` megabytes spread over an hour: the bundled demo call (a tool call
and a barge-in) over and over, each repetition with ids of its own.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import os

DEMO: Final = importlib.resources.files("realtime_session").joinpath("traces", "openai_demo.jsonl")
_ID: Final = re.compile(r"\b(item|resp|call|event|sess)_([A-Za-z0-9]{10,})\b")


def write_long_call(path: str | os.PathLike[str], *, size_mb: float, hours: float = 1.0) -> int:
    """Write the trace; return how many times the call repeats in it."""
    lines = DEMO.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    one_call = sum(len(line) + 1 for line in lines)
    repeats = max(1, round(size_mb * 1e6 / one_call))
    spacing = hours * 3600.0 / repeats
    with open(path, "w", encoding="utf-8") as out:
        for n in range(repeats):
            suffix = rf"\1_\2r{n}"
            for record in records:
                text = _ID.sub(suffix, json.dumps(record["event"], separators=(",", ":")))
                out.write(f'{{"t":{record["t"] + n * spacing:.3f},"event":{text}}}\n')
    return repeats
