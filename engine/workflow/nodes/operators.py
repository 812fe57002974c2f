"""The ``condition`` node's operators, as pure functions of two values.

Equality and ordering compare numbers as numbers when both sides are numbers or numeric
strings (``"10" > 9``); otherwise ``==``/``!=`` compare the values' text (as a reference
shows it: strings as they are, null as nothing, others as compact JSON), and ordering of
non-numbers is false. ``ignore_case`` folds case wherever text is compared.

``matches`` runs google-re2, linear in its input: no pattern can backtrack for ever, and a
pattern is bounded in length and in the memory its automaton may take.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

import re2

from engine.workflow.templates import shown

#: Operators that take no right side.
UNARY = frozenset({"is_empty", "not_empty"})
#: Operators whose right side is a list.
LISTED = frozenset({"in", "not_in"})
#: The longest pattern ``matches`` compiles, and the memory its automaton may use.
MAX_PATTERN_CHARS = 1000
MAX_PATTERN_MEMORY = 1 << 20
#: A string longer than this is never read as a number (its digits would cost to convert).
_MAX_NUMBER_CHARS = 64
_NUMERIC = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_INTEGER = re.compile(r"\s*[+-]?\d+\s*")

#: What two values compare as: a number, or their text.
Key = int | float | str


def number(value: Any) -> int | float | None:
    """``value`` as a number, if it is one or a numeric string; booleans are not numbers."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= _MAX_NUMBER_CHARS and _NUMERIC.fullmatch(value):
        converted: int | float = int(value) if _INTEGER.fullmatch(value) else float(value)
        return converted if math.isfinite(converted) else None
    return None


def text(value: Any, ignore_case: bool) -> str:
    s = shown(value)
    return s.casefold() if ignore_case else s


def key(value: Any, ignore_case: bool = False) -> Key:
    """What ``value`` compares as: equal keys are ``==`` values (numbers hash as their value)."""
    n = number(value)
    return n if n is not None else text(value, ignore_case)


def equal(left: Any, right: Any, ignore_case: bool = False) -> bool:
    return key(left, ignore_case) == key(right, ignore_case)


def _ordered(test: Callable[[int | float, int | float], bool]) -> Callable[[Any, Any, bool], bool]:
    def compare(left: Any, right: Any, ignore_case: bool = False) -> bool:
        a, b = number(left), number(right)
        return a is not None and b is not None and test(a, b)

    return compare


def contains(left: Any, right: Any, ignore_case: bool = False) -> bool:
    """A list contains an item equal to ``right``; any other value, ``right``'s text."""
    if isinstance(left, list):
        wanted = key(right, ignore_case)
        return any(key(item, ignore_case) == wanted for item in left)
    return text(right, ignore_case) in text(left, ignore_case)


def starts_with(left: Any, right: Any, ignore_case: bool = False) -> bool:
    return text(left, ignore_case).startswith(text(right, ignore_case))


def ends_with(left: Any, right: Any, ignore_case: bool = False) -> bool:
    return text(left, ignore_case).endswith(text(right, ignore_case))


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not value)


def is_in(left: Any, right: list[Any], ignore_case: bool = False) -> bool:
    wanted = key(left, ignore_case)
    return any(key(item, ignore_case) == wanted for item in right)


def pattern(source: str, ignore_case: bool = False) -> re2._Regexp:
    """A ``matches`` pattern compiled, or ValueError saying why it cannot be."""
    return _compiled(source, ignore_case)


@functools.lru_cache(maxsize=512)  # patterns that come from references repeat across runs
def _compiled(source: str, ignore_case: bool) -> re2._Regexp:
    if len(source) > MAX_PATTERN_CHARS:
        raise ValueError(f"the pattern is {len(source)} characters, over {MAX_PATTERN_CHARS}")
    options = re2.Options()
    options.max_mem = MAX_PATTERN_MEMORY
    options.case_sensitive = not ignore_case
    options.log_errors = False
    try:
        return re2.compile(source, options)
    except re2.error as e:
        why = e.args[0].decode(errors="replace") if e.args and isinstance(e.args[0], bytes) else str(e)
        raise ValueError(f"the pattern {source!r} is not a valid regular expression: {why}") from None


def matches(left: Any, compiled: re2._Regexp) -> bool:
    """The pattern occurs somewhere in ``left``'s text (anchor it with ^…$ for the whole)."""
    return compiled.search(shown(left)) is not None


#: The binary operators that need nothing prepared: ``op(left, right, ignore_case)``.
def not_equal(left: Any, right: Any, ignore_case: bool = False) -> bool:
    return not equal(left, right, ignore_case)


def not_contains(left: Any, right: Any, ignore_case: bool = False) -> bool:
    return not contains(left, right, ignore_case)


BINARY: dict[str, Callable[[Any, Any, bool], bool]] = {
    "==": equal,
    "!=": not_equal,
    ">": _ordered(lambda a, b: a > b),
    ">=": _ordered(lambda a, b: a >= b),
    "<": _ordered(lambda a, b: a < b),
    "<=": _ordered(lambda a, b: a <= b),
    "contains": contains,
    "not_contains": not_contains,
    "starts_with": starts_with,
    "ends_with": ends_with,
}

#: Every operator's spelling, as a condition names it.
NAMES = (*BINARY, "is_empty", "not_empty", "in", "not_in", "matches")
