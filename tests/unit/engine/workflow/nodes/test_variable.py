"""The ``variable`` node: literals, templates and ``first_of``, for the execution or the session."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from config.schema import EngineSettings
from engine.errors import ExecutionFailed, InvalidWorkflow
from engine.run.deadlines import Deadlines
from engine.run.runner import Run, RunEnv
from engine.workflow.graph import compile_workflow, parse_spec
from engine.workflow.nodes.variable import MAX_NAMES, MAX_SESSION_VARIABLES, MAX_VALUE_BYTES
from tests.unit.engine.workflow.nodes.test_node_recipe import OfflineModel

INPUTS = [
    {"name": "user_input"},
    {"name": "nick", "required": False},
    {"name": "data", "type": "object", "required": False},
]


def workflow(*configs: dict[str, Any]) -> dict[str, Any]:
    """start -> v1 -> v2 -> ... each a variable node configured as given."""
    nodes: list[dict[str, Any]] = [{"id": "start_node", "type": "start", "config": {"input_params": INPUTS}}]
    nodes += [{"id": f"v{i}", "type": "variable", "config": c} for i, c in enumerate(configs, 1)]
    ids = [n["id"] for n in nodes]
    return {
        "name": "vars",
        "nodes": nodes,
        "connections": [{"from": a, "to": b} for a, b in itertools.pairwise(ids)],
    }


def env(session: dict[str, Any] | None = None) -> RunEnv:
    limits = EngineSettings(node_timeout_s=5.0, execution_timeout_s=10.0)
    return RunEnv("exec_1", [], OfflineModel(), None, limits, Deadlines(), session=session or {})


async def run(doc: dict[str, Any], inputs: dict[str, Any], run_env: RunEnv | None = None) -> Run:
    wf = compile_workflow(parse_spec(doc))
    the_run = Run(wf, run_env or env(), wf.coerce_inputs(inputs))
    await the_run.run()
    return the_run


def refused(doc: dict[str, Any]) -> str:
    with pytest.raises(InvalidWorkflow) as e:
        compile_workflow(parse_spec(doc))
    return f"{e.value.message} {e.value.details}"


async def test_literals_and_templates_become_outputs_and_a_lone_reference_keeps_its_type() -> None:
    doc = workflow(
        {
            "set": {
                "count": 3,
                "tags": ["a", "b"],
                "greeting": "Hello, {{inputs.user_input}}!",
                "data": "{{inputs.data}}",
                "first": "{{inputs.data.items[0]}}",
            }
        }
    )
    done = await run(doc, {"user_input": "Ada", "data": {"items": [7, 8]}})
    assert done.outputs["v1"] == {
        "count": 3,
        "tags": ["a", "b"],
        "greeting": "Hello, Ada!",
        "data": {"items": [7, 8]},
        "first": 7,
    }


async def test_a_later_node_reads_what_an_earlier_one_set() -> None:
    doc = workflow({"set": {"who": "{{inputs.user_input}}"}}, {"set": {"text": "Hi {{v1.who}}"}})
    done = await run(doc, {"user_input": "Bo"})
    assert done.outputs["v2"] == {"text": "Hi Bo"}


@pytest.mark.parametrize("empty", [None, "", [], {}])
async def test_first_of_passes_over_every_kind_of_empty(empty: Any) -> None:
    doc = workflow(
        {
            "set": {
                "picked": {
                    "first_of": ["{{inputs.data.missing}}", "{{inputs.data.e}}", "{{inputs.nick}}", "x"]
                }
            }
        }
    )
    done = await run(doc, {"user_input": "u", "nick": "Nick", "data": {"e": empty}})
    assert done.outputs["v1"] == {"picked": "Nick"}


@pytest.mark.parametrize("kept", [0, False, " ", [None]])
async def test_first_of_keeps_values_that_are_falsy_but_not_empty(kept: Any) -> None:
    doc = workflow({"set": {"picked": {"first_of": ["{{inputs.data.v}}", "fallback"]}}})
    done = await run(doc, {"user_input": "u", "data": {"v": kept}})
    assert done.outputs["v1"] == {"picked": kept}


async def test_first_of_with_nothing_set_is_null_and_merges_like_a_join() -> None:
    doc = workflow({"set": {"picked": {"first_of": ["{{inputs.nick}}", "{{inputs.data}}"]}}})
    assert (await run(doc, {"user_input": "u"})).outputs["v1"] == {"picked": None}
    assert (await run(doc, {"user_input": "u", "data": [1]})).outputs["v1"] == {"picked": [1]}


async def test_execution_scope_leaves_the_session_alone() -> None:
    the_env = env({"name": "old"})
    await run(workflow({"set": {"name": "new"}}), {"user_input": "u"}, the_env)
    assert the_env.session == {"name": "old"}
    assert the_env.session_changes == {}


async def test_session_scope_is_seen_by_later_nodes_and_kept_as_a_change() -> None:
    the_env = env({"name": "old", "other": 1})
    doc = workflow(
        {"scope": "session", "set": {"name": "{{inputs.user_input}}"}},
        {"set": {"text": "Hello {{session.name}}, other={{session.other}}, none={{session.nobody}}."}},
    )
    done = await run(doc, {"user_input": "Ada"}, the_env)
    assert done.outputs["v2"] == {"text": "Hello Ada, other=1, none=."}
    assert the_env.session == {"name": "Ada", "other": 1}
    assert the_env.session_changes == {"name": "Ada"}


async def test_a_value_too_big_for_the_session_fails_the_node_clearly() -> None:
    doc = workflow({"scope": "session", "set": {"essay": "{{inputs.user_input}}"}})
    the_env = env()
    with pytest.raises(ExecutionFailed) as e:
        await run(doc, {"user_input": "x" * MAX_VALUE_BYTES}, the_env)
    assert "essay" in e.value.message
    assert str(MAX_VALUE_BYTES) in e.value.message
    assert the_env.session_changes == {}
    # The same text for this execution only is fine: the record has its own cap.
    doc = workflow({"set": {"essay": "{{inputs.user_input}}"}})
    assert (
        len((await run(doc, {"user_input": "x" * MAX_VALUE_BYTES})).outputs["v1"]["essay"]) == MAX_VALUE_BYTES
    )


async def test_a_value_nested_too_deep_to_store_fails_the_node_not_the_save() -> None:
    deep: Any = "leaf"
    for _ in range(60):
        deep = [deep]
    wrapped: Any = "{{inputs.data}}"
    for _ in range(10):
        wrapped = [wrapped]
    doc = workflow({"scope": "session", "set": {"deep": wrapped}})
    with pytest.raises(ExecutionFailed) as e:
        await run(doc, {"user_input": "u", "data": deep})
    assert "cannot be stored" in e.value.message


async def test_a_session_holds_a_bounded_number_of_variables() -> None:
    held = {f"v{i}": i for i in range(MAX_SESSION_VARIABLES - 1)}
    doc = workflow({"scope": "session", "set": {"one_more": 1}})
    the_env = env(dict(held))
    await run(doc, {"user_input": "u"}, the_env)  # the hundredth fits
    assert the_env.session_changes == {"one_more": 1}
    doc = workflow({"scope": "session", "set": {"too_many": 1, "v0": "replacing is fine"}})
    with pytest.raises(ExecutionFailed) as e:
        await run(doc, {"user_input": "u"}, env({**held, "one_more": 1}))
    assert str(MAX_SESSION_VARIABLES) in e.value.message
    # Replacing held names adds none.
    the_env = env({**held, "one_more": 1})
    await run(workflow({"scope": "session", "set": {"v0": "again"}}), {"user_input": "u"}, the_env)
    assert the_env.session["v0"] == "again"


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"set": {}}, "set"),
        ({"set": {"1st": 1}}, "set"),
        ({"set": {"has space": 1}}, "set"),
        ({"set": {"n" * 65: 1}}, "set"),
        ({"set": {f"n{i}": i for i in range(MAX_NAMES + 1)}}, "set"),
        ({"set": {"a": 1}, "scope": "forever"}, "scope"),
        ({"set": {"a": {"first_of": "{{inputs.nick}}"}}}, "set.a.first_of"),
        ({"set": {"a": {"first_of": []}}}, "set.a.first_of"),
        ({"set": {"a": {"first_of": ["x"], "else": "y"}}}, "set.a"),
        ({"set": {"a": "{{nowhere.text}}"}}, "nowhere"),
        ({"set": {"a": "{{inputs.undeclared}}"}}, "undeclared"),
    ],
)
def test_bad_config_is_an_invalid_workflow_naming_node_and_key(config: dict[str, Any], named: str) -> None:
    message = refused(workflow(config))
    assert "'v1'" in message, message
    assert named in message, message


def test_only_the_names_set_can_be_referenced() -> None:
    message = refused(workflow({"set": {"a": 1}}, {"set": {"b": "{{v1.b}}"}}))
    assert "'v1' outputs a" in message, message


async def test_first_of_merges_the_branch_that_ran_after_the_other_was_skipped() -> None:
    # "keep" fails on a long text and goes on along its error port: "kept" is skipped,
    # "refused" runs, and the join takes the text of whichever branch ran.
    doc = {
        "name": "diamond",
        "nodes": [
            {"id": "start_node", "type": "start", "config": {"input_params": INPUTS}},
            {
                "id": "keep",
                "type": "variable",
                "config": {
                    "scope": "session",
                    "set": {"note": "{{inputs.user_input}}"},
                    "on_error": "branch",
                },
            },
            {"id": "kept", "type": "variable", "config": {"set": {"text": "kept {{keep.note}}"}}},
            {
                "id": "refused",
                "type": "variable",
                "config": {"set": {"text": "refused: {{keep.error.code}}"}},
            },
            {
                "id": "join",
                "type": "variable",
                "config": {"set": {"text": {"first_of": ["{{kept.text}}", "{{refused.text}}"]}}},
            },
        ],
        "connections": [
            {"from": "start_node", "to": "keep"},
            {"from": "keep", "to": "kept"},
            {"from": "keep", "port": "error", "to": "refused"},
            {"from": "kept", "to": "join"},
            {"from": "refused", "to": "join"},
        ],
    }
    short = await run(doc, {"user_input": "hi"})
    assert short.outputs["join"] == {"text": "kept hi"}
    assert short.traces["refused"].status == "skipped"
    long = await run(doc, {"user_input": "x" * MAX_VALUE_BYTES})
    assert long.outputs["join"] == {"text": "refused: execution_failed"}
    assert long.traces["kept"].status == "skipped"
