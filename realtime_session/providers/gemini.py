"""Gemini Live adapter: server messages in, provider-neutral events out, commands back.

Gemini Live (``BidiGenerateContent``) speaks camelCase JSON, and one server
message may carry several fields at once (content, transcriptions, a turn
boundary, usage, a tool call). It has no item ids, no ``previous_item_id`` and
no truncation: the translator synthesises stable ids per turn and chains them
so the transcript orders user → assistant → tool → assistant, and the session
estimates what the user heard after a barge-in by itself
(``GeminiLiveCommands.supports_truncation`` is ``False``).

- :class:`GeminiLiveTranslator` — pure, stateful, no I/O.
- :class:`GeminiLiveCommands` — the command verbs as client messages.
- :func:`connect` — opens the WebSocket, sends the setup, waits for
  ``setupComplete`` and yields ``(events, commands)``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final, cast, final

import attrs

from .. import codec
from .. import events as ev
from .._log import ModuleLogger
from ..tools import declare_gemini_tools
from ..transcript import ItemSkipped
from . import _fields as f
from ._commands import CloseTransport, JsonMessageSender, SendText, encode_base64
from ._conversation import AudioFormat, Closing, ConversationState
from ._errors import UnsupportedCommandError
from ._link import ProviderLink, ReconnectPolicy, connect_link
from ._unknown import UnknownNames
from ._ws import DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_SEND_TIMEOUT

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream

    from ..tools import FunctionTool

__all__ = ("GeminiLiveTranslator", "GeminiLiveCommands", "connect", "DEFAULT_URL")

_log = ModuleLogger(provider="gemini")

DEFAULT_URL: Final = (
    "wss://generativelanguage.googleapis.com/ws/"
    "google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
)

#: The fields of a server message (``BidiGenerateContentServerMessage``); the
#: trace reader recognises a Gemini trace by them.
SERVER_MESSAGE_FIELDS: Final = frozenset(
    {
        "setupComplete",
        "serverContent",
        "toolCall",
        "toolCallCancellation",
        "usageMetadata",
        "goAway",
        "sessionResumptionUpdate",
        "voiceActivity",
        # Informational; nothing in them changes the conversation.
        "voiceActivityDetectionSignal",
    }
)
# Gemini takes mono PCM16 input at any rate (the rate travels in the mime type)
# and speaks 24 kHz unless an output chunk's mime type says otherwise.
_AUDIO: Final = AudioFormat("audio/pcm", 24000, resamples=True)

# turnCompleteReason values where the model refused (the input or its own output
# failed a safety or policy check): the turn ends as filtered, and subscribers
# get a ProviderError naming the reason. The list is Google's; a reason added
# later is logged once and ends the turn as usual.
_REFUSALS: Final = frozenset(
    {
        "RESPONSE_REJECTED",
        "PROHIBITED_INPUT_CONTENT",
        "IMAGE_PROHIBITED_INPUT_CONTENT",
        "INPUT_TEXT_CONTAIN_PROMINENT_PERSON_PROHIBITED",
        "INPUT_IMAGE_CELEBRITY",
        "INPUT_IMAGE_PHOTO_REALISTIC_CHILD_PROHIBITED",
        "INPUT_TEXT_NCII_PROHIBITED",
        "INPUT_OTHER",
        "INPUT_IP_PROHIBITED",
        "BLOCKLIST",
        "UNSAFE_PROMPT_FOR_IMAGE_GENERATION",
        "GENERATED_IMAGE_SAFETY",
        "GENERATED_CONTENT_SAFETY",
        "GENERATED_AUDIO_SAFETY",
        "GENERATED_VIDEO_SAFETY",
        "GENERATED_CONTENT_PROHIBITED",
        "GENERATED_CONTENT_BLOCKLIST",
        "GENERATED_IMAGE_PROHIBITED",
        "GENERATED_IMAGE_CELEBRITY",
        "GENERATED_IMAGE_PROMINENT_PEOPLE_DETECTED_BY_REWRITER",
        "GENERATED_IMAGE_IDENTIFIABLE_PEOPLE",
        "GENERATED_IMAGE_MINORS",
        "OUTPUT_IMAGE_IP_PROHIBITED",
        "GENERATED_OTHER",
        "MAX_REGENERATION_REACHED",
    }
)
# Reasons that end an ordinary turn: the stop reason follows from what the turn did.
_ORDINARY_ENDS: Final = frozenset({"TURN_COMPLETE_REASON_UNSPECIFIED", "NEED_MORE_INPUT"})
_MALFORMED_CALL: Final = "MALFORMED_FUNCTION_CALL"

# One step of an RFC 9535 JSON path as Gemini streams arguments: .name, ['name'] or [index].
_PATH_STEP: Final = re.compile(
    r"""\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\[(?P<index>\d{1,6})\]|\[(?P<q>['"])(?P<key>(?:(?!(?P=q)).)*)(?P=q)\]"""
)
_MAX_RATE_DIGITS: Final = 6


@attrs.define(slots=True)
class _UserTurn:
    """An open user segment: the transcription of one user utterance so far."""

    item_id: str
    previous_item_id: str | None
    parts: list[str] = attrs.Factory(list)


@attrs.define(slots=True)
class _ModelTurn:
    """The model response being generated."""

    response_id: str
    user_item_id: str
    spoken_item: str | None = None
    text_item: str | None = None
    interrupted: bool = False
    tool_called: bool = False
    deltas: int = 0


@attrs.define(slots=True)
class _StreamedCall:
    """A function call whose arguments arrive in parts (``willContinue``)."""

    name: str
    arguments: dict[str, Any] = attrs.Factory(dict)
    # JSON paths whose string value is still being streamed.
    open_strings: set[str] = attrs.Factory(set)
    problem: str | None = None


def _carried_arguments(arguments: object, call_id: object) -> ev.JsonValue:
    """The call's arguments if the session can carry them, else why not, as text.

    A ``toolCall`` arrives already decoded, so there is no argument text to pass
    on when the arguments are not plain JSON (a value decoded leniently, or
    nesting deeper than a recording can be read back with): the session then
    refuses the call with a reason, and the model hears about it.
    """
    try:
        codec.check_json_value(arguments)
    except codec.DecodeError as error:
        _log.warning("tool_arguments_not_json", call_id=str(call_id), reason=str(error))
        return f"tool arguments are not plain JSON: {error}"
    return cast("ev.JsonValue", arguments)


@final
class GeminiLiveTranslator:
    """Translates Gemini Live server messages into provider-neutral events.

    Feed every server message, in arrival order, to :meth:`translate`. Bad
    input never raises: a message that is not an object, or a field with the
    wrong shape, becomes a non-fatal ``ProviderError(code="malformed_event")``
    naming the field, and the other fields of the same message still count.

    Identity. Each model response gets a response id and up to two assistant
    items (one for speech — audio and its transcription — and one for display
    text); each user utterance gets a user item. Ids are ``{prefix}_resp_N``,
    ``{prefix}_item_N``, ``{prefix}_user_N`` and ``{prefix}_call_{id}``, from a
    counter: stable for a given message sequence. Each new item names the
    previous one as its predecessor. A response always follows a user item:
    when the user's transcription has not arrived when the model starts
    talking, the user item is reserved then and filled in when it arrives; a
    user item that never gets text ends as a contentless anchor.

    Turns. The user's text is published as ``InputTranscriptPartial`` (the
    transcript so far) and becomes final (``InputTranscriptFinalForItem``) when
    the provider marks it finished, when the model is interrupted, or when the
    response it precedes completes. ``turnComplete`` completes the response
    with the usage of the latest ``usageMetadata``. ``interrupted`` yields
    ``Interrupted`` (once per response) and ``TurnStarted``; the response then
    completes as ``cancelled``. A ``toolCall`` yields one ``ToolCallRequested``
    per function call and a contentless anchor for it; the response completes
    as ``tool_use`` at ``turnComplete`` or when the model goes on after the tool
    answered, which starts a new response. A call streamed in parts
    (``willContinue``, ``partialArgs`` with a ``jsonPath`` each) is requested once,
    when its last part arrived, with the arguments put together.
    ``toolCallCancellation`` yields one ``ToolCallCancelled`` per id.
    ``turnCompleteReason`` sets the stop reason: a refusal (``RESPONSE_REJECTED``,
    prohibited input, a safety block) completes the response as
    ``content_filter`` with a non-fatal ``ProviderError`` naming the reason; a
    ``MALFORMED_FUNCTION_CALL`` completes it as ``end_turn`` (there is nothing to
    run) with a ``ProviderError`` too.

    Connection facts. ``goAway`` and ``sessionResumptionUpdate`` change nothing in
    the conversation; the translator keeps them for the connection
    (:attr:`go_away`, :attr:`resumption_handle`, :attr:`handover_ready`), and
    :meth:`connection_lost` closes what was in flight when a connection ends.
    What :class:`GeminiLiveCommands` and the connection need of all this (the
    calls waiting for an answer, the handle, the announced end of a
    connection) it writes to :attr:`conversation`.
    """

    def __init__(self, *, id_prefix: str = "gemini") -> None:
        if not id_prefix.strip():
            raise ValueError("id_prefix must not be blank")
        self._prefix = id_prefix
        self._counter = 0
        self._last_item: str | None = None
        self._prev_of: dict[str, str | None] = {}
        self._user: _UserTurn | None = None
        self._turn: _ModelTurn | None = None
        self._usage: ev.Usage | None = None
        self._user_speaking = False
        #: The state of the conversation, shared with the commands and the connection.
        self.conversation = ConversationState(input_audio=_AUDIO, output_audio=_AUDIO)
        self._streamed: dict[str, _StreamedCall] = {}
        self._unknown_fields = UnknownNames(_log, "unknown_server_field_ignored", "field")
        self._unknown_mime = UnknownNames(_log, "unknown_inline_data_ignored", "mime_type")
        self._unknown_reasons = UnknownNames(_log, "unknown_turn_complete_reason", "reason")
        self._setup_complete = False
        self._session_id: str | None = None
        # Whether the newest handle was issued with nothing in flight after it.
        self._handle_current = False

    @property
    def setup_complete(self) -> bool:
        """Whether the server acknowledged the session setup (``setupComplete``)."""
        return self._setup_complete

    @property
    def session_id(self) -> str | None:
        """The session id from ``setupComplete``, when the server sent one."""
        return self._session_id

    @property
    def resumption_handle(self) -> str | None:
        """The latest resumable session handle from ``sessionResumptionUpdate``."""
        return self.conversation.resumption_handle

    @property
    def go_away(self) -> str | None:
        """The ``timeLeft`` of a ``goAway`` on this connection (``""`` without one), else ``None``."""
        closing = self.conversation.closing
        return closing.time_left if closing is not None else None

    @property
    def handover_ready(self) -> bool:
        """Whether resuming now would lose nothing the model did.

        True once the newest resumable handle was issued while no response and
        no tool call was in flight, and nothing started since.
        """
        return (
            self._handle_current
            and self._turn is None
            and not self.conversation.calls_open
            and not self._streamed
        )

    def tool_name(self, call_id: str) -> str | None:
        """The function name of a requested call that was not cancelled, if known."""
        return self.conversation.tool_name(call_id)

    def call_lost(self, call_id: str) -> bool:
        """Whether ``call_id`` was requested on a connection that has since ended."""
        return self.conversation.call_lost(call_id)

    def connection_lost(self) -> list[ev.RealtimeSessionEvent]:
        """Close what was in flight on a connection that ended, and forget the connection.

        A response still being generated ends as interrupted (``Interrupted``,
        then ``TurnCompleted(cancelled)``) with what had arrived; the user's
        words so far are committed. Calls not answered yet are lost: the next
        connection, resumed from a handle issued before them, does not know
        them (see :meth:`call_lost`). Ids go on from where they were, so the
        transcript continues on the next connection.
        """
        out: list[ev.RealtimeSessionEvent] = []
        turn = self._turn
        if turn is not None:
            if not turn.interrupted:
                turn.interrupted = True
                out.append(ev.Interrupted(response_id=turn.response_id))
            self._finish_turn(out, ev.StopReason.CANCELLED)
        self._close_user(out)
        self.conversation.connection_lost()
        self._streamed.clear()
        self._usage = None
        self._user_speaking = False
        self._setup_complete = False
        return out

    def translate(self, server_message: object) -> list[ev.RealtimeSessionEvent]:
        """Translate one server message; see the class documentation for the rules."""
        if not isinstance(server_message, Mapping):
            return [f.not_an_object("server message", server_message)]
        out: list[ev.RealtimeSessionEvent] = []
        content = server_message.get("serverContent")
        # Order matters: a turn boundary in a message comes after the content and
        # the tool calls it carries, and usage is known before the turn completes.
        steps = (
            ("setupComplete", self._on_setup_complete),
            ("voiceActivity", self._on_voice_activity),
            ("usageMetadata", self._on_usage),
            ("serverContent", self._on_content),
            ("toolCall", self._on_tool_call),
            ("toolCallCancellation", self._on_tool_call_cancellation),
            ("goAway", self._on_go_away),
            ("sessionResumptionUpdate", self._on_resumption_update),
        )
        for key, step in steps:
            value = server_message.get(key)
            if value is None:
                continue
            self._guarded(key, step, value, out)
        if isinstance(content, Mapping) and content.get("turnComplete") is not None:
            self._guarded("serverContent", self._on_turn_complete, content, out)
        for key in server_message:
            if key not in SERVER_MESSAGE_FIELDS:
                self._unknown_fields.note(str(key))
        return out

    def _guarded(
        self,
        key: str,
        step: Callable[[f.JsonObject, list[ev.RealtimeSessionEvent]], None],
        value: object,
        out: list[ev.RealtimeSessionEvent],
        *,
        where: str = "",
    ) -> None:
        try:
            if not isinstance(value, Mapping):
                raise f.MalformedEvent(
                    where + key, f"must be an object, not {type(value).__name__}"
                )
            step(value, out)
        except Exception as exc:
            out.append(f.failure(exc, (where + key).split(".", 1)[0], _log, detail=where + key))

    # -- identity ---------------------------------------------------------------

    def _new_id(self, kind: str) -> str:
        self._counter += 1
        return f"{self._prefix}_{kind}_{self._counter}"

    def _chain(self, item_id: str) -> str:
        self._prev_of[item_id] = self._last_item
        self._last_item = item_id
        return item_id

    def _open_user(self) -> _UserTurn:
        if self._user is None:
            item_id = self._new_id("user")
            self._user = _UserTurn(item_id=item_id, previous_item_id=self._last_item)
            self._chain(item_id)
        return self._user

    def _close_user(self, out: list[ev.RealtimeSessionEvent], only: str | None = None) -> None:
        user = self._user
        if user is None or (only is not None and user.item_id != only):
            return
        self._user = None
        text = "".join(user.parts)
        if text.strip():
            out.append(
                ev.InputTranscriptFinalForItem(
                    item_id=user.item_id, previous_item_id=user.previous_item_id, text=text
                )
            )
        else:
            # Nothing was transcribed: the item keeps its place without content.
            out.append(
                ev.RealtimeTranscript(
                    event=ItemSkipped(item_id=user.item_id, previous_item_id=user.previous_item_id)
                )
            )

    def _model_turn(self, out: list[ev.RealtimeSessionEvent]) -> _ModelTurn:
        turn = self._turn
        if turn is not None and (turn.tool_called or turn.interrupted):
            # Output after a tool call is the model going on with the result; output
            # after an interruption is a new generation. Either is a response of its own.
            stop = ev.StopReason.CANCELLED if turn.interrupted else ev.StopReason.TOOL_USE
            self._finish_turn(out, stop)
            turn = None
        if turn is None:
            user = self._open_user()
            turn = self._turn = _ModelTurn(
                response_id=self._new_id("resp"), user_item_id=user.item_id
            )
            self._user_speaking = False
            # A handle issued before this response would resume without it.
            self._handle_current = False
        return turn

    def _finish_turn(self, out: list[ev.RealtimeSessionEvent], stop: ev.StopReason) -> None:
        turn = self._turn
        if turn is None:
            return
        self._turn = None
        # The user's words commit before the answer to them.
        self._close_user(out, only=turn.user_item_id)
        usage, self._usage = self._usage or ev.Usage(), None
        out.append(ev.TurnCompleted(response_id=turn.response_id, stop_reason=stop, usage=usage))

    def _spoken_item(self, turn: _ModelTurn) -> str:
        if turn.spoken_item is None:
            turn.spoken_item = self._chain(self._new_id("item"))
        return turn.spoken_item

    def _text_item(self, turn: _ModelTurn) -> str:
        if turn.text_item is None:
            turn.text_item = self._chain(self._new_id("item"))
        return turn.text_item

    def _said(
        self,
        out: list[ev.RealtimeSessionEvent],
        kind: type[ev.OutputAudioTranscriptDeltaForItem | ev.OutputTextDeltaForItem],
        delta: str,
    ) -> None:
        """One more piece of the response's speech (as transcribed) or of its display text."""
        turn = self._model_turn(out)
        if kind is ev.OutputAudioTranscriptDeltaForItem:
            item_id = self._spoken_item(turn)
        else:
            item_id = self._text_item(turn)
        turn.deltas += 1
        out.append(
            kind(
                response_id=turn.response_id,
                delta_id=f"{item_id}:{turn.deltas}",
                item_id=item_id,
                previous_item_id=self._prev_of.get(item_id),
                delta=delta,
            )
        )

    # -- message fields -----------------------------------------------------------

    def _on_setup_complete(self, value: f.JsonObject, out: list[ev.RealtimeSessionEvent]) -> None:
        self._setup_complete = True
        self._session_id = f.opt_ident(value, "sessionId", "setupComplete.")

    def _on_voice_activity(self, value: f.JsonObject, out: list[ev.RealtimeSessionEvent]) -> None:
        # The wire says "type"; voice_activity_type is the SDK's Python-side name.
        kind = f.opt_text(value, "type", "voiceActivity.")
        if kind == "ACTIVITY_START":
            self._user_started(out)
        elif kind == "ACTIVITY_END":
            self._user_speaking = False
            out.append(ev.TurnCommitted())

    def _user_started(self, out: list[ev.RealtimeSessionEvent]) -> None:
        if not self._user_speaking:
            self._user_speaking = True
            out.append(ev.TurnStarted())

    def _on_usage(self, value: f.JsonObject, out: list[ev.RealtimeSessionEvent]) -> None:
        # Billing counts tool-use prompts as input and thinking as output.
        prompt = f.lenient_count(value, "promptTokenCount") or 0
        tool_prompt = f.lenient_count(value, "toolUsePromptTokenCount") or 0
        response = f.lenient_count(value, "responseTokenCount")
        if response is None:
            response = f.lenient_count(value, "candidatesTokenCount") or 0
        thoughts = f.lenient_count(value, "thoughtsTokenCount") or 0
        self._usage = ev.Usage(
            input_tokens=prompt + tool_prompt,
            output_tokens=response + thoughts,
            cache_read_tokens=f.lenient_count(value, "cachedContentTokenCount"),
        )

    def _on_content(self, content: f.JsonObject, out: list[ev.RealtimeSessionEvent]) -> None:
        # Each field counts on its own: a bad one costs itself, never its neighbours
        # (an interruption must not be lost to a malformed audio part beside it).
        steps = (
            ("inputTranscription", self._on_input_transcription),
            ("interimInputTranscription", self._on_interim_transcription),
            ("modelTurn", self._on_model_turn),
            ("outputTranscription", self._on_output_transcription),
        )
        for key, step in steps:
            value = content.get(key)
            if value is not None:
                self._guarded(key, step, value, out, where="serverContent.")
        try:
            interrupted = f.opt_bool(content, "interrupted", "serverContent.")
        except f.MalformedEvent as exc:
            out.append(f.malformed("serverContent", str(exc)))
            return
        if interrupted:
            self._on_interrupted(out)

    def _on_interim_transcription(
        self, interim: f.JsonObject, out: list[ev.RealtimeSessionEvent]
    ) -> None:
        text = f.opt_text(interim, "text", "serverContent.interimInputTranscription.")
        if text:
            out.append(ev.InputTranscriptPartial(text=text))

    def _on_output_transcription(
        self, output: f.JsonObject, out: list[ev.RealtimeSessionEvent]
    ) -> None:
        delta = f.opt_text(output, "text", "serverContent.outputTranscription.")
        if delta:
            self._said(out, ev.OutputAudioTranscriptDeltaForItem, delta)

    def _on_input_transcription(
        self, transcription: f.JsonObject, out: list[ev.RealtimeSessionEvent]
    ) -> None:
        where = "serverContent.inputTranscription."
        delta = f.opt_text(transcription, "text", where) or ""
        finished = f.opt_bool(transcription, "finished", where)
        if delta:
            user = self._open_user()
            user.parts.append(delta)
            out.append(ev.InputTranscriptPartial(text="".join(user.parts)))
        if finished:
            self._close_user(out)

    def _on_model_turn(self, model_turn: f.JsonObject, out: list[ev.RealtimeSessionEvent]) -> None:
        parts = f.opt_list(model_turn, "parts", "serverContent.modelTurn.") or []
        for index, part in enumerate(parts):
            where = f"serverContent.modelTurn.parts[{index}]"
            try:
                if not isinstance(part, Mapping):
                    raise f.MalformedEvent(where, "must be an object")
                self._on_part(part, where + ".", out)
            except f.MalformedEvent as exc:
                out.append(f.malformed("serverContent", str(exc)))

    def _on_part(self, part: f.JsonObject, where: str, out: list[ev.RealtimeSessionEvent]) -> None:
        if f.opt_bool(part, "thought", where):
            return  # the model's thinking is not part of the conversation
        inline = f.opt_obj(part, "inlineData", where)
        if inline is not None:
            self._on_inline_data(inline, where + "inlineData.", out)
        text = f.opt_text(part, "text", where)
        if text:
            self._said(out, ev.OutputTextDeltaForItem, text)

    def _on_inline_data(
        self, inline: f.JsonObject, where: str, out: list[ev.RealtimeSessionEvent]
    ) -> None:
        mime = f.opt_text(inline, "mimeType", where) or "audio/pcm"
        data = f.base64_bytes(inline, "data", where)
        base = mime.split(";", 1)[0].strip().lower()
        if base.startswith("audio/"):
            rate = _rate_of(mime, where + "mimeType")
            turn = self._model_turn(out)
            item_id = self._spoken_item(turn)
            out.append(
                ev.OutputAudioChunk(
                    chunk=ev.RealtimeAudioChunk(
                        data=data,
                        sample_rate_hz=rate or self.conversation.output_audio.sample_rate_hz,
                        mime_type=base,
                    ),
                    response_id=turn.response_id,
                    item_id=item_id,
                )
            )
        elif base.startswith("image/"):
            turn = self._model_turn(out)
            out.append(
                ev.OutputVideoChunk(
                    chunk=ev.RealtimeVideoChunk(data=data, mime_type=base),
                    response_id=turn.response_id,
                )
            )
        else:
            self._unknown_mime.note(base)

    def _on_interrupted(self, out: list[ev.RealtimeSessionEvent]) -> None:
        turn = self._turn
        if turn is not None and not turn.interrupted:
            turn.interrupted = True
            out.append(ev.Interrupted(response_id=turn.response_id))
            # What the user says next is a new utterance, not the end of the old one.
            self._close_user(out, only=turn.user_item_id)
        self._user_started(out)

    def _on_turn_complete(self, content: f.JsonObject, out: list[ev.RealtimeSessionEvent]) -> None:
        if not f.opt_bool(content, "turnComplete", "serverContent."):
            return
        reason = f.opt_text(content, "turnCompleteReason", "serverContent.")
        refused = reason in _REFUSALS
        if reason is not None and refused:
            out.append(
                ev.ProviderError(
                    code=reason.lower(), message=f"the model refused the turn ({reason})"
                )
            )
        elif reason == _MALFORMED_CALL:
            out.append(
                ev.ProviderError(
                    code=reason.lower(),
                    message="the model made a function call that could not be run",
                )
            )
        elif reason is not None and reason not in _ORDINARY_ENDS:
            self._unknown_reasons.note(reason)
        turn = self._turn
        if turn is None:
            # The model stayed silent: the user's turn still ends here.
            self._close_user(out)
            self._usage = None
            return
        if turn.interrupted:
            stop = ev.StopReason.CANCELLED
        elif refused:
            stop = ev.StopReason.CONTENT_FILTER
        elif turn.tool_called and reason != _MALFORMED_CALL:
            stop = ev.StopReason.TOOL_USE
        else:
            stop = ev.StopReason.END_TURN
        self._finish_turn(out, stop)

    def _on_tool_call(self, value: f.JsonObject, out: list[ev.RealtimeSessionEvent]) -> None:
        calls = f.opt_list(value, "functionCalls", "toolCall.") or []
        for index, call in enumerate(calls):
            where = f"toolCall.functionCalls[{index}]."
            try:
                if not isinstance(call, Mapping):
                    raise f.MalformedEvent(where[:-1], "must be an object")
                self._on_function_call(call, where, out)
            except f.MalformedEvent as exc:
                out.append(f.malformed("toolCall", str(exc)))

    def _on_function_call(
        self, call: f.JsonObject, where: str, out: list[ev.RealtimeSessionEvent]
    ) -> None:
        streamed_id = next(iter(self._streamed)) if len(self._streamed) == 1 else None
        call_id = f.opt_ident(call, "id", where) or streamed_id
        if call_id is None:
            raise f.MalformedEvent(where + "id", "is missing")
        streamed = self._streamed.get(call_id)
        name = f.opt_ident(call, "name", where) or (streamed.name if streamed else None)
        if name is None:
            raise f.MalformedEvent(where + "name", "is missing")
        # Any JSON value: arguments that are not an object are the session's to refuse.
        args = call.get("args")
        partial = f.opt_list(call, "partialArgs", where)
        more = f.opt_bool(call, "willContinue", where)
        if self.conversation.tool_name(call_id) is not None:
            return
        if streamed is None and (more or partial):
            streamed = self._streamed[call_id] = _StreamedCall(name=name)
            self._handle_current = False
        arguments: ev.JsonValue
        if streamed is not None:
            if isinstance(args, Mapping):
                streamed.arguments.update(args)
            for index, part in enumerate(partial or ()):
                _apply_partial_arg(streamed, part, f"{where}partialArgs[{index}].")
            if more:
                return
            del self._streamed[call_id]
            if streamed.problem is not None:
                arguments = f"tool arguments could not be put together: {streamed.problem}"
            else:
                arguments = _carried_arguments(streamed.arguments, call_id)
        else:
            arguments = _carried_arguments(args if args is not None else {}, call_id)
        turn = self._model_turn(out) if self._turn is None else self._turn
        turn.tool_called = True
        self._handle_current = False
        self.conversation.call_requested(call_id, name, turn.response_id)
        anchor = self._chain(f"{self._prefix}_call_{call_id}")
        out.append(
            ev.RealtimeTranscript(
                event=ItemSkipped(item_id=anchor, previous_item_id=self._prev_of[anchor])
            )
        )
        out.append(ev.ToolCallRequested(call_id=call_id, tool_name=name, arguments=arguments))

    def _on_tool_call_cancellation(
        self, value: f.JsonObject, out: list[ev.RealtimeSessionEvent]
    ) -> None:
        ids = f.opt_list(value, "ids", "toolCallCancellation.") or []
        for index, call_id in enumerate(ids):
            if not isinstance(call_id, str) or not call_id.strip():
                out.append(
                    f.malformed(
                        "toolCallCancellation",
                        f"field 'toolCallCancellation.ids[{index}]' must be a non-blank string",
                    )
                )
                continue
            self.conversation.call_cancelled(call_id)
            self._streamed.pop(call_id, None)
            out.append(ev.ToolCallCancelled(call_id=call_id))

    def _on_go_away(self, value: f.JsonObject, out: list[ev.RealtimeSessionEvent]) -> None:
        # Nothing changes in the conversation; the connection acts on it.
        time_left = f.opt_text(value, "timeLeft", "goAway.") or ""
        self.conversation.closing = Closing("go_away", time_left)

    def _on_resumption_update(
        self, value: f.JsonObject, out: list[ev.RealtimeSessionEvent]
    ) -> None:
        handle = f.opt_ident(value, "newHandle", "sessionResumptionUpdate.")
        if handle is not None and f.opt_bool(value, "resumable", "sessionResumptionUpdate."):
            self.conversation.resumption_handle = handle
            self._handle_current = self._turn is None and not self.conversation.calls_open


def _rate_of(mime: str, where: str) -> int | None:
    """The ``rate`` parameter of an audio mime type; ``None`` when there is none.

    Only ASCII digits make a rate: ``str.isdigit`` also accepts ``"²"``, which
    ``int`` refuses, and thousands of digits are no sample rate either.
    """
    for parameter in mime.split(";")[1:]:
        key, _, value = parameter.partition("=")
        if key.strip().lower() != "rate":
            continue
        value = value.strip()
        if not (value.isascii() and value.isdigit() and len(value) <= _MAX_RATE_DIGITS):
            raise f.MalformedEvent(where, f"has a rate that is not a sample rate: {value[:16]!r}")
        return int(value) or None
    return None


def _path_steps(path: str) -> list[str | int]:
    """The steps of a JSON path such as ``$.location.city`` or ``$.items[0]['a b']``."""
    if not path.startswith("$"):
        raise ValueError("does not start with '$'")
    steps: list[str | int] = []
    position = 1
    while position < len(path):
        match = _PATH_STEP.match(path, position)
        if match is None:
            raise ValueError(f"cannot be read at {path[position : position + 16]!r}")
        if match["index"] is not None:
            steps.append(int(match["index"]))
        else:
            steps.append(match["name"] if match["name"] is not None else match["key"])
        position = match.end()
    if not steps:
        raise ValueError("names no argument")
    return steps


def _apply_partial_arg(call: _StreamedCall, part: object, where: str) -> None:
    """Put one ``partialArgs`` entry into the arguments being streamed.

    A string whose previous part said ``willContinue`` is appended to; any
    other value replaces what the path held. A part that cannot be placed
    spoils the call: it is requested with the reason, never with half its
    arguments.
    """
    if not isinstance(part, Mapping):
        raise f.MalformedEvent(where[:-1], "must be an object")
    path = f.text(part, "jsonPath", where)
    value: ev.JsonValue
    if "stringValue" in part:
        value = f.text(part, "stringValue", where)
    elif "numberValue" in part:
        number = part["numberValue"]
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise f.MalformedEvent(where + "numberValue", "must be a number")
        value = number
    elif "boolValue" in part:
        value = f.opt_bool(part, "boolValue", where)
    elif "nullValue" in part:
        value = None
    else:
        raise f.MalformedEvent(where[:-1], "carries no value")
    try:
        steps = _path_steps(path)
    except ValueError as exc:
        call.problem = f"jsonPath {path[:64]!r} {exc}"
        return
    container: Any = call.arguments
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        if following is None:
            break
        child_type = list if isinstance(following, int) else dict
        container = _child(container, step, child_type)
        if container is None:
            call.problem = f"jsonPath {path[:64]!r} does not fit the arguments so far"
            return
    last = steps[-1]
    previous = _get(container, last)
    if isinstance(value, str) and path in call.open_strings and isinstance(previous, str):
        value = previous + value
    if not _put(container, last, value):
        call.problem = f"jsonPath {path[:64]!r} does not fit the arguments so far"
        return
    if isinstance(value, str) and f.opt_bool(part, "willContinue", where):
        call.open_strings.add(path)
    else:
        call.open_strings.discard(path)


def _get(container: Any, step: str | int) -> Any:
    if isinstance(step, int):
        return container[step] if isinstance(container, list) and step < len(container) else None
    return container.get(step) if isinstance(container, dict) else None


def _put(container: Any, step: str | int, value: Any) -> bool:
    if isinstance(step, str):
        if not isinstance(container, dict):
            return False
        container[step] = value
        return True
    if not isinstance(container, list) or step > len(container):
        return False  # arrays grow in order; a gap has nothing to hold it
    if step == len(container):
        container.append(value)
    else:
        container[step] = value
    return True


def _child(container: Any, step: str | int, child_type: type) -> Any:
    existing = _get(container, step)
    if isinstance(existing, child_type):
        return existing
    if existing is not None:
        return None
    child = child_type()
    return child if _put(container, step, child) else None


def _manual_activity(setup: Mapping[str, Any]) -> bool:
    config = setup.get("realtimeInputConfig")
    detection = config.get("automaticActivityDetection") if isinstance(config, Mapping) else None
    return isinstance(detection, Mapping) and detection.get("disabled") is True


@final
class GeminiLiveCommands:
    """The session's command verbs as Gemini Live client messages.

    Gemini has two ways to mark the user's turn. With automatic activity
    detection (the default) the server listens for speech itself; then
    :meth:`commit_turn` sends ``audioStreamEnd`` (flush the buffered audio, the
    microphone paused) and :meth:`interrupt` is not available — the server
    interrupts on its own when the user speaks. With manual activity detection
    (``realtimeInputConfig.automaticActivityDetection.disabled``) the client
    brackets each utterance: audio opens an activity (``activityStart``) when
    none is open, :meth:`commit_turn` closes it (``activityEnd``), and
    :meth:`interrupt` opens one, which stops the model.

    Gemini has no truncate command (``supports_truncation`` is ``False``): the
    server assumes real-time playback, and the session cuts its own transcript.
    """

    supports_truncation: Final = False

    def __init__(
        self,
        send: SendText,
        translator: GeminiLiveTranslator,
        *,
        manual_activity: bool = False,
        close: CloseTransport | None = None,
        send_input: SendText | None = None,
    ) -> None:
        self._sender = JsonMessageSender(send, close, send_input=send_input)
        self._conversation = translator.conversation
        self._manual_activity = manual_activity
        self._activity_open = False

    @property
    def manual_activity(self) -> bool:
        """Whether the client marks the user's activity (see the class documentation)."""
        return self._manual_activity

    async def send_input(self, chunk: ev.RealtimeInputChunk) -> None:
        """Send user input as ``realtimeInput``: PCM16 audio at its own rate, a video frame, or text.

        Audio must be mono PCM16 (``audio/pcm``); Gemini resamples any rate, which
        travels in the mime type. Raises :class:`UnsupportedInputError` otherwise.
        """
        if isinstance(chunk, ev.AudioInput):
            audio = chunk.chunk
            self._conversation.input_audio.check_input(audio)
            await self._open_activity()
            await self._sender.send_input(
                {
                    "realtimeInput": {
                        "audio": {
                            "data": encode_base64(audio.data),
                            "mimeType": f"audio/pcm;rate={audio.sample_rate_hz}",
                        }
                    }
                }
            )
        elif isinstance(chunk, ev.VideoInput):
            await self._sender.send_input(
                {
                    "realtimeInput": {
                        "video": {
                            "data": encode_base64(chunk.chunk.data),
                            "mimeType": chunk.chunk.mime_type,
                        }
                    }
                }
            )
        elif isinstance(chunk, ev.TextInput):
            await self._sender.send_input({"realtimeInput": {"text": chunk.text}})
        else:
            raise TypeError(f"send_input expects a RealtimeInputChunk, not {type(chunk).__name__}")

    async def _open_activity(self) -> None:
        if self._manual_activity and not self._activity_open:
            self._activity_open = True
            await self._sender.send_input({"realtimeInput": {"activityStart": {}}})

    async def commit_turn(self) -> None:
        """End the user's turn: ``activityEnd`` (manual activity) or ``audioStreamEnd``.

        With manual activity and no activity open there is nothing to end, and
        nothing is sent.
        """
        if not self._manual_activity:
            await self._sender.send_input({"realtimeInput": {"audioStreamEnd": True}})
        elif self._activity_open:
            self._activity_open = False
            await self._sender.send_input({"realtimeInput": {"activityEnd": {}}})

    async def interrupt(self) -> None:
        """Stop the model by starting a user activity (manual activity detection only).

        Raises :class:`UnsupportedCommandError` under automatic activity
        detection, where Gemini has no client message that stops the model.
        """
        if not self._manual_activity:
            raise UnsupportedCommandError(
                "Gemini Live interrupts on its own voice activity detection; an explicit "
                "interrupt needs realtimeInputConfig.automaticActivityDetection.disabled = true"
            )
        if self._activity_open:
            # An activity is already open; closing and reopening it is what interrupts.
            await self._sender.send_input({"realtimeInput": {"activityEnd": {}}})
            self._activity_open = False
        await self._open_activity()

    async def truncate_assistant_output(
        self, item_id: str, content_index: int, audio_played_ms: int
    ) -> None:
        """Not available: Gemini Live has no truncate command.

        Raises :class:`UnsupportedCommandError`. The session checks
        ``supports_truncation`` and cuts its own transcript instead.
        """
        raise UnsupportedCommandError(
            "Gemini Live has no truncate command (supports_truncation is False)"
        )

    async def submit_tool_result(self, call_id: str, output: ev.JsonValue) -> None:
        """Answer a tool call (``toolResponse``). A non-object result is sent as ``{"output": ...}``."""
        response = output if isinstance(output, dict) else {"output": output}
        await self._respond(call_id, response)

    async def submit_tool_error(self, call_id: str, error: str) -> None:
        """Answer a tool call with a failure: ``{"error": ...}``."""
        await self._respond(call_id, {"error": error})

    async def _respond(self, call_id: str, response: Mapping[str, ev.JsonValue]) -> None:
        self._conversation.check_answerable(call_id, provider="Gemini Live")
        function_response: dict[str, Any] = {"id": call_id}
        name = self._conversation.tool_name(call_id)
        if name is not None:
            function_response["name"] = name
        function_response["response"] = response
        try:
            await self._sender.send({"toolResponse": {"functionResponses": [function_response]}})
        except TypeError as exc:
            raise TypeError(f"the result of tool call {call_id!r}: {exc}") from exc
        # Answered: the call no longer holds a resumption handover back.
        self._conversation.call_answered(call_id)

    async def aclose(self) -> None:
        """Close the connection (when these commands own one) and refuse further verbs."""
        await self._sender.aclose()


@final
class _GeminiDialect:
    """How a Gemini Live session moves between connections: by resumption handle."""

    provider: Final = "gemini"
    restores_conversation: Final = False
    awaits_setup: Final = True

    def __init__(
        self, translator: GeminiLiveTranslator, setup: Mapping[str, Any], *, warn_go_away: bool
    ) -> None:
        self._translator = translator
        self._setup = setup
        self._warn_go_away = warn_go_away
        self.conversation = translator.conversation

    def opening_messages(self, *, resuming: bool) -> list[Mapping[str, Any]]:
        setup = dict(self._setup)
        # Asking for resumption is what makes the server send handles at all.
        resumption = dict(setup.get("sessionResumption") or {})
        if resuming:
            resumption["handle"] = self.conversation.resumption_handle
        setup["sessionResumption"] = resumption
        return [{"setup": setup}]

    def is_setup_reply(self, message: object) -> bool:
        return isinstance(message, Mapping) and message.get("setupComplete") is not None

    def translate(self, message: Any) -> list[ev.RealtimeSessionEvent]:
        noticed = self._translator.go_away is not None
        out = self._translator.translate(message)
        time_left = self._translator.go_away
        if self._warn_go_away and not noticed and time_left is not None:
            # Without reconnection the application is the one to act on it.
            when = f"in {time_left}" if time_left else "soon"
            out.append(
                ev.ProviderError(
                    code="go_away", message=f"the server will close the connection {when}"
                )
            )
        return out

    def connection_lost(self) -> list[ev.RealtimeSessionEvent]:
        return self._translator.connection_lost()

    def handover_due(self) -> bool:
        return self.conversation.closing is not None and self._translator.handover_ready


@asynccontextmanager
async def connect(
    *,
    api_key: str,
    model: str = "gemini-live-2.5-flash-preview",
    url: str | None = None,
    session_config: Mapping[str, Any] | None = None,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    buffer: int = 256,
    extra_headers: Mapping[str, str] | None = None,
    open_timeout: float = 10.0,
    send_timeout: float = DEFAULT_SEND_TIMEOUT,
    reconnect: ReconnectPolicy | None = ReconnectPolicy(),
    tools: Iterable[FunctionTool] = (),
) -> AsyncIterator[tuple[MemoryObjectReceiveStream[ev.RealtimeSessionEvent], GeminiLiveCommands]]:
    """Open a Gemini Live WebSocket, set the session up, and yield ``(events, commands)``.

    The setup message asks for audio output with input and output
    transcription, and for session resumption; ``session_config`` adds to it
    or overrides it key by key (``systemInstruction``, ``tools``,
    ``realtimeInputConfig``, ...). The API key travels in the
    ``x-goog-api-key`` header. Entering waits for the server's
    ``setupComplete`` (at most ``open_timeout`` seconds) and raises
    :class:`ProviderConnectionError` if it does not come.

    Resumption (``reconnect``, on by default). The newest resumable handle
    the server sends is kept. On ``goAway`` the session moves to a new
    connection, opened with that handle before the old one ends, as soon as
    nothing is in flight (a response or a tool call would be lost otherwise);
    when a connection drops, or ends after ``goAway`` before that point, a new
    one is opened with the handle, per the policy's attempts and backoff.
    Either way the events go on on the same stream, preceded by
    ``Reconnecting`` and followed by ``Reconnected``; a response cut off by a
    drop ends as interrupted with what had arrived. Without a handle, or when
    the attempts run out, the stream ends with ``ReconnectFailed`` and the
    session fails. With ``reconnect=None`` a dropped connection ends the
    stream with a fatal ``ProviderError(code="connection_lost")``, and
    ``goAway`` is a non-fatal ``ProviderError(code="go_away")``.

    The stream ends when the server closes the connection cleanly (close code
    1000). Leaving the context stops the reader and closes the socket.
    """
    target = url if url is not None else DEFAULT_URL
    setup: dict[str, Any] = {
        "model": model if model.startswith("models/") else f"models/{model}",
        "generationConfig": {"responseModalities": ["AUDIO"]},
        "inputAudioTranscription": {},
        "outputAudioTranscription": {},
    }
    setup.update(session_config or {})
    setup = declare_gemini_tools(setup, tools)
    headers = {"x-goog-api-key": api_key, **(extra_headers or {})}
    translator = GeminiLiveTranslator()

    def commands(link: ProviderLink) -> GeminiLiveCommands:
        return GeminiLiveCommands(
            link.send,
            translator,
            manual_activity=_manual_activity(setup),
            close=link.aclose,
            send_input=link.send_input,
        )

    async with connect_link(
        _GeminiDialect(translator, setup, warn_go_away=reconnect is None),
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
