"""PlaybackTracker: responses in flight and finished, audio received and played, and what it forgets."""

from __future__ import annotations

from realtime_session._playback import PlaybackTracker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def answered(tracker: PlaybackTracker, response_id: str, item_id: str, ms: float) -> None:
    tracker.saw_response(response_id)
    tracker.audio(response_id, item_id, 0, ms)


def test_responses_are_in_flight_until_they_finish_or_are_interrupted() -> None:
    tracker = PlaybackTracker(Clock())
    for response_id in ("r1", "r2", "r3"):
        tracker.saw_response(response_id)
    tracker.finished("r2")
    tracker.interrupt("r3")
    assert list(tracker.in_flight) == ["r1"]
    assert tracker.interrupted == {"r3"}
    # A finished response is not in flight again when a late event names it.
    tracker.saw_response("r2")
    assert list(tracker.in_flight) == ["r1"]


def test_audio_and_reports_per_item() -> None:
    tracker = PlaybackTracker(Clock())
    answered(tracker, "r1", "a1", 200)
    tracker.audio("r1", "a1", 0, 300)
    tracker.audio("r1", "a1", 1, 40)
    assert tracker.audio_items("r1") == [("a1", 0, 500.0), ("a1", 1, 40.0)]
    assert tracker.response_of("a1") == "r1"
    tracker.report("a1", 120)
    tracker.report("a1", 80)  # the furthest position counts
    assert tracker.reported_ms("a1") == 120
    tracker.report("unknown", 50)  # no audio of it: ignored
    assert tracker.reported_ms("unknown") is None


def test_the_estimate_is_the_audio_received_capped_by_the_time_since_the_first_chunk() -> None:
    clock = Clock()
    tracker = PlaybackTracker(clock)
    answered(tracker, "r1", "a1", 1000)
    clock.now += 0.25
    tracker.audio("r1", "a1", 0, 1000)  # later chunks do not restart the clock
    assert tracker.estimated_ms("a1", 0) == 250
    clock.now += 10
    assert tracker.estimated_ms("a1", 0) == 2000
    assert tracker.estimated_ms("unknown", 0) == 0


def test_only_reported_items_behind_their_audio_are_still_playing() -> None:
    tracker = PlaybackTracker(Clock())
    answered(tracker, "r1", "a1", 1000)
    answered(tracker, "r2", "a2", 1000)
    answered(tracker, "r3", "a3", 1000)
    tracker.report("a1", 400)  # behind
    tracker.report("a2", 1000)  # played to the end
    # r3 has no report: the session cannot know, so it is not counted.
    assert tracker.responses_still_playing() == ["r1"]
    tracker.interrupt("r1")
    assert tracker.responses_still_playing() == []


def test_a_finished_response_is_forgotten_once_a_later_one_finished() -> None:
    tracker = PlaybackTracker(Clock())
    answered(tracker, "r1", "a1", 1000)
    tracker.interrupt("r1")
    answered(tracker, "r2", "a2", 500)  # first seen after r1 finished
    tracker.report("a1", 100)
    assert len(tracker) == 2
    tracker.finished("r2")
    assert len(tracker) == 1
    assert tracker.interrupted == set()
    assert tracker.audio_items("r1") == []
    assert tracker.received_ms("a1", 0) == 0
    assert tracker.reported_ms("a1") is None
    assert tracker.audio_items("r2") == [("a2", 0, 500.0)]


def test_responses_that_overlapped_are_kept_until_a_later_one_finishes() -> None:
    tracker = PlaybackTracker(Clock())
    tracker.saw_response("r1")
    tracker.saw_response("r2")  # first seen before r1 finished
    tracker.finished("r1")
    tracker.finished("r2")
    assert len(tracker) == 2
    tracker.saw_response("r3")
    assert len(tracker) == 3  # in flight: never forgotten
    tracker.finished("r3")
    assert len(tracker) == 1


def test_memory_stays_flat_over_a_long_conversation() -> None:
    clock = Clock()
    tracker = PlaybackTracker(clock)
    for turn in range(2001):
        answered(tracker, f"r{turn}", f"a{turn}", 800)
        tracker.report(f"a{turn}", 300)
        if turn % 2:
            tracker.interrupt(f"r{turn}")
        else:
            tracker.finished(f"r{turn}")
    assert len(tracker) <= 2
    assert tracker.responses_still_playing() == ["r2000"]
