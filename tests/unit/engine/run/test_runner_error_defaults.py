"""A node that fails with ``on_error: "continue"`` gives its ``default`` outputs. Validation
checks the references inside ``default`` (a ``{{ghost.text}}`` there is refused), and the run
fills them in as in any other config value."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from config.schema import EngineSettings
from engine.errors import ExecutionFailed, InvalidWorkflow
from engine.llm.offline import echo
from engine.run.deadlines import Deadlines
from engine.run.runner import Run, RunEnv
from engine.workflow.graph import compile_workflow, parse_spec
from engine.workflow.nodes import REGISTRY, NodeConfig, NodeContext


class FailingNode:
    type_name: ClassVar[str] = "failing"
    config_model: ClassVar[type[NodeConfig]] = NodeConfig
    instant: ClassVar[bool] = True

    def __init__(self, node_id: str, config: NodeConfig) -> None:
        self.timeout_s = config.timeout_s

    def outputs(self) -> frozenset[str]:
        return frozenset({"text"})

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        raise ExecutionFailed("the service is down")


class OfflineModel:
    async def complete(
        self, model: str | None, messages: list[dict[str, str]], on_delta: Any, **_: Any
    ) -> str:
        return echo(messages, on_delta)


def doc(default: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "t",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
            {"id": "call", "type": "failing", "config": {"on_error": "continue", "default": default}},
        ],
        "connections": [{"from": "start", "to": "call"}],
    }


@pytest.fixture(autouse=True)
def failing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, "failing", FailingNode)


def test_a_reference_in_default_is_validated() -> None:
    with pytest.raises(InvalidWorkflow) as refused:
        compile_workflow(parse_spec(doc({"text": "{{ghost.text}}"})))
    assert "ghost" in str(refused.value.details)


async def test_a_reference_in_default_is_resolved_when_the_node_fails() -> None:
    wf = compile_workflow(parse_spec(doc({"text": "sorry {{inputs.user_input}}"})))
    limits = EngineSettings(node_timeout_s=5.0, execution_timeout_s=10.0)
    run = Run(wf, RunEnv("exec_1", [], OfflineModel(), None, limits, Deadlines()), {"user_input": "Ada"})
    assert await run.run() == {"content": "sorry Ada"}
    assert run.traces["call"].status == "continued"
