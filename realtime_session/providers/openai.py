"""OpenAI Realtime adapter: server events in, provider-neutral events out, commands back.

Three pieces, usable separately:

- :class:`OpenAIRealtimeTranslator` — a pure, stateful translator from OpenAI
  Realtime server events (decoded JSON, GA and beta names) to
  :mod:`realtime_session.events`. No I/O, no clock.
- :class:`OpenAIRealtimeCommands` — the session's command verbs encoded as
  client events and sent as JSON text frames through any ``send`` callable.
- :func:`connect` — opens the WebSocket and yields ``(events, commands)``.

The translator normalises the parts of the protocol where a naive mapping
goes wrong: barge-in (exactly one ``Interrupted`` and one
``TurnCompleted(cancelled)`` per cancelled response, whatever order the
provider reports it in), stale ``response.done`` events, tool calls reported
twice, and the ordering facts (``previous_item_id``) the transcript needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, TypeAlias, final
from urllib.parse import quote

import attrs

from .. import _base64, _json, codec
from .. import events as ev
from .. import transcript as tr
from .._log import ModuleLogger
from ..tools import declare_openai_tools
from ..transcript import ItemSkipped
from . import _fields as f
from ._commands import CloseTransport, JsonMessageSender, Notify, SendText, encode_base64
from ._conversation import AudioFormat, Closing, ConversationState, Response
from ._errors import UnsupportedInputError
from ._link import ProviderLink, ReconnectPolicy, connect_link
from ._unknown import UnknownNames
from ._ws import DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_SEND_TIMEOUT

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream

    from ..tools import FunctionTool

__all__ = ("OpenAIRealtimeTranslator", "OpenAIRealtimeCommands", "connect", "DEFAULT_URL")

_log = ModuleLogger(provider="openai")

DEFAULT_URL: Final = "wss://api.openai.com/v1/realtime"

# Errors the protocol produces in normal operation: a cancel that raced the
# response's end, a response.create while one is still running.
_BENIGN_ERROR_CODES: Final = frozenset(
    {"response_cancel_not_active", "conversation_already_has_active_response"}
)

# Events that carry nothing the session needs (or that it learns elsewhere).
_IGNORED: Final = frozenset(
    {
        "conversation.created",
        "conversation.item.deleted",
        "conversation.item.input_audio_transcription.segment",
        "input_audio_buffer.cleared",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.timeout_triggered",
        "input_audio_buffer.dtmf_event_received",
        "output_audio_buffer.started",
        "output_audio_buffer.stopped",
        "output_audio_buffer.cleared",
        "rate_limits.updated",
        "response.content_part.added",
        "response.content_part.done",
        "response.output_audio.done",
        "response.audio.done",
        "response.function_call_arguments.delta",
        "response.mcp_call_arguments.delta",
        "response.mcp_call_arguments.done",
        "response.mcp_call.in_progress",
        "response.mcp_call.completed",
        "response.mcp_call.failed",
        "mcp_list_tools.in_progress",
        "mcp_list_tools.completed",
        "mcp_list_tools.failed",
        "transcription_session.created",
        "transcription_session.updated",
    }
)

_ITEM_EVENTS: Final = frozenset(
    {
        "conversation.item.added",
        "conversation.item.created",
        "conversation.item.done",
        "conversation.item.retrieved",
    }
)

# Audio formats: GA names the mime type, beta a short code. Both directions
# default to 24 kHz PCM16 until the session configuration says otherwise.
_GA_AUDIO_FORMATS: Final = {
    "audio/pcm": AudioFormat("audio/pcm", 24000),
    "audio/pcmu": AudioFormat("audio/pcmu", 8000),
    "audio/pcma": AudioFormat("audio/pcma", 8000),
}
_BETA_AUDIO_FORMATS: Final = {
    "pcm16": AudioFormat("audio/pcm", 24000),
    "g711_ulaw": AudioFormat("audio/pcmu", 8000),
    "g711_alaw": AudioFormat("audio/pcma", 8000),
}

_TOOL_ITEM_TYPES: Final = frozenset({"function_call", "mcp_call"})
# Only these are the application's to run; the server runs MCP calls itself.
_CLIENT_CALL_TYPE: Final = "function_call"
# The error OpenAI sends before it closes a connection at its time limit.
_SESSION_EXPIRED: Final = "session_expired"


@attrs.define(slots=True)
class _Streamed:
    """The text of a segment as its deltas streamed it, to tell what a ``.done`` adds.

    A delta whose event id repeats one already streamed is left out, as the
    session drops it as a duplicate: the tail the ``.done`` event then adds is
    exactly what the session is missing.
    """

    pieces: list[str] = attrs.Factory(list)
    event_ids: set[str] = attrs.Factory(set)

    def add(self, event_id: str, delta: str) -> None:
        if event_id:
            if event_id in self.event_ids:
                return
            self.event_ids.add(event_id)
        self.pieces.append(delta)


_DeltaClass: TypeAlias = (
    type[ev.OutputTextDeltaForItem] | type[ev.OutputAudioTranscriptDeltaForItem]
)


@attrs.define(slots=True)
class _HeldCall:
    """A function call whose arguments are known but whose name is not yet."""

    response_id: str | None
    arguments: str


def _parse_tool_arguments(arguments: str) -> ev.JsonValue:
    """Decode a function call's argument text.

    Blank text means "no arguments" (``{}``); text that is not valid JSON is
    passed on as the raw string, so the session can refuse the call with a
    reason instead of the adapter dropping it.
    """
    if not arguments.strip():
        return {}
    try:
        value: ev.JsonValue = _json.parse(arguments)
        # Valid JSON the session could not record and read back (too deeply
        # nested) is passed on as text too.
        codec.check_json_value(value)
    except ValueError:
        _log.warning("tool_arguments_not_json", length=len(arguments))
        return arguments
    return value


@final
class OpenAIRealtimeTranslator:
    """Translates OpenAI Realtime server events into provider-neutral events.

    Feed every server event, in arrival order, to :meth:`translate`; it returns
    the events to write to the session's stream (often none, sometimes
    several). The translator is pure and synchronous: it never performs I/O,
    never reads a clock, and never raises for bad input — an event that is not
    an object, lacks an id or carries a wrong type becomes one non-fatal
    ``ProviderError(code="malformed_event")`` naming the field, and an unknown
    event type is ignored (logged once per type).

    Barge-in. ``input_audio_buffer.speech_started`` (or a commit without it)
    while a response is still generating audio yields ``Interrupted`` for that
    response, then ``TurnStarted``; once ``response.done`` arrived it yields only
    ``TurnStarted`` (the session compares playback with what was received).
    Speech never interrupts a text-only response. A cancelled response yields
    exactly one ``Interrupted`` and one ``TurnCompleted(cancelled)``, whichever
    of speech, ``response.done{cancelled}`` and ``response.cancelled`` arrives,
    in any order and any number of times.

    Stale completions. A response is retired when its ``TurnCompleted`` is
    emitted; a later ``response.done`` for it is dropped, and so is a
    ``response.done`` for an unknown response between a commit and the next
    ``response.created`` (a response that was discarded server-side).

    Tool calls. Each function call yields one ``ToolCallRequested`` (dedupe by
    ``call_id``) with the name taken from the item and the arguments parsed, or
    the raw argument text when it is not JSON; the response then completes with
    ``StopReason.TOOL_USE``. A call that completes after its response was
    interrupted is not requested: the user talked over it. MCP calls
    (``mcp_call``) are run by the server: a response whose only calls are MCP
    calls ends as the model's turn did, not as ``tool_use``. Function calls,
    their outputs, system messages and
    MCP items become contentless ``ItemSkipped`` anchors so the transcript
    keeps their place in the conversation.

    Connections. :meth:`connection_lost` closes what was in flight when the
    connection ended. Items a new connection was given from the transcript
    (:meth:`OpenAIRealtimeCommands.restore_conversation`) are in the transcript
    already: their echoes add nothing.

    What the translation tells about the conversation (responses in flight,
    calls waiting for an answer, audio formats) it writes to :attr:`conversation`,
    which :class:`OpenAIRealtimeCommands` reads to aim its client events.
    """

    def __init__(self) -> None:
        #: The state of the conversation, shared with the commands.
        self.conversation = ConversationState(
            input_audio=_GA_AUDIO_FORMATS["audio/pcm"], output_audio=_GA_AUDIO_FORMATS["audio/pcm"]
        )
        self._retired: set[str] = set()
        self._retired_interrupted: set[str] = set()
        # Between a commit and the next response.created: unknown completions are stale.
        self._awaiting_response = False
        self._speech_started = False
        self._prev_of: dict[str, str | None] = {}
        self._item_response: dict[str, str] = {}
        self._anchored: set[str] = set()
        self._user_text_items: set[str] = set()
        self._call_names: dict[str, str] = {}
        self._item_call: dict[str, str] = {}
        self._held_calls: dict[str, _HeldCall] = {}
        self._calls_requested: set[str] = set()
        self._spoken: dict[tuple[str, int], _Streamed] = {}
        self._display: dict[tuple[str, int], _Streamed] = {}
        self._user_partial: dict[str, str] = {}
        self._unknown_types = UnknownNames(_log, "unknown_server_event_ignored", "event_type")
        self._transcription_enabled: bool | None = None

    # -- public surface -----------------------------------------------------

    def translate(self, server_event: object) -> list[ev.RealtimeSessionEvent]:
        """Translate one server event; see the class documentation for the rules."""
        if not isinstance(server_event, Mapping):
            return [f.not_an_object("server event", server_event)]
        event_type = server_event.get("type")
        if not isinstance(event_type, str) or not event_type:
            return [f.malformed("server event", "has no 'type'")]
        handler = _HANDLERS.get(event_type)
        if handler is None:
            if event_type not in _IGNORED:
                self._unknown_types.note(event_type)
            return []
        try:
            return handler(self, server_event)
        except Exception as exc:
            return [f.failure(exc, event_type, _log)]

    @property
    def output_audio_format(self) -> tuple[str, int]:
        """``(mime_type, sample_rate_hz)`` of the model's audio, from the session config."""
        audio = self.conversation.output_audio
        return audio.mime_type, audio.sample_rate_hz

    @property
    def response_in_flight(self) -> bool:
        """Whether some response was seen and has not completed."""
        return self.conversation.response_in_flight

    def call_lost(self, call_id: str) -> bool:
        """Whether ``call_id`` was requested on a connection that has since ended."""
        return self.conversation.call_lost(call_id)

    def connection_lost(self) -> list[ev.RealtimeSessionEvent]:
        """Close what was in flight on a connection that ended, and forget the connection.

        Every response still in flight ends as interrupted: ``Interrupted``
        (unless it already was) and ``TurnCompleted(cancelled)``, so the session
        keeps what was heard of it. Calls not answered yet are lost (see
        :meth:`call_lost`): the next connection's conversation does not hold them.
        """
        out: list[ev.RealtimeSessionEvent] = []
        for response in list(self.conversation.responses.values()):
            if not response.interrupted:
                response.interrupted = True
                out.append(ev.Interrupted(response_id=response.id))
            out.append(
                ev.TurnCompleted(response_id=response.id, stop_reason=ev.StopReason.CANCELLED)
            )
            self._retire(response)
        self.conversation.connection_lost(unrequested_calls=self._held_calls)
        self._held_calls.clear()
        self._spoken.clear()
        self._display.clear()
        self._user_partial.clear()
        self._awaiting_response = False
        self._speech_started = False
        return out

    # -- session configuration ---------------------------------------------

    def _on_session(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        session = f.lenient_obj(event, "session")
        if session is None:
            return []
        conversation = self.conversation
        audio = f.lenient_obj(session, "audio")
        conversation.ga = audio is not None or session.get("type") == "realtime"
        if audio is not None:  # GA shape
            output = f.lenient_obj(audio, "output")
            fmt = _ga_format(f.lenient_obj(output, "format"))
            if fmt is not None:
                conversation.output_audio = fmt
            audio_input = f.lenient_obj(audio, "input")
            fmt = _ga_format(f.lenient_obj(audio_input, "format"))
            if fmt is not None:
                conversation.input_audio = fmt
            if audio_input is not None and "transcription" in audio_input:
                self._transcription_enabled = isinstance(audio_input["transcription"], Mapping)
        else:  # beta shape
            out_code = session.get("output_audio_format")
            if isinstance(out_code, str) and out_code in _BETA_AUDIO_FORMATS:
                conversation.output_audio = _BETA_AUDIO_FORMATS[out_code]
            in_code = session.get("input_audio_format")
            if isinstance(in_code, str) and in_code in _BETA_AUDIO_FORMATS:
                conversation.input_audio = _BETA_AUDIO_FORMATS[in_code]
            if "input_audio_transcription" in session:
                self._transcription_enabled = isinstance(
                    session["input_audio_transcription"], Mapping
                )
        return []

    # -- user turns -------------------------------------------------------------

    def _on_speech_started(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        self._speech_started = True
        out = self._interrupt_audio()
        out.append(ev.TurnStarted())
        return out

    def _on_committed(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        item_id = f.ident(event, "item_id", "")
        self._note_predecessor(item_id, f.opt_ident(event, "previous_item_id", ""))
        self._awaiting_response = True
        out: list[ev.RealtimeSessionEvent] = []
        if not self._speech_started:
            # A commit without speech_started (manual commit, or the event was lost)
            # still means the user took the turn while the model may be talking.
            out = self._interrupt_audio()
            if out:
                out.append(ev.TurnStarted())
        self._speech_started = False
        out.append(ev.TurnCommitted())
        return out

    def _on_buffer_cleared(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        self._speech_started = False
        return []

    def _interrupt_audio(self) -> list[ev.RealtimeSessionEvent]:
        out: list[ev.RealtimeSessionEvent] = []
        for response in self.conversation.responses.values():
            if response.has_audio and not response.interrupted:
                response.interrupted = True
                out.append(ev.Interrupted(response_id=response.id))
        return out

    def _on_input_transcript_delta(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        item_id = f.ident(event, "item_id", "")
        delta = f.opt_text(event, "delta", "") or ""
        if not delta:
            return []
        text = self._user_partial.get(item_id, "") + delta
        self._user_partial[item_id] = text
        return [ev.InputTranscriptPartial(text=text)]

    def _on_input_transcript_completed(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        item_id = f.ident(event, "item_id", "")
        content_index = f.count(event, "content_index", "")
        transcript = f.text(event, "transcript", "")
        self._user_partial.pop(item_id, None)
        return [
            ev.InputTranscriptFinalForItem(
                item_id=item_id,
                previous_item_id=self._prev_of.get(item_id),
                content_index=content_index,
                text=transcript,
            )
        ]

    def _on_input_transcript_failed(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        item_id = f.ident(event, "item_id", "")
        error = f.lenient_obj(event, "error")
        code = error.get("code") if error is not None else None
        message = error.get("message") if error is not None else None
        self._user_partial.pop(item_id, None)
        # The user item will never get text: as an anchor it keeps its place and
        # stops blocking the reply that follows it.
        return [
            ev.ProviderError(
                code=code if isinstance(code, str) and code else "input_transcription_failed",
                message=message
                if isinstance(message, str) and message
                else f"transcription of item {item_id} failed",
            ),
            *self._anchor(item_id),
        ]

    # -- conversation items -----------------------------------------------------

    def _on_item(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        item = f.obj(event, "item", "")
        item_id = f.ident(item, "id", "item.")
        if self.conversation.was_restored(item_id):
            return []
        if "previous_item_id" in event:
            self._note_predecessor(item_id, f.opt_ident(event, "previous_item_id", ""))
        item_type = f.opt_text(item, "type", "item.")
        role = f.opt_text(item, "role", "item.")
        if item_type == "message" and role == "assistant":
            return []
        if item_type == "message" and role == "user":
            return self._user_item(item, item_id)
        if item_type in _TOOL_ITEM_TYPES:
            return self._tool_item(item, item_id, anchor=True)
        # Tool outputs, system and developer messages, MCP listings and approvals:
        # no dialogue content, but a place in the conversation.
        return self._anchor(item_id)

    def _user_item(self, item: f.JsonObject, item_id: str) -> list[ev.RealtimeSessionEvent]:
        content = f.opt_list(item, "content", "item.") or []
        out: list[ev.RealtimeSessionEvent] = []
        has_audio = False
        for index, part in enumerate(content):
            if not isinstance(part, Mapping):
                raise f.MalformedEvent(f"item.content[{index}]", "must be an object")
            part_type = part.get("type")
            if part_type == "input_audio":
                has_audio = True
            elif part_type == "input_text" and item_id not in self._user_text_items:
                out.append(
                    ev.InputTranscriptFinalForItem(
                        item_id=item_id,
                        previous_item_id=self._prev_of.get(item_id),
                        content_index=index,
                        text=f.text(part, "text", f"item.content[{index}]."),
                    )
                )
        if out:
            self._user_text_items.add(item_id)
        elif has_audio and self._transcription_enabled is False:
            # Without transcription the audio item never gets text; unannounced
            # (transcription state unknown) it waits for its transcript instead.
            return self._anchor(item_id)
        return out

    def _tool_item(
        self, item: f.JsonObject, item_id: str, *, anchor: bool
    ) -> list[ev.RealtimeSessionEvent]:
        call_id = f.opt_ident(item, "call_id", "item.")
        name = f.opt_ident(item, "name", "item.")
        if call_id is not None:
            self._item_call[item_id] = call_id
            if name is not None:
                self._call_names[call_id] = name
        out = self._anchor(item_id) if anchor else []
        if call_id is not None and name is not None:
            held = self._held_calls.pop(call_id, None)
            if held is not None:
                out.extend(self._request_call(call_id, name, held.arguments, held.response_id))
        return out

    def _anchor(self, item_id: str) -> list[ev.RealtimeSessionEvent]:
        if item_id in self._anchored:
            return []
        self._anchored.add(item_id)
        return [
            ev.RealtimeTranscript(
                event=ItemSkipped(item_id=item_id, previous_item_id=self._prev_of.get(item_id))
            )
        ]

    def _note_predecessor(self, item_id: str, previous_item_id: str | None) -> None:
        # First report wins; a later one may only fill in a predecessor that was missing.
        if self._prev_of.get(item_id) is None:
            self._prev_of[item_id] = previous_item_id

    def _on_item_truncated(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        item_id = f.ident(event, "item_id", "")
        content_index = f.count(event, "content_index", "")
        if event.get("audio_end_ms") is None:
            raise f.MalformedEvent("audio_end_ms", "is missing")
        audio_end_ms = f.count(event, "audio_end_ms", "")
        return [
            ev.AssistantTranscriptTruncated(
                response_id=self._item_response.get(item_id),
                item_id=item_id,
                content_index=content_index,
                audio_played_ms=audio_end_ms,
            )
        ]

    # -- responses --------------------------------------------------------------

    def _on_response_created(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        response_id = f.ident(f.obj(event, "response", ""), "id", "response.")
        conversation = self.conversation
        if response_id in self._retired or response_id in conversation.responses:
            return []
        conversation.responses[response_id] = Response(id=response_id)
        conversation.responses_created += 1
        self._awaiting_response = False
        return []

    def _touch(self, response_id: str, item_id: str | None) -> Response | None:
        """The live state of a response named by a content event, registering it if new."""
        responses = self.conversation.responses
        response = responses.get(response_id)
        if response is None:
            if response_id in self._retired:
                return None
            # Content is proof the response exists even if response.created was missed.
            response = responses[response_id] = Response(id=response_id)
            self._awaiting_response = False
        if item_id is not None and item_id not in self._item_response:
            self._item_response[item_id] = response_id
            response.items.append(item_id)
        return response

    def _on_output_item_added(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        response_id = f.ident(event, "response_id", "")
        item = f.obj(event, "item", "")
        item_id = f.ident(item, "id", "item.")
        response = self._touch(response_id, item_id)
        item_type = f.opt_text(item, "type", "item.")
        if item_type in _TOOL_ITEM_TYPES:
            if response is not None and item_type == _CLIENT_CALL_TYPE:
                response.has_tool_call = True
            return self._tool_item(item, item_id, anchor=False)
        return []

    def _on_output_item_done(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        response_id = f.opt_ident(event, "response_id", "")
        item = f.obj(event, "item", "")
        item_id = f.ident(item, "id", "item.")
        if response_id is not None:
            self._touch(response_id, item_id)
        if f.opt_text(item, "type", "item.") != "function_call":
            return []
        out = self._tool_item(item, item_id, anchor=False)
        call_id = f.opt_ident(item, "call_id", "item.")
        arguments = f.opt_text(item, "arguments", "item.")
        if call_id is not None and arguments is not None:
            name = self._call_names.get(call_id)
            if name is not None:
                out.extend(self._request_call(call_id, name, arguments, response_id))
        return out

    def _on_audio_delta(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        response_id = f.ident(event, "response_id", "")
        item_id = f.ident(event, "item_id", "")
        content_index = f.count(event, "content_index", "")
        payload = f.text(event, "delta", "")
        try:
            data = _base64.decode(payload)
        except ValueError:  # binascii.Error, or a non-ASCII character
            return [f.malformed(str(event["type"]), "field 'delta' is not valid base64")]
        response = self._touch(response_id, item_id)
        if response is not None:
            response.has_audio = True
        conversation = self.conversation
        conversation.audio_item(item_id)
        audio = conversation.output_audio
        return [
            ev.OutputAudioChunk(
                chunk=ev.RealtimeAudioChunk(
                    data=data, sample_rate_hz=audio.sample_rate_hz, mime_type=audio.mime_type
                ),
                response_id=response_id,
                item_id=item_id,
                content_index=content_index,
            )
        ]

    def _on_audio_transcript_delta(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        return self._delta(event, self._spoken, ev.OutputAudioTranscriptDeltaForItem)

    def _on_text_delta(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        return self._delta(event, self._display, ev.OutputTextDeltaForItem)

    def _on_audio_transcript_done(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        return self._done(event, "transcript", self._spoken, ev.OutputAudioTranscriptDeltaForItem)

    def _on_text_done(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        # Display text has no final event of its own: the missing tail is one more delta.
        return self._done(event, "text", self._display, ev.OutputTextDeltaForItem)

    def _delta(
        self, event: f.JsonObject, segments: dict[tuple[str, int], _Streamed], kind: _DeltaClass
    ) -> list[ev.RealtimeSessionEvent]:
        response_id = f.ident(event, "response_id", "")
        item_id = f.ident(event, "item_id", "")
        content_index = f.count(event, "content_index", "")
        delta = f.text(event, "delta", "")
        delta_id = f.opt_ident(event, "event_id", "") or ""
        if self._touch(response_id, item_id) is not None:
            segments.setdefault((item_id, content_index), _Streamed()).add(delta_id, delta)
        return [
            kind(
                response_id=response_id,
                delta_id=delta_id,
                item_id=item_id,
                previous_item_id=self._prev_of.get(item_id),
                content_index=content_index,
                delta=delta,
            )
        ]

    def _done(
        self,
        event: f.JsonObject,
        field: str,
        segments: dict[tuple[str, int], _Streamed],
        kind: _DeltaClass,
    ) -> list[ev.RealtimeSessionEvent]:
        """The words the deltas missed, as one more delta; for speech, then the final text."""
        response_id = f.ident(event, "response_id", "")
        item_id = f.ident(event, "item_id", "")
        content_index = f.count(event, "content_index", "")
        text = f.text(event, field, "")
        self._touch(response_id, item_id)
        segment = segments.pop((item_id, content_index), None)
        streamed = "".join(segment.pieces) if segment is not None else ""
        previous_item_id = self._prev_of.get(item_id)
        out: list[ev.RealtimeSessionEvent] = []
        if text.startswith(streamed) and len(text) > len(streamed):
            out.append(
                kind(
                    response_id=response_id,
                    delta_id=f.opt_ident(event, "event_id", "") or "",
                    item_id=item_id,
                    previous_item_id=previous_item_id,
                    content_index=content_index,
                    delta=text[len(streamed) :],
                )
            )
        if kind is ev.OutputAudioTranscriptDeltaForItem:
            # The final fixes the item's text, whatever the captions showed.
            out.append(
                ev.AssistantTranscriptFinal(
                    response_id=response_id,
                    item_id=item_id,
                    previous_item_id=previous_item_id,
                    content_index=content_index,
                    text=text,
                )
            )
        return out

    def _on_arguments_done(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        call_id = f.ident(event, "call_id", "")
        arguments = f.text(event, "arguments", "")
        response_id = f.opt_ident(event, "response_id", "")
        item_id = f.opt_ident(event, "item_id", "")
        if response_id is not None:
            response = self._touch(response_id, item_id)
            if response is not None:
                response.has_tool_call = True
        if item_id is not None:
            self._item_call.setdefault(item_id, call_id)
        name = self._call_names.get(call_id) or f.opt_ident(event, "name", "")
        if name is None:
            # The name arrives with the item; until then the call waits.
            if call_id not in self._calls_requested:
                self._held_calls[call_id] = _HeldCall(response_id=response_id, arguments=arguments)
            return []
        return self._request_call(call_id, name, arguments, response_id)

    def _request_call(
        self, call_id: str, name: str, arguments: str, response_id: str | None
    ) -> list[ev.RealtimeSessionEvent]:
        if call_id in self._calls_requested:
            return []
        self._calls_requested.add(call_id)
        self._held_calls.pop(call_id, None)
        if response_id is not None and self._discarded(response_id):
            # The user talked over the response that made this call: its arguments
            # may be cut short, and answering it would make the model speak again
            # unprompted. The call stays unanswered in the provider's conversation.
            _log.info("tool_call_of_interrupted_response_dropped", call_id=call_id)
            return []
        self.conversation.call_requested(call_id, name, response_id)
        return [
            ev.ToolCallRequested(
                call_id=call_id, tool_name=name, arguments=_parse_tool_arguments(arguments)
            )
        ]

    def _on_response_done(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        body = f.obj(event, "response", "")
        response_id = f.ident(body, "id", "response.")
        status = f.opt_text(body, "status", "response.") or "completed"
        return self._complete(response_id, status, body)

    def _on_response_cancelled(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        # OpenAI-compatible servers report cancellation with their own event;
        # its shape varies, so take the id wherever it is.
        body = f.opt_obj(event, "response", "")
        if body is not None:
            response_id = f.ident(body, "id", "response.")
        else:
            response_id = f.ident(event, "response_id", "")
        return self._complete(response_id, "cancelled", body or {})

    def _complete(
        self, response_id: str, status: str, body: f.JsonObject
    ) -> list[ev.RealtimeSessionEvent]:
        if response_id in self._retired:
            _log.debug("stale_response_done_dropped", response_id=response_id, reason="retired")
            return []
        responses = self.conversation.responses
        response = responses.get(response_id)
        if response is None and self._awaiting_response:
            _log.debug("stale_response_done_dropped", response_id=response_id, reason="unknown")
            return []
        if response is None:
            response = responses[response_id] = Response(id=response_id)
        discarded = status in ("cancelled", "failed")
        was_interrupted = response.interrupted
        if discarded:
            response.interrupted = True
        out = self._calls_from_output(body, response)
        usage = _usage(f.lenient_obj(body, "usage"))
        details = f.lenient_obj(body, "status_details")
        if status == "completed":
            stop = ev.StopReason.TOOL_USE if response.has_tool_call else ev.StopReason.END_TURN
            out.append(ev.TurnCompleted(response_id=response_id, stop_reason=stop, usage=usage))
        elif status == "incomplete":
            reason = details.get("reason") if details is not None else None
            if reason == "max_output_tokens":
                stop = ev.StopReason.MAX_TOKENS
            elif reason == "content_filter":
                stop = ev.StopReason.CONTENT_FILTER
            else:
                stop = ev.StopReason.TOOL_USE if response.has_tool_call else ev.StopReason.END_TURN
                _log.info("unknown_incomplete_reason", response_id=response_id, reason=reason)
            out.append(ev.TurnCompleted(response_id=response_id, stop_reason=stop, usage=usage))
        elif discarded:
            if status == "failed":
                out.append(_failure(response_id, details))
            # A failed response is discarded like a cancelled one: what it produced is unreliable.
            if not was_interrupted:
                out.append(ev.Interrupted(response_id=response_id))
            out.append(
                ev.TurnCompleted(
                    response_id=response_id, stop_reason=ev.StopReason.CANCELLED, usage=usage
                )
            )
        else:
            _log.info("unknown_response_status", response_id=response_id, status=status)
            out.append(ev.TurnCompleted(response_id=response_id, usage=usage))
        self._retire(response)
        return out

    def _calls_from_output(
        self, body: f.JsonObject, response: Response
    ) -> list[ev.RealtimeSessionEvent]:
        """Tool calls listed in a final response that were not requested yet."""
        out: list[ev.RealtimeSessionEvent] = []
        output = body.get("output")
        for item in output if isinstance(output, list) else ():
            item_type = item.get("type") if isinstance(item, Mapping) else None
            if item_type != _CLIENT_CALL_TYPE:
                continue
            response.has_tool_call = True
            call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments")
            if (
                isinstance(call_id, str)
                and call_id.strip()
                and isinstance(name, str)
                and name.strip()
                and isinstance(arguments, str)
            ):
                out.extend(self._request_call(call_id, name, arguments, response.id))
        for call_id, held in list(self._held_calls.items()):
            if held.response_id in (response.id, None):
                # The name never came: an empty name makes the session refuse the
                # call with a reason the model can read, instead of a silent stall.
                _log.warning("tool_call_without_name", call_id=call_id)
                out.extend(self._request_call(call_id, "", held.arguments, held.response_id))
        return out

    def _discarded(self, response_id: str) -> bool:
        response = self.conversation.responses.get(response_id)
        if response is not None:
            return response.interrupted
        return response_id in self._retired_interrupted

    def _retire(self, response: Response) -> None:
        self.conversation.responses.pop(response.id, None)
        self._retired.add(response.id)
        if response.interrupted:
            self._retired_interrupted.add(response.id)
        if response.items and (self._spoken or self._display):
            # Accumulators of items whose .done events never came (a cancelled response).
            items = set(response.items)
            for acc in (self._spoken, self._display):
                for key in [key for key in acc if key[0] in items]:
                    del acc[key]

    def _on_error(self, event: f.JsonObject) -> list[ev.RealtimeSessionEvent]:
        error = f.lenient_obj(event, "error") or {}
        code = error.get("code")
        if isinstance(code, str) and code in _BENIGN_ERROR_CODES:
            _log.debug("benign_provider_error_dropped", code=code)
            return []
        if code == _SESSION_EXPIRED:
            self.conversation.closing = Closing(_SESSION_EXPIRED)
        kind = error.get("type")
        message = error.get("message")
        return [
            ev.ProviderError(
                code=code
                if isinstance(code, str) and code
                else (kind if isinstance(kind, str) and kind else "unknown_error"),
                message=message if isinstance(message, str) else "",
            )
        ]


def _failure(response_id: str, details: f.JsonObject | None) -> ev.ProviderError:
    error = f.lenient_obj(details, "error")
    code = error.get("code") if error is not None else None
    message = error.get("message") if error is not None else None
    return ev.ProviderError(
        code=code if isinstance(code, str) and code else "response_failed",
        message=message
        if isinstance(message, str) and message
        else f"response {response_id} failed",
    )


def _usage(usage: f.JsonObject | None) -> ev.Usage:
    if usage is None:
        return ev.Usage()
    return ev.Usage(
        input_tokens=f.lenient_count(usage, "input_tokens") or 0,
        output_tokens=f.lenient_count(usage, "output_tokens") or 0,
        cache_read_tokens=f.lenient_count(
            f.lenient_obj(usage, "input_token_details"), "cached_tokens"
        ),
    )


def _ga_format(fmt: f.JsonObject | None) -> AudioFormat | None:
    if fmt is None:
        return None
    kind = fmt.get("type")
    if not isinstance(kind, str) or kind not in _GA_AUDIO_FORMATS:
        return None
    known = _GA_AUDIO_FORMATS[kind]
    rate = f.lenient_count(fmt, "rate")
    return AudioFormat(known.mime_type, rate) if rate else known


_T = OpenAIRealtimeTranslator
_HANDLERS: Final = {
    "session.created": _T._on_session,
    "session.updated": _T._on_session,
    "input_audio_buffer.speech_started": _T._on_speech_started,
    "input_audio_buffer.committed": _T._on_committed,
    "input_audio_buffer.cleared": _T._on_buffer_cleared,
    "conversation.item.added": _T._on_item,
    "conversation.item.created": _T._on_item,
    "conversation.item.done": _T._on_item,
    "conversation.item.retrieved": _T._on_item,
    "conversation.item.truncated": _T._on_item_truncated,
    "conversation.item.input_audio_transcription.delta": _T._on_input_transcript_delta,
    "conversation.item.input_audio_transcription.completed": _T._on_input_transcript_completed,
    "conversation.item.input_audio_transcription.failed": _T._on_input_transcript_failed,
    "response.created": _T._on_response_created,
    "response.output_item.added": _T._on_output_item_added,
    "response.output_item.done": _T._on_output_item_done,
    "response.output_audio.delta": _T._on_audio_delta,
    "response.audio.delta": _T._on_audio_delta,
    "response.output_audio_transcript.delta": _T._on_audio_transcript_delta,
    "response.audio_transcript.delta": _T._on_audio_transcript_delta,
    "response.output_audio_transcript.done": _T._on_audio_transcript_done,
    "response.audio_transcript.done": _T._on_audio_transcript_done,
    "response.output_text.delta": _T._on_text_delta,
    "response.text.delta": _T._on_text_delta,
    "response.output_text.done": _T._on_text_done,
    "response.text.done": _T._on_text_done,
    "response.function_call_arguments.done": _T._on_arguments_done,
    "response.done": _T._on_response_done,
    "response.cancelled": _T._on_response_cancelled,
    "error": _T._on_error,
}
del _T


@final
class OpenAIRealtimeCommands:
    """The session's command verbs as OpenAI Realtime client events.

    Each verb sends one or two JSON text frames through ``send``. The commands
    aim their events by the conversation the ``translator`` of the same
    connection keeps (its :attr:`~OpenAIRealtimeTranslator.conversation`): a
    cancel names the response actually in flight, and a tool result asks the
    model to continue only once every call of its response has an answer and
    no other response is running (a ``response.create`` during a response is
    refused by the server). A continuation that has to wait is sent by
    :meth:`flush_deferred`, which the connection calls after every server event;
    a custom transport must do the same.

    After :meth:`aclose` every verb raises ``anyio.ClosedResourceError``; when
    the connection is gone they raise ``anyio.BrokenResourceError``.
    """

    supports_truncation: Final = True

    def __init__(
        self,
        send: SendText,
        translator: OpenAIRealtimeTranslator,
        *,
        close: CloseTransport | None = None,
        send_input: SendText | None = None,
        restored: Notify | None = None,
    ) -> None:
        self._sender = JsonMessageSender(send, close, send_input=send_input)
        self._conversation = translator.conversation
        self._restored = restored
        # responses_created when a continuation was deferred; None when none waits.
        self._deferred_since: int | None = None

    async def send_input(self, chunk: ev.RealtimeInputChunk) -> None:
        """Send user input.

        Audio is appended to the input audio buffer (base64); it must be in the
        session's input format (24 kHz mono PCM16 unless configured otherwise) —
        the adapter does not resample. Text becomes a user message followed by
        ``response.create``. Video frames raise :class:`UnsupportedInputError`:
        OpenAI Realtime takes no video stream.
        """
        if isinstance(chunk, ev.AudioInput):
            self._conversation.input_audio.check_input(chunk.chunk)
            await self._sender.send_input(
                {"type": "input_audio_buffer.append", "audio": encode_base64(chunk.chunk.data)}
            )
        elif isinstance(chunk, ev.TextInput):
            await self._sender.send_input(
                {
                    "type": "conversation.item.create",
                    "item": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": chunk.text}],
                    },
                }
            )
            await self._sender.send_input({"type": "response.create"})
        elif isinstance(chunk, ev.VideoInput):
            raise UnsupportedInputError(
                "OpenAI Realtime does not accept video: VideoInput cannot be sent"
            )
        else:
            raise TypeError(f"send_input expects a RealtimeInputChunk, not {type(chunk).__name__}")

    async def commit_turn(self) -> None:
        """End the user's turn: commit the input audio buffer and ask for a response.

        A commit alone never makes the model answer, so ``response.create``
        follows it. With server-side turn detection the server commits by itself
        and this verb is rarely needed.
        """
        await self._sender.send_input({"type": "input_audio_buffer.commit"})
        await self._sender.send_input({"type": "response.create"})

    async def interrupt(self) -> None:
        """Cancel the response in flight (``response.cancel`` naming it).

        The cancellation comes back as ``response.done{cancelled}``, which the
        translator turns into ``Interrupted`` and ``TurnCompleted(cancelled)``.
        With no response known to be in flight the cancel names none, and the
        server's "no active response" answer is dropped as benign.
        """
        target = self._conversation.take_cancel_target()
        if target is None:
            await self._sender.send({"type": "response.cancel"})
        else:
            await self._sender.send({"type": "response.cancel", "response_id": target})

    async def truncate_assistant_output(
        self, item_id: str, content_index: int, audio_played_ms: int
    ) -> None:
        """Tell the server how much of an assistant audio item the user heard.

        The server deletes the unheard part of its transcript and answers with
        ``conversation.item.truncated``. ``audio_played_ms`` must not exceed the
        audio the item has, or the server reports an error. An item of a
        connection that was since replaced is not sent: the new connection holds
        only its heard text, restored from the transcript.
        """
        if not item_id.strip():
            raise ValueError("truncate_assistant_output: item_id is blank")
        if content_index < 0:
            raise ValueError(f"truncate_assistant_output: content_index is {content_index}")
        if audio_played_ms < 0:
            raise ValueError(f"truncate_assistant_output: audio_played_ms is {audio_played_ms}")
        if self._conversation.item_replaced(item_id):
            _log.info("truncate_of_replaced_connection_skipped", item_id=item_id)
            return
        await self._sender.send(
            {
                "type": "conversation.item.truncate",
                "item_id": item_id,
                "content_index": content_index,
                "audio_end_ms": audio_played_ms,
            }
        )

    async def submit_tool_result(self, call_id: str, output: ev.JsonValue) -> None:
        """Send a tool's result and let the model continue.

        A string is sent as is; any other value as its JSON text.
        """
        text = (
            output
            if isinstance(output, str)
            else _json.dumps(output, what=f"the result of tool call {call_id!r}", spaced=True)
        )
        await self._submit(call_id, text)

    async def submit_tool_error(self, call_id: str, error: str) -> None:
        """Send a tool failure as the call's output (``{"error": ...}``) and let the model continue."""
        await self._submit(call_id, _json.dumps({"error": error}, spaced=True))

    async def _submit(self, call_id: str, output: str) -> None:
        conversation = self._conversation
        conversation.check_answerable(call_id, provider="OpenAI Realtime")
        await self._sender.send(
            {
                "type": "conversation.item.create",
                "item": {"type": "function_call_output", "call_id": call_id, "output": output},
            }
        )
        if not conversation.call_answered(call_id):
            return
        if conversation.response_in_flight:
            if self._deferred_since is None:
                self._deferred_since = conversation.responses_created
            return
        await self._sender.send({"type": "response.create"})

    async def restore_conversation(self, messages: Iterable[tr.Message]) -> None:
        """Give a new connection the conversation so far, from the canonical transcript.

        Each user message becomes a user ``message`` item with its text, each
        item of an assistant message an assistant ``message`` item with the
        text the user heard, in transcript order and under their transcript ids
        (so what the new connection says next chains after them). Tool calls
        and their outputs are not restored: the transcript does not hold them.
        Then the input held while the connection was being replaced goes out.
        """
        text_type = "text" if self._conversation.ga is False else "output_text"
        items: list[dict[str, Any]] = []
        for message in messages:
            if isinstance(message, tr.UserMessage):
                if message.text:
                    items.append(
                        _message_item(message.item_id, "user", "input_text", [message.text])
                    )
                continue
            texts: dict[str, list[str]] = {}
            for block in message.blocks:
                if block.text:
                    texts.setdefault(block.item_id, []).append(block.text)
            items.extend(
                _message_item(item_id, "assistant", text_type, parts)
                for item_id, parts in texts.items()
            )
        self._conversation.items_restored(item["id"] for item in items)
        for item in items:
            await self._sender.send({"type": "conversation.item.create", "item": item})
        if self._restored is not None:
            await self._restored()

    async def flush_deferred(self) -> None:
        """Send a deferred ``response.create`` once no response is in flight.

        Dropped instead when a response was created after the tool output was
        added: that response already saw the output.
        """
        since = self._deferred_since
        if since is None or self._conversation.response_in_flight:
            return
        self._deferred_since = None
        if self._conversation.responses_created > since:
            return
        await self._sender.send({"type": "response.create"})

    async def aclose(self) -> None:
        """Close the connection (when these commands own one) and refuse further verbs."""
        await self._sender.aclose()


def _message_item(item_id: str, role: str, kind: str, texts: list[str]) -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": role,
        "content": [{"type": kind, "text": text} for text in texts],
    }


@final
class _OpenAIDialect:
    """How an OpenAI Realtime session moves between connections: configured and restored."""

    provider: Final = "openai"
    restores_conversation: Final = True
    awaits_setup: Final = False

    def __init__(
        self, translator: OpenAIRealtimeTranslator, session_config: Mapping[str, Any] | None
    ) -> None:
        self._translator = translator
        self._session_config = session_config
        self.conversation = translator.conversation

    def translate(self, message: Any) -> list[ev.RealtimeSessionEvent]:
        return self._translator.translate(message)

    def opening_messages(self, *, resuming: bool) -> list[Mapping[str, Any]]:
        if self._session_config is None:
            return []
        return [{"type": "session.update", "session": dict(self._session_config)}]

    def is_setup_reply(self, message: object) -> bool:
        return True

    def connection_lost(self) -> list[ev.RealtimeSessionEvent]:
        return self._translator.connection_lost()

    def handover_due(self) -> bool:
        return False


@asynccontextmanager
async def connect(
    *,
    api_key: str,
    model: str = "gpt-realtime",
    url: str | None = None,
    session_config: Mapping[str, Any] | None = None,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    buffer: int = 256,
    extra_headers: Mapping[str, str] | None = None,
    open_timeout: float = 10.0,
    send_timeout: float = DEFAULT_SEND_TIMEOUT,
    reconnect: ReconnectPolicy | None = ReconnectPolicy(),
    tools: Iterable[FunctionTool] = (),
) -> AsyncIterator[
    tuple[MemoryObjectReceiveStream[ev.RealtimeSessionEvent], OpenAIRealtimeCommands]
]:
    """Open an OpenAI Realtime WebSocket and yield ``(events, commands)``.

    ``events`` is the session's input stream; ``commands`` the verbs. The
    connection goes to ``url`` as given, or to the public endpoint for
    ``model``; ``api_key`` travels as a bearer token. ``session_config``, if
    given, is sent at once as ``session.update``; ``tools`` (typed functions,
    see :func:`realtime_session.tools.function_tool`) are declared in its
    ``tools``, after any it lists itself. Messages larger than
    ``max_message_size`` bytes close the connection. ``buffer`` bounds the
    event stream; when it is full the reader waits (nothing is dropped).

    Reconnection (``reconnect``, on by default). When the connection drops
    (no close frame, or a close code that says the server went away, failed
    or restarted) or reaches its time limit (``session_expired``), a new one
    is opened per the policy's attempts and backoff, ``session_config`` is
    sent again, and the session restores the conversation from its
    transcript (:meth:`OpenAIRealtimeCommands.restore_conversation`) before
    the input held meanwhile goes out. A response in flight at the drop ends
    as interrupted, with what the user heard of it. The stream carries
    ``Reconnecting`` and ``Reconnected``, or ``ReconnectFailed`` when the
    attempts run out. With ``reconnect=None`` a dropped connection ends the
    stream with a fatal ``ProviderError(code="connection_lost")``.

    The stream ends when the server closes the connection cleanly (close code
    1000). Leaving the context stops the reader and closes the socket. Raises
    :class:`MissingDependencyError` without the ``ws`` extra, and
    :class:`ProviderConnectionError` when the connection cannot be opened.
    """
    target = url if url is not None else f"{DEFAULT_URL}?model={quote(model, safe='')}"
    headers = {"Authorization": f"Bearer {api_key}", **(extra_headers or {})}
    session_config = declare_openai_tools(session_config, tools)
    translator = OpenAIRealtimeTranslator()

    def commands(link: ProviderLink) -> OpenAIRealtimeCommands:
        made = OpenAIRealtimeCommands(
            link.send,
            translator,
            close=link.aclose,
            send_input=link.send_input,
            restored=link.conversation_restored,
        )
        link.after_frame = made.flush_deferred
        return made

    async with connect_link(
        _OpenAIDialect(translator, session_config),
        commands,
        url=target,
        headers=headers,
        max_message_size=max_message_size,
        open_timeout=open_timeout,
        send_timeout=send_timeout,
        reconnect=reconnect,
        buffer=buffer,
    ) as connected:
        yield connected
