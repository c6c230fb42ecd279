"""The exceptions a remote subscription raises to its reader."""

from __future__ import annotations

from typing import final


@final
class PublisherLost(Exception):
    """The session's publisher stopped without the session closing.

    Either its worker vanished (a crash, a kill, a lost network: its heartbeat
    lapsed), or it stopped publishing while the session went on. The
    subscription delivered everything the log held before raising this; what
    the session did afterwards is unknown. Compare ``SessionClosed``, which a
    subscription delivers as its last event when the session really ended.
    """

    def __init__(self, session_id: str, reason: str) -> None:
        super().__init__(f"session {session_id}: {reason}")
        self.session_id = session_id
        #: Why the publisher is considered gone.
        self.reason = reason


@final
class SessionNotFound(LookupError):
    """The log holds nothing for this session id: never published, or expired."""

    def __init__(self, session_id: str) -> None:
        super().__init__(
            f"session {session_id}: no such session in the log "
            "(never published here, or expired after its retention)"
        )
        self.session_id = session_id


@final
class LogUnavailable(ConnectionError):
    """The log's engine could not be reached (for longer than the caller waits)."""
