"""Remembering which unknown provider names were already logged, within a bound.

A translator logs an event type (or field, or mime type) it does not know the
first time it sees it, so an operator learns the provider added something
without a log line per message. Remembering every name ever seen would let a
peer that sends endless distinct names grow the set without limit; past
:data:`REMEMBERED` names the translator logs once that it stops naming them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, final

if TYPE_CHECKING:
    from .._log import ModuleLogger

REMEMBERED: Final = 256
"""Distinct unknown names logged individually per translator; real providers add a few."""

_LONGEST: Final = 120
"""Names are logged and remembered by this prefix: a name is no place for megabytes."""


@final
class UnknownNames:
    """Logs ``event`` once per unknown name, for at most :data:`REMEMBERED` names."""

    __slots__ = ("_event", "_key", "_log", "_saturated", "_seen")

    def __init__(self, log: ModuleLogger, event: str, key: str) -> None:
        self._log = log
        self._event = event
        self._key = key
        self._seen: set[str] = set()
        self._saturated = False

    def note(self, name: str) -> None:
        """Log ``name`` unless it was logged before (or the bound was reached)."""
        name = name[:_LONGEST]
        if name in self._seen or self._saturated:
            return
        if len(self._seen) >= REMEMBERED:
            self._saturated = True
            self._log.warning(
                "unknown_names_no_longer_logged",
                kind=self._key,
                logged=len(self._seen),
                reason="the provider sent more distinct unknown names than are remembered",
            )
            return
        self._seen.add(name)
        self._log.info(self._event, **{self._key: name})
