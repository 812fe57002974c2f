"""References inside node config strings: ``{{node_id.field}}`` and nested paths.

A reference names a root (a node id, ``inputs``, ``session`` or ``sys``), a field, and
optionally a path into the value: ``{{http.json.items.0.name}}`` or
``{{http.json.items[0].name}}``. A config string that is exactly one reference keeps the
value's type (``Text.value``); inside text a value is rendered (strings as they are,
others as compact JSON, nothing for null). A reference to a node that was skipped, or a
path that leads nowhere, is null.

Strings are parsed once, when a workflow version is compiled (``compile_value``), so a
run only walks prepared parts; and substitution is one pass, so a value that itself
looks like a reference (a user typing ``{{secrets.x}}``) is returned as typed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

_NAME = r"[A-Za-z0-9_-]+"
REFERENCE = re.compile(r"\{\{\s*(" + _NAME + r")\.(" + _NAME + r")((?:\." + _NAME + r"|\[\d+\])*)\s*\}\}")
_STEP = re.compile(r"\.(" + _NAME + r")|\[(\d+)\]")

#: What one run's references read: the pool of outputs by node id, plus ``inputs``,
#: ``session`` and ``sys``.
Scope = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Ref:
    root: str
    field: str
    path: tuple[str, ...] = ()  # each later step; "0" indexes a list, names a key of an object

    def shown(self) -> str:
        return "{{" + ".".join((self.root, self.field, *self.path)) + "}}"

    def lookup(self, scope: Scope) -> Any:
        holder = scope.get(self.root)
        if holder is None:
            return None
        value = holder.get(self.field)
        for step in self.path:
            if isinstance(value, Mapping):
                value = value.get(step)
            elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
                value = value[int(step)]
            else:
                return None
        return value


def shown(value: Any) -> str:
    """A value as text shows it: strings as they are, null as nothing, others as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # a value no JSON can carry (nodes' outputs are checked; be safe)
        return str(value)


@dataclass(frozen=True, slots=True)
class Text:
    """A config string with references, parsed: literal parts and references in order."""

    parts: tuple[str | Ref, ...]
    whole: Ref | None  # the string is exactly one reference: its value keeps its type

    def render(self, scope: Scope) -> str:
        return "".join(p if isinstance(p, str) else shown(p.lookup(scope)) for p in self.parts)

    def value(self, scope: Scope) -> Any:
        return self.whole.lookup(scope) if self.whole is not None else self.render(scope)


def _ref(m: re.Match[str]) -> Ref:
    path = tuple(a or b for a, b in _STEP.findall(m.group(3))) if m.group(3) else ()
    return Ref(m.group(1), m.group(2), path)


@functools.lru_cache(maxsize=4096)
def parse(template: str) -> Text:
    """A string as literal parts and references (cached: nodes parse their strings once)."""
    parts: list[str | Ref] = []
    at = 0
    for m in REFERENCE.finditer(template):
        if m.start() > at:
            parts.append(template[at : m.start()])
        parts.append(_ref(m))
        at = m.end()
    if at < len(template):
        parts.append(template[at:])
    whole = parts[0] if len(parts) == 1 and isinstance(parts[0], Ref) else None
    return Text(tuple(parts), whole)


def render(template: str, scope: Scope) -> str:
    """Fill a string's references from the scope."""
    if "{{" not in template:
        return template
    return parse(template).render(scope)


@dataclass(frozen=True, slots=True)
class Value:
    """A config value of any shape with its strings parsed; ``resolve`` fills it for one run."""

    raw: Any
    live: bool  # holds at least one reference: resolving it does more than return ``raw``

    def resolve(self, scope: Scope) -> Any:
        raw = self.raw
        if raw.__class__ is Text:  # the usual case, one string: a call less
            return raw.value(scope)
        return _resolve(raw, scope) if self.live else raw


def compile_value(value: Any) -> Value:
    live = any(True for _ in references(value))
    return Value(_prepare(value) if live else value, live)


def _prepare(value: Any) -> Any:
    # Config values are bounded (engine.max_node_config_bytes), and JSON nests only so deep
    # within that; pydantic and orjson have already walked them the same way.
    if isinstance(value, str):
        return parse(value) if "{{" in value else value
    if isinstance(value, dict):
        return {k: _prepare(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_prepare(v) for v in value]
    return value


def _resolve(value: Any, scope: Scope) -> Any:
    if isinstance(value, Text):
        return value.value(scope)
    if isinstance(value, dict):
        return {k: _resolve(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, scope) for v in value]
    return value


def references(value: Any) -> Iterator[Ref]:
    """Every reference anywhere in a config value, in document order.

    A stack, not recursion: a config nested a thousand levels deep must not overflow it."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            if "{{" in v:
                yield from (_ref(m) for m in REFERENCE.finditer(v))
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, list):
            stack.extend(reversed(v))
