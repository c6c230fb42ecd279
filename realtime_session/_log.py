"""The library's logger: structlog when the application set it up, stdlib logging otherwise.

A library never configures logging. An application that configured structlog
gets our events through its processors. One that did not would get structlog's
defaults, which print every level to stdout, the application's own output; so
we then log through the stdlib logger ``"realtime_session"`` instead, rendered
as ``key=value`` text. Its level and handlers are the application's to set, and
by default only warnings and errors reach stderr.
"""

from __future__ import annotations

import logging
from typing import Final

import structlog
import structlog.typing

LOGGER_NAME: Final = "realtime_session"


def library_logger() -> structlog.typing.FilteringBoundLogger:
    """The logger to bind a session's (or adapter's) context to."""
    if structlog.is_configured():
        logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(LOGGER_NAME)
        return logger
    stdlib_logger: structlog.typing.FilteringBoundLogger = structlog.wrap_logger(
        logging.getLogger(LOGGER_NAME),
        wrapper_class=structlog.stdlib.BoundLogger,
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.processors.format_exc_info,
            structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True),
        ],
    )
    return stdlib_logger


class ModuleLogger:
    """A module-level logger for rare events (adapters), resolved at each call.

    Whether the application configured structlog can change after import, so
    the choice :func:`library_logger` makes is taken when a line is logged, not
    when the module is imported. Too slow for a hot path; adapters log only
    exceptional events.
    """

    __slots__ = ("_context",)

    def __init__(self, **context: object) -> None:
        self._context = context

    def _logger(self) -> structlog.typing.FilteringBoundLogger:
        return library_logger().bind(**self._context)

    def debug(self, event: str, **kw: object) -> None:
        self._logger().debug(event, **kw)

    def info(self, event: str, **kw: object) -> None:
        self._logger().info(event, **kw)

    def warning(self, event: str, **kw: object) -> None:
        self._logger().warning(event, **kw)

    def error(self, event: str, **kw: object) -> None:
        self._logger().error(event, **kw)

    def exception(self, event: str, **kw: object) -> None:
        self._logger().exception(event, **kw)
