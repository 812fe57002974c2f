"""Workflows calling workflows: which ones a workflow calls, what it may read of their
results, and the loops that must be refused.

A ``workflow`` or ``iterate`` node names the workflow it calls (``node.calls``); a
``response`` node the workflows it offers as tools (``node.calls_as_tools``). Whoever
can resolve those names (the catalog: a key's own workflows and the files) builds the
call graph and asks here whether it loops; a run that nests too deep anyway (names that
did not resolve then) fails at ``engine.max_depth``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from engine.errors import InvalidWorkflow
from engine.workflow.graph import CompiledWorkflow
from engine.workflow.nodes.base import references_of


def calls(workflow: CompiledWorkflow) -> dict[str, str]:
    """The workflow each calling node names, by node id; a tool's by ``node_id.tools[i]``."""
    found: dict[str, str] = {}
    for node_id, node in workflow.nodes.items():
        ref = getattr(node, "calls", None)
        if isinstance(ref, str):
            found[node_id] = ref
        for i, tool in enumerate(getattr(node, "calls_as_tools", ())):
            found[f"{node_id}.tools[{i}]"] = tool
    return found


def result_fields(workflow: CompiledWorkflow) -> frozenset[str]:
    """The top-level fields of the workflow's result: ``content``, plus its ``end`` node's outputs."""
    if workflow.final is None:
        return frozenset({"content"})
    return workflow.nodes[workflow.final].outputs() | {"content"}


def check_result_references(workflow: CompiledWorkflow, called: Mapping[str, CompiledWorkflow]) -> None:
    """Refuse ``{{node.field}}`` naming a field the workflow ``node`` calls does not give.

    ``called``: the workflows whose names resolved, by the name the node uses; a name
    that did not resolve is not checked (it may exist when the workflow runs)."""
    open_nodes = {
        node_id: called[ref]
        for node_id, ref in calls(workflow).items()
        if ref in called and getattr(workflow.nodes.get(node_id), "open_outputs", False)
    }
    if not open_nodes:
        return
    for spec in workflow.spec.nodes:
        for ref in references_of(workflow.nodes[spec.id], spec.config):  # as the graph checks them
            target = open_nodes.get(ref.root)
            if target is None:
                continue
            fields = result_fields(target)
            if workflow.configs[ref.root].on_error == "branch":
                fields |= {"error"}
            if ref.field not in fields:
                raise InvalidWorkflow(
                    "invalid workflow structure",
                    f"node '{spec.id}' references {ref.shown()}, but workflow "
                    f"'{target.spec.name}' that '{ref.root}' calls gives {', '.join(sorted(fields))}",
                )


def find_loop(roots: Iterable[str], callees: Callable[[str], Iterable[str]]) -> list[str] | None:
    """Calls from one of ``roots`` that come back to a workflow already on the way: the
    workflows in call order, the repeated one last (``A, B, A``; ``A, B, C, B``), or None.
    Depth-first without recursion, each workflow's calls followed once."""
    done: set[str] = set()
    for root in roots:
        if root in done:
            continue
        path: list[str] = [root]
        on_path: set[str] = {root}
        stack = [iter(callees(root))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
            elif nxt in on_path:
                return [*path, nxt]
            elif nxt not in done:
                on_path.add(nxt)
                path.append(nxt)
                stack.append(iter(callees(nxt)))
    return None


def loop_error(path: list[str], names: Mapping[str, str], node: str) -> InvalidWorkflow:
    """The error for ``path`` (from `find_loop`), naming each workflow and ``node``, the
    node of the first one that makes the first call."""
    shown = " -> ".join(f"'{names.get(w, w)}'" for w in path)
    return InvalidWorkflow(
        "invalid workflow structure",
        f"node '{node}' calls workflows in a loop: {shown}; "
        "a workflow may not call itself, directly or through others",
    )
