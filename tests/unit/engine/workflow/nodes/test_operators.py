"""Each condition operator, as the pure function the condition node calls."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.workflow.nodes import operators as ops

# -- numbers and text ----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3),
        (2.5, 2.5),
        ("10", 10),
        (" -4 ", -4),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("12345678901234567", 12345678901234567),  # exact, not rounded through a float
        (True, None),  # a boolean is not a number
        ("1e999", None),  # infinite
        ("nan", None),
        ("inf", None),
        ("1_000", None),
        ("0x10", None),
        ("1" * 65, None),  # too long to be read as a number
        ("ten", None),
        (None, None),
        ([1], None),
    ],
)
def test_what_counts_as_a_number(value: Any, expected: Any) -> None:
    assert ops.number(value) == expected


def test_equality_compares_numbers_as_numbers_and_the_rest_as_text() -> None:
    assert ops.BINARY["=="]("10", 10.0, False)
    assert ops.BINARY["=="]("1.0", "1", False)
    assert not ops.BINARY["=="]("abc", "ABC", False)
    assert ops.BINARY["=="]("abc", "ABC", True)
    assert ops.BINARY["=="](True, "true", False)  # as text shows it
    assert ops.BINARY["=="](None, "", False)
    assert ops.BINARY["=="]({"a": [1]}, '{"a":[1]}', False)
    assert not ops.BINARY["=="](1, "one", False)
    assert ops.BINARY["!="](1, "one", False)
    assert not ops.BINARY["!="]("2", 2, False)


@pytest.mark.parametrize(
    ("op", "left", "right", "expected"),
    [
        (">", "10", 9, True),  # as numbers, not as text ("10" < "9")
        (">", 9, "10", False),
        (">=", 3, 3.0, True),
        ("<", "-1", "0", True),
        ("<=", "2.5", 2.5, True),
        (">", "b", "a", False),  # ordering of non-numbers is false
        ("<", "a", "b", False),
        ("<", None, 1, False),
        (">", True, 0, False),
    ],
)
def test_ordering(op: str, left: Any, right: Any, expected: bool) -> None:
    assert ops.BINARY[op](left, right, False) is expected


@given(st.integers(-(10**20), 10**20), st.integers(-(10**20), 10**20))
def test_numeric_strings_order_like_their_numbers(a: int, b: int) -> None:
    for op, holds in ((">", a > b), (">=", a >= b), ("<", a < b), ("<=", a <= b), ("==", a == b)):
        assert ops.BINARY[op](str(a), b, False) is holds
        assert ops.BINARY[op](a, str(b), False) is holds


@given(st.text(max_size=20), st.text(max_size=20))
def test_not_equal_is_the_negation_of_equal(a: str, b: str) -> None:
    assert ops.BINARY["!="](a, b, False) is not ops.BINARY["=="](a, b, False)


# -- text operators ------------------------------------------------------------


def test_contains_starts_with_ends_with_are_case_sensitive_unless_told() -> None:
    assert ops.BINARY["contains"]("I want a Refund", "Refund", False)
    assert not ops.BINARY["contains"]("I want a Refund", "refund", False)
    assert ops.BINARY["contains"]("I want a Refund", "REFUND", True)
    assert ops.BINARY["not_contains"]("hello", "bye", False)
    assert not ops.BINARY["not_contains"]("hello", "ell", False)
    assert ops.BINARY["starts_with"]("Hello there", "Hello", False)
    assert not ops.BINARY["starts_with"]("Hello there", "hello", False)
    assert ops.BINARY["starts_with"]("Hello there", "hello", True)
    assert ops.BINARY["ends_with"]("file.PDF", ".PDF", False)
    assert not ops.BINARY["ends_with"]("file.PDF", ".pdf", False)
    assert ops.BINARY["ends_with"]("file.PDF", ".pdf", True)


def test_contains_on_a_list_looks_for_an_equal_item() -> None:
    assert ops.BINARY["contains"](["a", 2, "c"], "2", False)
    assert not ops.BINARY["contains"](["ab", "c"], "a", False)  # items, not text inside them
    assert ops.BINARY["contains"](["Ab"], "ab", True)


@given(st.text(max_size=30), st.text(max_size=30))
def test_text_operators_agree_with_python(a: str, b: str) -> None:
    assert ops.BINARY["contains"](a, b, False) is (b in a)
    assert ops.BINARY["starts_with"](a, b, False) is a.startswith(b)
    assert ops.BINARY["ends_with"](a, b, False) is a.endswith(b)
    assert ops.BINARY["contains"](a.upper(), b.lower(), True) is (b.casefold() in a.upper().casefold())


def test_empty_is_none_empty_text_empty_list_empty_object() -> None:
    for empty in (None, "", [], {}):
        assert ops.is_empty(empty)
    for full in (" ", "x", [None], {"a": None}, 0, False):
        assert not ops.is_empty(full)


def test_in_looks_the_left_side_up_in_a_list() -> None:
    assert ops.is_in("2", [1, 2, 3])
    assert ops.is_in("Yes", ["yes", "no"], ignore_case=True)
    assert not ops.is_in("Yes", ["yes", "no"])
    assert not ops.is_in("x", [])


# -- matches ---------------------------------------------------------------------


def test_matches_searches_and_can_anchor() -> None:
    assert ops.matches("order #1234 please", ops.pattern(r"#\d{4}"))
    assert not ops.matches("order #12 please", ops.pattern(r"^#\d+$"))
    assert ops.matches("REFUND", ops.pattern("refund", ignore_case=True))
    assert not ops.matches("REFUND", ops.pattern("refund"))
    assert ops.matches(42, ops.pattern(r"^\d+$"))  # a value's text


def test_a_bad_pattern_says_why() -> None:
    with pytest.raises(ValueError, match="not a valid regular expression"):
        ops.pattern("(unclosed")
    with pytest.raises(ValueError, match="over 1000"):
        ops.pattern("a" * 1001)


def test_catastrophic_backtracking_patterns_run_in_linear_time() -> None:
    """(a+)+$ on 'aaaa…b' takes exponential time with backtracking; re2 answers at once."""
    subject = "a" * 100_000 + "b"
    began = time.perf_counter()
    for source in (r"(a+)+$", r"(a|aa)+$", r"(a*)*b?c", r"^(\w+\s?)*$"):
        ops.matches(subject, ops.pattern(source))
    assert time.perf_counter() - began < 1.0


def test_a_pattern_whose_automaton_would_be_huge_is_refused() -> None:
    """Short to write, megabytes to compile: over the memory bound (re2's own default allows it)."""
    with pytest.raises(ValueError, match="pattern too large"):
        ops.pattern(r"\pL{200}")
    with pytest.raises(ValueError, match="invalid repetition size"):
        ops.pattern(r"((a{100}){100}){100}")
