"""The canonical conversation: what the transcript lane commits.

A message is committed once and never reordered; the only later change a message
can see is a :class:`Revised` replacement, when a late truncation cuts a spoken
block to what the user actually heard.
"""

from __future__ import annotations

from typing import TypeAlias, final

import attrs

from ._turn import StopReason, Usage


@final
@attrs.frozen(kw_only=True)
class TextBlock:
    """Text the model wrote for display (the text output lane). Never cut by barge-in."""

    item_id: str
    text: str


@final
@attrs.frozen(kw_only=True)
class TranscriptBlock:
    """Text of what the model said aloud (the spoken lane).

    ``truncated`` marks a block cut to the heard prefix after a barge-in;
    ``estimated`` says the prefix was estimated from playback time rather than
    reported by the provider; ``audio_played_ms`` is the playback position the
    cut was made at.
    """

    item_id: str
    text: str
    truncated: bool = False
    estimated: bool = False
    audio_played_ms: int | None = None


Block: TypeAlias = TextBlock | TranscriptBlock


@final
@attrs.frozen(kw_only=True)
class UserMessage:
    """One committed user utterance (the final transcript of one input item)."""

    item_id: str
    text: str


@final
@attrs.frozen(kw_only=True)
class AssistantMessage:
    """Consecutive committed items of one response, with how the response ended.

    ``usage`` is set on the first message of a response only, so summing usage
    over a transcript counts every response once.
    """

    response_id: str
    item_ids: tuple[str, ...]
    blocks: tuple[Block, ...]
    stop_reason: StopReason
    usage: Usage | None = None

    @property
    def text(self) -> str:
        """The block texts joined with no separator."""
        return "".join(block.text for block in self.blocks)


Message: TypeAlias = UserMessage | AssistantMessage


@final
@attrs.frozen(kw_only=True)
class Committed:
    """A message joined the canonical transcript."""

    message: Message


@final
@attrs.frozen(kw_only=True)
class Revised:
    """The committed message holding ``item_id`` was replaced by ``message``."""

    item_id: str
    message: Message


TranscriptChange: TypeAlias = Committed | Revised
