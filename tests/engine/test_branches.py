"""A workflow branches on what the user said: a condition picks one port, the other branch is
skipped, and the branches meet again in a join that runs once."""

from __future__ import annotations

import time
from typing import Any

import pytest

from engine.errors import ExecutionFailed
from engine.workflow.events import Event, NodeSkipped, NodeStarted
from tests.engine.executors import MakeExecutor
from tests.support.workflow_docs import compile_doc, refused, response, start


def route(*branches: dict[str, Any]) -> dict[str, Any]:
    return {"id": "route", "type": "condition", "config": {"branches": list(branches)}}


def template(node_id: str, text: str) -> dict[str, Any]:
    return {"id": node_id, "type": "template", "config": {"template": text}}


def wire(*links: tuple[str, str] | tuple[str, str, str]) -> list[dict[str, str]]:
    """("a", "b") or ("a", "port", "b")."""
    return [
        {"from": c[0], "to": c[1]} if len(c) == 2 else {"from": c[0], "port": c[1], "to": c[2]} for c in links
    ]


REFUND = {
    "port": "refund",
    "logic": "or",
    "conditions": [
        {"left": "{{inputs.user_input}}", "op": "contains", "right": "refund", "ignore_case": True},
        {"left": "{{inputs.user_input}}", "op": "contains", "right": "money back", "ignore_case": True},
    ],
}
DIAMOND = [
    start(),
    route(REFUND),
    template("refund_reply", "Refunds take {{ 3 + 2 }} days, {{ inputs.user_input | lower }}."),
    template("other_reply", "You said: {{ inputs.user_input }}"),
    response("join", model="echo", prompt="[{{refund_reply.text}}][{{other_reply.text}}]"),
]
DIAMOND_WIRES = wire(
    ("start", "route"),
    ("route", "refund", "refund_reply"),
    ("route", "else", "other_reply"),
    ("refund_reply", "join"),
    ("other_reply", "join"),
)


async def test_the_taken_branch_runs_the_other_is_skipped_and_the_join_runs_once(
    executor: MakeExecutor,
) -> None:
    events: list[Event] = []
    wf = compile_doc(DIAMOND, DIAMOND_WIRES)
    record = await executor().execute(
        "wf_branch", wf, {"user_input": "I want a REFUND"}, owner="t", sink=events.append
    )
    assert record.outputs["route"] == {"port": "refund"}
    assert record.outputs["refund_reply"] == {"text": "Refunds take 5 days, i want a refund."}
    # The skipped branch's reference is empty in the join's prompt.
    assert record.result == {"content": "(echo) [Refunds take 5 days, i want a refund.][]"}
    assert record.nodes["other_reply"] == {"type": "template", "status": "skipped"}
    assert record.nodes["route"]["port"] == "refund"
    assert record.nodes["join"]["status"] == "completed"
    assert [e.node_id for e in events if isinstance(e, NodeSkipped)] == ["other_reply"]
    assert [e.node_id for e in events if isinstance(e, NodeStarted)].count("join") == 1
    assert "other_reply" not in record.outputs


async def test_else_is_taken_when_no_branch_holds(executor: MakeExecutor) -> None:
    events: list[Event] = []
    wf = compile_doc(DIAMOND, DIAMOND_WIRES)
    record = await executor().execute("wf_branch", wf, {"user_input": "hello"}, owner="t", sink=events.append)
    assert record.outputs["route"] == {"port": "else"}
    assert record.result == {"content": "(echo) [][You said: hello]"}
    assert record.nodes["refund_reply"]["status"] == "skipped"
    assert [e.node_id for e in events if isinstance(e, NodeSkipped)] == ["refund_reply"]


async def test_a_template_reading_a_skipped_node_sees_nothing(executor: MakeExecutor) -> None:
    nodes = [*DIAMOND[:4], template("join", "<{{ refund_reply.text }}|{{ nodes.other_reply.text }}>")]
    record = await executor().execute(
        "wf_branch", compile_doc(nodes, DIAMOND_WIRES), {"user_input": "hi"}, owner="t"
    )
    assert record.result == {"content": "<|You said: hi>"}


async def test_a_user_typing_a_template_gets_it_back_literally(executor: MakeExecutor) -> None:
    typed = "{{ 7*7 }} {% for x in range(9) %}x{% endfor %} {{secrets.key}}"
    record = await executor().execute(
        "wf_branch", compile_doc(DIAMOND, DIAMOND_WIRES), {"user_input": typed}, owner="t"
    )
    assert record.result == {"content": f"(echo) [][You said: {typed}]"}


async def test_a_skipped_branch_skips_everything_only_it_leads_to(executor: MakeExecutor) -> None:
    nodes = [*DIAMOND, template("after_refund", "done")]
    wires = [*DIAMOND_WIRES, *wire(("refund_reply", "after_refund"))]
    record = await executor().execute("wf_branch", compile_doc(nodes, wires), {"user_input": "hi"}, owner="t")
    assert record.nodes["after_refund"] == {"type": "template", "status": "skipped"}
    assert record.nodes["join"]["status"] == "completed"


def test_a_connection_naming_a_port_the_condition_lacks_is_refused_naming_both() -> None:
    wires = wire(("start", "route"), ("route", "refnd", "refund_reply"), ("route", "else", "other_reply"))
    details = refused(DIAMOND[:4], wires)
    assert "'route'" in details
    assert "refnd" in details
    assert "refund_reply" in details
    assert "else, refund" in details


def test_a_connection_without_a_port_from_a_condition_must_name_one() -> None:
    details = refused(
        DIAMOND[:4], wire(("start", "route"), ("route", "refund_reply"), ("route", "else", "other_reply"))
    )
    assert "names no port, but node 'route' has ports else, refund" in details


async def test_matches_with_a_catastrophic_pattern_answers_fast(executor: MakeExecutor) -> None:
    spam = {
        "port": "spam",
        "conditions": [{"left": "{{inputs.user_input}}", "op": "matches", "right": "(a+)+$"}],
    }
    nodes = [start(), route(spam), template("spam", "spam"), template("ham", "ham")]
    wf = compile_doc(nodes, wire(("start", "route"), ("route", "spam", "spam"), ("route", "else", "ham")))
    began = time.perf_counter()
    record = await executor().execute("wf_spam", wf, {"user_input": "a" * 30_000 + "!"}, owner="t")
    assert time.perf_counter() - began < 2.0
    assert record.result == {"content": "ham"}
    record = await executor().execute("wf_spam", wf, {"user_input": "aaaa"}, owner="t")
    assert record.result == {"content": "spam"}


async def test_a_bad_pattern_from_the_user_fails_the_run_with_a_clear_error(executor: MakeExecutor) -> None:
    check = {"port": "hit", "conditions": [{"left": "x", "op": "matches", "right": "{{inputs.user_input}}"}]}
    nodes = [start(), route(check), template("hit", "hit"), template("miss", "miss")]
    wf = compile_doc(nodes, wire(("start", "route"), ("route", "hit", "hit"), ("route", "else", "miss")))
    ex = executor()
    with pytest.raises(ExecutionFailed) as caught:
        await ex.execute("wf_re", wf, {"user_input": "(unclosed"}, owner="t")
    assert "node 'route': matches:" in caught.value.message
    record = await ex.get(caught.value.execution_id or "")
    assert record is not None
    assert record.nodes["route"]["status"] == "failed"


async def test_a_hostile_template_fails_its_execution_fast(executor: MakeExecutor) -> None:
    bomb = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    wf = compile_doc([start(), template("bomb", bomb)], wire(("start", "bomb")))
    began = time.perf_counter()
    with pytest.raises(ExecutionFailed) as caught:
        await executor().execute("wf_bomb", wf, {"user_input": "x"}, owner="t")
    assert time.perf_counter() - began < 3.0
    assert "node 'bomb': the template failed" in caught.value.message
