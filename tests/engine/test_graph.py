"""The engine refuses a broken graph up front, and runs independent branches side by side."""

from __future__ import annotations

import asyncio
import copy
from typing import Any, ClassVar

import pytest

from engine.errors import ExecutionFailed, ExecutionTimeout, InvalidRequest, InvalidWorkflow
from engine.nodes import REGISTRY, NodeConfig, NodeContext
from engine.run.events import Event, MessageDelta, NodeFinished, NodeStarted
from engine.workflow.graph import CompiledWorkflow, compile_workflow, parse_spec
from tests.api.support import wait_until
from tests.emulators.openai_server import OpenAIEmulator
from tests.engine.conftest import MakeExecutor


def start(node_id: str = "start", *params: str) -> dict[str, Any]:
    names = params or ("user_input",)
    return {"id": node_id, "type": "start", "config": {"input_params": [{"name": n} for n in names]}}


def response(node_id: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "response", "config": config}


def link(*pairs: str) -> list[dict[str, str]]:
    return [{"from": a, "to": b} for a, b in (p.split(">") for p in pairs)]


def compile_doc(nodes: list[dict[str, Any]], connections: list[dict[str, str]]) -> CompiledWorkflow:
    return compile_workflow(parse_spec({"name": "t", "nodes": nodes, "connections": connections}))


def refused(nodes: list[dict[str, Any]], connections: list[dict[str, str]]) -> str:
    with pytest.raises(InvalidWorkflow) as caught:
        compile_doc(nodes, connections)
    assert caught.value.code == "invalid_workflow"
    details = caught.value.details
    assert isinstance(details, str)
    return details


DIAMOND_NODES = [
    start(),
    response("left", model="gpt-left", prompt="left: {{inputs.user_input}}"),
    response("right", model="gpt-right", prompt="right: {{start.user_input}}"),
    response("join", model="echo", prompt="{{left.text}} | {{right.text}}"),
]
DIAMOND_LINKS = link("start>left", "start>right", "left>join", "right>join")


# -- validation --------------------------------------------------------------


def test_a_diamond_compiles_in_dependency_order() -> None:
    wf = compile_doc(DIAMOND_NODES, DIAMOND_LINKS)
    assert wf.order[0] == "start" and wf.order[-1] == "join"
    assert set(wf.order[1:3]) == {"left", "right"}
    assert wf.predecessors["join"] == ("left", "right")
    assert wf.terminals == ("join",)


def test_duplicate_node_ids_are_named() -> None:
    assert "'left'" in refused([start(), response("left"), response("left")], link("start>left"))


def test_a_connection_to_a_missing_node_is_named() -> None:
    details = refused([start(), response("a")], link("start>a", "a>ghost"))
    assert "ghost" in details


def test_a_cycle_is_named() -> None:
    details = refused([start(), response("a"), response("b")], link("start>a", "a>b", "b>a"))
    assert "cycle" in details and ("'a'" in details or "'b'" in details)


def test_an_edge_into_the_start_node_is_refused() -> None:
    assert "start" in refused([start(), response("a")], link("start>a", "a>start"))


def test_no_start_node_is_refused() -> None:
    assert "no start node" in refused([response("a")], [])


def test_two_start_nodes_are_named() -> None:
    details = refused([start("s1"), start("s2"), response("a")], link("s1>a", "s2>a"))
    assert "s1" in details and "s2" in details


def test_an_empty_workflow_is_refused() -> None:
    assert "no nodes" in refused([], [])


def test_an_unknown_node_type_is_named_with_the_known_ones() -> None:
    details = refused([start(), {"id": "magic", "type": "wizard", "config": {}}], link("start>magic"))
    assert "magic" in details and "wizard" in details and "response" in details


def test_missing_required_config_is_named() -> None:
    bad_start = {"id": "start", "type": "start", "config": {"input_params": [{"type": "string"}]}}
    details = refused([bad_start, response("a")], link("start>a"))
    assert "'start'" in details and "missing required config" in details and "name" in details


def test_a_bad_config_value_or_unknown_config_key_is_named() -> None:
    assert "temperature" in refused([start(), response("a", temperature=9)], link("start>a"))
    assert "tempreature" in refused([start(), response("a", tempreature=1)], link("start>a"))
    assert "timeout_s" in refused([start(), response("a", timeout_s=0)], link("start>a"))


def test_an_unreachable_node_is_named() -> None:
    details = refused([start(), response("a"), response("island")], link("start>a"))
    assert "island" in details and "unreachable" in details


def test_a_duplicate_connection_is_refused() -> None:
    assert "more than once" in refused([start(), response("a")], link("start>a", "start>a"))


def test_the_reserved_id_inputs_is_refused() -> None:
    assert "reserved" in refused([start(), response("inputs")], link("start>inputs"))


@pytest.mark.parametrize(
    ("node", "prompt", "expected"),
    [
        ("left", "{{ghost.text}}", "there is no node 'ghost'"),
        ("left", "{{inputs.colour}}", "declares no input 'colour'"),
        ("left", "{{start.colour}}", "'start' outputs user_input"),
        ("left", "{{right.text}}", "'right' does not run before it"),  # a sibling branch
        ("join", "{{left.words}}", "'left' outputs text"),
    ],
)
def test_a_template_that_cannot_resolve_is_an_invalid_workflow(node: str, prompt: str, expected: str) -> None:
    nodes = copy.deepcopy(DIAMOND_NODES)
    next(n for n in nodes if n["id"] == node)["config"]["prompt"] = prompt
    details = refused(nodes, DIAMOND_LINKS)
    assert f"node '{node}' references {prompt}" in details
    assert expected in details


def test_templates_in_system_prompts_are_checked_too() -> None:
    details = refused([start(), response("a", system_prompt="You are {{persona.name}}")], link("start>a"))
    assert "persona" in details and "'a'" in details


def test_the_body_must_be_a_workflow_object() -> None:
    with pytest.raises(InvalidRequest):
        parse_spec(["not", "a", "dict"])
    with pytest.raises(InvalidRequest) as caught:
        parse_spec({"name": "x", "nodes": [{"id": "a"}]})
    assert "nodes.0.type" in caught.value.message


# -- running -----------------------------------------------------------------


async def test_independent_branches_call_the_model_at_the_same_time(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    """left and right both wait on a slow model; the emulator sees both requests in flight together."""
    openai_emu.delay_s = 1.0
    events: list[Event] = []
    ex = executor(openai_emu)
    wf = compile_doc(DIAMOND_NODES, DIAMOND_LINKS)
    run = asyncio.create_task(
        ex.execute("wf_diamond", wf, {"user_input": "hi"}, owner="t", sink=events.append)
    )
    await wait_until(lambda: len(openai_emu.requests) == 2)
    assert not run.done()  # both calls are out, and neither has come back
    started = {e.node_id for e in events if isinstance(e, NodeStarted)}
    finished = {e.node_id for e in events if isinstance(e, NodeFinished)}
    assert {"left", "right"} <= started and not {"left", "right"} & finished
    record = await run
    assert {r.body["model"] for r in openai_emu.requests} == {"gpt-left", "gpt-right"}
    assert record.outputs["left"] == {"text": "echo: left: hi"}
    assert record.outputs["right"] == {"text": "echo: right: hi"}
    assert record.result == {"content": "(echo) echo: left: hi | echo: right: hi"}
    assert {e.node_id for e in events if isinstance(e, MessageDelta)} == {"left", "right", "join"}


async def test_several_end_nodes_all_contribute_to_the_result(executor: MakeExecutor) -> None:
    wf = compile_doc(
        [start(), response("a", model="echo", prompt="A"), response("b", model="echo", prompt="B")],
        link("start>a", "start>b"),
    )
    record = await executor().execute("wf_fork", wf, {"user_input": "x"}, owner="t")
    assert record.result == {"content": "(echo) A\n\n(echo) B"}
    assert set(record.outputs) == {"start", "a", "b"}


async def test_a_failing_branch_stops_its_slow_sibling(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    """One branch fails at once; the other, hung on the model, is cancelled instead of awaited."""
    openai_emu.hang_next()
    openai_emu.fail_next(400)
    wf = compile_doc(DIAMOND_NODES, DIAMOND_LINKS)
    with pytest.raises(ExecutionFailed) as caught:
        await asyncio.wait_for(
            executor(openai_emu).execute("wf_diamond", wf, {"user_input": "hi"}, owner="t"), 10
        )
    assert "400" in caught.value.message
    assert caught.value.execution_id


async def test_a_node_timeout_cancels_the_node_not_just_reports_it(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.hang_next()
    wf = compile_doc([start(), response("slow", model="gpt", timeout_s=0.2)], link("start>slow"))
    ex = executor(openai_emu)
    with pytest.raises(ExecutionTimeout) as caught:
        await asyncio.wait_for(ex.execute("wf_slow", wf, {"user_input": "hi"}, owner="t"), 10)
    assert caught.value.details == {"node": "slow", "timeout_s": 0.2}
    assert ex.running == {}
    record = await ex.get(caught.value.execution_id or "")
    assert record is not None and record.status == "failed"


async def test_the_whole_execution_has_a_time_limit(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.hang_next()
    wf = compile_doc([start(), response("slow", model="gpt")], link("start>slow"))
    ex = executor(openai_emu, execution_timeout_s=0.3)
    with pytest.raises(ExecutionTimeout) as caught:
        await asyncio.wait_for(ex.execute("wf_slow", wf, {"user_input": "hi"}, owner="t"), 10)
    assert "execution timed out" in caught.value.message


async def test_a_response_without_a_prompt_answers_the_upstream_text(executor: MakeExecutor) -> None:
    wf = compile_doc(
        [start(), response("first", model="echo"), response("second", model="echo")],
        link("start>first", "first>second"),
    )
    record = await executor().execute("wf_chain", wf, {"user_input": "hi"}, owner="t")
    assert record.outputs["first"] == {"text": "(echo) hi"}
    assert record.result == {"content": "(echo) (echo) hi"}


class ShoutConfig(NodeConfig):
    source: str


class ShoutNode:
    """A node type written the way a new one is: one class, registered by name."""

    type_name: ClassVar[str] = "shout"
    config_model: ClassVar[type[NodeConfig]] = ShoutConfig
    instant: ClassVar[bool] = True

    def __init__(self, node_id: str, config: ShoutConfig) -> None:
        self.config = config
        self.timeout_s = config.timeout_s

    def outputs(self) -> frozenset[str]:
        return frozenset({"text"})

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        return {"text": ctx.render(self.config.source).upper() + "!"}


async def test_a_new_node_type_is_one_class_in_the_registry(
    executor: MakeExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(REGISTRY, "shout", ShoutNode)
    nodes = [
        start(),
        {"id": "loud", "type": "shout", "config": {"source": "{{inputs.user_input}}"}},
        response("reply", model="echo", prompt="{{loud.text}}"),
    ]
    wf = compile_doc(nodes, link("start>loud", "loud>reply"))
    record = await executor().execute("wf_shout", wf, {"user_input": "hey"}, owner="t")
    assert record.outputs["loud"] == {"text": "HEY!"}
    assert record.result == {"content": "(echo) HEY!"}
    # Its config is validated like any other node's.
    assert "source" in refused([start(), {"id": "loud", "type": "shout", "config": {}}], link("start>loud"))
    assert "'loud' outputs text" in refused(
        [
            start(),
            {"id": "loud", "type": "shout", "config": {"source": "x"}},
            response("r", prompt="{{loud.volume}}"),
        ],
        link("start>loud", "loud>r"),
    )


async def test_engine_node_timeout_applies_to_nodes_without_their_own(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.hang_next()
    wf = compile_doc([start(), response("slow", model="gpt")], link("start>slow"))
    with pytest.raises(ExecutionTimeout) as caught:
        await asyncio.wait_for(
            executor(openai_emu, node_timeout_s=0.2).execute("wf_slow", wf, {"user_input": "hi"}, owner="t"),
            10,
        )
    assert caught.value.details == {"node": "slow", "timeout_s": 0.2}
