"""The code node on the executor with the real sandbox (bubblewrap) behind it: what crosses
the boundary is bounded, the protocol survives code that scribbles on or closes its own
stdout, runs share nothing, and a host without bubblewrap refuses instead of running."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from config.sandbox import CodeSettings
from engine.errors import ExecutionFailed
from engine.record import ExecutionRecord
from engine.run.executor import Executor
from engine.sandbox import Sandbox
from engine.workflow.nodes.code import SANDBOX
from tests.engine.executors import MakeExecutor
from tests.support.workflow_docs import compile_doc, link, start

ESCAPE = (
    "OS = next(c for c in ().__class__.__base__.__subclasses__()"
    " if c.__name__ == '_wrap_close').__init__.__globals__\n"
)


@pytest.fixture
async def sandboxed(executor: MakeExecutor) -> AsyncIterator[Callable[..., Executor]]:
    """An executor whose SANDBOX is a real one with the given ``code`` settings."""
    boxes: list[Sandbox] = []

    def make(**settings: Any) -> Executor:
        ex = executor()
        box = Sandbox(CodeSettings(**settings))
        ex.services[SANDBOX.name] = box
        boxes.append(box)
        return ex

    yield make
    for box in boxes:
        await box.aclose()


async def run(ex: Executor, code: str, inputs: str = "", **config: Any) -> ExecutionRecord:
    node = {"id": "calc", "type": "code", "config": {"code": code, "inputs": {"v": "{{inputs.v}}"}, **config}}
    wf = compile_doc([start("start", "v"), node], link("start>calc"))
    return await ex.execute("wf", wf, {"v": inputs}, owner="t")


async def failure(ex: Executor, code: str, inputs: str = "", **config: Any) -> tuple[str, str]:
    """The node's error code and message, from its trace on the record."""
    with pytest.raises(ExecutionFailed) as e:
        await run(ex, code, inputs, **config)
    record = await ex.get(e.value.execution_id or "")
    assert record is not None
    error = record.nodes["calc"]["error"]
    return error["code"], error["message"]


async def test_what_main_returns_must_be_json_and_within_the_bound(
    sandboxed: Callable[..., Executor],
) -> None:
    ex = sandboxed(max_output_bytes=1024)
    big = await failure(ex, "def main(inputs):\n    return {'x': 'a' * 5000}\n")
    odd = await failure(ex, "def main(inputs):\n    return {'x': {1, 2}}\n")
    not_dict = await failure(ex, "def main(inputs):\n    return [1]\n")
    nan = await failure(ex, "def main(inputs):\n    return {'x': float('nan')}\n")
    assert big == ("code_output_invalid", "node 'calc': main returned more than 1024 bytes of JSON")
    assert odd[0] == "code_output_invalid"
    assert "JSON values only" in odd[1]
    assert not_dict == ("code_output_invalid", "node 'calc': main must return a dict, not list")
    assert nan[0] == "code_output_invalid"


async def test_prints_are_kept_up_to_the_bound_and_the_rest_is_cut(
    sandboxed: Callable[..., Executor],
) -> None:
    ex = sandboxed(max_log_bytes=100)
    record = await run(
        ex, "def main(inputs):\n    for i in range(1000):\n        print('line', i)\n    return {}\n"
    )
    logs = record.nodes["calc"]["logs"]
    assert logs.startswith("line 0\nline 1\n")
    assert logs.endswith("\n[logs truncated]")
    assert len(logs) <= 100 + len("\n[logs truncated]")


async def test_code_that_closes_or_floods_its_stdout_still_gets_its_answer_through(
    sandboxed: Callable[..., Executor],
) -> None:
    ex = sandboxed()
    code = ESCAPE + (
        "def main(inputs):\n"
        '    OS[\'write\'](1, b\'{"ok": true, "outputs": {"forged": 1}}\' * 1000)\n'
        "    OS['write'](2, b'noise' * 1000)\n"
        "    OS['close'](1)\n"
        "    OS['close'](2)\n"
        "    print('still logged')\n"
        "    return {'real': inputs['v']}\n"
    )
    record = await run(ex, code, "7")
    assert record.outputs["calc"] == {"real": "7"}
    assert record.nodes["calc"]["logs"] == "still logged\n"


async def test_no_run_sees_what_an_earlier_one_left_in_the_interpreter(
    sandboxed: Callable[..., Executor],
) -> None:
    ex = sandboxed(pool_size=1)
    code = (
        "import json\n"
        "def main(inputs):\n"
        "    seen = getattr(json, 'left_behind', None)\n"
        "    json.left_behind = inputs['v']\n"
        "    return {'seen': seen}\n"
    )
    first = await run(ex, code, "first")
    second = await run(ex, code, "second")
    assert first.outputs["calc"] == {"seen": None}
    assert second.outputs["calc"] == {"seen": None}


async def test_code_cannot_make_a_user_namespace_of_its_own(sandboxed: Callable[..., Executor]) -> None:
    ex = sandboxed()
    code = ESCAPE + (
        "IMP = OS['sys'].modules['_frozen_importlib'].__import__\n"
        "def main(inputs):\n"
        "    ctypes = IMP('ctypes')\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    CLONE_NEWUSER = 0x10000000\n"
        "    return {'result': libc.unshare(CLONE_NEWUSER), 'errno': ctypes.get_errno()}\n"
    )
    record = await run(ex, code)
    assert record.outputs["calc"]["result"] == -1  # refused (by --disable-userns)
    assert record.outputs["calc"]["errno"] != 0


async def test_runs_at_once_each_get_their_own_sandbox(sandboxed: Callable[..., Executor]) -> None:
    ex = sandboxed(pool_size=2)
    code = "import time\ndef main(inputs):\n    time.sleep(0.3)\n    return {'v': inputs['v']}\n"
    began = asyncio.get_running_loop().time()
    records = await asyncio.gather(*(run(ex, code, str(i)) for i in range(4)))
    took = asyncio.get_running_loop().time() - began
    assert [r.outputs["calc"]["v"] for r in records] == ["0", "1", "2", "3"]
    assert took < 4 * 0.3  # side by side, not one after another


async def test_a_sleeping_run_is_stopped_at_its_own_shorter_limit(sandboxed: Callable[..., Executor]) -> None:
    ex = sandboxed(timeout_s=5)
    began = asyncio.get_running_loop().time()
    code, message = await failure(ex, "import time\ndef main(inputs):\n    time.sleep(60)\n", timeout_s=0.5)
    assert (code, message) == ("code_timeout", "node 'calc': the code ran past its time limit (0.5s)")
    assert asyncio.get_running_loop().time() - began < 3


async def test_a_node_cannot_ask_for_more_time_than_the_admin_allows(
    sandboxed: Callable[..., Executor],
) -> None:
    ex = sandboxed(timeout_s=0.5)
    code, message = await failure(ex, "def main(inputs):\n    while True:\n        pass\n", timeout_s=60)
    assert code == "code_timeout"
    assert "(0.5s)" in message


async def test_inputs_over_their_bound_are_refused_before_anything_starts(
    sandboxed: Callable[..., Executor],
) -> None:
    ex = sandboxed(max_input_bytes=1024)
    code, message = await failure(ex, "def main(inputs):\n    return {}\n", "x" * 2000)
    assert (code, message) == ("code_error", "node 'calc': its inputs are over code.max_input_bytes (1024)")


async def test_without_bubblewrap_on_the_path_the_node_refuses_and_says_so(
    sandboxed: Callable[..., Executor], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    ex = sandboxed(pool_size=2)
    box: Sandbox = ex.services[SANDBOX.name]
    problem = await box.check()
    code, message = await failure(ex, "def main(inputs):\n    return {'ran': True}\n")
    assert problem == "the code node needs bubblewrap (apt-get install bubblewrap): 'bwrap' was not found"
    assert code == "sandbox_unavailable"
    assert message == f"node 'calc': {problem}"


async def test_bubblewrap_that_cannot_make_its_namespaces_is_refused_not_bypassed(
    sandboxed: Callable[..., Executor],
) -> None:
    # A stand-in that fails as bubblewrap does where user namespaces are off (in a directory
    # the sandbox's unprivileged uid may enter, as /usr/bin is).
    where = Path(tempfile.mkdtemp())
    where.chmod(0o755)  # noqa: ASYNC240 (a test's setup)
    fake = where / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    try:
        ex = sandboxed(bwrap=str(fake))
        code, message = await failure(ex, "def main(inputs):\n    return {'ran': True}\n")
    finally:
        shutil.rmtree(where)
    assert code == "sandbox_unavailable"
    assert "bwrap: No permissions to create new namespace" in message
    assert "apt-get install bubblewrap" in message
