"""The JSON-with-comments parser: what it accepts, what it refuses, and where it says things are."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tc_calendar._jsonc import DuplicateKeyError, JsoncSyntaxError, Position, parse


def test_comments_of_both_kinds_and_trailing_commas_are_accepted() -> None:
    text = """{
      // a line comment
      "a": [1, 2, 3,], /* a block
      comment */ "b": {"c": null,},
    }"""
    assert parse(text).value == {"a": [1, 2, 3], "b": {"c": None}}


def test_a_comment_between_the_colon_and_the_value_is_whitespace() -> None:
    text = '{"password":\n  /* nothing yet */ "", // by default there is no password\n "x": 1}'
    document = parse(text)
    assert document.value == {"password": "", "x": 1}
    assert document.value_positions[("password",)] == Position(2, 21)


def test_value_and_key_positions_are_one_based_lines_and_columns() -> None:
    document = parse('{\n  "list": [\n    {"port": 70000}\n  ]\n}')
    assert document.value_positions[()] == Position(1, 1)
    assert document.key_positions[("list",)] == Position(2, 3)
    assert document.value_positions[("list", 0, "port")] == Position(3, 14)


def test_position_of_a_missing_value_is_that_of_its_nearest_ancestor() -> None:
    document = parse('{\n "a": {\n  "b": 1\n }\n}')
    assert document.position_of(("a", "missing")) == Position(2, 7)
    assert document.position_of(("nothing", 3)) == Position(1, 1)


def test_numbers_keep_integers_apart_from_floats() -> None:
    assert parse("[0, -12, 1.5, 2e3, -0.25E-1]").value == [0, -12, 1.5, 2000.0, -0.025]
    assert isinstance(parse("[7]").value, list)
    assert type(parse("[7]").value[0]) is int  # type: ignore[index]


def test_string_escapes_including_surrogate_pairs() -> None:
    assert parse(r'["a\"b\\c\/d\n\t", "\u00e9\ud83d\ude00"]').value == ['a"b\\c/d\n\t', "é😀"]


def test_a_byte_order_mark_at_the_start_is_ignored() -> None:
    assert parse('\ufeff{"a": true}').value == {"a": True}


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ('{\n  "a": 1\n  "b": 2\n}', 3, 3, "expected ',' or '}'"),
        ('{\n  "a": [1 2]\n}', 2, 11, "expected ',' or ']'"),
        ("{\n  'a': 1\n}", 2, 3, "double quotes"),
        ('{\n  "a": \'x\'\n}', 2, 8, "double quotes"),
        ('{"a": tru}', 1, 7, "expected a value"),
        ('{"a": "no end}', 1, 7, "never closed"),
        ('{"a": "line\nbreak"}', 1, 12, "line break"),
        ('{"a": 1 /* open', 1, 9, "never closed with */"),
        ('{"a": 1', 1, 8, "expected ',' or '}'"),
        ('{"a": [1,', 1, 10, "ends where a value was expected"),
        ("", 1, 1, "empty"),
        ("// only a comment\n", 2, 1, "empty"),
        ('{"a": 1} {"b": 2}', 1, 10, "after the end"),
        ('{"a": "\\x"}', 1, 8, "invalid escape"),
        ('{"a": "\\u12G4"}', 1, 10, "four hexadecimal digits"),
        ('{"a": 01}', 1, 8, "expected ',' or '}'"),
        ('{"a": NaN}', 1, 7, "expected a value"),
        ('{"a": 1,,}', 1, 9, "expected a key"),
        ('{"a":: 1}', 1, 6, "expected a value"),
    ],
)
def test_syntax_errors_say_what_and_where(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(JsoncSyntaxError) as caught:
        parse(text)
    assert (caught.value.position.line, caught.value.position.column) == (line, column)
    assert words in caught.value.message


def test_a_key_given_twice_in_one_object_is_refused_with_both_lines() -> None:
    with pytest.raises(DuplicateKeyError) as caught:
        parse('{\n "x": {\n  "port": 1,\n  "port": 2\n }\n}')
    assert caught.value.path == ("x", "port")
    assert caught.value.position.line == 4
    assert caught.value.first.line == 3


def test_the_same_key_in_different_objects_is_fine() -> None:
    assert parse('[{"a": 1}, {"a": 2}]').value == [{"a": 1}, {"a": 2}]


def test_very_deep_nesting_is_refused_instead_of_crashing() -> None:
    with pytest.raises(JsoncSyntaxError, match="nested"):
        parse("[" * 1000 + "]" * 1000)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_json_values)
def test_any_standard_json_parses_to_what_the_json_module_reads(value: object) -> None:
    for text in (json.dumps(value), json.dumps(value, indent=2, ensure_ascii=False)):
        assert parse(text).value == json.loads(text)
