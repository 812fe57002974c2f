"""A parameter's value is passed on only when it has the parameter's type: lossless
conversions are made ("3" → 3), everything else is refused, and empty means absent."""

from __future__ import annotations

from typing import Any

import pytest

from engine.workflow.nodes.extract import Parameter
from engine.workflow.nodes.extract.values import (
    MAX_LIST_ITEMS,
    MAX_SAFE_INTEGER,
    MAX_STRING_CHARS,
    REFUSED,
    coerce,
    json_type,
)


def param(kind: str, **more: Any) -> Parameter:
    return Parameter.model_validate({"name": "p", "type": kind, **more})


SIZE = param("enum", options=["small", "Large"])

CASES = [
    # (type, value, what is passed on)
    ("string", "A-1234", "A-1234"),
    ("string", "  padded ", "padded"),
    ("string", 12345, "12345"),
    ("string", 2.5, "2.5"),
    ("string", True, REFUSED),
    ("string", {"a": 1}, REFUSED),
    ("string", ["a"], REFUSED),
    ("string", "x" * (MAX_STRING_CHARS + 1), REFUSED),
    ("number", 2.5, 2.5),
    ("number", 3, 3),
    ("number", "3", 3),
    ("number", " -2.5 ", -2.5),
    ("number", "1e3", 1000.0),
    ("number", "three", REFUSED),
    ("number", "3 pizzas", REFUSED),
    ("number", "1e999", REFUSED),
    ("number", "nan", REFUSED),
    ("number", float("inf"), REFUSED),
    ("number", True, REFUSED),
    ("number", MAX_SAFE_INTEGER + 1, REFUSED),
    ("number", "9" * 5000, REFUSED),
    ("integer", 3, 3),
    ("integer", 3.0, 3),
    ("integer", "3", 3),
    ("integer", "3.0", 3),
    ("integer", 3.5, REFUSED),
    ("integer", "3.5", REFUSED),
    ("integer", False, REFUSED),
    ("integer", 1e300, REFUSED),
    ("boolean", True, True),
    ("boolean", "FALSE", False),
    ("boolean", " true ", True),
    ("boolean", "yes", REFUSED),
    ("boolean", 1, REFUSED),
    ("boolean", 0, REFUSED),
    ("list", ["ham", " egg ", 2], ["ham", "egg", "2"]),
    ("list", "ham", ["ham"]),
    ("list", ["ham", None, ""], ["ham"]),
    ("list", ["ham", {"x": 1}], REFUSED),
    ("list", ["ham", ["nested"]], REFUSED),
    ("list", [True], REFUSED),
    ("list", ["x"] * (MAX_LIST_ITEMS + 1), REFUSED),
    ("list", {"a": 1}, REFUSED),
    ("list", [None], None),
]


@pytest.mark.parametrize(("kind", "value", "passed"), CASES)
def test_a_value_is_converted_only_losslessly(kind: str, value: Any, passed: Any) -> None:
    got = coerce(param(kind), value)
    assert got == passed
    assert type(got) is type(passed)


@pytest.mark.parametrize("kind", ["string", "number", "integer", "boolean", "list"])
@pytest.mark.parametrize("empty", [None, "", []])
def test_null_empty_text_and_an_empty_list_are_absent(kind: str, empty: Any) -> None:
    assert coerce(param(kind), empty) is None


def test_an_enum_takes_only_its_options_in_their_own_spelling() -> None:
    assert coerce(SIZE, "large") == "Large"
    assert coerce(SIZE, " SMALL ") == "small"
    assert coerce(SIZE, "medium") is REFUSED
    assert coerce(SIZE, 1) is REFUSED
    assert coerce(SIZE, None) is None


def test_each_type_is_described_to_the_model_as_nullable() -> None:
    assert json_type(param("integer", description="How many")) == {
        "type": ["integer", "null"],
        "description": "How many",
    }
    assert json_type(param("list")) == {"type": ["array", "null"], "items": {"type": "string"}}
    assert json_type(SIZE) == {"type": ["string", "null"], "enum": ["small", "Large", None]}
