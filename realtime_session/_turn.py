"""Facts about a finished model turn: why it stopped and what it cost."""

from __future__ import annotations

import enum
from typing import final

import attrs


@final
class StopReason(enum.Enum):
    """Why a model response ended. On the wire the enum travels by value."""

    END_TURN = "end_turn"
    TOOL_USE = "tool_use"
    MAX_TOKENS = "max_tokens"
    STOP_SEQUENCE = "stop_sequence"
    CONTENT_FILTER = "content_filter"
    CANCELLED = "cancelled"


@final
@attrs.frozen(kw_only=True)
class Usage:
    """Token usage of one response. Cache counts are ``None`` when the provider is silent."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int | None = None
    cache_read_tokens: int | None = None
