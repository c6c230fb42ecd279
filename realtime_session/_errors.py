"""The exceptions a session raises to the application."""

from __future__ import annotations

from typing import final


@final
class SubscriberLagged(Exception):
    """A subscription fell too far behind the session and was failed.

    Raised by the subscription's iterator at its next step after it held more
    than ``max_pending`` undelivered control events. Its queue was released: the
    session never silently skips a control event for a subscriber, it tells the
    subscriber it lagged instead. Other subscriptions are unaffected.
    """

    def __init__(self, pending: int, max_pending: int) -> None:
        super().__init__(
            f"subscription lagged: {pending} undelivered control events exceeded "
            f"max_pending={max_pending}; its queue was released"
        )
        #: How many control events were waiting when the subscription was failed.
        self.pending = pending
        #: The limit that was exceeded.
        self.max_pending = max_pending


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
