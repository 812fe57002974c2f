"""An author reuses workflows: one calls another with ``workflow``, or once per item with
``iterate``; loops of calls are refused, and nesting, items and runs are bounded."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any, ClassVar

import pytest

from engine.catalog import Catalog, StoredWorkflow
from engine.errors import ExecutionFailed, InvalidWorkflow
from engine.run.executor import Executor
from engine.workflow.nodes import REGISTRY, NodeConfig, NodeContext
from engine.workflow.nodes.calling import WORKFLOWS
from tests.api.support import wait_until
from tests.emulators.openai_server import OpenAIEmulator
from tests.engine.executors import MakeExecutor

OWNER = "alice"


class MoodConfig(NodeConfig):
    content: str
    mood: str


class MoodEnd:
    """A final node standing in for ``end``: its outputs are the workflow's result."""

    type_name: ClassVar[str] = "mood_end"
    config_model: ClassVar[type[NodeConfig]] = MoodConfig
    instant: ClassVar[bool] = True
    final: ClassVar[bool] = True

    def __init__(self, node_id: str, config: MoodConfig) -> None:
        self.config, self.timeout_s = config, config.timeout_s

    def outputs(self) -> frozenset[str]:
        return frozenset({"content", "mood"})

    def ports(self) -> frozenset[str]:
        return frozenset()

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        return {"content": ctx.render(self.config.content), "mood": ctx.render(self.config.mood)}


def doc(
    name: str, params: list[dict[str, Any]], nodes: list[dict[str, Any]], links: str = ""
) -> dict[str, Any]:
    """start (with ``params``) then ``nodes``; ``links`` "a>b c>d", or a chain when empty."""
    chain = ["start", *(n["id"] for n in nodes)]
    pairs = links.split() if links else [f"{a}>{b}" for a, b in itertools.pairwise(chain)]
    return {
        "name": name,
        "nodes": [{"id": "start", "type": "start", "config": {"input_params": params}}, *nodes],
        "connections": [{"from": a, "to": b} for a, b in (p.split(">") for p in pairs)],
    }


def node(node_id: str, node_type: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": node_type, "config": config}


TEXT = [{"name": "user_input"}]


def shout_helper(name: str = "shout") -> dict[str, Any]:
    """Answers ``(echo) <text>!`` for its one input ``text``."""
    return doc(name, [{"name": "text"}], [node("say", "response", model="echo", prompt="{{inputs.text}}!")])


class Parts:
    def __init__(self, executor: Executor, catalog: Catalog) -> None:
        self.executor, self.catalog = executor, catalog

    async def create(self, document: dict[str, Any], owner: str = OWNER) -> StoredWorkflow:
        return await self.catalog.create(document, owner)

    async def run(self, wf: StoredWorkflow, owner: str = OWNER, **inputs: Any) -> dict[str, Any]:
        record = await self.executor.execute(wf.workflow_id, wf.compiled, inputs, owner=owner)
        assert record.result is not None
        return record.result


def wired(ex: Executor, **limits: Any) -> Parts:
    """The executor with the catalog's workflows as its ``workflows`` service, as the gateway wires it."""
    catalog = Catalog(ex.storage, limits=ex.settings)
    ex.owner_services[WORKFLOWS.name] = catalog.workflows_for
    return Parts(ex, catalog)


@pytest.fixture
def parts(executor: MakeExecutor) -> Parts:
    return wired(executor(max_depth=3, max_items=10))


# -- workflow -----------------------------------------------------------------


async def test_a_workflow_node_answers_with_the_called_workflows_content(parts: Parts) -> None:
    helper = await parts.create(shout_helper())
    main = await parts.create(
        doc(
            "main",
            TEXT,
            [
                node(
                    "call", "workflow", workflow=helper.workflow_id, inputs={"text": "{{inputs.user_input}}"}
                ),
                node("reply", "response", model="echo", prompt="heard: {{call.content}}"),
            ],
        )
    )
    assert await parts.run(main, user_input="hi") == {"content": "(echo) heard: (echo) hi!"}


async def test_the_called_workflows_end_outputs_are_the_nodes_outputs(
    parts: Parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(REGISTRY, MoodEnd.type_name, MoodEnd)
    helper = await parts.create(
        doc("moody", [{"name": "text"}], [node("end", "mood_end", content="{{inputs.text}}", mood="glad")])
    )
    main = await parts.create(
        doc(
            "main",
            TEXT,
            [
                node(
                    "call", "workflow", workflow=helper.workflow_id, inputs={"text": "{{inputs.user_input}}"}
                ),
                node("reply", "response", model="echo", prompt="{{call.content}} is {{call.mood}}"),
            ],
        )
    )
    record = await parts.executor.execute(main.workflow_id, main.compiled, {"user_input": "bob"}, owner=OWNER)
    assert record.outputs["call"] == {"content": "bob", "mood": "glad"}
    assert record.result == {"content": "(echo) bob is glad"}

    # A field the called workflow's end does not give is refused where the name resolves.
    wrong = doc(
        "wrong",
        TEXT,
        [
            node("call", "workflow", workflow=helper.workflow_id),
            node("reply", "response", model="echo", prompt="{{call.colour}}"),
        ],
    )
    with pytest.raises(InvalidWorkflow) as caught:
        await parts.create(wrong)
    assert caught.value.details == (
        "node 'reply' references {{call.colour}}, but workflow 'moody' that 'call' calls gives content, mood"
    )


async def test_inputs_the_called_workflow_refuses_fail_the_node_so_on_error_applies(parts: Parts) -> None:
    helper = await parts.create(shout_helper())
    failing = await parts.create(
        doc("failing", TEXT, [node("call", "workflow", workflow=helper.workflow_id, inputs={"txt": "x"})])
    )
    with pytest.raises(ExecutionFailed) as caught:
        await parts.run(failing, user_input="hi")
    assert (
        caught.value.message
        == "node 'call': workflow '" + helper.workflow_id + "' refused its inputs: unknown input 'txt'"
    )
    record = await parts.executor.get(caught.value.execution_id or "")
    assert record is not None
    assert record.nodes["call"]["status"] == "failed"

    forgiving = await parts.create(
        doc(
            "forgiving",
            TEXT,
            [
                node(
                    "call",
                    "workflow",
                    workflow=helper.workflow_id,
                    on_error="continue",
                    default={"content": "nothing to shout"},
                )
            ],
        )
    )
    assert await parts.run(forgiving, user_input="hi") == {"content": "nothing to shout"}


async def test_a_workflow_that_is_not_there_fails_the_node_by_name(parts: Parts) -> None:
    main = await parts.create(doc("main", TEXT, [node("call", "workflow", workflow="no_such_helper")]))
    with pytest.raises(ExecutionFailed) as caught:
        await parts.run(main, user_input="hi")
    assert caught.value.message == "node 'call': workflow 'no_such_helper' not found"


async def test_a_key_cannot_call_another_keys_workflow(parts: Parts) -> None:
    """bob knows alice's workflow id; his workflow calling it finds nothing, as his API calls would."""
    secret = await parts.create(shout_helper("alices"), owner="alice")
    call = node("call", "workflow", workflow=secret.workflow_id, inputs={"text": "{{inputs.user_input}}"})
    bobs = await parts.create(doc("bobs", TEXT, [call]), "bob")
    with pytest.raises(ExecutionFailed) as caught:
        await parts.run(bobs, owner="bob", user_input="hi")
    assert caught.value.message == f"node 'call': workflow '{secret.workflow_id}' not found"
    # alice herself reaches it, and so does a bot (a bot sees every workflow).
    alices = await parts.create(doc("alices_main", TEXT, [call]))
    assert await parts.run(alices, user_input="hi") == {"content": "(echo) hi!"}
    assert await parts.run(bobs, owner="bot:helpdesk", user_input="yo") == {"content": "(echo) yo!"}


# -- loops and depth -------------------------------------------------------------


async def test_a_workflow_calling_itself_is_refused_at_update(parts: Parts) -> None:
    a = await parts.create(shout_helper("a"))
    with pytest.raises(InvalidWorkflow) as caught:
        await parts.catalog.update(
            a.workflow_id, doc("a", TEXT, [node("again", "workflow", workflow=a.workflow_id)]), OWNER
        )
    assert caught.value.details == (
        "node 'again' calls workflows in a loop: 'a' -> 'a'; "
        "a workflow may not call itself, directly or through others"
    )


async def test_a_loop_through_another_workflow_is_refused(parts: Parts) -> None:
    a = await parts.create(shout_helper("a"))
    b = await parts.create(doc("b", TEXT, [node("to_a", "workflow", workflow=a.workflow_id)]))
    with pytest.raises(InvalidWorkflow) as caught:
        await parts.catalog.update(
            a.workflow_id, doc("a", TEXT, [node("to_b", "iterate", items=[1], workflow=b.workflow_id)]), OWNER
        )
    assert caught.value.details is not None
    assert "node 'to_b' calls workflows in a loop: 'a' -> 'b' -> 'a'" in caught.value.details
    # Unchanged: a still runs its old version.
    stored = await parts.catalog.get(a.workflow_id, OWNER)
    assert stored.compiled.types.get("say") == "response"


async def test_workflow_files_that_call_each_other_are_refused(tmp_path: Path, parts: Parts) -> None:
    ping = doc("ping", TEXT, [node("call", "workflow", workflow="pong")])
    pong = doc("pong", TEXT, [node("call", "workflow", workflow="ping")])
    lone = doc("lone", TEXT, [node("call", "workflow", workflow="ping")])
    problems = parts.catalog.load_files(
        [
            (tmp_path / "ping.yaml", ping, None),
            (tmp_path / "pong.yaml", pong, None),
            (tmp_path / "lone.yaml", lone, None),
        ]
    )
    assert [p.path for p in problems] == [str(tmp_path / "ping.yaml")]
    assert "'ping' -> 'pong' -> 'ping'" in str(problems[0].details)
    assert sorted(w.name for w in parts.catalog.file_workflows()) == ["lone", "pong"]


async def test_nesting_deeper_than_max_depth_fails_with_a_clear_error(parts: Parts) -> None:
    """max_depth is 3 here: three workflows below the one run are fine, a fourth is not."""
    inner = await parts.create(shout_helper("w_leaf"))
    chain = inner
    for level in range(4, 0, -1):
        chain = await parts.create(
            doc(
                f"w{level}",
                [{"name": "text"}],
                [node("down", "workflow", workflow=chain.workflow_id, inputs={"text": "{{inputs.text}}"})],
            )
        )
    with pytest.raises(ExecutionFailed) as caught:
        await parts.run(chain, text="deep")
    assert caught.value.message.endswith("would be nested 4 deep, over engine.max_depth (3)")
    assert caught.value.message.startswith("workflow 'w_leaf'")

    # From w2, the leaf is three below: within the bound.
    w2 = await parts.catalog.get(chain.compiled.nodes["down"].calls, OWNER)  # type: ignore[attr-defined]
    assert await parts.run(w2, text="ok") == {"content": "(echo) ok!"}


async def test_a_loop_validation_could_not_see_stops_at_max_depth(tmp_path: Path, parts: Parts) -> None:
    """A stored workflow calls a file one; the file is changed to call it back (a file cannot
    see a key's workflows): the run stops at max_depth instead of going round."""
    parts.catalog.load_files([(tmp_path / "f.yaml", shout_helper("f"), None)])
    s = await parts.create(
        doc("s", [{"name": "text"}], [node("to_f", "workflow", workflow="f", inputs={"text": "x"})])
    )
    back = doc(
        "f", [{"name": "text"}], [node("to_s", "workflow", workflow=s.workflow_id, inputs={"text": "x"})]
    )
    assert parts.catalog.load_files([(tmp_path / "f.yaml", back, None)]) == []
    with pytest.raises(ExecutionFailed) as caught:
        await parts.run(s, text="x")
    assert "over engine.max_depth (3)" in caught.value.message


# -- iterate ---------------------------------------------------------------------

ITEMS = [{"name": "items", "type": "object"}]


def each(called: str, **config: Any) -> dict[str, Any]:
    return node("each", "iterate", items="{{inputs.items}}", workflow=called, **config)


async def test_iterate_runs_items_side_by_side_bounded_and_keeps_their_order(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.delay_s = 0.6
    parts = wired(executor(openai_emu))
    helper = await parts.create(
        doc("one", [{"name": "item"}], [node("say", "response", model="gpt", prompt="{{inputs.item}}")])
    )
    main = await parts.create(doc("all", ITEMS, [each(helper.workflow_id, concurrency=3)]))
    items = [f"item{i}" for i in range(7)]
    run = asyncio.create_task(
        parts.executor.execute(main.workflow_id, main.compiled, {"items": items}, owner=OWNER)
    )
    await wait_until(lambda: len(openai_emu.requests) == 3)
    await asyncio.sleep(0.3)  # the first three are still waiting on the model
    assert len(openai_emu.requests) == 3  # and no fourth started beside them
    record = await asyncio.wait_for(run, 10)
    assert len(openai_emu.requests) == 7
    assert record.outputs["each"] == {
        "results": [{"content": f"echo: {item}"} for item in items],
        "count": 7,
    }


async def test_iterate_refuses_more_than_max_items(parts: Parts) -> None:
    helper = await parts.create(shout_helper())
    main = await parts.create(doc("all", ITEMS, [each(helper.workflow_id, item_input="text")]))
    with pytest.raises(ExecutionFailed) as caught:
        await parts.run(main, items=list(range(11)))
    assert caught.value.message == "node 'each' has 11 items, over engine.max_items (10)"
    ok = await parts.executor.execute(
        main.workflow_id, main.compiled, {"items": list(range(10))}, owner=OWNER
    )
    assert ok.outputs["each"]["count"] == 10


async def test_iterate_skips_failed_items_when_told(parts: Parts) -> None:
    numbers = await parts.create(
        doc(
            "double",
            [{"name": "item", "type": "number"}],
            [node("say", "response", model="echo", prompt="{{inputs.item}}")],
        )
    )
    skipping = await parts.create(doc("skip", ITEMS, [each(numbers.workflow_id, on_item_error="skip")]))
    record = await parts.executor.execute(
        skipping.workflow_id, skipping.compiled, {"items": [1, "two", 3]}, owner=OWNER
    )
    assert record.outputs["each"] == {
        "results": [{"content": "(echo) 1"}, None, {"content": "(echo) 3"}],
        "count": 3,
    }

    failing = await parts.create(doc("fail", ITEMS, [each(numbers.workflow_id)]))
    with pytest.raises(ExecutionFailed) as caught:
        await parts.run(failing, items=[1, "two", 3])
    assert caught.value.message.startswith("node 'each' item 1: node 'each': workflow")
    assert "input 'item' must be a number" in caught.value.message


async def test_items_that_are_not_a_list_fail_the_node(parts: Parts) -> None:
    helper = await parts.create(shout_helper())
    main = await parts.create(doc("all", ITEMS, [each(helper.workflow_id)]))
    with pytest.raises(ExecutionFailed) as caught:
        await parts.run(main, items={"a": 1})
    assert caught.value.message == "node 'each': items is dict, not a list"


async def test_iterates_inside_iterates_cannot_multiply_without_bound(executor: MakeExecutor) -> None:
    """Each level may take max_items; all levels together run at most max_items × max_depth."""
    parts = wired(executor(max_items=3, max_depth=2))
    leaf = await parts.create(
        doc("leaf", [{"name": "item"}], [node("say", "response", model="echo", prompt="x")])
    )
    middle = await parts.create(
        doc(
            "middle",
            [{"name": "item"}],
            [node("each", "iterate", items=[1, 2, 3], workflow=leaf.workflow_id)],
        )
    )
    top = await parts.create(doc("top", ITEMS, [each(middle.workflow_id)]))
    # 3 middles run 3 leaves each: 12 sub-workflow runs, over 3 × 2.
    with pytest.raises(ExecutionFailed) as caught:
        await parts.run(top, items=[1, 2, 3])
    assert "ran more than 6 sub-workflows" in caught.value.message
    small = await parts.executor.execute(top.workflow_id, top.compiled, {"items": [1]}, owner=OWNER)
    assert small.outputs["each"]["count"] == 1


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"items": "all of {{inputs.items}}"}, "'items' must be a list or exactly one reference"),
        ({"workflow": "{{inputs.items}}"}, "'workflow' names a workflow by name or id"),
        ({"concurrency": 33}, "concurrency"),
        ({"on_item_error": "retry"}, "on_item_error"),
    ],
)
async def test_iterate_config_is_checked_when_the_workflow_is_saved(
    parts: Parts, config: dict[str, Any], message: str
) -> None:
    bad = doc(
        "bad", ITEMS, [node("each", "iterate", **{"items": "{{inputs.items}}", "workflow": "x", **config})]
    )
    with pytest.raises(InvalidWorkflow) as caught:
        await parts.create(bad)
    assert message in str(caught.value.details)


# -- response: fallback_models, history_turns -------------------------------------


async def test_fallback_models_answer_when_the_model_fails(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    parts = wired(executor(openai_emu))
    wf = await parts.create(
        doc("fb", TEXT, [node("say", "response", model="gpt-a", fallback_models=["gpt-b", "gpt-c"])])
    )
    openai_emu.fail_next(500)
    assert await parts.run(wf, user_input="hi") == {"content": "echo: hi"}
    assert [r.body["model"] for r in openai_emu.requests] == ["gpt-a", "gpt-b"]

    openai_emu.reset()
    openai_emu.fail_next(503, times=3)
    with pytest.raises(ExecutionFailed) as caught:
        await parts.run(wf, user_input="hi")
    assert caught.value.message == "model 'gpt-c' failed: the LLM server answered HTTP 503"
    assert [r.body["model"] for r in openai_emu.requests] == ["gpt-a", "gpt-b", "gpt-c"]


async def test_history_turns_narrows_the_conversation_the_model_sees(
    executor: MakeExecutor, openai_emu: OpenAIEmulator
) -> None:
    ex = executor(openai_emu)
    parts = wired(ex)
    wf = await parts.create(
        doc(
            "h",
            TEXT,
            [node("wide", "response", model="gpt"), node("narrow", "response", model="gpt", history_turns=1)],
            "start>wide start>narrow",
        )
    )
    for text in ("one", "two", "three"):
        await ex.execute(wf.workflow_id, wf.compiled, {"user_input": text}, owner=OWNER, session_id="s")
    last = openai_emu.requests[-2:]
    seen = {len(r.body["messages"]) for r in last}
    # Two turns before (both branches' answers joined in each): all of them, or only the last.
    assert seen == {5, 3}
    narrow = next(r for r in last if len(r.body["messages"]) == 3)
    assert narrow.body["messages"][0] == {"role": "user", "content": "two"}


async def test_checking_a_versions_calls_reads_a_bounded_number_of_workflows(
    parts: Parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 calls to ids that are not there: the check asks the database at most 256 times."""
    reads: list[str] = []
    read = parts.catalog.rows.get

    async def counted(wid: str) -> Any:
        reads.append(wid)
        return await read(wid)

    monkeypatch.setattr(parts.catalog.rows, "get", counted)
    calls = [node(f"c{i}", "workflow", workflow=f"wf_missing{i}") for i in range(300)]
    many = doc("many", TEXT, calls, " ".join(f"start>c{i}" for i in range(300)))
    await parts.create(many)  # names that do not resolve may exist when it runs
    assert len(reads) == 256
    # The same name many times is one question.
    reads.clear()
    same = [node(f"c{i}", "workflow", workflow="wf_missing") for i in range(300)]
    await parts.create(doc("same", TEXT, same, " ".join(f"start>c{i}" for i in range(300))))
    assert reads == ["wf_missing"]
