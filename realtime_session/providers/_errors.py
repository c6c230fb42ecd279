"""Errors raised by the provider adapters, the WebSocket transport and the trace loader."""

from __future__ import annotations

from typing import final

from .._jsonlines import JsonLinesError

__all__ = (
    "MissingDependencyError",
    "ProviderConnectionError",
    "StaleToolCallError",
    "TraceFormatError",
    "UnsupportedCommandError",
    "UnsupportedInputError",
)


@final
class MissingDependencyError(ImportError):
    """A feature needs an optional dependency that is not installed.

    The message names the extra that provides it and the command that installs
    it from a checkout of the project, e.g. ``pip install -e '.[ws]'`` (the
    package is not published on PyPI).
    """

    def __init__(
        self, feature: str, *, extra: str, module: str, problem: str = "is not installed"
    ) -> None:
        upgrade = "" if problem == "is not installed" else "-U "
        super().__init__(
            f"{feature} needs the {module!r} package, which {problem}; it comes with "
            f"the {extra!r} extra: pip install {upgrade}-e '.[{extra}]' "
            "(from a checkout of realtime_session)",
            name=module,
        )
        self.extra = extra


@final
class ProviderConnectionError(ConnectionError):
    """The connection to the provider could not be opened or set up.

    Raised by the adapters' ``connect()`` before it yields: the WebSocket
    handshake failed, the server could not be reached, or it closed the
    connection (or stayed silent) before acknowledging the session setup. A
    connection that drops *after* ``connect()`` yielded is not raised: it ends
    the event stream with a fatal ``ProviderError`` instead.
    """


@final
class StaleToolCallError(LookupError):
    """A tool result for a call that the current provider connection does not know.

    The call was requested on a connection that has since been replaced (a
    reconnection): the new connection's conversation holds no such call, so
    its answer is not sent; the session reports the call as failed. The
    application's tool did run; nothing it did is undone.
    """

    def __init__(self, call_id: str, *, provider: str) -> None:
        super().__init__(
            f"tool call {call_id!r} was requested on a {provider} connection that was "
            "replaced by a reconnection; the new connection does not know it, so its "
            "answer was not sent"
        )
        self.call_id = call_id


@final
class UnsupportedInputError(NotImplementedError):
    """The provider cannot take this input: a kind it does not accept (video for
    OpenAI Realtime) or an audio format other than the one the session expects.
    The adapters never resample or transcode; the message names the field at fault.
    """


@final
class UnsupportedCommandError(NotImplementedError):
    """The provider has no wire message for this command in its current configuration."""


@final
class TraceFormatError(JsonLinesError):
    """A trace could not be read: ``{path}:{line}: line {line}: {reason}``.

    A ``ValueError``; :attr:`path`, :attr:`line` and :attr:`reason` hold the
    parts of the message, as they do in :class:`realtime_session.recording.RecordingError`.
    """
