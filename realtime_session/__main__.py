"""``python -m realtime_session``: the command line (also installed as ``realtime-session``).

``demo`` plays a bundled recorded conversation through a live session;
``replay TRACE`` runs a recorded trace and prints its canonical transcript.
See :mod:`realtime_session._cli` for the options.
"""

from __future__ import annotations

from ._cli import main as main

__all__ = ("main",)

if __name__ == "__main__":
    raise SystemExit(main())
