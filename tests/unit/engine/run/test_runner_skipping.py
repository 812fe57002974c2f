"""The scheduler's skipping: a node whose every incoming connection is dead is skipped, so are
the nodes only it leads to, and a join with one live input runs once. Driven with a tiny
node type of this test that continues on the port its config names."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from config.schema import EngineSettings
from engine.llm.offline import echo
from engine.run.deadlines import Deadlines
from engine.run.runner import Run, RunEnv
from engine.workflow.events import Event, NodeFinished, NodeSkipped, NodeStarted
from engine.workflow.graph import compile_workflow, parse_spec
from engine.workflow.nodes import REGISTRY, NodeConfig, NodeContext


class PickConfig(NodeConfig):
    take: str = "default"  # the port to continue on


class PickNode:
    """Continues on ``take`` (one of ``a``, ``b``, ``default``); counts its runs in the pool."""

    type_name: ClassVar[str] = "pick"
    config_model: ClassVar[type[NodeConfig]] = PickConfig
    instant: ClassVar[bool] = True
    runs: ClassVar[list[str]] = []

    def __init__(self, node_id: str, config: PickConfig) -> None:
        self.node_id, self.config, self.timeout_s = node_id, config, config.timeout_s

    def ports(self) -> frozenset[str]:
        return frozenset({"a", "b", "default"})

    def outputs(self) -> frozenset[str]:
        return frozenset({"text"})

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        PickNode.runs.append(self.node_id)
        ctx.take(self.config.take)
        return {"text": self.node_id}


class OfflineModel:
    async def complete(
        self, model: str | None, messages: list[dict[str, str]], on_delta: Any, **_: Any
    ) -> str:
        return echo(messages, on_delta)


@pytest.fixture(autouse=True)
def pick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, "pick", PickNode)
    PickNode.runs.clear()


def node(node_id: str, take: str = "default") -> dict[str, Any]:
    return {"id": node_id, "type": "pick", "config": {"take": take}}


def edge(source: str, target: str, port: str | None = None) -> dict[str, str]:
    return {"from": source, "to": target} | ({"port": port} if port else {})


async def run(nodes: list[dict[str, Any]], connections: list[dict[str, str]]) -> tuple[Run, list[Event]]:
    doc = {"name": "t", "nodes": [{"id": "start", "type": "start"}, *nodes], "connections": connections}
    events: list[Event] = []
    limits = EngineSettings(node_timeout_s=5.0, execution_timeout_s=10.0)
    env = RunEnv("exec_1", [], OfflineModel(), events.append, limits, Deadlines())
    wf_run = Run(compile_workflow(parse_spec(doc)), env, {})
    await wf_run.run()
    return wf_run, events


def statuses(wf_run: Run) -> dict[str, str]:
    return {node_id: trace.status for node_id, trace in wf_run.traces.items()}


async def test_a_node_on_the_port_not_taken_is_skipped_and_so_is_what_only_it_leads_to() -> None:
    wf_run, events = await run(
        [node("route", take="a"), node("on_a"), node("on_b"), node("after_b"), node("after_after_b")],
        [
            edge("start", "route"),
            edge("route", "on_a", "a"),
            edge("route", "on_b", "b"),
            edge("on_b", "after_b"),
            edge("after_b", "after_after_b"),
        ],
    )
    assert statuses(wf_run) == {
        "start": "completed",
        "route": "completed",
        "on_a": "completed",
        "on_b": "skipped",
        "after_b": "skipped",
        "after_after_b": "skipped",
    }
    assert PickNode.runs == ["route", "on_a"]
    skipped = [e.node_id for e in events if isinstance(e, NodeSkipped)]
    assert sorted(skipped) == ["after_after_b", "after_b", "on_b"]
    assert not any(isinstance(e, NodeStarted) and e.node_id in skipped for e in events)
    assert "on_b" not in wf_run.pool  # a skipped node leaves nothing to reference


async def test_a_join_with_one_live_input_runs_once_after_both_have_settled() -> None:
    wf_run, events = await run(
        [node("route", take="b"), node("left"), node("right"), node("join")],
        [
            edge("start", "route"),
            edge("route", "left", "a"),
            edge("route", "right", "b"),
            edge("left", "join"),
            edge("right", "join"),
        ],
    )
    assert statuses(wf_run)["left"] == "skipped"
    assert statuses(wf_run)["join"] == "completed"
    assert PickNode.runs.count("join") == 1
    finished = [e.node_id for e in events if isinstance(e, NodeFinished)]
    assert finished.count("join") == 1
    assert finished.index("right") < finished.index("join")


async def test_a_join_with_every_input_dead_is_skipped() -> None:
    wf_run, _ = await run(
        [node("route", take="default"), node("left"), node("right"), node("join"), node("tail")],
        [
            edge("start", "route"),
            edge("route", "left", "a"),
            edge("route", "right", "b"),
            edge("left", "join"),
            edge("right", "join"),
            edge("join", "tail"),
        ],
    )
    assert statuses(wf_run) == {
        "start": "completed",
        "route": "completed",
        "left": "skipped",
        "right": "skipped",
        "join": "skipped",
        "tail": "skipped",
    }
    assert PickNode.runs == ["route"]


async def test_one_live_connection_among_dead_ones_from_the_same_source_is_enough() -> None:
    """Two connections from one source into one node, on different ports: the one taken counts."""
    wf_run, _ = await run(
        [node("route", take="a"), node("target")],
        [edge("start", "route"), edge("route", "target", "b"), edge("route", "target", "a")],
    )
    assert statuses(wf_run)["target"] == "completed"
    assert PickNode.runs.count("target") == 1


async def test_a_long_dead_chain_is_skipped_without_running_out_of_stack() -> None:
    chain = [node(f"n{i}") for i in range(3000)]
    links = [edge("start", "route"), edge("route", "n0", "b")]
    links += [edge(f"n{i}", f"n{i + 1}") for i in range(2999)]
    wf_run, _ = await run([node("route", take="a"), *chain], links)
    assert wf_run.traces["n2999"].status == "skipped"
    assert PickNode.runs == ["route"]


async def test_a_chain_whose_node_takes_another_port_skips_the_rest_of_the_chain() -> None:
    # A plain chain runs without a schedule, unless a node in it could leave its default port.
    wf_run, _ = await run(
        [node("first", take="a"), node("second")], [edge("start", "first"), edge("first", "second")]
    )
    assert not wf_run.workflow.linear
    assert statuses(wf_run) == {"start": "completed", "first": "completed", "second": "skipped"}


async def test_a_chain_of_default_only_nodes_runs_every_node_in_order() -> None:
    doc_nodes = [{"id": "r1", "type": "response", "config": {"model": "echo"}}]
    wf_run, events = await run(doc_nodes, [edge("start", "r1")])
    assert wf_run.workflow.linear
    assert statuses(wf_run) == {"start": "completed", "r1": "completed"}
    assert [e.node_id for e in events if isinstance(e, NodeStarted)] == ["start", "r1"]
