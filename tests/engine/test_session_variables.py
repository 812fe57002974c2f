"""Session variables through the executor: kept only when the execution completes, read by
the session's next execution, bounded in number across executions."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from engine.errors import ExecutionFailed
from engine.sessions import Sessions
from engine.workflow.graph import CompiledWorkflow
from engine.workflow.nodes.variable import MAX_NAMES, MAX_SESSION_VARIABLES, MAX_VALUE_BYTES
from tests.engine.executors import MakeExecutor
from tests.support.workflow_docs import compile_doc, link, start


def variable(node_id: str, values: dict[str, Any], scope: str = "session") -> dict[str, Any]:
    return {"id": node_id, "type": "variable", "config": {"scope": scope, "set": values}}


def setting(*nodes: dict[str, Any]) -> CompiledWorkflow:
    """start -> each node in turn."""
    ids = ["start", *(n["id"] for n in nodes)]
    return compile_doc([start(), *nodes], link(*(f"{a}>{b}" for a, b in itertools.pairwise(ids))))


async def stored(sessions: Sessions, session_id: str) -> dict[str, Any]:
    """What a process that just started reads for the session (the database, no cache)."""
    return dict(await Sessions(sessions.storage, max_turns=1).variables(session_id))


async def test_a_failed_execution_keeps_none_of_what_it_set(executor: MakeExecutor) -> None:
    ex = executor()
    half = "x" * (MAX_VALUE_BYTES // 2 + 10)
    # "name" fits; "twice" is two copies of the same text, over the limit: the run fails after
    # "name" was already set for it.
    wf = setting(
        variable("remember", {"name": "{{inputs.user_input}}"}),
        variable("copy", {"twice": ["{{inputs.user_input}}", "{{inputs.user_input}}"]}),
    )
    with pytest.raises(ExecutionFailed) as failed:
        await ex.execute("wf", wf, {"user_input": half}, owner="o", session_id="s")
    assert "twice" in failed.value.message
    assert await ex.sessions.variables("s") == {}
    assert await stored(ex.sessions, "s") == {}
    record = await ex.get(failed.value.execution_id or "")
    assert record is not None
    assert record.status == "failed"

    done = await ex.execute(
        "wf",
        setting(variable("remember", {"name": "{{inputs.user_input}}"})),
        {"user_input": "Ada"},
        owner="o",
        session_id="s",
    )
    assert done.status == "completed"
    assert await stored(ex.sessions, "s") == {"name": "Ada"}


async def test_the_next_execution_reads_what_the_last_one_kept(executor: MakeExecutor) -> None:
    ex = executor()
    remember = setting(variable("remember", {"name": "{{inputs.user_input}}", "seen": True}))
    read = setting(
        variable("read", {"text": "{{session.name}} {{session.seen}} [{{session.never}}]"}, "execution")
    )
    await ex.execute("remember", remember, {"user_input": "Ada"}, owner="o", session_id="s")
    answer = await ex.execute("read", read, {"user_input": "?"}, owner="o", session_id="s")
    assert answer.result == {"content": "Ada true []"}
    # Nothing about variables goes into the chat history: only the exchange.
    assert [m["content"] for m in await ex.sessions.history("s")] == ["Ada", "", "?", "Ada true []"]


async def test_a_session_cannot_hold_more_than_its_share_of_variables(executor: MakeExecutor) -> None:
    ex = executor()
    batches = [setting(variable("v", {f"{prefix}{i}": i for i in range(MAX_NAMES)})) for prefix in ("a", "b")]
    assert 2 * MAX_NAMES == MAX_SESSION_VARIABLES
    for wf in batches:
        await ex.execute("wf", wf, {"user_input": "go"}, owner="o", session_id="s")
    with pytest.raises(ExecutionFailed) as failed:
        await ex.execute(
            "wf", setting(variable("v", {"one_more": 1})), {"user_input": "go"}, owner="o", session_id="s"
        )
    assert str(MAX_SESSION_VARIABLES) in failed.value.message
    assert len(await stored(ex.sessions, "s")) == MAX_SESSION_VARIABLES
    # Another session has its own share.
    await ex.execute(
        "wf", setting(variable("v", {"one_more": 1})), {"user_input": "go"}, owner="o", session_id="t"
    )
    assert await stored(ex.sessions, "t") == {"one_more": 1}
