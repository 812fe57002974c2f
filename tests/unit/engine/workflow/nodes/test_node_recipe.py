"""ARCHITECTURE.md's recipe for a node type, run as written there: if the example stops being
a working node (the interface changed, the registry line no longer suffices), this fails."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import pytest

from config.schema import EngineSettings
from engine.errors import InvalidWorkflow
from engine.llm.offline import echo
from engine.run.deadlines import Deadlines
from engine.run.runner import Run, RunEnv
from engine.workflow.graph import compile_workflow, parse_spec
from engine.workflow.nodes import REGISTRY, Node, NodeConfig, NodeContext

ARCHITECTURE = Path(__file__).resolve().parents[5] / "ARCHITECTURE.md"


def recipe_node() -> type[Node]:
    text = ARCHITECTURE.read_text()
    recipe = text[text.index("**A node type**") :]
    code = re.search(r"```python\n(.*?)```", recipe, re.S)
    assert code is not None, "the node recipe has no python example"
    lines = [line for line in code.group(1).splitlines() if line.strip()]
    assert len(lines) <= 14, "the example should stay short"
    names: dict[str, Any] = {
        "ClassVar": ClassVar,
        "Any": Any,
        "NodeConfig": NodeConfig,
        "NodeContext": NodeContext,
    }
    exec(code.group(1), names)  # noqa: S102 -- our own document's example: running it is the test
    node = names["ShoutNode"]
    assert isinstance(node, type)
    return node  # type: ignore[return-value]


class OfflineModel:
    async def complete(
        self, model: str | None, messages: list[dict[str, str]], on_delta: Any, **_: Any
    ) -> str:
        return echo(messages, on_delta)


def shout_workflow(template: str) -> dict[str, Any]:
    return {
        "name": "shouting",
        "nodes": [
            {"id": "start_node", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
            {"id": "loud", "type": "shout", "config": {"text": template}},
        ],
        "connections": [{"from": "start_node", "to": "loud"}],
    }


async def test_the_documented_node_works_with_one_registry_line(monkeypatch: pytest.MonkeyPatch) -> None:
    node = recipe_node()
    monkeypatch.setitem(REGISTRY, "shout", node)
    wf = compile_workflow(parse_spec(shout_workflow("{{start_node.user_input}}!")))
    limits = EngineSettings(node_timeout_s=5.0, execution_timeout_s=10.0)
    run = Run(wf, RunEnv("exec_1", [], OfflineModel(), None, limits, Deadlines()), {"user_input": "hello"})
    assert await run.run() == {"content": "HELLO!"}
    assert run.outputs["loud"] == {"text": "HELLO!"}


def test_the_documented_node_is_validated_like_any_other(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, "shout", recipe_node())
    with pytest.raises(InvalidWorkflow) as refused:
        compile_workflow(parse_spec(shout_workflow("{{start_node.nothing_here}}")))
    assert "nothing_here" in str(refused.value.details) + refused.value.message
