"""Standard JSON, strictly: one reading and one writing of JSON text for the whole package."""

from __future__ import annotations

import math

import pytest

from realtime_session import _json


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"a": NaN}', "not valid JSON: NaN is not a JSON number"),
        ("[Infinity]", "not valid JSON: Infinity is not a JSON number"),
        ("-Infinity", "not valid JSON: -Infinity is not a JSON number"),
        ("1e400", "not valid JSON: 1e400 does not fit a finite number"),
        ('{"a": oops}', "not valid JSON: Expecting value at column 7"),
        ('{\n"a": oops}', "not valid JSON: Expecting value at line 2, column 6"),
        ("", "not valid JSON: Expecting value at column 1"),
        (b'{"a": "\xff"}', "not valid JSON: 'utf-8' codec can't decode byte 0xff"),
        ("[" * 100_000 + "]" * 100_000, "not valid JSON: nested too deeply"),
    ],
)
def test_parse_refuses_what_is_not_standard_json_in_one_phrasing(
    text: str | bytes, reason: str
) -> None:
    with pytest.raises(_json.JsonError) as caught:
        _json.parse(text)
    assert str(caught.value).startswith(reason)
    assert isinstance(caught.value, ValueError)


def test_parse_reads_standard_json_from_text_and_utf8_bytes() -> None:
    assert _json.parse('{"a": [1, 2.5, "é", null, true]}') == {"a": [1, 2.5, "é", None, True]}
    assert _json.parse('{"a": "é"}'.encode()) == {"a": "é"}
    assert _json.parse(str(2**80)) == 2**80


def test_dumps_is_compact_or_spaced_and_keeps_non_ascii() -> None:
    value = {"city": "Lisboa é", "temps": [21, 19.5]}
    assert _json.dumps(value) == '{"city":"Lisboa é","temps":[21,19.5]}'
    assert _json.dumps(value, spaced=True) == '{"city": "Lisboa é", "temps": [21, 19.5]}'


@pytest.mark.parametrize("value", [math.nan, [math.inf], {"a": object()}, b"bytes"])
def test_dumps_refuses_what_json_cannot_carry_naming_it(value: object) -> None:
    with pytest.raises(TypeError, match=r"^the result of tool call 'c1' is not JSON-serialisable"):
        _json.dumps(value, what="the result of tool call 'c1'")
