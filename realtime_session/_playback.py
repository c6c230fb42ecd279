"""What the session knows about responses and their audio: the one owner of that bookkeeping.

Per response: whether it is in flight, finished, or interrupted (its later media
is suppressed). Per item: the audio received for each content index, when its
first chunk arrived, the response it belongs to, and the furthest playback
position the application reported. The session asks it which responses are
still playing (for a playback-aware barge-in) and, at a barge-in, how far each
interrupted item got.

How a response *ended* (its stop reason) is the reducer's to know; this module
only knows that it did.

Memory. A finished response is forgotten, with its items, once a response that
was first seen after it finished has finished too: the provider has moved on by
then, and the player with it. Nothing else refers to a finished response except
a truncation of one of its items, which is then estimated without its audio
(:func:`~realtime_session._heard.estimate_heard_prefix` at the fallback rate).
A later event naming a forgotten response starts a new record. Items whose
chunks carried no response id belong to no response and are kept.

Cost: an audio chunk costs a dictionary lookup and an addition; the clock is
read once per item, at its first chunk. :meth:`PlaybackTracker.responses_still_playing`
looks only at items with a playback report, of responses not yet forgotten.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, final

if TYPE_CHECKING:
    from collections.abc import Callable


class _Response:
    __slots__ = ("finished_at", "first_seen", "interrupted", "items", "response_id")

    def __init__(self, response_id: str, first_seen: int) -> None:
        self.response_id = response_id
        # Positions in one sequence of "first seen" and "finished" moments.
        self.first_seen = first_seen
        self.finished_at = 0
        self.interrupted = False
        self.items: list[_Item] = []


class _Item:
    __slots__ = ("first_chunk_at", "item_id", "received_ms", "reported_ms", "response")

    def __init__(self, item_id: str, response: _Response | None, first_chunk_at: float) -> None:
        self.item_id = item_id
        self.response = response
        self.first_chunk_at = first_chunk_at
        # Audio received per content index, in ms.
        self.received_ms: dict[int, float] = {}
        self.reported_ms: float | None = None


@final
class PlaybackTracker:
    """Responses in flight and finished, audio received and played, per item.

    ``clock`` returns seconds (the session passes ``anyio.current_time``); it is
    called once per new item. Synchronous and single-threaded: every method is
    called from the session's event loop.
    """

    __slots__ = (
        "_by_id",
        "_clock",
        "_finished",
        "_items",
        "_reported",
        "_sequence",
        "in_flight",
        "interrupted",
    )

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        #: Responses seen and not finished, in first-seen order. The session's
        #: hot path reads it directly: ``response_id in tracker.in_flight``.
        self.in_flight: dict[str, None] = {}
        #: Interrupted responses not yet forgotten: their media is suppressed.
        self.interrupted: set[str] = set()
        self._by_id: dict[str, _Response] = {}
        self._finished: deque[_Response] = deque()
        self._items: dict[str, _Item] = {}
        self._reported: dict[str, _Item] = {}
        self._sequence = 0

    def __len__(self) -> int:
        """How many responses are remembered (in flight or finished, not yet forgotten)."""
        return len(self._by_id)

    # -- responses ------------------------------------------------------------------

    def saw_response(self, response_id: str) -> None:
        """An event named ``response_id``: it is in flight unless it already finished."""
        if response_id not in self._by_id:
            self._record(response_id)
            self.in_flight[response_id] = None

    def finished(self, response_id: str) -> None:
        """The response completed (its first ``TurnCompleted``) or was interrupted."""
        response = self._by_id.get(response_id)
        if response is None:
            response = self._record(response_id)
        elif response_id not in self.in_flight:
            return  # it had already finished
        else:
            del self.in_flight[response_id]
        self._sequence += 1
        response.finished_at = self._sequence
        # Forget what had finished before this one was first seen: the
        # conversation has moved past it.
        finished = self._finished
        while finished and finished[0].finished_at < response.first_seen:
            self._forget(finished.popleft())
        finished.append(response)

    def interrupt(self, response_id: str) -> None:
        """A barge-in on the response: it is finished, and its later media is suppressed."""
        self.finished(response_id)
        response = self._by_id[response_id]
        response.interrupted = True
        self.interrupted.add(response_id)

    def _record(self, response_id: str) -> _Response:
        self._sequence += 1
        response = self._by_id[response_id] = _Response(response_id, self._sequence)
        return response

    def _forget(self, response: _Response) -> None:
        del self._by_id[response.response_id]
        self.interrupted.discard(response.response_id)
        items = self._items
        reported = self._reported
        for item in response.items:
            if items.get(item.item_id) is item:
                del items[item.item_id]
            if reported.get(item.item_id) is item:
                del reported[item.item_id]

    # -- audio and playback ---------------------------------------------------------

    def audio(
        self, response_id: str | None, item_id: str, content_index: int, duration_ms: float
    ) -> None:
        """An audio chunk of ``item_id`` reached subscribers."""
        item = self._items.get(item_id)
        if item is None:
            response = self._by_id.get(response_id) if response_id is not None else None
            item = self._items[item_id] = _Item(item_id, response, self._clock())
            if response is not None:
                response.items.append(item)
        elif item.response is None and response_id is not None:
            response = self._by_id.get(response_id)
            if response is not None:
                item.response = response
                response.items.append(item)
        received = item.received_ms
        received[content_index] = received.get(content_index, 0.0) + duration_ms

    def report(self, item_id: str, played_ms: float) -> None:
        """The application played ``played_ms`` of the item; the furthest report counts.

        A report for an item the tracker holds no audio of is ignored.
        """
        item = self._items.get(item_id)
        if item is None:
            return
        if item.reported_ms is None or played_ms > item.reported_ms:
            item.reported_ms = played_ms
            self._reported[item_id] = item

    def responses_still_playing(self) -> list[str]:
        """Responses, not interrupted, with an item whose reported playback is behind its audio.

        In the order their items were first reported. Items without a report
        are not counted: without a player's word the session cannot know.
        """
        behind: list[str] = []
        for item in self._reported.values():
            response = item.response
            if response is None or response.interrupted or response.response_id in behind:
                continue
            assert item.reported_ms is not None
            if item.reported_ms < sum(item.received_ms.values()):
                behind.append(response.response_id)
        return behind

    def audio_items(self, response_id: str) -> list[tuple[str, int, float]]:
        """``(item_id, content_index, received_ms)`` of every audio segment of the response."""
        response = self._by_id.get(response_id)
        if response is None:
            return []
        return [
            (item.item_id, index, received)
            for item in response.items
            for index, received in item.received_ms.items()
        ]

    def received_ms(self, item_id: str, content_index: int) -> float:
        """Audio received for one segment of an item, in ms (0 if unknown or forgotten)."""
        item = self._items.get(item_id)
        return item.received_ms.get(content_index, 0.0) if item is not None else 0.0

    def response_of(self, item_id: str) -> str | None:
        """The response an audio item belongs to, if known."""
        item = self._items.get(item_id)
        if item is None or item.response is None:
            return None
        return item.response.response_id

    def reported_ms(self, item_id: str) -> float | None:
        """The furthest playback position reported for the item, or ``None``."""
        item = self._items.get(item_id)
        return item.reported_ms if item is not None else None

    def estimated_ms(self, item_id: str, content_index: int) -> float:
        """Where a player would be: the audio received, capped by the time since the first chunk.

        A player that started playing the item when its first chunk arrived
        and played it in real time would have played this much of the segment.
        """
        item = self._items.get(item_id)
        if item is None:
            return 0.0
        elapsed_ms = (self._clock() - item.first_chunk_at) * 1000.0
        return max(0.0, min(item.received_ms.get(content_index, 0.0), elapsed_ms))
