"""What a session needs from a provider adapter to talk back to the model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .events import JsonValue, RealtimeInputChunk


class ProviderCommands(Protocol):
    """The command verbs of a provider connection.

    Adapters implement these by encoding client events for their wire. An object
    that cannot truncate the provider's audio (Gemini Live) sets
    ``supports_truncation = False``; the attribute is optional and missing means
    ``True``. With ``auto_truncate`` the session then applies an estimated
    truncation to its own transcript instead.

    An object whose provider starts a new connection with an empty conversation
    (OpenAI Realtime) may also have ``async restore_conversation(messages)``;
    after a ``Reconnected`` event that asks for it, the session calls it with its
    canonical transcript (a tuple of ``transcript.Message``).
    """

    async def send_input(self, chunk: RealtimeInputChunk) -> None:
        """Send user input (text, audio or video) to the model."""

    async def commit_turn(self) -> None:
        """Commit the buffered user input as a turn."""

    async def interrupt(self) -> None:
        """Cancel the response the model is generating."""

    async def truncate_assistant_output(
        self, item_id: str, content_index: int, audio_played_ms: int
    ) -> None:
        """Tell the provider the user heard only ``audio_played_ms`` of an item."""

    async def submit_tool_result(self, call_id: str, output: JsonValue) -> None:
        """Return a tool's result to the model (the adapter serialises it)."""

    async def submit_tool_error(self, call_id: str, error: str) -> None:
        """Tell the model a tool call failed."""

    async def aclose(self) -> None:
        """Close the provider connection."""
