"""The conversation state a provider's translator writes and its commands read."""

from __future__ import annotations

import json
from typing import Any

import pytest

from realtime_session import events as ev
from realtime_session.providers import (
    GeminiLiveCommands,
    GeminiLiveTranslator,
    OpenAIRealtimeCommands,
    OpenAIRealtimeTranslator,
    StaleToolCallError,
    UnsupportedInputError,
)
from realtime_session.providers._conversation import (
    AudioFormat,
    Closing,
    ConversationState,
    Response,
)

pytestmark = pytest.mark.anyio


class Wire:
    """A send callable that keeps every message."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def __call__(self, frame: str) -> None:
        self.messages.append(json.loads(frame))


def state() -> ConversationState:
    return ConversationState(input_audio=AudioFormat(), output_audio=AudioFormat())


def test_the_cancel_target_is_an_interrupted_response_first_then_the_newest_once_each() -> None:
    conversation = state()
    for response_id in ("r1", "r2", "r3"):
        conversation.responses[response_id] = Response(id=response_id)
    conversation.responses["r1"].interrupted = True
    assert conversation.take_cancel_target() == "r1"
    assert conversation.take_cancel_target() == "r3"
    assert conversation.take_cancel_target() == "r2"
    assert conversation.take_cancel_target() is None
    assert conversation.response_in_flight


def test_a_response_may_go_on_once_every_call_it_made_is_answered() -> None:
    conversation = state()
    conversation.call_requested("c1", "lookup", "r1")
    conversation.call_requested("c2", "book", "r1")
    conversation.call_requested("c3", "other", "r2")
    assert conversation.tool_name("c2") == "book"
    assert not conversation.call_answered("c1")  # c2 of the same response still runs
    assert conversation.call_answered("c2")
    assert conversation.call_answered("unknown")
    assert conversation.tool_name("c1") is None
    conversation.call_cancelled("c3")
    assert not conversation.calls_open


def test_a_lost_connection_leaves_its_calls_and_audio_items_behind() -> None:
    conversation = state()
    conversation.call_requested("c1", "lookup", "r1")
    conversation.audio_item("a1")
    conversation.items_restored(["u1"])
    conversation.closing = Closing("go_away", "10s")
    conversation.responses["r1"] = Response(id="r1")
    conversation.connection_lost(unrequested_calls=["c2"])
    for call_id in ("c1", "c2"):
        assert conversation.call_lost(call_id)
        with pytest.raises(StaleToolCallError, match=call_id):
            conversation.check_answerable(call_id, provider="Gemini Live")
    conversation.check_answerable("c3", provider="Gemini Live")  # a call of the new connection
    assert not conversation.calls_open
    assert conversation.item_replaced("a1")
    assert not conversation.was_restored("u1")
    # The responses in flight are the translator's to close: it emits their ends.
    assert list(conversation.responses) == ["r1"]
    assert conversation.closing is None


@pytest.mark.parametrize(
    ("audio", "chunk", "field"),
    [
        (AudioFormat(), ev.RealtimeAudioChunk(data=b"", mime_type="audio/L16;rate=24000"), None),
        (AudioFormat(), ev.RealtimeAudioChunk(data=b"", mime_type="audio/opus"), "mime_type"),
        (AudioFormat(), ev.RealtimeAudioChunk(data=b"", sample_rate_hz=16000), "sample_rate_hz"),
        (AudioFormat(), ev.RealtimeAudioChunk(data=b"", channels=2), "channels"),
        (AudioFormat("audio/pcmu", 8000), ev.RealtimeAudioChunk(data=b""), "mime_type"),
        (
            AudioFormat("audio/pcmu", 8000),
            ev.RealtimeAudioChunk(data=b"", mime_type="audio/PCMU", sample_rate_hz=8000),
            None,
        ),
        (AudioFormat(resamples=True), ev.RealtimeAudioChunk(data=b"", sample_rate_hz=16000), None),
        (AudioFormat(resamples=True), ev.RealtimeAudioChunk(data=b"", sample_rate_hz=0), "sample"),
    ],
)
def test_input_audio_is_checked_against_the_format_naming_the_field(
    audio: AudioFormat, chunk: ev.RealtimeAudioChunk, field: str | None
) -> None:
    if field is None:
        audio.check_input(chunk)
        return
    with pytest.raises(UnsupportedInputError, match=f"AudioInput.chunk.{field}"):
        audio.check_input(chunk)


async def test_the_openai_commands_act_on_what_the_translator_wrote() -> None:
    translator = OpenAIRealtimeTranslator()
    conversation = translator.conversation
    wire = Wire()
    commands = OpenAIRealtimeCommands(wire, translator)
    translator.translate(
        {"type": "session.updated", "session": {"input_audio_format": "g711_ulaw"}}
    )
    assert conversation.input_audio == AudioFormat("audio/pcmu", 8000)
    with pytest.raises(UnsupportedInputError, match="the session expects 'audio/pcmu'"):
        await commands.send_input(ev.AudioInput(chunk=ev.RealtimeAudioChunk(data=b"\0\0")))
    translator.translate({"type": "response.created", "response": {"id": "resp_1"}})
    assert list(conversation.responses) == ["resp_1"]
    await commands.interrupt()
    assert conversation.responses["resp_1"].cancel_sent
    await commands.interrupt()  # nothing left to cancel: the cancel names no response
    assert wire.messages == [
        {"type": "response.cancel", "response_id": "resp_1"},
        {"type": "response.cancel"},
    ]


async def test_the_gemini_commands_answer_with_the_name_the_translator_wrote_down() -> None:
    translator = GeminiLiveTranslator()
    wire = Wire()
    commands = GeminiLiveCommands(wire, translator)
    translator.translate({"toolCall": {"functionCalls": [{"id": "fc-1", "name": "book"}]}})
    assert translator.conversation.tool_name("fc-1") == "book"
    await commands.submit_tool_result("fc-1", {"ok": True})
    translator.translate({"toolCall": {"functionCalls": [{"id": "fc-2", "name": "find"}]}})
    translator.connection_lost()
    with pytest.raises(StaleToolCallError):
        await commands.submit_tool_result("fc-2", {"ok": True})
    assert wire.messages == [
        {
            "toolResponse": {
                "functionResponses": [{"id": "fc-1", "name": "book", "response": {"ok": True}}]
            }
        }
    ]
