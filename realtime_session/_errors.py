"""The exceptions a session raises to the application."""

from __future__ import annotations

from typing import final


@final
class SubscriberLagged(Exception):
    """A subscription fell too far behind the session and was failed.

    Raised by the subscription's iterator at its next step after it held more
    than ``max_pending`` undelivered control events, or, for a
    ``backpressure=True`` subscription, after it held the session up for longer
    than ``SessionConfig.backpressure_timeout_s`` (then :attr:`stalled_s` says
    how long). Its queue was released: the session never silently skips a
    control event for a subscriber, it tells the subscriber it lagged instead.
    Other subscriptions are unaffected.

    A remote subscription (:mod:`realtime_session.remote`) also raises it where
    control events are missing from the log; ``reason`` then says which.
    """

    def __init__(
        self,
        pending: int,
        max_pending: int,
        *,
        stalled_s: float | None = None,
        reason: str | None = None,
    ) -> None:
        if reason is not None:
            message = f"subscription lagged: {reason}"
        elif stalled_s is None:
            message = (
                f"subscription lagged: {pending} undelivered control events exceeded "
                f"max_pending={max_pending}; its queue was released"
            )
        else:
            message = (
                f"backpressure subscription lagged: it stalled the session for {stalled_s:g} s "
                f"with {pending} undelivered control events (max_pending={max_pending}); "
                "its queue was released"
            )
        super().__init__(message)
        #: How many control events were waiting when the subscription was failed.
        self.pending = pending
        #: The limit that was exceeded.
        self.max_pending = max_pending
        #: For a ``backpressure=True`` subscription: how long it held the session up.
        self.stalled_s = stalled_s


@final
class SessionFailed(Exception):
    """The session ended as ``failed``; raised by :meth:`RealtimeSession.wait_closed`.

    ``__cause__`` holds the provider stream's exception when there was one; a fatal
    provider error has none, and its code and message are in :attr:`error`.
    """

    def __init__(self, error: str) -> None:
        super().__init__(error)
        #: The same text subscribers received in ``SessionClosed.error``.
        self.error = error


@final
class NoProviderCommands(RuntimeError):
    """A command verb was called on a session created without ``commands``."""

    def __init__(self, verb: str) -> None:
        super().__init__(
            f"{verb}() needs provider commands: pass commands= to RealtimeSession "
            "(for example the commands an adapter's connect() yields)"
        )
        self.verb = verb


class ToolError(Exception):
    """An error a tool raises to say, in words meant for display, why it failed.

    Its message is what the model is told (the call's error) and what every
    subscriber sees in ``ToolCallFailed.error``. Any other exception a tool raises
    is reported by its type only, both to the model and to subscribers: exception
    text routinely carries the call's arguments (a lookup of a card number fails
    with the card number in its message), so it is never shown. Subclass it for
    errors of your own.
    """
