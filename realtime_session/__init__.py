"""realtime_session: a lossless transcript lane and a lossy media lane for realtime model sessions.

Data flows one way: a provider adapter (:mod:`realtime_session.providers`)
writes :mod:`~realtime_session.events` to a stream; the session applies the
transcript lane through the pure :mod:`~realtime_session.transcript` reducer
and publishes :mod:`~realtime_session.public` events to its subscribers.
"""

from __future__ import annotations

from ._commands import ProviderCommands as ProviderCommands
from ._config import SessionConfig as SessionConfig
from ._config import SessionStats as SessionStats
from ._errors import NoProviderCommands as NoProviderCommands
from ._errors import SessionFailed as SessionFailed
from ._errors import SubscriberLagged as SubscriberLagged
from ._errors import ToolError as ToolError
from ._session import RealtimeSession as RealtimeSession
from ._subscription import Subscription as Subscription
from ._subscription import SubscriptionStatistics as SubscriptionStatistics
from ._tools import Tool as Tool

__version__ = "0.1.0"

__all__ = (
    "RealtimeSession",
    "SessionConfig",
    "SessionStats",
    "Subscription",
    "ProviderCommands",
    "Tool",
    "SubscriberLagged",
    "SessionFailed",
    "NoProviderCommands",
    "ToolError",
    "SubscriptionStatistics",
)
