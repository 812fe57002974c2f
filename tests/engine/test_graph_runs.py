"""The engine runs independent branches side by side, and keeps each node and the whole run to its time."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest

from engine.errors import ExecutionFailed, ExecutionTimeout
from engine.workflow.events import Event, MessageDelta, NodeFinished, NodeStarted
from engine.workflow.nodes import REGISTRY, NodeConfig, NodeContext
from tests.api.support import wait_until
from tests.emulators.openai_server import OpenAIEmulator
from tests.engine.executors import MakeExecutor
from tests.support.workflow_docs import (
    DIAMOND_LINKS,
    DIAMOND_NODES,
    compile_doc,
    link,
    refused,
    response,
    start,
)

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
    assert {"left", "right"} <= started
    assert not {"left", "right"} & finished
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
    assert record is not None
    assert record.status == "failed"


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
