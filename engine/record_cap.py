"""Bounding what an execution record stores (``engine.max_record_bytes``).

A long chain of nodes, each repeating the text before it, produces output that
grows with the square of its length. The record keeps every node and field, but
the longest values are cut to one common size, the largest that lets the whole
fit; each cut is noted beside it as ``"_truncated": {field: original JSON bytes}``.
"""

from __future__ import annotations

from typing import Any

import orjson

MARK = "_truncated"
# Room for the notes, so they do not push the record past the cap: `,"_truncated":{}` per
# holder, and per field its quoted name, a colon, a comma and a size of up to 12 digits.
_NOTE_PER_HOLDER = len(',"' + MARK + '":{}')
_NOTE_PER_FIELD = 16


def cap_record(
    outputs: dict[str, dict[str, Any]], result: dict[str, Any] | None, max_bytes: int
) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None, bool]:
    """``outputs`` and ``result`` as stored: unchanged when they fit, else cut (True)."""
    total = len(orjson.dumps(outputs)) + len(orjson.dumps(result))
    if total <= max_bytes:
        return outputs, result, False
    holders: list[dict[str, Any]] = [*outputs.values(), *([result] if result is not None else [])]
    fields = [(i, k, len(orjson.dumps(v))) for i, h in enumerate(holders) for k, v in h.items()]
    structure = total - sum(size for _, _, size in fields)
    notes = _NOTE_PER_HOLDER * len(holders) + sum(
        len(orjson.dumps(k)) + _NOTE_PER_FIELD for _, k, _ in fields
    )
    budget = max(0, max_bytes - structure - notes)
    level = _water_level([size for _, _, size in fields], budget)
    stored = list(holders)  # a holder with cut values is replaced by a copy
    for i, key, size in fields:
        if size <= level:
            continue
        if stored[i] is holders[i]:
            stored[i] = {**holders[i], MARK: {}}
        stored[i][key] = _cut(holders[i][key], level)
        stored[i][MARK][key] = size
    stored_outputs = dict(zip(outputs, stored, strict=False))
    stored_result = stored[-1] if result is not None else None
    return stored_outputs, stored_result, True


def is_capped(outputs: dict[str, dict[str, Any]], result: dict[str, Any] | None) -> bool:
    """Whether a stored record was cut (its values carry the note)."""
    return MARK in (result or {}) or any(MARK in o for o in outputs.values())


def _water_level(sizes: list[int], budget: int) -> int:
    """The largest size every value may keep so that all of them fit the budget."""
    remaining = budget
    ordered = sorted(sizes)
    for i, size in enumerate(ordered):
        left = len(ordered) - i
        if size * left > remaining:
            return remaining // left
        remaining -= size
    return ordered[-1] if ordered else 0


def _cut(value: Any, max_bytes: int) -> Any:
    """A string's longest prefix that fits as JSON; anything else is dropped (None)."""
    if not isinstance(value, str):
        return None
    text = value.encode()[: max(0, max_bytes - 2)].decode(errors="ignore")
    while text and len(orjson.dumps(text)) > max_bytes:  # escapes made it longer
        text = text[: len(text) * 9 // 10]
    return text
