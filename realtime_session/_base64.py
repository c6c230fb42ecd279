"""Base64 for media, as the standard library reads and writes it, faster.

Audio is most of what a call carries, and every chunk crosses base64 once each
way (a provider's wire, the codec's JSON): for a 20 ms chunk the standard
library takes about 1.2 µs to write it and 2.7 µs to read it with validation,
``pybase64`` a tenth of that. ``pybase64`` writes exactly what the standard
library writes. It reads less: only padded text of the base64 alphabet, which
the standard library reads too, to the same bytes. So whatever it refuses is
judged by the standard library, and the outcome is always the standard
library's.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

import pybase64

#: Standard base64 with padding, as ``base64.b64encode(data).decode()`` writes it.
encode: Final = pybase64.b64encode_as_string

#: ``fast_decode(text, None, True)`` reads padded base64 only, and raises
#: ``ValueError`` for anything else, which :func:`decode` or
#: :func:`decode_strict` then judge: for a caller that inlines them.
fast_decode: Final = pybase64.b64decode


def decode(text: str) -> bytes:
    """Read ``text`` as ``base64.b64decode(text, validate=True)`` does.

    :raises ValueError: (``binascii.Error`` or a non-ASCII ``text``) as it does.
    """
    try:
        # ``validate=True`` by position: parsing keywords is a third of the call.
        return fast_decode(text, None, True)
    except ValueError:
        return base64.b64decode(text, validate=True)


def decode_strict(text: str) -> bytes:
    """Read ``text`` as ``binascii.a2b_base64(text, strict_mode=True)`` does.

    :raises ValueError: (``binascii.Error`` or a non-ASCII ``text``) as it does.
    """
    try:
        return fast_decode(text, None, True)
    except ValueError:
        return binascii.a2b_base64(text, strict_mode=True)
