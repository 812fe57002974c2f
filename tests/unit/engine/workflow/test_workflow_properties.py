"""Whatever document a client or a workflow file hands the engine, it is compiled or refused
with a reason: validation never fails with anything but `InvalidWorkflow` / `InvalidRequest`."""

from __future__ import annotations

import asyncio
import datetime
import math
from typing import Any

import orjson
from hypothesis import event, given
from hypothesis import strategies as st

from config.schema import EngineSettings
from engine.errors import InvalidRequest, InvalidWorkflow
from engine.llm.offline import echo
from engine.run.deadlines import Deadlines
from engine.run.runner import Run, RunEnv
from engine.workflow.events import Event, NodeFinished, NodeSkipped
from engine.workflow.graph import CompiledWorkflow, compile_workflow, document_size, parse_spec
from engine.workflow.nodes.base import DEFAULT_PORT
from engine.workflow.storable import storable_problem
from tests.unit.strategies import INPUT_VALUES, INTS, TEXT, examples, json_values, nested, valid_workflows

LIMITS = st.sampled_from(
    [
        None,
        EngineSettings(),
        EngineSettings(max_nodes=3, max_connections=2, max_node_config_bytes=1024),
    ]
)


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
    # References of every root and shape, good and bad: nested paths, [0], sys, session, secrets.
    st.sampled_from(
        [
            "{{sys.nope}}",
            "{{sys.now[0].x}}",
            "{{session.x[0].y}}",
            "{{secrets.key}}",
            "{{inputs.user_input.0}}",
            "{{start.user_input[3]}}",
            "{{ghost.text.items[0]}}",
            "{{a.b[x]}}",
            "{{a.}}",
        ]
    ),
    # The common config, good and bad.
    st.sampled_from(["fail", "continue", "branch", "retry", "error", "default"]),
    st.fixed_dictionaries({}, optional={"max_attempts": INTS, "backoff_s": INTS | TEXT, "x": INTS}),
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


@st.composite
def reported(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document whose connections name random ports: most of them ports the source
    does not have, some the ones it has (default, and error with on_error: branch)."""
    doc = draw(valid_workflows())
    for c in doc.get("connections", []):
        if draw(st.booleans()):
            c["port"] = draw(st.sampled_from(["default", "error", "else", "a", ""]) | TEXT)
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
        reported(),
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


class _OfflineModel:
    async def complete(
        self, model: str | None, messages: list[dict[str, str]], on_delta: Any, **_: Any
    ) -> str:
        return echo(messages, on_delta)


def _expected_statuses(wf: CompiledWorkflow) -> dict[str, str]:
    """Nothing here fails, so every node that runs continues on its default port: a node
    runs iff a connection on the default port comes from a node that ran."""
    ran = {wf.start.node_id}
    for node_id in wf.order:
        for port, target in wf.edges[node_id]:
            if node_id in ran and port == DEFAULT_PORT:
                ran.add(target)
    return {n: "completed" if n in ran else "skipped" for n in wf.order}


@examples(60)
@given(doc=valid_workflows(run_safe=True), data=st.data())
def test_a_valid_branching_document_runs_to_completion_every_node_completed_or_skipped(
    doc: dict[str, Any], data: st.DataObject
) -> None:
    """Condition-free DAGs of the registry's node types, with connections on the error port of
    nodes that branch on errors (never taken: nothing fails), run with the offline model."""
    wf = compile_workflow(parse_spec(doc))
    raw = {
        p.name: data.draw(INPUT_VALUES[p.type], label=p.name)
        for p in wf.start.config.input_params
        if p.required and p.default is None
    }
    events: list[Event] = []
    limits = EngineSettings(node_timeout_s=30.0, execution_timeout_s=60.0)
    env = RunEnv("exec_1", [], _OfflineModel(), events.append, limits, Deadlines(), sys={"platform": "api"})
    run = Run(wf, env, wf.coerce_inputs(raw))
    result = asyncio.run(run.run())
    statuses = {node_id: trace.status for node_id, trace in run.traces.items()}
    event(f"skipped: {sum(s == 'skipped' for s in statuses.values()) > 0}")
    assert statuses == _expected_statuses(wf)
    skipped = {e.node_id for e in events if isinstance(e, NodeSkipped)}
    finished = {e.node_id: e.status for e in events if isinstance(e, NodeFinished)}
    assert skipped == {n for n, s in statuses.items() if s == "skipped"}
    assert finished == {n: s for n, s in statuses.items() if s == "completed"}
    assert isinstance(result.get("content"), str)
    assert storable_problem(result) is None
