"""Provider adapters: from a model provider's wire protocol to provider-neutral events.

Each adapter has a pure translator (server messages in, :mod:`realtime_session.events`
out), a command object that encodes the session's command verbs for its wire,
and a ``connect()`` that opens the WebSocket and yields ``(events, commands)``.
The translator writes what it learns about the conversation (responses in
flight, tool calls waiting for an answer, audio formats, a resumption handle)
to its ``conversation``, which the commands of the same connection read:

- :mod:`realtime_session.providers.openai` — OpenAI Realtime (GA and beta event names);
- :mod:`realtime_session.providers.gemini` — Gemini Live;
- :mod:`realtime_session.providers.scripted` — a scripted provider that plays
  events or a recorded trace, for tests, demos and benchmarks.

The WebSocket transport needs the optional ``ws`` extra (from a checkout:
``pip install -e '.[ws]'``); the translators and the scripted provider do not.
"""

from __future__ import annotations

from ._errors import MissingDependencyError as MissingDependencyError
from ._errors import ProviderConnectionError as ProviderConnectionError
from ._errors import StaleToolCallError as StaleToolCallError
from ._errors import TraceFormatError as TraceFormatError
from ._errors import UnsupportedCommandError as UnsupportedCommandError
from ._errors import UnsupportedInputError as UnsupportedInputError
from ._link import ReconnectPolicy as ReconnectPolicy
from .gemini import GeminiLiveCommands as GeminiLiveCommands
from .gemini import GeminiLiveTranslator as GeminiLiveTranslator
from .openai import OpenAIRealtimeCommands as OpenAIRealtimeCommands
from .openai import OpenAIRealtimeTranslator as OpenAIRealtimeTranslator
from .scripted import ReceivedCommand as ReceivedCommand
from .scripted import ScriptedProvider as ScriptedProvider
from .scripted import TimedEvent as TimedEvent
from .scripted import TraceFormat as TraceFormat
from .scripted import TraceRecord as TraceRecord
from .scripted import detect_trace_format as detect_trace_format
from .scripted import load_trace as load_trace
from .scripted import read_trace as read_trace

__all__ = (
    "OpenAIRealtimeTranslator",
    "OpenAIRealtimeCommands",
    "GeminiLiveTranslator",
    "GeminiLiveCommands",
    "ScriptedProvider",
    "ReceivedCommand",
    "TimedEvent",
    "TraceRecord",
    "TraceFormat",
    "load_trace",
    "read_trace",
    "detect_trace_format",
    "MissingDependencyError",
    "ProviderConnectionError",
    "UnsupportedCommandError",
    "UnsupportedInputError",
    "TraceFormatError",
    "StaleToolCallError",
    "ReconnectPolicy",
)

for _value in list(globals().values()):
    if isinstance(_value, type) and _value.__module__ in (
        f"{__name__}._errors",
        f"{__name__}._link",
        f"{__name__}._trace",
    ):
        _value.__module__ = __name__
del _value
