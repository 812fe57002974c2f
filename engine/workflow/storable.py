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
    """Why ``value`` cannot be stored, or None. Walks without recursion: depth is what it checks.
    Called on every node's outputs, so scalars are settled where they are met, and only
    containers wait on the stack."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict):
            children: Any = v.values()
        elif isinstance(v, list):
            children = v
        else:
            children = (v,)
            depth -= 1  # a scalar at the top: checked below, as if it were a child
        if depth >= MAX_DEPTH:
            return f"it is nested deeper than {MAX_DEPTH} levels"
        for c in children:
            if c is None or c.__class__ in _PLAIN:
                continue
            if isinstance(c, int) and not isinstance(c, bool):
                if not INT64_MIN <= c <= INT64_MAX:
                    return f"the integer {_short(c)} is outside the signed 64-bit range"
            elif isinstance(c, (dict, list)):
                stack.append((c, depth + 1))
    return None


_PLAIN = frozenset({str, float, bool})


def _short(number: int) -> str:
    digits = str(number)
    return digits if len(digits) <= 24 else f"{digits[:20]}… ({len(digits)} digits)"
