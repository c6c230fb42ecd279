"""Base64 for media: the standard library's outcome, every time, whichever reader decided."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_session import _base64

if TYPE_CHECKING:
    from collections.abc import Callable

# Texts near the edges: the alphabet, padding in and out of place, characters the
# validating reader refuses, and valid base64 of short random bytes.
_TEXTS = st.text(alphabet="AQgw+/=-_ \nÄ", max_size=12) | st.binary(max_size=9).map(
    lambda raw: base64.b64encode(raw).decode()
)
_PADDING = st.sampled_from(["", "=", "==", "===", "===="])


def _outcome(read: Callable[[str], bytes], text: str) -> bytes | None:
    try:
        return read(text)
    except ValueError:  # binascii.Error, or a non-ASCII character
        return None


def _validating(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _strict(text: str) -> bytes:
    return binascii.a2b_base64(text, strict_mode=True)


@pytest.mark.parametrize(
    ("read", "reference"),
    [(_base64.decode, _validating), (_base64.decode_strict, _strict)],
    ids=["decode", "decode_strict"],
)
@settings(max_examples=1000, deadline=None)
@given(text=_TEXTS, padding=_PADDING)
def test_reads_as_its_standard_reader_does(
    read: Callable[[str], bytes], reference: Callable[[str], bytes], text: str, padding: str
) -> None:
    text += padding
    assert _outcome(read, text) == _outcome(reference, text)


@pytest.mark.parametrize("read", [_base64.decode, _base64.decode_strict])
def test_a_refusal_is_the_standard_librarys_error(read: Callable[[str], bytes]) -> None:
    with pytest.raises(binascii.Error):
        read("QUJ*")
    with pytest.raises(ValueError, match="ASCII"):
        read("QUJÄ")


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=300))
def test_encode_writes_as_the_standard_library_writes(raw: bytes) -> None:
    assert _base64.encode(raw) == base64.b64encode(raw).decode("ascii")


def test_a_20_ms_chunk_round_trips() -> None:
    raw = bytes(range(256)) * 3 + b"\x01\x02" * 96  # 960 bytes: 20 ms of 24 kHz PCM16
    text = _base64.encode(raw)
    assert _base64.decode(text) == _base64.decode_strict(text) == raw
