"""Estimating what the user heard of a spoken item when the provider does not say.

Transcripts run ahead of audio: a model streams the words of a sentence well
before its audio finishes playing. When a truncation carries only a playback
position, the words heard are estimated from it.
"""

from __future__ import annotations

import re

#: Speaking rate assumed while an item's audio is still arriving (150 words per minute).
FALLBACK_WORDS_PER_S = 2.5

_WORD = re.compile(r"\S+")


def estimate_heard_prefix(
    text: str, *, played_ms: float, received_ms: float, audio_complete: bool
) -> str:
    """The first ``n`` whitespace-separated words of ``text``, spacing kept.

    ``n = min(words, floor(played_s * rate + 0.5))``. When the item's audio is
    complete, ``rate`` is the item's own: its words over its received audio.
    Otherwise received audio says little about how far the words got, and the
    rate is :data:`FALLBACK_WORDS_PER_S`. Nothing played means nothing heard.
    """
    if played_ms <= 0:
        return ""
    ends = [match.end() for match in _WORD.finditer(text)]
    if not ends:
        return ""
    if audio_complete and received_ms > 0:
        rate = len(ends) / (received_ms / 1000.0)
    else:
        rate = FALLBACK_WORDS_PER_S
    n = min(len(ends), int(played_ms / 1000.0 * rate + 0.5))
    return text[: ends[n - 1]] if n > 0 else ""
