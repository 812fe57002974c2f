"""Validating a workflow document and compiling it into a runnable graph.

Everything that could go wrong at run time because of the document's shape is
found here, once, so a stored workflow always runs: cycles, dangling or
unreachable nodes, bad node config and template references that cannot resolve.

Every step is linear in the document (no recursion, no per-node ancestor sets),
and the document itself is bounded by the ``engine.max_*`` limits.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from config.schema import EngineSettings
from engine.errors import InvalidWorkflow, parse_request
from engine.workflow.document import WorkflowSpec
from engine.workflow.nodes import REGISTRY, Node, StartNode
from engine.workflow.nodes.base import (
    DEFAULT_PORT,
    ERROR_PORT,
    NodeConfig,
    is_final,
    ports_of,
    references_of,
    waits,
)
from engine.workflow.nodes.secrets import ROOT as SECRETS_ROOT
from engine.workflow.nodes.secrets import SHOWN_WHERE
from engine.workflow.storable import storable_problem
from engine.workflow.templates import Ref, references

#: Roots a reference may name besides node ids; no node may take these ids.
RESERVED = frozenset({"inputs", "session", "sys", "secrets"})
#: What ``{{sys.…}}`` offers every run.
SYS_FIELDS = frozenset(
    {"session_id", "execution_id", "user_id", "user_name", "platform", "chat_id", "now", "transcribed"}
)


def _bad(details: str) -> InvalidWorkflow:
    return InvalidWorkflow("invalid workflow structure", details)


@dataclass(frozen=True, slots=True)
class CompiledWorkflow:
    spec: WorkflowSpec
    nodes: dict[str, Node]
    types: dict[str, str]
    configs: dict[str, NodeConfig]  # each node's validated config (retry, on_error, default)
    order: tuple[str, ...]  # a topological order
    predecessors: dict[str, tuple[str, ...]]
    successors: dict[str, tuple[str, ...]]
    edges: dict[str, tuple[tuple[str, str], ...]]  # (port, target) of each outgoing connection
    incoming: dict[str, int]  # connections into each node: how many must settle before it may run
    start: StartNode
    terminals: tuple[str, ...]  # nodes without successors; their text is the result
    final: str | None  # the node (``end``) whose outputs are the result, if any
    linear: bool  # a chain along default ports: nothing can be skipped, so no schedule is needed
    secrets: frozenset[str] = frozenset()  # the secrets its nodes may send, by name
    waits: bool = False  # a node may stop a run to wait for the user (a question)

    def coerce_inputs(self, raw: dict[str, Any]) -> dict[str, Any]:
        return self.start.coerce(raw)


def parse_spec(data: Any, limits: EngineSettings | None = None) -> WorkflowSpec:
    """The request body as a `WorkflowSpec`, or `InvalidRequest` naming the bad field.

    With ``limits``, a document with too many nodes or connections is refused before
    any of it is parsed."""
    if not isinstance(data, dict):
        return parse_request(WorkflowSpec, data)  # refused: "expected a JSON object, got …"
    if limits is not None:
        for key in ("nodes", "connections"):
            items = data.get(key)
            if isinstance(items, list):
                _check_count(key, len(items), limits)
    return parse_request(WorkflowSpec, data)


def document_size(data: Any) -> int:
    """Nodes plus connections of a raw document: how much validating it will cost."""
    if not isinstance(data, dict):
        return 0
    return sum(len(v) for v in (data.get("nodes"), data.get("connections")) if isinstance(v, list))


def _check_count(key: str, count: int, limits: EngineSettings) -> None:
    bound = limits.max_nodes if key == "nodes" else limits.max_connections
    if count > bound:
        raise _bad(f"the workflow has {count} {key}, over engine.max_{key} ({bound})")


def compile_workflow(
    spec: WorkflowSpec, limits: EngineSettings | None = None, secrets: Collection[str] | None = None
) -> CompiledWorkflow:
    """Validate and compile. ``limits`` (the engine's bounds) apply to new documents;
    None compiles one that passed them when it was stored. ``secrets``: the secret names
    the workflow's author may use (None: not checked here; the catalog checks them when it
    hands the workflow out to run)."""
    if limits is not None:
        _check_count("nodes", len(spec.nodes), limits)
        _check_count("connections", len(spec.connections), limits)
    nodes, types, configs = _build_nodes(spec, limits)
    start_id = _the_start(types)
    final = _the_final(nodes)
    preds, succs, edges = _edges(spec, nodes, configs)
    if preds[start_id]:
        raise _bad(f"node '{start_id}' is the start node and cannot have incoming connections")

    order = _topological(nodes, preds, succs)
    reachable = _reachable(start_id, succs)
    for node_id in spec_order(spec):
        if node_id not in reachable:
            raise _bad(f"node '{node_id}' is unreachable from the start node '{start_id}'")

    used = _secret_references(spec, nodes, secrets)
    refs = [
        (n.id, ref)
        for n in spec.nodes
        for ref in references_of(nodes[n.id], n.config)
        if ref.root != SECRETS_ROOT  # checked where they stand, above
    ]
    if refs:
        runs_before = _runs_before(order, preds, {ref.root for _, ref in refs if ref.root in nodes})
        for node_id, ref in refs:
            _check_reference(node_id, ref, nodes, configs, runs_before, nodes[start_id])

    start = nodes[start_id]
    assert isinstance(start, StartNode)
    asks = any(waits(n) for n in nodes.values())
    return CompiledWorkflow(
        spec=spec,
        nodes=nodes,
        types=types,
        configs=configs,
        order=order,
        predecessors={k: tuple(dict.fromkeys(v)) for k, v in preds.items()},
        successors={k: tuple(dict.fromkeys(v)) for k, v in succs.items()},
        edges={k: tuple(v) for k, v in edges.items()},
        incoming={k: len(v) for k, v in preds.items()},
        start=start,
        terminals=tuple(i for i in order if not succs[i]),
        final=final,
        # (A run that may wait goes through the schedule, which can stop and resume.)
        linear=not asks
        and len(order) == len(spec.connections) + 1
        and all(len(v) <= 1 for v in succs.values())
        and all(_ports(i, nodes[i], configs[i]) == {DEFAULT_PORT} for i in order if succs[i]),
        secrets=used,
        waits=asks,
    )


def _secret_references(
    spec: WorkflowSpec, nodes: dict[str, Node], known: Collection[str] | None
) -> frozenset[str]:
    """The secret names the nodes use, each where its node type may send it and (when the
    author's names are given) one the author may use."""
    used: set[str] = set()
    for n in spec.nodes:
        node = nodes[n.id]
        allowed: frozenset[str] = getattr(node, "secret_fields", frozenset())
        if getattr(node, "references", None) is not None:
            # A node that reads its config its own way (Jinja: ``{{ secrets.x }}``) never sends one.
            for ref in references_of(node, n.config):
                if ref.root == SECRETS_ROOT:
                    _check_secret(n.id, "", ref, frozenset(), known, used)
        for key, value in n.config.items():
            for ref in references(value):
                if ref.root == SECRETS_ROOT:
                    _check_secret(n.id, key, ref, allowed, known, used)
    return frozenset(used)


def _check_secret(
    node_id: str, key: str, ref: Ref, allowed: frozenset[str], known: Collection[str] | None, used: set[str]
) -> None:
    if key not in allowed:
        where = f" config '{key}'" if key else ""
        raise _bad(f"node '{node_id}'{where} references {ref.shown()}: {SHOWN_WHERE}")
    if ref.path:
        raise _bad(f"node '{node_id}' references {ref.shown()}: a secret is one value, with no fields")
    if known is not None and ref.field not in known:
        raise _bad(f"node '{node_id}' references {ref.shown()}, but there is no secret '{ref.field}'")
    used.add(ref.field)


def _build_nodes(
    spec: WorkflowSpec, limits: EngineSettings | None
) -> tuple[dict[str, Node], dict[str, str], dict[str, NodeConfig]]:
    """Each declared node built from its validated config, its type name and config, by id."""
    nodes: dict[str, Node] = {}
    types: dict[str, str] = {}
    configs: dict[str, NodeConfig] = {}
    for n in spec.nodes:
        if limits is not None:
            _check_config_size(n.id, n.config, limits.max_node_config_bytes)
        if n.id in nodes:
            raise _bad(f"node '{n.id}' is declared more than once")
        if n.id in RESERVED:
            raise _bad(f"node id '{n.id}' is reserved for {{{{{n.id}.name}}}} references")
        node_type = REGISTRY.get(n.type)
        if node_type is None:
            raise _bad(f"node '{n.id}' has unknown type '{n.type}' (known: {', '.join(sorted(REGISTRY))})")
        try:
            config = node_type.config_model.model_validate(n.config)
        except ValidationError as e:
            err = e.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            msg = "missing required config" if err["type"] == "missing" else err["msg"]
            raise _bad(f"node '{n.id}' config '{key}': {msg}") from None
        try:
            nodes[n.id] = node_type(n.id, config)
        except ValueError as e:  # what only the node can tell of its config (a bad pattern, template)
            raise _bad(f"node '{n.id}' config: {e}") from None
        types[n.id] = n.type
        configs[n.id] = config
    if not nodes:
        raise _bad("the workflow has no nodes")
    return nodes, types, configs


def _the_start(types: dict[str, str]) -> str:
    starts = [i for i, t in types.items() if t == StartNode.type_name]
    if len(starts) != 1:
        raise _bad(
            "the workflow has no start node"
            if not starts
            else f"the workflow has {len(starts)} start nodes ({', '.join(starts)}); exactly one is allowed"
        )
    return starts[0]


def _the_final(nodes: dict[str, Node]) -> str | None:
    finals = [i for i, n in nodes.items() if is_final(n)]
    if len(finals) > 1:
        raise _bad(f"the workflow has {len(finals)} end nodes ({', '.join(finals)}); at most one is allowed")
    return finals[0] if finals else None


Edges = dict[str, list[tuple[str, str]]]


def _edges(
    spec: WorkflowSpec, nodes: dict[str, Node], configs: dict[str, NodeConfig]
) -> tuple[dict[str, list[str]], dict[str, list[str]], Edges]:
    """Predecessors, successors and (port, target) edges by node id, each connection checked once."""
    preds: dict[str, list[str]] = {i: [] for i in nodes}
    succs: dict[str, list[str]] = {i: [] for i in nodes}
    edges: Edges = {i: [] for i in nodes}
    ports: dict[str, frozenset[str]] = {}
    seen_edges: set[tuple[str, str, str]] = set()
    for c in spec.connections:
        shown = f"{c.from_} -> {c.to}" if c.port is None else f"{c.from_} ({c.port}) -> {c.to}"
        for end in (c.from_, c.to):
            if end not in nodes:
                raise _bad(f"connection {shown} refers to missing node '{end}'")
        if c.from_ not in ports:
            ports[c.from_] = _ports(c.from_, nodes[c.from_], configs[c.from_])
        port = _port(c.port, c.from_, ports[c.from_], shown)
        if (c.from_, port, c.to) in seen_edges:
            raise _bad(f"connection {shown} is declared more than once")
        seen_edges.add((c.from_, port, c.to))
        succs[c.from_].append(c.to)
        preds[c.to].append(c.from_)
        edges[c.from_].append((port, c.to))
    return preds, succs, edges


def _ports(node_id: str, node: Node, config: NodeConfig) -> frozenset[str]:
    ports = ports_of(node)
    return ports | {ERROR_PORT} if config.on_error == "branch" else ports


def _port(named: str | None, source: str, ports: frozenset[str], shown: str) -> str:
    port = DEFAULT_PORT if named is None else named
    if port in ports:
        return port
    if not ports:
        raise _bad(f"connection {shown}: node '{source}' has no outputs to connect")
    has = ", ".join(sorted(ports))
    if named is None:
        raise _bad(f"connection {shown} names no port, but node '{source}' has ports {has}: name one")
    raise _bad(f"connection {shown} names port '{named}', but node '{source}' has ports {has}")


def spec_order(spec: WorkflowSpec) -> list[str]:
    return [n.id for n in spec.nodes]


def _topological(
    nodes: dict[str, Node], preds: dict[str, list[str]], succs: dict[str, list[str]]
) -> tuple[str, ...]:
    indegree = {i: len(p) for i, p in preds.items()}
    queue = deque(i for i in nodes if indegree[i] == 0)
    order: list[str] = []
    while queue:
        i = queue.popleft()
        order.append(i)
        for s in succs[i]:
            indegree[s] -= 1
            if indegree[s] == 0:
                queue.append(s)
    if len(order) != len(nodes):
        stuck = next(i for i in nodes if indegree[i] > 0)
        raise _bad(f"node '{stuck}' is part of a cycle")
    return tuple(order)


def _reachable(start: str, succs: dict[str, list[str]]) -> set[str]:
    seen, stack = {start}, [start]
    while stack:
        for s in succs[stack.pop()]:
            if s not in seen:
                seen.add(s)
                stack.append(s)
    return seen


class _RunsBefore:
    """Which referenced nodes are ancestors of which node, as one integer bitset per node.

    Only nodes some template references get a bit, and the sets are built in one pass
    over the topological order, so a plain chain costs a few machine words per node
    instead of a set of every earlier node."""

    def __init__(self, bits: dict[str, int], ancestors: dict[str, int]) -> None:
        self.bits = bits
        self.ancestors = ancestors

    def __call__(self, ref: str, node_id: str) -> bool:
        return bool(self.ancestors[node_id] & self.bits.get(ref, 0))


def _runs_before(order: tuple[str, ...], preds: dict[str, list[str]], referenced: set[str]) -> _RunsBefore:
    bits = {node_id: 1 << i for i, node_id in enumerate(sorted(referenced))}
    ancestors: dict[str, int] = {}
    for i in order:
        acc = 0
        for p in preds[i]:
            acc |= ancestors[p] | bits.get(p, 0)
        ancestors[i] = acc
    return _RunsBefore(bits, ancestors)


def _check_config_size(node_id: str, config: dict[str, Any], max_bytes: int) -> None:
    # Stored with the document: what storage cannot hold is refused now, by node.
    problem = storable_problem(config)
    if problem is not None:
        raise _bad(f"node '{node_id}' config cannot be stored: {problem}")
    try:
        size = len(orjson.dumps(config))
    except orjson.JSONEncodeError as e:  # a file's YAML key that is no string, JSON's lone surrogate
        raise _bad(f"node '{node_id}' config cannot be stored: {e}") from None
    if size > max_bytes:
        raise _bad(
            f"node '{node_id}' config is {size} bytes, over engine.max_node_config_bytes ({max_bytes})"
        )


def _check_reference(
    node_id: str,
    ref: Ref,
    nodes: dict[str, Node],
    configs: dict[str, NodeConfig],
    runs_before: _RunsBefore,
    start: Node,
) -> None:
    shown, root, field = ref.shown(), ref.root, ref.field
    if root == "inputs":
        if field not in start.outputs():
            raise _bad(f"node '{node_id}' references {shown}, but the start node declares no input '{field}'")
        return
    if root == "session":  # whatever a variable node may set; unset reads as null
        return
    if root == "sys":
        if field not in SYS_FIELDS:
            raise _bad(f"node '{node_id}' references {shown}, but sys offers {', '.join(sorted(SYS_FIELDS))}")
        return
    if root not in nodes:
        raise _bad(f"node '{node_id}' references {shown}, but there is no node '{root}'")
    if not runs_before(root, node_id):
        raise _bad(f"node '{node_id}' references {shown}, but '{root}' does not run before it")
    if getattr(nodes[root], "open_outputs", False):  # another workflow's result: the catalog checks it
        return
    outputs = nodes[root].outputs()
    if configs[root].on_error == "branch":
        outputs |= {"error"}
    if field not in outputs:
        known = ", ".join(sorted(outputs)) or "nothing"
        raise _bad(f"node '{node_id}' references {shown}, but '{root}' outputs {known}")
