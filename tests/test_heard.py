"""The heard-prefix estimate for truncations that carry no text."""

from __future__ import annotations

import pytest

from realtime_session._heard import estimate_heard_prefix


@pytest.mark.parametrize(
    ("played_ms", "received_ms", "complete", "expected"),
    [
        (0, 2000, True, ""),
        (1000, 2000, True, "one  two three four"),  # 8 words / 2 s = 4 w/s
        (2000, 2000, True, "one  two three four five, six\tseven eight"),
        (9000, 2000, True, "one  two three four five, six\tseven eight"),
        (1000, 2000, False, "one  two three"),  # 2.5 w/s: floor(3.0)
        (100, 2000, False, ""),  # floor(0.75) = 0
        (200, 2000, False, "one"),  # floor(1.0) = 1
        (1000, 0, True, "one  two three"),  # complete but no audio: fallback rate
    ],
)
def test_estimate(played_ms: int, received_ms: float, complete: bool, expected: str) -> None:
    text = "one  two three four five, six\tseven eight "
    assert (
        estimate_heard_prefix(
            text, played_ms=played_ms, received_ms=received_ms, audio_complete=complete
        )
        == expected
    )


def test_blank_text_has_no_prefix() -> None:
    assert estimate_heard_prefix("   ", played_ms=5000, received_ms=1000, audio_complete=True) == ""
