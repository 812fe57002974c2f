"""Whatever document a client or a workflow file hands the engine, it is compiled or refused
with a reason: validation never fails with anything but `InvalidWorkflow` / `InvalidRequest`."""

from __future__ import annotations

import datetime
import itertools
import math
from typing import Any

import orjson
from hypothesis import event, given
from hypothesis import strategies as st

from config.schema import EngineSettings
from engine.errors import InvalidRequest, InvalidWorkflow
from engine.workflow.graph import CompiledWorkflow, compile_workflow, document_size, parse_spec
from tests.unit.strategies import INTS, MIXED_TEXT, TEXT, examples, json_values, nested

NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
NODE_ID = st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True).filter(lambda i: i != "inputs")
INT64 = st.integers(-(2**63), 2**63 - 1)
STORABLE = st.recursive(
    st.none() | st.booleans() | INT64 | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
DEFAULTS: dict[str, st.SearchStrategy[Any]] = {
    "string": TEXT,
    "number": INT64 | st.floats(allow_nan=False, allow_infinity=False),
    "boolean": st.booleans(),
    "object": st.lists(STORABLE, max_size=3) | st.dictionaries(TEXT, STORABLE, max_size=3),
}

LIMITS = st.sampled_from(
    [
        None,
        EngineSettings(),
        EngineSettings(max_nodes=3, max_connections=2, max_node_config_bytes=1024),
    ]
)


@st.composite
def input_param(draw: st.DrawFn, name: str) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(DEFAULTS)))
    param: dict[str, Any] = {"name": name, "type": kind, "required": draw(st.booleans())}
    if draw(st.booleans()):
        param["default"] = draw(DEFAULTS[kind])
    if draw(st.booleans()):
        param["description"] = draw(MIXED_TEXT)
    return param


def _template(draw: st.DrawFn, fields: list[str]) -> str:
    """Text with ``{{ref}}`` for references that resolve, spaced the ways the grammar allows."""
    pieces = draw(st.lists(MIXED_TEXT | st.sampled_from(fields or ["plain"]), max_size=5))
    return "".join(
        "{{" + draw(st.sampled_from(["", " ", "  "])) + p + draw(st.sampled_from(["", " "])) + "}}"
        if p in fields
        else p
        for p in pieces
    )


@st.composite
def valid_workflows(draw: st.DrawFn) -> dict[str, Any]:
    """The seed's shape: a start node declaring inputs, then response nodes in a DAG whose
    templates reference only inputs and nodes that run before them."""
    names = draw(st.lists(NAME, unique=True, max_size=4))
    ids = draw(st.lists(NODE_ID, unique=True, min_size=2, max_size=5))
    start, responses = ids[0], ids[1:]
    params = [draw(input_param(n)) for n in names]
    nodes: list[dict[str, Any]] = [{"id": start, "type": "start", "config": {"input_params": params}}]
    connections = [{"from": a, "to": b} for a, b in itertools.pairwise(ids)]
    for i, j in draw(st.sets(st.tuples(st.integers(0, len(ids) - 1), st.integers(0, len(ids) - 1)))):
        if i + 1 < j:  # forward edges only: still a DAG, and every node stays reachable
            connections.append({"from": ids[i], "to": ids[j]})
    for k, node_id in enumerate(responses):
        before = ids[: k + 1]  # the chain runs every earlier node first
        fields = [f"inputs.{n}" for n in names] + [f"{start}.{n}" for n in names]
        fields += [f"{b}.text" for b in before[1:]]
        config = draw(st.fixed_dictionaries({}, optional=_response_keys(draw, fields)))
        nodes.append({"id": node_id, "type": "response", "config": config})
    doc: dict[str, Any] = {"name": draw(st.text(min_size=1, max_size=200)), "nodes": nodes}
    if draw(st.booleans()):
        doc["description"] = draw(MIXED_TEXT)
    if connections or draw(st.booleans()):
        doc["connections"] = connections
    return doc


def _response_keys(draw: st.DrawFn, fields: list[str]) -> dict[str, st.SearchStrategy[Any]]:
    """Each optional key of a response node's config, with values it accepts."""
    return {
        "prompt": st.just(_template(draw, fields)),
        "system_prompt": st.just(_template(draw, fields)),
        "model": TEXT,
        "temperature": st.floats(0, 2),
        "max_tokens": st.integers(1, 2**63 - 1),
        "use_history": st.booleans(),
        "timeout_s": st.floats(0.001, 1e9),
    }


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Places to break, down to the depth of a template in a default (garbage put in by an
    earlier break may be deeper than the stack)."""
    found = [here]
    if len(here) >= 8:
        return found
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*here, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*here, i))
    return found


# What a workflow file's parser can produce beyond JSON bodies: stdlib json keeps NaN, infinity
# and lone surrogates ("\ud800" escapes); YAML makes non-string keys, dates, bytes and sets.
FILE_ONLY = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, "\ud800", "a\udfffb", b"bytes", {1, 2}]),
    st.dates(),
    st.datetimes(),
    st.dictionaries(
        st.integers() | st.booleans() | st.none() | st.floats(), st.integers(), min_size=1, max_size=2
    ),
)
GARBAGE = st.one_of(
    json_values(),
    st.builds(nested, st.just(300)),  # built afresh: a later break must not change a shared value
    st.text(min_size=5000, max_size=6000),
    st.lists(st.builds(dict, id=st.just("n"), type=st.just("start")), min_size=4, max_size=6),
    st.sampled_from(["start", "response", "", "{{inputs.nope}}", "{{ghost.text}}", "{{start.text}}"]),
    INTS,
)


@st.composite
def mutated(draw: st.DrawFn, garbage: st.SearchStrategy[Any]) -> dict[str, Any]:
    """A valid document with one to three places broken: replaced, deleted, added to, doubled."""
    doc = draw(valid_workflows())
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        if not path:
            continue
        *parent_path, last = path
        parent: Any = doc
        for p in parent_path:
            parent = parent[p]
        action = draw(st.sampled_from(["replace", "delete", "add", "double"]))
        if action == "replace":
            parent[last] = draw(garbage)
        elif action == "delete":
            del parent[last]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(TEXT)] = draw(garbage)
        elif action == "double" and isinstance(parent, list):
            parent.append(orjson.loads(orjson.dumps(parent[last])) if _plain(parent[last]) else parent[last])
    return doc


def _plain(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True


def _compile(doc: Any, limits: EngineSettings | None) -> CompiledWorkflow | InvalidWorkflow | InvalidRequest:
    try:
        return compile_workflow(parse_spec(doc, limits), limits)
    except (InvalidWorkflow, InvalidRequest) as refused:
        return refused


def _check_refusal(refused: InvalidWorkflow | InvalidRequest) -> None:
    assert refused.message.strip()
    if isinstance(refused, InvalidRequest):
        assert isinstance(refused.details, list)
        assert refused.details
        for problem in refused.details:
            assert problem["loc"][0] == "body"
            assert isinstance(problem["msg"], str)
            assert problem["msg"].strip()
    else:
        assert isinstance(refused.details, str)
        assert refused.details.strip()


@examples(300)
@given(
    doc=st.one_of(
        valid_workflows(),
        mutated(GARBAGE),
        mutated(GARBAGE),
        mutated(FILE_ONLY),
        GARBAGE,
        FILE_ONLY,
    ),
    limits=LIMITS,
)
def test_any_document_is_compiled_or_refused_with_a_reason(doc: Any, limits: EngineSettings | None) -> None:
    size = document_size(doc)
    assert isinstance(size, int)
    assert size >= 0
    outcome = _compile(doc, limits)
    event(f"outcome: {type(outcome).__name__}")
    if isinstance(outcome, CompiledWorkflow):
        assert set(outcome.order) == set(outcome.nodes)
        assert len(outcome.order) == len(outcome.nodes)
        assert outcome.start.node_id in outcome.nodes
    else:
        _check_refusal(outcome)


@examples(100)
@given(doc=valid_workflows(), limits=st.sampled_from([None, EngineSettings()]))
def test_a_well_formed_document_compiles_and_recompiles_from_storage(
    doc: dict[str, Any], limits: EngineSettings | None
) -> None:
    """The generator's valid documents really compile (so the test above reaches the compile
    steps), and what compiled recompiles from its stored JSON the same way."""
    compiled = _compile(doc, limits)
    assert isinstance(compiled, CompiledWorkflow), compiled
    assert len(compiled.order) == len(doc["nodes"])
    stored = orjson.loads(orjson.dumps(compiled.spec.document()))
    again = compile_workflow(parse_spec({"name": compiled.spec.name, **stored}))
    assert again.order == compiled.order
    assert again.terminals == compiled.terminals


@examples(100)
@given(
    doc=json_values()
    | FILE_ONLY
    | st.dictionaries(st.sampled_from(["nodes", "connections", "x"]), json_values())
)
def test_document_size_counts_nodes_and_connections_of_anything(doc: Any) -> None:
    expected = 0
    if isinstance(doc, dict):
        expected = sum(len(doc[k]) for k in ("nodes", "connections") if isinstance(doc.get(k), list))
    assert document_size(doc) == expected


def test_a_document_at_the_limits_is_refused_before_it_is_parsed() -> None:
    limits = EngineSettings(max_nodes=3, max_connections=2, max_node_config_bytes=1024)
    # Nodes that are themselves garbage: the count is refused first, by name of the limit.
    refused = _compile({"name": "big", "nodes": [datetime.date(2000, 1, 1)] * 4}, limits)
    assert isinstance(refused, InvalidWorkflow)
    assert "engine.max_nodes" in str(refused.details)


@examples(100)
@given(
    where=st.sampled_from(["unknown key", "object default", "string default", "prompt"]),
    value=FILE_ONLY,
    limits=st.sampled_from([None, EngineSettings()]),
)
def test_a_workflow_files_odd_values_in_a_node_config_are_refused_not_crashed(
    where: str, value: Any, limits: EngineSettings | None
) -> None:
    """A YAML file can give a config a number as a key, a JSON file a lone surrogate: such a
    config cannot be stored, and saying so must not be a TypeError out of the file loader."""
    start: dict[str, Any] = {"input_params": [{"name": "q", "type": "string"}]}
    answer: dict[str, Any] = {"prompt": "{{inputs.q}}"}
    if where == "unknown key":
        answer["extra"] = {"k": value}
    elif where == "prompt":
        answer["prompt"] = value
    else:
        kind = "object" if where == "object default" else "string"
        start["input_params"].append(
            {"name": "o", "type": kind, "default": {"k": value} if kind == "object" else value}
        )
    doc = {
        "name": "file",
        "nodes": [
            {"id": "start", "type": "start", "config": start},
            {"id": "a", "type": "response", "config": answer},
        ],
        "connections": [{"from": "start", "to": "a"}],
    }
    outcome = _compile(doc, limits)
    if not isinstance(outcome, CompiledWorkflow):
        _check_refusal(outcome)
