"""A recorded call as a timeline: one self-contained HTML page to look at instead of logs.

:func:`build_timeline` runs a trace (anything ``replay`` reads: raw OpenAI
Realtime or Gemini Live server events, or a session's recording) through a
session and lays out what happened on one time axis, in lanes: the user's
speech and transcripts, the assistant's captions and text, its audio as
received and as a real-time player would have played it (what a barge-in
flushed shown apart), barge-ins, truncations with the heard text against the
generated text, tool calls with their duration and outcome (never their
arguments), media a real-time player with the default buffer would have
dropped, and provider errors; beside it, the canonical transcript.

:func:`render_html` turns it into one HTML file with everything inline (no
network): the data as embedded JSON, drawn on a canvas. Audio is summarised
into spans and never embedded, so an hour-long call makes a page that opens
in a moment. Hovering or clicking an event shows its public JSON.
"""

from __future__ import annotations

import html
import importlib.resources
from typing import TYPE_CHECKING, Any, Final, final

import attrs

from . import _json, codec, public
from . import events as ev
from . import transcript as tr
from ._config import SessionConfig
from ._latency import LatencyTracker
from ._listener import AudioSpan, ListenerModel
from ._observed import ObservedCall, observe_call

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .providers.scripted import TimedEvent, TraceFormat

__all__ = ("LANES", "Timeline", "build_timeline", "listen", "render_html")

LANES: Final = (
    ("user", "User speech"),
    ("captions", "Captions & text"),
    ("received", "Audio received"),
    ("played", "Audio played"),
    ("bargein", "Barge-ins & cuts"),
    ("tools", "Tool calls"),
    ("latency", "Latency"),
    ("drops", "Media drops"),
    ("errors", "Provider errors"),
)
"""The timeline's lanes, top to bottom: ``(id, label)``."""

# JSON inside <script>: "</" must not close the element early.
_SCRIPT_SAFE: Final = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
_PLACEHOLDER: Final = "__CALL_DATA__"


@final
@attrs.frozen(kw_only=True)
class Timeline:
    """A call laid out in lanes, ready to render: :attr:`data` is what the page embeds."""

    title: str
    data: dict[str, Any]

    def to_html(self) -> str:
        return render_html(self)


def listen(call: ObservedCall, *, media_buffer: int | None = None) -> ListenerModel:
    """Play the call's published audio through a :class:`ListenerModel`, in time order."""
    listener = ListenerModel(media_buffer=media_buffer)
    for t, event in call.published:
        if isinstance(event, public.OutputAudioChunk):
            listener.arrive(t, event)
        elif isinstance(event, public.Interrupted):
            listener.interrupt(t, event.response_id)
        elif isinstance(event, public.AssistantTranscriptTruncated):
            listener.truncate(t, event.item_id, event.audio_played_ms)
    listener.finish()
    return listener


async def build_timeline(
    events: Sequence[TimedEvent], *, title: str = "call", format: TraceFormat | None = None
) -> Timeline:
    """Run ``events`` through a session and lay the call out (see the module docs).

    ``format`` is the trace's: a Gemini Live trace's barge-ins are settled by
    the session on the trace's clock, as the live session settled them.
    """
    call = await observe_call(events, format)
    return Timeline(title=title, data=_Layout(call, title).build())


def render_html(timeline: Timeline) -> str:
    """The timeline as one self-contained HTML page (inline CSS and script, no network)."""
    page = (
        importlib.resources.files("realtime_session")
        .joinpath("_timeline_page.html")
        .read_text(encoding="utf-8")
    )
    data = _json.dumps(timeline.data, what="the timeline")
    page = page.replace("__CALL_TITLE__", html.escape(timeline.title))
    return page.replace(_PLACEHOLDER, data.translate(_SCRIPT_SAFE))


def _t(seconds: float) -> float:
    return round(seconds, 4)


@final
class _Layout:
    """Builds the page's data: events (public JSON) and items in lanes that refer to them."""

    def __init__(self, call: ObservedCall, title: str) -> None:
        self._call = call
        self._title = title
        self._events: list[dict[str, Any]] = []
        self._items: dict[str, list[dict[str, Any]]] = {lane: [] for lane, _ in LANES}
        self._responses: dict[str, int] = {}
        # Spoken text the model generated per item (deltas, or the final text).
        self._generated: dict[str, str] = {}
        self._item_response: dict[str, str] = {}
        # When each message (by its item ids) was committed, and revised.
        self._commit_times: dict[tuple[str, ...], float] = {}
        self._revised: dict[tuple[str, ...], float] = {}
        # The spoken blocks the transcript cut to what was heard, by item.
        self._heard_blocks = {
            block.item_id: block
            for message in call.transcript
            if isinstance(message, tr.AssistantMessage)
            for block in message.blocks
            if isinstance(block, tr.TranscriptBlock) and block.truncated
        }

    def build(self) -> dict[str, Any]:
        call = self._call
        self._learn_generated_text()
        self._control_lanes()
        self._audio_lanes()
        self._latency_lane()
        stats = attrs.asdict(call.stats)
        return {
            "version": 1,
            "title": self._title,
            "timed": call.timed,
            "duration": _t(call.duration_s),
            "stats": stats,
            "closed": codec.to_dict(call.closed) if call.closed is not None else None,
            "lanes": [{"id": lane, "label": label} for lane, label in LANES],
            "responses": list(self._responses),
            "events": self._events,
            "items": self._items,
            "transcript": self._transcript(),
        }

    # -- helpers --------------------------------------------------------------

    def _event(self, t: float, payload: dict[str, Any]) -> int:
        self._events.append({"t": _t(t), **payload})
        return len(self._events) - 1

    def _public(self, t: float, event: public.RealtimeEvent) -> int:
        return self._event(t, codec.to_dict(event))

    def _response(self, response_id: str | None) -> int:
        if response_id is None:
            return -1
        index = self._responses.get(response_id)
        if index is None:
            index = self._responses[response_id] = len(self._responses)
        return index

    def _add(
        self,
        lane: str,
        kind: str,
        t0: float,
        t1: float | None = None,
        *,
        event: int,
        label: str = "",
        response: int = -1,
        **extra: Any,
    ) -> dict[str, Any]:
        item = {
            "k": kind,
            "t0": _t(t0),
            "t1": _t(t0 if t1 is None else max(t0, t1)),
            "e": event,
            "r": response,
            "label": label,
            **extra,
        }
        self._items[lane].append(item)
        return item

    def _learn_generated_text(self) -> None:
        for event in self._call.inputs:
            if isinstance(event, ev.OutputAudioTranscriptDeltaForItem):
                self._generated[event.item_id] = (
                    self._generated.get(event.item_id, "") + event.delta
                )
                self._item_response.setdefault(event.item_id, event.response_id)
            elif isinstance(event, ev.AssistantTranscriptFinal):
                self._generated[event.item_id] = event.text
                self._item_response.setdefault(event.item_id, event.response_id)

    # -- lanes from control events ----------------------------------------------------

    def _control_lanes(self) -> None:
        speech_start: tuple[float, int] | None = None
        # After a commit, partials transcribe speech that already ended.
        awaiting_final = False
        captions: dict[tuple[str, str], dict[str, Any]] = {}
        tools: dict[str, dict[str, Any]] = {}
        responses_before_call: dict[str, frozenset[str]] = {}
        seen_responses: set[str] = set()
        closed_at = self._call.duration_s

        for t, event in self._call.published:
            match event:
                case public.OutputAudioChunk() | public.OutputVideoChunk():
                    if event.response_id is not None:
                        seen_responses.add(event.response_id)
                    self._finish_tools_answered(tools, responses_before_call, event.response_id, t)
                    continue
                case public.TurnStarted():
                    index = self._public(t, event)
                    if speech_start is None:
                        speech_start = (t, index)
                    awaiting_final = False
                case public.InputTranscriptPartial(text=text):
                    index = self._public(t, event)
                    if speech_start is None and not awaiting_final:
                        speech_start = (t, index)
                    self._add("user", "partial", t, event=index, label=text)
                case public.TurnCommitted():
                    index = self._public(t, event)
                    if speech_start is not None:
                        self._add("user", "speech", speech_start[0], t, event=speech_start[1])
                        speech_start = None
                    awaiting_final = True
                    self._add("user", "commit", t, event=index, label="turn committed")
                case public.InputTranscriptFinal(text=text):
                    index = self._public(t, event)
                    if speech_start is not None:
                        self._add("user", "speech", speech_start[0], t, event=speech_start[1])
                        speech_start = None
                    awaiting_final = False
                    self._add("user", "final", t, event=index, label=text)
                case public.OutputAudioTranscriptDelta() | public.OutputTextDelta():
                    spoken = isinstance(event, public.OutputAudioTranscriptDelta)
                    if event.response_id is not None:
                        seen_responses.add(event.response_id)
                    self._finish_tools_answered(tools, responses_before_call, event.response_id, t)
                    key = ("spoken" if spoken else "text", event.item_id or event.response_id or "")
                    span = captions.get(key)
                    if span is None:
                        summary = {
                            "type": codec.wire_tag(type(event)),
                            "response_id": event.response_id,
                            "item_id": event.item_id,
                            "deltas": 0,
                            "text": "",
                        }
                        span = captions[key] = self._add(
                            "captions",
                            "caption" if spoken else "text",
                            t,
                            event=self._event(t, summary),
                            response=self._response(event.response_id),
                        )
                    summary = self._events[span["e"]]
                    summary["deltas"] += 1
                    summary["text"] += event.delta
                    span["t1"] = _t(t)
                    span["label"] = summary["text"]
                case public.TurnCompleted(response_id=response_id, stop_reason=stop_reason):
                    seen_responses.add(response_id)
                    self._add(
                        "captions",
                        "done",
                        t,
                        event=self._public(t, event),
                        label=f"response ended: {stop_reason.value}",
                        response=self._response(response_id),
                    )
                case public.Interrupted(response_id=response_id):
                    self._add(
                        "bargein",
                        "interrupted",
                        t,
                        event=self._public(t, event),
                        label="barge-in",
                        response=self._response(response_id),
                    )
                case public.AssistantTranscriptTruncated(
                    item_id=item_id, audio_played_ms=played, truncated_text=heard
                ):
                    generated = self._generated.get(item_id, "")
                    block = self._heard_blocks.get(item_id)
                    if heard is None:
                        # The provider sent no text: the session estimated what was heard.
                        heard = block.text if block is not None else ""
                    self._add(
                        "bargein",
                        "truncated",
                        t,
                        event=self._public(t, event),
                        label=f"cut at {played} ms",
                        response=self._response(self._item_response.get(item_id)),
                        heard=heard,
                        generated=generated,
                        estimated=block is not None and block.estimated,
                    )
                case public.ToolCallRequested(call_id=call_id, tool_name=name):
                    item = self._add("tools", "tool", t, closed_at, event=self._public(t, event))
                    item.update(label=name, outcome="no outcome in the trace", open=True)
                    tools[call_id] = item
                    responses_before_call[call_id] = frozenset(seen_responses)
                case public.ToolCallCancelled(call_id=call_id):
                    self._end_tool(tools, call_id, t, "cancelled", self._public(t, event))
                case public.ToolCallCompleted(call_id=call_id):
                    self._end_tool(tools, call_id, t, "completed", self._public(t, event))
                case public.ToolCallFailed(call_id=call_id, error=error):
                    self._end_tool(tools, call_id, t, f"failed: {error}", self._public(t, event))
                case public.ToolCallTimedOut(call_id=call_id, elapsed_ms=elapsed):
                    outcome = f"timed out after {elapsed} ms"
                    self._end_tool(tools, call_id, t, outcome, self._public(t, event))
                case public.ProviderError(code=code, message=message, fatal=fatal):
                    label = f"{'fatal ' if fatal else ''}{code}: {message}"
                    self._add("errors", "error", t, event=self._public(t, event), label=label)
                case public.SessionClosed(reason=reason, error=error):
                    index = self._public(t, event)
                    if reason == "failed":
                        label = f"session failed: {error}" if error else "session failed"
                        self._add("errors", "error", t, event=index, label=label)
                case public.TranscriptCommitted() | public.TranscriptRevised():
                    self._commit_times.setdefault(_message_key(event.message), t)
                    if isinstance(event, public.TranscriptRevised):
                        self._revised[_message_key(event.message)] = t
                case public.ResponseLatency():
                    # Timed on the replay's clock, which ran as fast as it could:
                    # the latency lane times responses on the trace's own clock.
                    pass
                case _:
                    self._public(t, event)
        if speech_start is not None:
            self._add("user", "speech", speech_start[0], closed_at, event=speech_start[1])

    def _finish_tools_answered(
        self,
        tools: dict[str, dict[str, Any]],
        responses_before_call: dict[str, frozenset[str]],
        response_id: str | None,
        t: float,
    ) -> None:
        """A response that began after a call means the model had its answer and went on."""
        if response_id is None or not tools:
            return
        for call_id, item in list(tools.items()):
            if response_id not in responses_before_call[call_id]:
                item.update(t1=_t(t), outcome="answered: the model went on", open=False)
                del tools[call_id]

    def _end_tool(
        self, tools: dict[str, dict[str, Any]], call_id: str, t: float, outcome: str, event: int
    ) -> None:
        item = tools.pop(call_id, None)
        if item is not None:
            item.update(t1=_t(t), outcome=outcome, open=False, end_event=event)

    # -- audio lanes ------------------------------------------------------------------

    def _audio_lanes(self) -> None:
        call = self._call
        received: dict[str, dict[str, Any]] = {}
        for t, event in call.published:
            if not isinstance(event, public.OutputAudioChunk):
                continue
            key = event.item_id or event.response_id or ""
            ms = event.chunk.duration_ms or 0.0
            item = received.get(key)
            if item is None:
                summary = {
                    "type": "output_audio_chunk",
                    "response_id": event.response_id,
                    "item_id": event.item_id,
                    "chunks": 0,
                    "audio_ms": 0.0,
                    "sample_rate_hz": event.chunk.sample_rate_hz,
                    "channels": event.chunk.channels,
                    "note": "audio payloads are not embedded",
                }
                item = received[key] = self._add(
                    "received",
                    "audio",
                    t,
                    event=self._event(t, summary),
                    response=self._response(event.response_id),
                )
            summary = self._events[item["e"]]
            summary["chunks"] += 1
            summary["audio_ms"] = round(summary["audio_ms"] + ms, 1)
            item["t1"] = _t(t)
            item["label"] = f"{summary['chunks']} chunks, {summary['audio_ms'] / 1000:.2f} s"

        buffer = SessionConfig().media_buffer
        listener = listen(call, media_buffer=buffer)
        for span in listener.played_spans():
            self._audio_span("played", span, f"played {span.ms / 1000:.2f} s")
        for span in listener.flushed_spans():
            self._audio_span("flushed", span, f"flushed {span.ms / 1000:.2f} s, never played")
        for drop in listener.drops:
            summary = {
                "type": "media_dropped",
                "dropped": drop.dropped,
                "dropped_ms": round(drop.dropped_ms, 1),
                "subscriber": f"a real-time player with media_buffer={buffer}",
            }
            self._add(
                "drops",
                "drop",
                drop.t,
                event=self._event(drop.t, summary),
                label=f"{drop.dropped} dropped ({drop.dropped_ms:.0f} ms)",
            )

    def _audio_span(self, kind: str, span: AudioSpan, label: str) -> None:
        summary: dict[str, Any] = {
            "type": f"audio_{kind}",
            "response_id": span.response_id,
            "item_id": span.item_id,
            "chunks": span.chunks,
            "audio_ms": round(span.ms, 1),
            "start": _t(span.start),
            "end": _t(span.end),
        }
        if span.flushed_at is not None:
            summary["flushed_at"] = _t(span.flushed_at)
        self._add(
            "played",
            kind,
            span.start,
            span.end,
            event=self._event(span.start, summary),
            label=label,
            response=self._response(span.response_id),
        )

    # -- latency ----------------------------------------------------------------------

    def _latency_lane(self) -> None:
        """Per response: from what it answers to its first audio, first text and its end."""
        tracker = LatencyTracker()
        for t, event in self._call.published:
            latency = tracker.observe(t, event)
            if latency is None or latency.completed_ms is None:
                continue
            start = t - latency.completed_ms / 1000.0
            marks = [
                {"t": _t(start + ms / 1000.0), "color": color, "what": what}
                for ms, color, what in (
                    (latency.first_text_ms, "#7fb8ff", "first text"),
                    (latency.first_audio_ms, "#5cc08a", "first audio"),
                )
                if ms is not None
            ]
            parts = [
                f"{what} {ms:.0f} ms"
                for what, ms in (
                    ("audio", latency.first_audio_ms),
                    ("text", latency.first_text_ms),
                    ("done", latency.completed_ms),
                )
                if ms is not None
            ]
            self._add(
                "latency",
                "latency",
                start,
                t,
                event=self._public(t, latency),
                label=" · ".join(parts),
                response=self._response(latency.response_id),
                marks=marks,
            )

    # -- the transcript ---------------------------------------------------------------

    def _transcript(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        for message in self._call.transcript:
            key = _message_key(message)
            entry: dict[str, Any] = {
                "t": _t(self._commit_times.get(key, self._call.duration_s)),
                "json": codec.to_dict(message),
                "items": list(key),
            }
            if key in self._revised:
                entry["revised"] = _t(self._revised[key])
            if isinstance(message, tr.UserMessage):
                entry.update(role="user", text=message.text)
            else:
                entry.update(
                    role="assistant",
                    r=self._response(message.response_id),
                    stop_reason=message.stop_reason.value,
                    blocks=[self._block(block) for block in message.blocks],
                )
            messages.append(entry)
        return messages

    def _block(self, block: tr.Block) -> dict[str, Any]:
        if isinstance(block, tr.TextBlock):
            return {"kind": "text", "text": block.text}
        entry: dict[str, Any] = {"kind": "spoken", "text": block.text}
        if block.truncated:
            generated = self._generated.get(block.item_id, block.text)
            entry.update(
                truncated=True,
                estimated=block.estimated,
                audio_played_ms=block.audio_played_ms,
                generated=generated,
            )
        return entry


def _message_key(message: tr.Message) -> tuple[str, ...]:
    if isinstance(message, tr.UserMessage):
        return (message.item_id,)
    return message.item_ids
