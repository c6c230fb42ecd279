"""The library's loggers, on structlog's own standard-library integration.

A library never configures logging, yet it must neither stay silent for an
application that set logging up nor write into an application that did not.
So each line goes one of two ways, chosen when a logger is bound (a session
binds once, at construction; a module-level :class:`ModuleLogger` at each
call, since applications configure logging after importing libraries):

- The application configured structlog: the line goes through its
  configuration, like its own lines (``structlog.get_logger``).
- It did not: structlog's defaults would print every level to stdout, the
  application's own output. The line goes to the standard library logger
  ``"realtime_session"`` instead, through ``structlog.stdlib.BoundLogger``,
  whose level and handlers are the application's (by default, warnings and
  errors reach stderr through ``logging.lastResort``). The record carries the
  event dictionary, as structlog's :class:`~structlog.stdlib.ProcessorFormatter`
  expects it: an application rendering its logging with that formatter gets
  these lines as structured as its own; any other formatter gets ``key=value``
  text, rendered only when a handler formats the record, and the traceback
  from the record's ``exc_info``.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any, Final, final

import structlog
import structlog.typing

if TYPE_CHECKING:
    from collections.abc import Callable

LOGGER_NAME: Final = "realtime_session"


@final
class _EventDict(dict[str, Any]):
    """An event dictionary as a stdlib record's message.

    :class:`~structlog.stdlib.ProcessorFormatter` takes it as the dictionary it
    is; every other formatter calls ``str()`` on the message, which renders it
    as ``key=value`` pairs then, not when the line is logged. The traceback is
    left to the formatter, from the record's ``exc_info``.
    """

    __slots__ = ()

    _render: Final = structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True)

    def __str__(self) -> str:
        shown = {key: value for key, value in self.items() if key != "exc_info"}
        return _EventDict._render(None, "", shown)


def _exc_info_now(
    _logger: object, _method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Resolve ``exc_info=True`` to the exception being handled, while it still is.

    A handler may format the record later (a queue handler), when
    ``sys.exc_info()`` says nothing any more.
    """
    exc_info = event_dict.pop("exc_info", None)
    if not exc_info:
        return event_dict
    if not isinstance(exc_info, BaseException | tuple):
        exc_info = sys.exception()
    if exc_info is not None:
        event_dict["exc_info"] = exc_info
    return event_dict


def _to_stdlib_record(
    logger: logging.Logger, method: str, event_dict: structlog.typing.EventDict
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The last processor: ``ProcessorFormatter``'s wrapping, plus the record's ``exc_info``."""
    args, kwargs = structlog.stdlib.ProcessorFormatter.wrap_for_formatter(
        logger, method, _EventDict(event_dict)
    )
    exc_info = event_dict.get("exc_info")
    if exc_info is not None:
        kwargs["exc_info"] = exc_info
    return args, kwargs


_STDLIB_PROCESSORS: Final[list[Callable[..., Any]]] = [
    # Skips the rest for a level the stdlib logger does not want: cheap debug lines.
    structlog.stdlib.filter_by_level,
    _exc_info_now,
    _to_stdlib_record,
]


def library_logger(**context: Any) -> structlog.typing.FilteringBoundLogger:
    """A lazy logger with ``context``; :meth:`bind` it to take the route of the moment.

    ``structlog.get_logger`` when the application configured structlog, else the
    stdlib route described above. Either is structlog's lazy proxy: the
    configuration is looked up when it is bound, or at each call if it is not.
    """
    if structlog.is_configured():
        configured: structlog.typing.FilteringBoundLogger = structlog.get_logger(
            LOGGER_NAME, **context
        )
        return configured
    stdlib: structlog.typing.FilteringBoundLogger = structlog.wrap_logger(
        logging.getLogger(LOGGER_NAME),
        processors=_STDLIB_PROCESSORS,
        wrapper_class=structlog.stdlib.BoundLogger,
        # The stdlib logger filters; a cached logger would also pin the route.
        cache_logger_on_first_use=False,
        **context,
    )
    return stdlib


@final
class ModuleLogger:
    """A module-level logger for rare events (adapters), whose route is chosen at each call.

    Whether the application configured structlog usually changes after the
    library was imported, so the choice :func:`library_logger` makes is taken
    when a line is logged. Too slow for a hot path; adapters log only
    exceptional events.
    """

    __slots__ = ("_context",)

    def __init__(self, **context: Any) -> None:
        self._context = context

    def __getattr__(self, name: str) -> Any:
        # debug, info, warning, error, exception, bind, ...: from structlog's own proxy.
        return getattr(library_logger(**self._context), name)
