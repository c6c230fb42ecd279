"""A session's public events in other processes and on other machines, over a session log.

:func:`publish` appends a session's public events to a log as they happen;
:func:`subscribe`, in any process that reaches the same log, reads them back
with the semantics of ``session.events()``: every control event in order or
``SubscriberLagged``, media best effort with honest ``MediaDropped`` markers,
``SessionClosed`` last, and :class:`PublisherLost` when the publishing worker
vanished. :class:`RedisLog` keeps the log in Redis Streams (the ``redis``
extra); :class:`MemoryLog` in this process's memory. Both implement
:class:`SessionLog`, the seam for other engines.
"""

from __future__ import annotations

from ._errors import LogUnavailable as LogUnavailable
from ._errors import PublisherLost as PublisherLost
from ._errors import SessionNotFound as SessionNotFound
from ._log import LogEntry as LogEntry
from ._log import LogRead as LogRead
from ._log import LogWrite as LogWrite
from ._log import SessionLog as SessionLog
from ._log import SessionState as SessionState
from ._log import SessionStatus as SessionStatus
from ._memory import MemoryLog as MemoryLog
from ._publisher import Publisher as Publisher
from ._publisher import PublisherStats as PublisherStats
from ._publisher import publish as publish
from ._redis import RedisLog as RedisLog
from ._subscriber import LogPosition as LogPosition
from ._subscriber import RemoteSubscription as RemoteSubscription
from ._subscriber import RemoteSubscriptionStatistics as RemoteSubscriptionStatistics
from ._subscriber import Start as Start
from ._subscriber import subscribe as subscribe

__all__ = (
    "publish",
    "subscribe",
    "Publisher",
    "PublisherStats",
    "RemoteSubscription",
    "RemoteSubscriptionStatistics",
    "LogPosition",
    "Start",
    "PublisherLost",
    "SessionNotFound",
    "LogUnavailable",
    "SessionLog",
    "MemoryLog",
    "RedisLog",
    "LogEntry",
    "LogRead",
    "LogWrite",
    "SessionState",
    "SessionStatus",
)
