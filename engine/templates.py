"""``{{node_id.field}}`` / ``{{inputs.name}}`` references inside node config strings."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

REFERENCE = re.compile(r"\{\{\s*([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\s*\}\}")


def references(value: Any) -> Iterator[tuple[str, str]]:
    """Every (node_id, field) referenced anywhere in a config value."""
    if isinstance(value, str):
        for m in REFERENCE.finditer(value):
            yield m.group(1), m.group(2)
    elif isinstance(value, dict):
        for v in value.values():
            yield from references(v)
    elif isinstance(value, list):
        for v in value:
            yield from references(v)


def render(template: str, pool: Mapping[str, Mapping[str, Any]]) -> str:
    """Fill references from the variable pool; the graph was validated, so they resolve."""
    if "{{" not in template:
        return template

    def sub(m: re.Match[str]) -> str:
        value = pool[m.group(1)][m.group(2)]
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    return REFERENCE.sub(sub, template)
