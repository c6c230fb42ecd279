"""Standard JSON, strictly: one reading and one writing of JSON text for the whole package."""

from __future__ import annotations

import functools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_session import _json, codec


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


@pytest.mark.parametrize(
    ("text", "path", "last_wins"),
    [
        ('{"a": 1, "b": {"c": 2, "c": 3}}', ".b.c", {"a": 1, "b": {"c": 3}}),
        (b'[{"a": 1, "a": 1}]', "[0].a", [{"a": 1}]),
    ],
)
def test_reading_for_the_codec_refuses_a_repeated_key_at_its_path(
    text: str | bytes, path: str, last_wins: object
) -> None:
    with pytest.raises(_json.JsonError) as caught:
        _json.parse(text, unique_keys=True)
    assert caught.value.path == path
    assert caught.value.reason.startswith("repeated key ")
    # Provider messages are read as the provider wrote them: the last one wins.
    assert _json.parse(text) == last_wins


def nested(depth: int) -> object:
    value: object = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "path", "reason"),
    [
        ({"a": [1, math.nan]}, ".a[1]", "expected a finite number, got nan"),
        ({"a": {1, 2}}, ".a", "not a JSON value: a Python set"),
        ({1: "x"}, "", "object keys must be strings, got an integer"),
        ({"odd key": [[]] * 2}, '["odd key"][0]', "the same container appears twice"),
        (
            nested(300),
            "[0]" * 256,
            "nested more than 256 levels deep",
        ),
    ],
)
def test_a_value_that_is_not_json_is_refused_where_the_fault_is(
    value: object, path: str, reason: str
) -> None:
    with pytest.raises(_json.JsonError) as caught:
        _json.check_value(value)
    assert (caught.value.path, caught.value.reason[: len(reason)]) == (path, reason)
    # The codec's public check says the same, as a DecodeError at a "$" path.
    with pytest.raises(codec.DecodeError) as decoded:
        codec.check_json_value(value)
    assert (decoded.value.path, decoded.value.reason) == (f"${path}", caught.value.reason)


def test_dumps_ascii_escapes_what_is_outside_ascii() -> None:
    assert _json.dumps({"a": "é\x7f"}, ascii=True) == '{"a":"\\u00e9\\u007f"}'


# JSON text is read by a fast parser, and by the standard library when that one
# refuses; both must accept exactly the same texts, as the same values.

json_scalars_text = st.sampled_from(
    [
        *["0", "-0", "1.5", "-0.0", "1e400", "1E2", "01", "1.", "true", "nul", "null", "NaN"],
        *['"a"', '"\\u00e9"', '"\\ud800"', '"\\ud83d\\ude00"', '"\x7f"', '"\x01"', '"\\x"'],
    ]
)


@st.composite
def json_like_texts(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 2 or draw(st.booleans()):
        return draw(json_scalars_text)
    if draw(st.booleans()):
        items = draw(st.lists(json_like_texts(depth + 1), max_size=3))
        return "[" + ",".join(items) + "]"
    keys = draw(st.lists(st.sampled_from(['"a"', '"b"', '"type"', '"\\u0061"']), max_size=3))
    values = [draw(json_like_texts(depth + 1)) for _ in keys]
    space = draw(st.sampled_from(["", " ", "\n"]))
    return "{" + ",".join(f"{k}{space}:{v}" for k, v in zip(keys, values, strict=True)) + "}"


@settings(max_examples=400, deadline=None)
@given(text=json_like_texts(), cut=st.integers(min_value=0, max_value=3))
def test_the_fast_and_the_standard_json_readers_agree(text: str, cut: int) -> None:
    for candidate in (text, text[: len(text) - cut], text.encode("utf-8", "surrogatepass")):
        outcomes = []
        for parse in (functools.partial(_json.parse, unique_keys=True), _json.parse_slowly):
            try:
                outcomes.append(repr(parse(candidate)))
            except _json.JsonError as error:
                outcomes.append(f"JsonError at {error.path}")
        assert outcomes[0] == outcomes[1], candidate
