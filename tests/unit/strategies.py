"""What the property tests share: one hypothesis settings base, and the values an outsider can send.

The example database stays off: each run draws afresh and leaves no ``.hypothesis`` folder
behind in the work tree or in CI's fresh clone. No deadline: two cores shared with other
test processes make single-example timings meaningless.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from engine.workflow.nodes import REGISTRY

settings.register_profile("chatgate-unit", database=None, deadline=None)
BASE = settings.get_profile("chatgate-unit")


def examples(n: int) -> settings:
    """The base settings with ``n`` examples: each file's share of the set's time budget."""
    return settings(BASE, max_examples=n)


# Text an outsider may send: anything Unicode but lone surrogates (no JSON body or UTF-8 file
# can carry them; the tests that can meet them add them on purpose).
TEXT = st.text(max_size=40)
# The characters that make trouble somewhere: HTML's specials, Markdown's markers, templates'
# braces, emoji outside the BMP (two UTF-16 units), CJK, combining marks, NUL and odd spaces.
TRICKY = st.sampled_from(
    [
        *"<>&\"'`*_[]()#|~!\\{}.:-\n\t \r\u00a0\u3000\u200b\u0301\x00",
        "😀",
        "👨‍👩‍👧",
        "🇺🇦",
        "漢",
        "字",
        "é",
        "\ufeff",
        "```",
        "{{",
        "}}",
        "&amp;",
        "<b>",
    ]
)
MIXED_TEXT = st.lists(st.one_of(TRICKY, st.text(max_size=6)), max_size=30).map("".join)

# Integers at every scale, most near the 64-bit edges where storage and orjson draw lines.
INTS = st.one_of(
    st.integers(-1000, 1000),
    st.integers(2**63 - 3, 2**63 + 3),
    st.integers(-(2**63) - 3, -(2**63) + 3),
    st.integers(2**64 - 2, 2**64 + 2),
    st.integers(),
)
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), INTS, st.floats(allow_nan=False, allow_infinity=False), TEXT, MIXED_TEXT
)


INT64 = st.integers(-(2**63), 2**63 - 1)
STORABLE_SCALARS = st.one_of(
    st.none(), st.booleans(), INT64, st.floats(allow_nan=False, allow_infinity=False), TEXT, MIXED_TEXT
)


def json_values(
    max_leaves: int = 12, scalars: st.SearchStrategy[Any] = JSON_SCALARS
) -> st.SearchStrategy[Any]:
    """Anything a JSON body may hold (``STORABLE_SCALARS``: what storage can hold)."""
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
        max_leaves=max_leaves,
    )


def nested(depth: int, leaf: Any = 1) -> Any:
    """A value ``depth`` containers deep (lists and objects alternating)."""
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


# -- workflow documents ------------------------------------------------------------------
# Valid documents of the v2 shape: a start node, then nodes of the types this generator knows
# how to configure (only those the registry has when the test runs), chained so every node is
# reachable and runs after all earlier ones, plus forward edges; connections on the source's
# ports, references with nested paths and the sys/session roots, and the common config keys.

NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
NODE_ID = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True).filter(
    lambda i: i not in ("inputs", "session", "sys", "secrets")
)
STORABLE = st.recursive(
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
INPUT_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "string": TEXT,
    "number": INT64 | st.floats(allow_nan=False, allow_infinity=False),
    "boolean": st.booleans(),
    "object": st.lists(STORABLE, max_size=3) | st.dictionaries(TEXT, STORABLE, max_size=3),
}
#: A path after a reference's field: ``.name``, ``.0`` or ``[0]``, a few steps deep.
REF_PATH = st.lists(
    st.one_of(
        st.from_regex(r"[A-Za-z0-9_-]{1,6}", fullmatch=True).map(lambda s: "." + s),
        st.integers(0, 3).map(lambda i: f"[{i}]"),
        st.integers(0, 3).map(lambda i: f".{i}"),
    ),
    max_size=3,
).map("".join)
SYS_FIELDS = (
    "session_id",
    "execution_id",
    "user_id",
    "user_name",
    "platform",
    "chat_id",
    "now",
    "transcribed",
)
#: Node types the generator configures, besides start; each is used only when registered.
GENERATED_TYPES = ("response", "message", "template", "variable")


@st.composite
def input_param(draw: st.DrawFn, name: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(INPUT_VALUES)))
    param: dict[str, Any] = {"name": name, "type": kind, "required": draw(st.booleans())}
    if draw(st.booleans()):
        param["default"] = draw(INPUT_VALUES[kind])
    if draw(st.booleans()):
        param["description"] = draw(MIXED_TEXT)
    return param


def common_config(run_safe: bool = False) -> st.SearchStrategy[dict[str, Any]]:
    """The keys every node accepts. ``run_safe``: no time limit a run could really hit."""
    return st.fixed_dictionaries(
        {},
        optional={
            "timeout_s": st.floats(5, 60) if run_safe else st.floats(0.001, 1e9),
            "retry": st.fixed_dictionaries(
                {}, optional={"max_attempts": st.integers(1, 10), "backoff_s": st.floats(0, 60)}
            ),
            "on_error": st.sampled_from(["fail", "continue", "branch"]),
            "default": st.dictionaries(TEXT, STORABLE, max_size=3),
        },
    )


def reference(draw: st.DrawFn, fields: list[str], *, nested: bool = True) -> str:
    """``{{root.field…}}`` of one of ``fields`` (or a sys / session one), spaced as the grammar allows."""
    sources = [st.sampled_from(fields)] if fields else []
    sources += [st.sampled_from(SYS_FIELDS).map("sys.".__add__), NAME.map("session.".__add__)]
    field = draw(st.one_of(sources))
    path = draw(REF_PATH) if nested else ""
    return (
        "{{" + draw(st.sampled_from(["", " ", "  "])) + field + path + draw(st.sampled_from(["", " "])) + "}}"
    )


def template_text(draw: st.DrawFn, fields: list[str]) -> str:
    """Text with references that resolve."""
    pieces = draw(st.lists(st.booleans(), max_size=5))
    return "".join(reference(draw, fields) if ref else draw(MIXED_TEXT) for ref in pieces)


def _response_config(draw: st.DrawFn, fields: list[str]) -> dict[str, Any]:
    optional: dict[str, st.SearchStrategy[Any]] = {
        "prompt": st.just(template_text(draw, fields)),
        "system_prompt": st.just(template_text(draw, fields)),
        "model": TEXT,
        "temperature": st.floats(0, 2),
        "max_tokens": st.integers(1, 2**63 - 1),
        "use_history": st.booleans(),
    }
    return draw(st.fixed_dictionaries({}, optional=optional))


def _variable_value(draw: st.DrawFn, fields: list[str]) -> Any:
    kind = draw(st.sampled_from(["literal", "template", "first_of"]))
    if kind == "template":
        return template_text(draw, fields) or reference(draw, fields)
    if kind == "first_of":
        return {"first_of": [reference(draw, fields) for _ in range(draw(st.integers(1, 3)))]}
    # A literal string that spelled a reference would be one: keep literals braces-free.
    return draw(
        STORABLE.filter(lambda v: "{{" not in repr(v) and not (isinstance(v, dict) and "first_of" in v))
    )


def node_config(draw: st.DrawFn, node_type: str, fields: list[str]) -> tuple[dict[str, Any], list[str]]:
    """A config of ``node_type`` referencing only ``fields``; and the outputs it declares."""
    if node_type == "response":
        return _response_config(draw, fields), ["text"]
    if node_type == "message":
        return {"content": template_text(draw, fields)}, ["text"]
    if node_type == "template":
        # Jinja source: plain words and {{ references }} Jinja reads the same way (names only).
        plain = [f for f in fields if f.split(".")[0].isidentifier() and f.split(".")[1].isidentifier()]
        pieces = draw(st.lists(st.sampled_from(plain), max_size=3)) if plain else []
        text = draw(st.from_regex(r"[A-Za-z ]{0,8}", fullmatch=True))
        return {"template": text + "".join(" {{ " + p + " }} " for p in pieces)}, ["text"]
    if node_type == "variable":
        names = draw(st.lists(NAME, min_size=1, max_size=3, unique=True))
        config: dict[str, Any] = {"set": {n: _variable_value(draw, fields) for n in names}}
        if draw(st.booleans()):
            config["scope"] = draw(st.sampled_from(["execution", "session"]))
        return config, names
    if node_type == "end":
        names = draw(
            st.lists(NAME.filter(lambda n: n not in ("content", "messages")), max_size=3, unique=True)
        )
        return {
            "content": template_text(draw, fields),
            "outputs": {n: _variable_value(draw, fields) for n in names},
        }, ["content", *names]
    raise AssertionError(f"no generator for {node_type}")


@st.composite
def valid_workflows(
    draw: st.DrawFn, registered: Collection[str] | None = None, run_safe: bool = False
) -> dict[str, Any]:
    """A document that compiles, of the node types this generator knows that are in
    ``registered`` (default: the registry as it is when the test runs)."""
    registered = REGISTRY if registered is None else registered
    kinds = [t for t in GENERATED_TYPES if t in registered]
    types = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=5))
    if "end" in registered and draw(st.booleans()):
        types.append("end")  # at most one, and last: nothing runs after the end
    names = draw(st.lists(NAME, unique=True, max_size=4))
    ids = draw(st.lists(NODE_ID, unique=True, min_size=len(types) + 1, max_size=len(types) + 1))
    start = ids[0]
    start_config: dict[str, Any] = {"input_params": [draw(input_param(n)) for n in names]}
    start_config.update(draw(common_config(run_safe)))
    nodes: list[dict[str, Any]] = [{"id": start, "type": "start", "config": start_config}]
    fields = [f"inputs.{n}" for n in names] + [f"{start}.{n}" for n in names]
    ports: list[list[str | None]] = [_ports_of(start_config)]
    for node_id, node_type in zip(ids[1:], types, strict=True):
        config, outputs = node_config(draw, node_type, fields)
        config.update(draw(common_config(run_safe)))
        nodes.append({"id": node_id, "type": node_type, "config": config})
        fields += [f"{node_id}.{o}" for o in outputs]
        if config.get("on_error") == "branch":
            fields.append(f"{node_id}.error")
        ports.append([] if node_type == "end" else _ports_of(config))
    pairs = list(itertools.pairwise(range(len(ids))))
    pairs += sorted(
        (i, j)
        for i, j in draw(st.sets(st.tuples(st.integers(0, len(ids) - 1), st.integers(0, len(ids) - 1))))
        if i + 1 < j and ports[i]  # forward only: still a DAG, every node reachable along the chain
    )
    connections = []
    for i, j in pairs:
        port = draw(st.sampled_from(ports[i]))
        connections.append({"from": ids[i], "to": ids[j]} | ({"port": port} if port is not None else {}))
    doc: dict[str, Any] = {"name": draw(st.text(min_size=1, max_size=200)), "nodes": nodes}
    if draw(st.booleans()):
        doc["description"] = draw(MIXED_TEXT)
    if connections or draw(st.booleans()):
        doc["connections"] = connections
    return doc


def _ports_of(config: dict[str, Any]) -> list[str | None]:
    """What a connection from a node so configured may name (None: no port, the default)."""
    return [None, "default", "error", "error"] if config.get("on_error") == "branch" else [None, "default"]
