"""``{{node_id.field}}`` / ``{{inputs.name}}`` references inside node config strings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\s*\}\}")


def references(value: Any) -> Iterator[tuple[str, str]]:
    """Every (node_id, field) referenced anywhere in a config value, in document order.

    A stack, not recursion: a config nested a thousand levels deep must not overflow it."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            for m in REFERENCE.finditer(v):
                yield m.group(1), m.group(2)
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, list):
            stack.extend(reversed(v))


def render(template: str, pool: Mapping[str, Mapping[str, Any]]) -> str:
    """Fill references from the variable pool; the graph was validated, so they resolve."""
    if "{{" not in template:
        return template

    def sub(m: re.Match[str]) -> str:
        value = pool[m.group(1)][m.group(2)]
        if value is None:  # an optional input nobody sent: nothing, not "null"
            return ""
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    return REFERENCE.sub(sub, template)
