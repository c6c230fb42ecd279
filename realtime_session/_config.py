"""Session configuration and statistics records."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal, final

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable

MediaDropPolicy = Literal["oldest", "newest"]
UnheardPolicy = Literal["drop", "keep"]


def _positive_int(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"SessionConfig.{attribute.name} must be an int >= 1, got {value!r}")


def _positive_number(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValueError(f"SessionConfig.{attribute.name} must be a number > 0, got {value!r}")


def _one_of(*allowed: str) -> Callable[[Any, attrs.Attribute[str], str], None]:
    def check(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise ValueError(
                f"SessionConfig.{attribute.name} must be one of {choices}, got {value!r}"
            )

    return check


@final
@attrs.frozen(kw_only=True)
class SessionConfig:
    """How a :class:`~realtime_session.RealtimeSession` behaves.

    :param media_buffer: media chunks each subscription may hold before the media
        lane drops (per subscription; ``events(media_buffer=...)`` overrides it).
    :param media_drop: which chunk an overflowing media lane drops: ``"oldest"``
        keeps the listener live, ``"newest"`` keeps what is already queued.
    :param max_pending: undelivered control events a subscription may hold before
        it is failed with ``SubscriberLagged`` (or, with ``backpressure=True``,
        before the session waits for it).
    :param unheard_policy: what the transcript keeps of spoken text the user talked
        over when no truncation tells what was heard: ``"drop"`` or ``"keep"``.
    :param orphan_timeout_s: how long an item may wait for a predecessor that was
        never observed before it is committed without it.
    :param tool_timeout_s: how long a tool may run before it is cancelled.
    :param auto_truncate: on barge-in, settle each interrupted audio item by how
        much of it was played (reported with ``report_playback``, or estimated):
        an item played to the end keeps its whole text; otherwise the provider is
        told to truncate it there, or, when it cannot truncate (or the session
        has no commands), the session cuts its own transcript. ``False`` leaves
        truncation to the application.
    :param record_to: a file to append every applied event to, as JSON lines.
    :param recording_required: what a recording that cannot be written (a full
        disk, a missing directory) does. ``False`` (the default): it fails alone;
        the session announces it with ``RecordingFailed``, logs it, counts what
        it applies unrecorded in ``SessionStats.events_not_recorded`` and goes
        on. ``True``: the session ends ``failed`` instead, before it applies any
        event it could not record.
    :param backpressure_timeout_s: how long one ``backpressure=True`` subscription
        that stopped reading may hold the session up before it is failed with
        ``SubscriberLagged`` (the session then reads its provider again). Keep
        it below the provider connection's keepalive timeout: while the session
        waits, nobody reads the connection.
    """

    media_buffer: int = attrs.field(default=256, validator=_positive_int)
    media_drop: MediaDropPolicy = attrs.field(
        default="oldest", validator=_one_of("oldest", "newest")
    )
    max_pending: int = attrs.field(default=10_000, validator=_positive_int)
    unheard_policy: UnheardPolicy = attrs.field(default="drop", validator=_one_of("drop", "keep"))
    orphan_timeout_s: float = attrs.field(default=5.0, validator=_positive_number)
    tool_timeout_s: float = attrs.field(default=15.0, validator=_positive_number)
    auto_truncate: bool = True
    record_to: str | os.PathLike[str] | None = None
    recording_required: bool = False
    backpressure_timeout_s: float = attrs.field(default=10.0, validator=_positive_number)


@final
@attrs.frozen(kw_only=True)
class SessionStats:
    """A snapshot of a session's counters.

    ``events_in`` counts provider events received (rejected ones included);
    ``published`` counts events published to subscribers (each once, however many
    subscribers); the ``media_*`` counters add up every subscription's drops and
    barge-in flushes, and the chunks of interrupted responses the session stopped
    publishing; ``pending_items`` is the number of staged transcript items;
    ``events_not_recorded`` counts events the session applied without recording
    them, after its recording failed (see ``SessionConfig.recording_required``);
    ``duplicate_deltas`` counts deltas dropped because their ``delta_id`` was
    already seen for their item (a provider replaying or repeating events).
    ``reconnects`` counts provider connections replaced by a new one, and
    ``reconnect_gap_ms`` the time, summed, no connection carried the session;
    ``gap_input_held`` counts the input messages held during those gaps (and sent
    once on the new connection), ``gap_input_dropped`` those dropped because the
    hold was full or no new connection came.

    Latency, over the responses so far, in whole milliseconds (``None`` before
    there is any; see :class:`~realtime_session.public.ResponseLatency` for what
    each response's figures measure): ``responses_timed`` responses had a
    user turn or tool answer to be timed from; ``first_audio_ms_median`` and
    ``first_audio_ms_max``, from there to the first audio chunk (what a voice
    bot is judged by); ``first_text_ms_median`` to the first caption or text;
    ``completed_ms_median`` to the response's end; ``tool_ms_median`` and
    ``tool_ms_max``, from a tool call's request to its answer.
    """

    events_in: int
    published: int
    rejected: int
    media_dropped: int
    media_flushed: int
    media_suppressed: int
    subscribers: int
    pending_items: int
    tool_calls: int
    events_not_recorded: int = 0
    duplicate_deltas: int = 0
    reconnects: int = 0
    reconnect_gap_ms: int = 0
    gap_input_held: int = 0
    gap_input_dropped: int = 0
    responses_timed: int = 0
    first_audio_ms_median: int | None = None
    first_audio_ms_max: int | None = None
    first_text_ms_median: int | None = None
    completed_ms_median: int | None = None
    tool_ms_median: int | None = None
    tool_ms_max: int | None = None
