"""A workflow asks the user and waits: the execution is stored ``waiting``, and an answer (an
option, typed text, the session's next message, or the timeout) resumes it exactly once, in
this process or a new one; a workflow edited meanwhile is not resumed on its old graph."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from engine.errors import Conflict, ExecutionFailed, NotFound
from engine.run.executor import Executor
from engine.run.expiry import sweep
from engine.workflow.events import Event, QuestionAsked
from engine.workflow.graph import CompiledWorkflow
from tests.engine.executors import MakeExecutor
from tests.support.workflow_docs import compile_doc, link, start

SIZES = [{"id": "small", "label": "Small cup"}, {"id": "large", "label": "Large cup"}]


def template(node_id: str, text: str) -> dict[str, Any]:
    return {"id": node_id, "type": "template", "config": {"template": text}}


def coffee(**ask: Any) -> CompiledWorkflow:
    """start -> hello (message) -> ask -> one answer per port."""
    nodes = [
        start(),
        {"id": "hello", "type": "message", "config": {"content": "Hi {{inputs.user_input}}!"}},
        {
            "id": "ask",
            "type": "question",
            "config": {"question": "Which size, {{inputs.user_input}}?", "options": SIZES, **ask},
        },
        template("small", "A small one ({{ask.answer}})."),
        template("large", "A large one ({{ask.answer}})."),
        template("other", "Sorry, '{{ask.answer}}' is no size."),
        template("late", "No answer: no coffee."),
    ]
    conns = [
        *link("start>hello", "hello>ask"),
        {"from": "ask", "port": "small", "to": "small"},
        {"from": "ask", "port": "large", "to": "large"},
        {"from": "ask", "port": "other", "to": "other"},
        {"from": "ask", "port": "timeout", "to": "late"},
    ]
    return compile_doc(nodes, conns)


async def asked(ex: Executor, wf: CompiledWorkflow, session_id: str | None = None) -> str:
    record = await ex.execute("coffee", wf, {"user_input": "Ann"}, owner="o", session_id=session_id)
    assert record.status == "waiting"
    return record.execution_id


async def test_a_question_stores_the_execution_waiting_with_what_it_asks(executor: MakeExecutor) -> None:
    ex = executor()
    events: list[Event] = []
    record = await ex.execute("coffee", coffee(), {"user_input": "Ann"}, owner="o", sink=events.append)
    assert record.status == "waiting"
    question = {"text": "Which size, Ann?", "options": SIZES}
    assert record.result == {"content": "Which size, Ann?", "question": question, "messages": ["Hi Ann!"]}
    assert QuestionAsked("ask", question) in events
    # A process that just started sees it waiting (nothing of it is only in memory).
    stored = await executor().get(record.execution_id)
    assert stored is not None
    assert stored.status == "waiting"
    assert stored.nodes["ask"]["status"] == "waiting"
    assert stored.result is not None
    assert stored.result["question"] == question
    waiting = await ex.waitings.get(record.execution_id)
    assert waiting is not None
    assert waiting.node_id == "ask"
    assert waiting.owner == "o"


async def test_an_option_resumes_it_once_even_in_a_new_executor(executor: MakeExecutor) -> None:
    wf = coffee()
    execution_id = await asked(executor(), wf)
    restarted = executor()  # as after a restart: a new executor on the same database
    done = await restarted.resume(execution_id, wf, option="large", owner="o")
    assert done.status == "completed"
    assert done.result == {"content": "A large one (Large cup)."}
    assert done.nodes["ask"]["status"] == "completed"
    assert done.nodes["ask"]["port"] == "large"
    assert done.nodes["small"]["status"] == "skipped"
    assert done.outputs["hello"] == {"text": "Hi Ann!"}  # what ran before the question is kept
    stored = await executor().get(execution_id)
    assert stored is not None
    assert stored.status == "completed"
    assert stored.result == done.result
    with pytest.raises(Conflict) as again:
        await restarted.resume(execution_id, wf, option="small", owner="o")
    assert again.value.code == "conflict"
    assert "completed" in again.value.message


async def test_two_answers_at_once_resume_it_once(executor: MakeExecutor) -> None:
    wf = coffee()
    execution_id = await asked(executor(), wf)
    first, second = executor(), executor()
    outcomes = await asyncio.gather(
        first.resume(execution_id, wf, option="small"),
        second.resume(execution_id, wf, option="large"),
        return_exceptions=True,
    )
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    done = [o for o in outcomes if not isinstance(o, BaseException)]
    assert len(conflicts) == 1
    assert len(done) == 1
    assert done[0].status == "completed"


async def test_only_the_owner_may_answer(executor: MakeExecutor) -> None:
    wf = coffee()
    execution_id = await asked(executor(), wf)
    with pytest.raises(NotFound):
        await executor().resume(execution_id, wf, option="small", owner="mallory")
    with pytest.raises(NotFound):
        await executor().resume("exec_nope", wf, option="small", owner="o")
    done = await executor().resume(execution_id, wf, option="small", owner="o")
    assert done.status == "completed"


async def test_an_answer_that_matches_nothing_is_asked_again_then_goes_to_other(
    executor: MakeExecutor,
) -> None:
    wf = coffee(max_attempts=2)
    execution_id = await asked(executor(), wf)
    again = await executor().resume(execution_id, wf, answer="medium")
    assert again.status == "waiting"
    assert again.result is not None
    assert again.result["question"]["text"] == "Which size, Ann?"
    last = await executor().resume(execution_id, wf, answer="medium")
    assert last.status == "completed"
    assert last.result == {"content": "Sorry, 'medium' is no size."}


async def test_the_sessions_next_message_is_the_answer(executor: MakeExecutor) -> None:
    ex = executor()
    wf = coffee()
    execution_id = await asked(ex, wf, session_id="chat-1")
    # The user types; the bot calls execute as for any message.
    answer = await executor().execute(
        "coffee", wf, {"user_input": "small cup"}, owner="o", session_id="chat-1"
    )
    assert answer.execution_id == execution_id
    assert answer.status == "completed"
    assert answer.result == {"content": "A small one (small cup)."}
    history = await executor().sessions.history("chat-1")
    assert [m["content"] for m in history] == [
        "Ann",
        "Hi Ann!\n\nWhich size, Ann?",
        "small cup",
        "A small one (small cup).",
    ]
    # Nothing waits any more: the next message starts a new execution.
    fresh = await executor().execute("coffee", wf, {"user_input": "Bob"}, owner="o", session_id="chat-1")
    assert fresh.execution_id != execution_id
    assert fresh.status == "waiting"


async def test_a_timeout_resumes_it_on_the_timeout_port(executor: MakeExecutor) -> None:
    wf = coffee(timeout_s=0.05)
    ex = executor()
    execution_id = await asked(ex, wf)
    await asyncio.sleep(0.1)
    from engine.clock import utcnow

    assert await ex.waitings.expired(utcnow(), 10) == [execution_id]
    done = await ex.expire(execution_id, wf)
    assert done.status == "completed"
    assert done.result == {"content": "No answer: no coffee."}
    assert await ex.waitings.expired(utcnow(), 10) == []
    with pytest.raises(Conflict):
        await ex.expire(execution_id, wf)


async def test_a_workflow_edited_while_it_waits_is_not_resumed_on_its_old_graph(
    executor: MakeExecutor,
) -> None:
    execution_id = await asked(executor(), coffee())
    edited = coffee(max_attempts=5)
    with pytest.raises(Conflict) as caught:
        await executor().resume(execution_id, edited, option="small")
    assert "workflow changed" in caught.value.message
    stored = await executor().get(execution_id)
    assert stored is not None
    assert stored.status == "cancelled"
    assert stored.error is not None
    assert stored.error["code"] == "workflow_changed"
    assert await executor().waitings.get(execution_id) is None


async def test_a_branch_ready_beside_the_question_runs_after_the_answer(executor: MakeExecutor) -> None:
    nodes = [
        start(),
        {"id": "ask", "type": "question", "config": {"question": "Name?"}},
        template("aside", "noted {{inputs.user_input}}"),
        template("join", "{{ask.answer}} / {{aside.text}}"),
    ]
    wf = compile_doc(
        nodes,
        [*link("start>ask", "start>aside", "aside>join"), {"from": "ask", "port": "other", "to": "join"}],
    )
    record = await executor().execute("p", wf, {"user_input": "x"}, owner="o")
    assert record.status == "waiting"
    # Once the question asked nothing new started; what was ready runs after the answer.
    assert "aside" not in record.outputs
    done = await executor().resume(record.execution_id, wf, answer="Zoe")
    assert done.result == {"content": "Zoe / noted x"}


async def test_a_question_inside_a_sub_workflow_fails_clearly(executor: MakeExecutor) -> None:
    inner = compile_doc(
        [start(), {"id": "ask", "type": "question", "config": {"question": "Name?"}}], link("start>ask")
    )
    ex = executor()

    class Catalog:
        async def find(self, name: str) -> CompiledWorkflow:
            return inner

    from engine.workflow.nodes.calling import WORKFLOWS

    ex.services[WORKFLOWS.name] = Catalog()
    outer = compile_doc(
        [
            start(),
            {
                "id": "call",
                "type": "workflow",
                "config": {"workflow": "inner", "inputs": {"user_input": "{{inputs.user_input}}"}},
            },
        ],
        link("start>call"),
    )
    with pytest.raises(ExecutionFailed) as caught:
        await ex.execute("outer", outer, {"user_input": "x"}, owner="o")
    assert "cannot wait inside a sub-workflow" in caught.value.message


async def test_every_process_sweeps_expired_questions_and_each_is_resumed_once(
    executor: MakeExecutor,
) -> None:
    wf = coffee(timeout_s=0.05)
    waiting = [await asked(executor(), wf) for _ in range(3)]
    patient = await asked(executor(), coffee(timeout_s=3600))

    async def find(workflow_id: str) -> CompiledWorkflow:
        return wf

    assert await sweep(executor(), find) == 0  # nothing ran out yet
    await asyncio.sleep(0.1)
    # Two processes sweep at the same moment: between them each question is resumed once.
    counts = await asyncio.gather(sweep(executor(), find), sweep(executor(), find))
    assert sum(counts) == 3
    for execution_id in waiting:
        record = await executor().get(execution_id)
        assert record is not None
        assert record.status == "completed"
        assert record.result == {"content": "No answer: no coffee."}
    still = await executor().get(patient)
    assert still is not None
    assert still.status == "waiting"


async def test_a_reset_cancels_the_waiting_question(executor: MakeExecutor) -> None:
    wf = coffee()
    execution_id = await asked(executor(), wf, session_id="chat-2")
    assert await executor().cancel_waiting("chat-2") == 1
    stored = await executor().get(execution_id)
    assert stored is not None
    assert stored.status == "cancelled"
    # The next message starts a new execution instead of answering the old question.
    fresh = await executor().execute("coffee", wf, {"user_input": "small"}, owner="o", session_id="chat-2")
    assert fresh.execution_id != execution_id
    assert fresh.status == "waiting"
    with pytest.raises(Conflict):
        await executor().resume(execution_id, wf, option="small")


async def test_a_run_too_big_to_keep_while_waiting_fails_instead(executor: MakeExecutor) -> None:
    nodes = [
        start(),
        template("big", "{{inputs.user_input}}{{inputs.user_input}}"),
        {"id": "ask", "type": "question", "config": {"question": "Sure?"}},
    ]
    wf = compile_doc(nodes, link("start>big", "big>ask"))
    ex = executor(max_record_bytes=8192)
    with pytest.raises(ExecutionFailed) as caught:
        await ex.execute("big", wf, {"user_input": "x" * 5000}, owner="o")
    assert "while its question waits" in caught.value.message
    record = await ex.get(caught.value.execution_id or "")
    assert record is not None
    assert record.status == "failed"
    assert await ex.waitings.get(record.execution_id) is None
