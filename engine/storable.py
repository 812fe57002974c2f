"""What an execution record or a workflow document can hold once it is stored as JSON.

The JSON columns are written with orjson, which refuses integers past 64 bits and
nesting past 254 levels. Values a caller supplies are checked against this before
anything runs, so a run never fails at the very end, while being saved.
"""

from __future__ import annotations

from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Far below what storage allows, leaving room for the levels a record wraps around a value.
MAX_DEPTH = 64


def storable_problem(value: Any) -> str | None:
    """Why ``value`` cannot be stored, or None. Walks without recursion: depth is what it checks."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, bool) or v is None or isinstance(v, (str, float)):
            continue
        if isinstance(v, int):
            if not INT64_MIN <= v <= INT64_MAX:
                return f"the integer {_short(v)} is outside the signed 64-bit range"
            continue
        if isinstance(v, (dict, list)):
            if depth >= MAX_DEPTH:
                return f"it is nested deeper than {MAX_DEPTH} levels"
            children = v.values() if isinstance(v, dict) else v
            stack.extend((c, depth + 1) for c in children)
    return None


def _short(number: int) -> str:
    digits = str(number)
    return digits if len(digits) <= 24 else f"{digits[:20]}… ({len(digits)} digits)"
