"""The storable-input rule (application.input_rules, ADR 0018): what it accepts every store can hold, what it
refuses is named with its path, and the media plane's cleaning always yields something it accepts."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from application.input_rules import JsonBounds, cleaned, json_problem, printable, text_problem

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150)
@given(json_values)
def test_whatever_it_accepts_is_strict_json_in_utf8_without_nul(value: Any) -> None:
    if json_problem(value) is None:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)  # no NaN/Infinity
        assert "\x00" not in text and "\\u0000" not in text  # PostgreSQL text and jsonb
        text.encode("utf-8")  # no lone surrogate (UTF-8 for PostgreSQL, Kafka, MongoDB)


@settings(max_examples=150)
@given(json_values)
def test_cleaned_values_are_always_accepted(value: Any) -> None:
    assert json_problem(cleaned(value), JsonBounds(depth=9, string=1_000, items=10**6, nodes=10**6)) is None


def test_each_refusal_is_named_with_its_path() -> None:
    cases = {
        "nul_character": {"a": {"b": "x\x00"}},
        "lone_surrogate": {"a": ["ok", "\ud800"]},
        "control_character": {"a": "\x1b[2J"},
        "number_not_finite": {"a": float("nan")},
        "number_too_large": {"a": 2**63},
        "too_deep": {"a": [[[[[[[[[[["deep"]]]]]]]]]]]},
        "too_many_items": {"a": list(range(1_001))},
        "string_too_long": {"a": "ব" * 20_001},
        "single_line": {"a\nb": 1},
    }
    for code, value in cases.items():
        p = json_problem(value)
        assert p is not None and p.code == code, (code, p)
        assert p.path == "" if code == "single_line" else p.path.startswith("a"), (code, p.path)
    assert json_problem({"bio": "line one\nline two\ttab", "n": [1, 2.5, None, True], "bn": "দাম কত?"}) is None


def test_one_line_and_multi_line_text() -> None:
    assert text_problem("two\nlines") is None
    assert text_problem("two\nlines", multiline=False).code == "single_line"  # type: ignore[union-attr]
    assert text_problem("Rahim\x00Store", multiline=False).code == "nul_character"  # type: ignore[union-attr]
    assert printable("a\x00b\ud800") == "a\\u0000b\\ud800"
