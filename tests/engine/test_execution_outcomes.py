"""What an execution ends as: optional inputs left out, node bugs, records too big or unsavable."""

from __future__ import annotations

import logging
import random
import sqlite3
from pathlib import Path
from typing import Any, ClassVar

import orjson
import pytest

from chatgate.http.serializers import execution_detail
from engine.errors import ExecutionCrashed
from engine.record_cap import MARK, cap_record
from engine.workflow.nodes import REGISTRY, NodeContext
from tests.engine.buggy_nodes import BuggyNode
from tests.engine.executors import MakeExecutor
from tests.support.workflow_docs import compile_doc, link, response


def start_with(*params: dict[str, Any]) -> dict[str, Any]:
    return {"id": "start", "type": "start", "config": {"input_params": list(params)}}


# -- optional inputs ---------------------------------------------------------------


@pytest.mark.parametrize("sent", [{}, {"meta": None}], ids=["left out", "sent as null"])
async def test_an_optional_input_nobody_sent_is_empty_in_a_prompt(
    executor: MakeExecutor, sent: dict[str, Any]
) -> None:
    wf = compile_doc(
        [
            start_with({"name": "user_input"}, {"name": "meta", "type": "object", "required": False}),
            response("reply", model="echo", prompt="[{{inputs.meta}}|{{start.meta}}] {{inputs.user_input}}"),
        ],
        link("start>reply"),
    )
    record = await executor().execute("wf_opt", wf, {"user_input": "hi", **sent}, owner="t")
    assert record.status == "completed"
    assert record.result == {"content": "(echo) [|] hi"}
    assert record.outputs["start"] == {"user_input": "hi", "meta": None}
    # When it is sent, it is there as JSON.
    record = await executor().execute("wf_opt", wf, {"user_input": "hi", "meta": {"a": 1}}, owner="t")
    assert record.result == {"content": '(echo) [{"a":1}|{"a":1}] hi'}  # compact JSON


# -- node bugs ---------------------------------------------------------------------------


async def test_a_node_bug_is_an_internal_error_logged_once_with_its_traceback(
    executor: MakeExecutor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(REGISTRY, "buggy", BuggyNode)
    wf = compile_doc(
        [start_with({"name": "user_input"}), {"id": "oops", "type": "buggy"}], link("start>oops")
    )
    ex = executor()
    with caplog.at_level(logging.INFO, "chatgate.executor"), pytest.raises(ExecutionCrashed) as caught:
        await ex.execute("wf_bug", wf, {"user_input": "hi"}, owner="t")
    error = caught.value
    assert error.code == "internal_error"
    assert error.envelope() == {
        "error": {
            "code": "internal_error",
            "message": "node 'oops' stopped on an internal error",
            "details": {"node": "oops"},
        },
        "execution_id": error.execution_id,
        "status": "failed",
    }
    assert "KeyError" not in error.message  # the caller is not shown our insides
    logged = [r for r in caplog.records if error.execution_id and error.execution_id in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].levelno == logging.ERROR
    assert logged[0].exc_info is not None
    assert logged[0].exc_info[0] is KeyError
    record = await ex.get(error.execution_id or "")
    assert record is not None
    assert record.status == "failed"
    assert record.error is not None
    assert record.error["code"] == "internal_error"
    assert ex.finished == {"failed": 1}


# -- what is stored ------------------------------------------------------------------------


class HugeNumberNode(BuggyNode):
    """A node with another bug: an output storage cannot hold."""

    type_name: ClassVar[str] = "huge"

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        return {"text": "done", "count": 2**70}


async def test_a_node_output_storage_could_not_hold_fails_the_run_and_is_recorded(
    executor: MakeExecutor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(REGISTRY, "huge", HugeNumberNode)
    wf = compile_doc([start_with({"name": "user_input"}), {"id": "big", "type": "huge"}], link("start>big"))
    ex = executor()
    with pytest.raises(ExecutionCrashed) as caught:
        await ex.execute("wf_huge", wf, {"user_input": "hi"}, owner="t")
    assert caught.value.details == {"node": "big"}
    record = await ex.get(caught.value.execution_id or "")
    assert record is not None
    assert record.status == "failed"
    assert set(record.outputs) == {"start"}
    assert ex.finished == {"failed": 1}


async def test_a_run_whose_record_could_not_be_saved_is_not_counted_completed(
    executor: MakeExecutor, tmp_path: Path
) -> None:
    """The model answered, then the database refused the record (as a full disk would)."""
    ex = executor()
    with sqlite3.connect(tmp_path / "engine.db") as db:
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON executions BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    wf = compile_doc(
        [start_with({"name": "user_input"}), response("reply", model="echo")], link("start>reply")
    )
    with pytest.raises(Exception, match="refused"):
        await ex.execute("wf_refused", wf, {"user_input": "hi"}, owner="t")
    assert ex.finished == {"failed": 1}
    assert ex.running == {}


async def test_a_long_chain_stores_a_capped_record_and_says_so(executor: MakeExecutor) -> None:
    """Each echo repeats the text before it: 60 nodes of a 300-character question."""
    n = 60
    nodes = [start_with({"name": "user_input"})] + [response(f"r{i}", model="echo") for i in range(n)]
    wf = compile_doc(nodes, link("start>r0", *(f"r{i}>r{i + 1}" for i in range(n - 1))))
    question = "why? " * 60
    ex = executor(max_record_bytes=8192)
    record = await ex.execute("wf_long", wf, {"user_input": question}, owner="t")
    # The caller gets the whole answer...
    full = "(echo) " * n + question
    assert record.result == {"content": full}
    assert record.truncated
    # ...the stored record is cut to fit, every node still there, each cut noted with its size.
    stored = await ex.get(record.execution_id)
    assert stored is not None
    assert stored.truncated
    assert stored.status == "completed"
    assert len(orjson.dumps(stored.outputs)) + len(orjson.dumps(stored.result)) <= 8192
    assert set(stored.outputs) == {"start", *(f"r{i}" for i in range(n))}
    assert stored.result is not None
    assert stored.result[MARK] == {"content": len(orjson.dumps(full))}
    assert full.startswith(stored.result["content"])
    assert len(stored.result["content"]) > 40
    for i in range(n):
        kept, real = stored.outputs[f"r{i}"], record.outputs[f"r{i}"]["text"]
        assert real.startswith(kept["text"])
        assert kept[MARK] == {"text": len(orjson.dumps(real))}
    assert execution_detail(stored)["truncated"] is True
    # A record that fits is stored as it is.
    small = await executor().execute("wf_long", wf, {"user_input": "hi"}, owner="t")
    again = await ex.get(small.execution_id)
    assert again is not None
    assert not again.truncated
    assert again.result == small.result


def test_capping_cuts_only_the_values_too_long_to_share_the_room() -> None:
    outputs = {"a": {"text": "x" * 10}, "b": {"text": "y" * 5000, "n": 7}, "c": {"text": "z" * 9000}}
    stored, result, cut = cap_record(outputs, {"content": "z" * 9000}, 4096)
    assert cut
    assert len(orjson.dumps(stored)) + len(orjson.dumps(result)) <= 4096
    assert stored["a"] == {"text": "x" * 10}  # short ones stay whole
    assert stored["b"]["n"] == 7
    assert stored["b"][MARK] == {"text": 5002}
    assert stored["c"][MARK] == {"text": 9002}
    assert result is not None
    assert result[MARK] == {"content": 9002}
    # The long ones share what is left equally.
    assert len(stored["b"]["text"]) == len(stored["c"]["text"]) == len(result["content"]) > 1000
    assert outputs["b"]["text"] == "y" * 5000  # the run's own values are untouched
    assert cap_record(outputs, None, 1 << 20) == (outputs, None, False)


@pytest.mark.parametrize("seed", range(5))
def test_a_capped_record_always_fits_whatever_the_texts(seed: int) -> None:
    rng = random.Random(seed)
    outputs = {
        f"node_{i}": {
            rng.choice(["text", "a_rather_long_output_field_name"]): 'é"x' * rng.randint(0, 3000)
            for _ in range(rng.randint(1, 3))
        }
        for i in range(rng.randint(5, 60))
    }
    result = {"content": "y" * rng.randint(0, 50_000)}
    stored, stored_result, cut = cap_record(outputs, result, 16_384)
    assert len(orjson.dumps(stored)) + len(orjson.dumps(stored_result)) <= 16_384
    assert cut == (len(orjson.dumps(outputs)) + len(orjson.dumps(result)) > 16_384)
    for node, fields in outputs.items():
        for key, value in fields.items():
            assert value.startswith(stored[node][key])
            assert (stored[node][key] != value) == (key in stored[node].get(MARK, {}))
