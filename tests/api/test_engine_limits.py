"""What a hostile or careless upload can no longer do to the server, and how runs end.

- a huge workflow is refused by its size, and a large valid one is validated while
  the server keeps answering everyone else;
- inputs that storage could not hold are refused before the model runs, and are not
  counted as executions;
- an optional input nobody sent is empty, not a crash;
- a node bug is a 500 `internal_error` naming the execution, never a model failure;
- a long chain's record is stored capped, and says so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yaml
from aiohttp import web

from chatgate.gateway import Gateway
from chatgate.http.app import create_app
from config.loader import parse_settings
from engine.workflow.nodes import REGISTRY
from tests.api.shared_server import SharedServer
from tests.api.support import assert_error, create_workflow, wait_until
from tests.engine.buggy_nodes import BuggyNode
from tests.support.chatgate import API_KEY, StartChatgate, base_config
from tests.support.net import free_port


def ident(i: int) -> str:
    """Node ids in base 36: a 17,500-node chain fits a 1 MiB body."""
    digits = ""
    while True:
        i, d = divmod(i, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[d] + digits
        if not i:
            return digits


def chain(n: int, *, quoting: bool = False) -> dict[str, Any]:
    """start -> 1 -> 2 -> ... -> n in few bytes (short ids, no configs)."""
    nodes: list[dict[str, Any]] = [
        {"id": "_s", "type": "start", "config": {"input_params": [{"name": "user_input"}]}}
    ]
    connections = []
    for i in range(1, n + 1):
        prev = "_s" if i == 1 else ident(i - 1)
        node: dict[str, Any] = {"id": ident(i), "type": "response"}
        if quoting and i > 1:
            node["config"] = {"prompt": "{{" + prev + ".text}}"}
        nodes.append(node)
        connections.append({"from": prev, "to": ident(i)})
    return {"name": f"chain{n}", "nodes": nodes, "connections": connections}


def compact(doc: dict[str, Any]) -> dict[str, Any]:
    """Request arguments sending ``doc`` as compact JSON, as an attacker packs it."""
    return {"data": orjson.dumps(doc), "headers": {"Content-Type": "application/json"}}


async def test_a_17500_node_upload_is_refused_by_its_size(shared_server: SharedServer) -> None:
    doc = chain(17_500)
    assert len(orjson.dumps(doc)) < 1024 * 1024  # within the body limit: it is the engine that refuses it
    async with shared_server.client(shared_server.new_key()) as http:
        r = await http.post("/api/v1/workflows", **compact(doc))
        error = assert_error(await r.json(), "invalid_workflow")
        assert r.status == 400
        assert error["details"] == "the workflow has 17501 nodes, over engine.max_nodes (500)"
        async with http.get("/healthz") as health:
            assert health.status == 200


async def test_a_workflow_file_over_the_bounds_is_reported_and_loads_once_they_are_raised(
    start_chatgate: StartChatgate,
) -> None:
    def tight(config: dict[str, Any]) -> None:
        config["engine"] = {"max_nodes": 10}

    gw = await start_chatgate(tight, workflows={"long.json": chain(10), "short.json": chain(9)})

    async def health() -> dict[str, Any]:
        async with gw.client() as http, http.get("/healthz") as r:
            body: dict[str, Any] = (await r.json())["workflows"]
            return body

    listed = await health()
    assert listed["files"] == 1
    [problem] = listed["problems"]
    assert problem["path"].endswith("long.json")
    assert problem["details"] == "the workflow has 11 nodes, over engine.max_nodes (10)"
    # Raising the bound in the config is enough: the reload holds the files to the new one.
    gw.write_config({**gw.config, "engine": {"max_nodes": 11}})
    await wait_until(lambda: _files_loaded(health, 2), within_s=10)
    assert (await health())["problems"] == []


async def _files_loaded(health: Any, count: int) -> bool:
    return bool((await health())["files"] == count)


async def test_healthz_answers_while_a_large_workflow_is_validated(start_chatgate: StartChatgate) -> None:
    def roomy(config: dict[str, Any]) -> None:
        config["server"]["max_body_bytes"] = 8 * 1024 * 1024
        config["engine"] = {"max_nodes": 100_000, "max_connections": 100_000}

    gw = await start_chatgate(roomy)
    async with gw.client() as http, gw.client() as probe:
        upload = asyncio.create_task(http.post("/api/v1/workflows", **compact(chain(17_500, quoting=True))))
        began = time.monotonic()
        waits: list[float] = []
        while not upload.done():
            asked = time.monotonic()
            async with probe.get("/healthz") as r:
                assert r.status == 200
            waits.append(time.monotonic() - asked)
            await asyncio.sleep(0.01)
        took = time.monotonic() - began
        created = await upload
        assert created.status == 201, await created.text()
    # Nobody waited for the validation: every health check took a fraction of it.
    assert len(waits) >= 3, f"{len(waits)} health checks during a {took:.2f}s upload"
    assert max(waits) < took / 3, f"a health check waited {max(waits):.2f}s of a {took:.2f}s upload"


async def executions_counted(http: aiohttp.ClientSession) -> dict[str, float]:
    async with http.get("/metrics") as r:
        text = await r.text()
    counts = {}
    for line in text.splitlines():
        if line.startswith("chatgate_executions_total{"):
            status = line.split('status="', 1)[1].split('"', 1)[0]
            counts[status] = float(line.rsplit(" ", 1)[1])
    return counts


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("n", "123456789012345678901234567890", "outside the signed 64-bit range"),
        ("n", 18446744073709551615, "outside the signed 64-bit range"),
        ("o", nested(253), "nested deeper than 64 levels"),
    ],
)
async def test_an_input_storage_could_not_hold_is_refused_before_the_model_runs(
    shared_server: SharedServer, name: str, value: Any, problem: str
) -> None:
    doc = chain(1)
    doc["nodes"][0]["config"]["input_params"] += [
        {"name": "n", "type": "number", "required": False},
        {"name": "o", "type": "object", "required": False},
    ]
    async with shared_server.client(shared_server.new_key()) as http:
        wid = await create_workflow(http, doc)
        before = await executions_counted(http)
        r = await http.post(
            f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "hi", name: value}}
        )
        error = assert_error(await r.json(), "invalid_request")
        assert r.status == 400
        assert error["message"].startswith(f"input '{name}' cannot be stored: ")
        assert problem in error["message"]
        assert error["details"][0]["loc"] == ["body", "inputs", name]
        # Nothing ran, so nothing is counted (it used to be counted completed, then fail to save).
        assert await executions_counted(http) == before


async def test_an_optional_input_left_out_is_empty_in_the_prompt(shared_server: SharedServer) -> None:
    doc = chain(1)
    doc["nodes"][0]["config"]["input_params"].append({"name": "meta", "type": "object", "required": False})
    doc["nodes"][1]["config"] = {"prompt": "{{inputs.user_input}}[{{inputs.meta}}]"}
    async with shared_server.client(shared_server.new_key()) as http:
        wid = await create_workflow(http, doc)
        for inputs in ({"user_input": "hi"}, {"user_input": "hi", "meta": None}):
            r = await http.post(f"/api/v1/workflows/{wid}/execute", json={"inputs": inputs})
            body = await r.json()
            assert r.status == 200, body
            assert body["status"] == "completed"
            assert body["result"] == {"content": "(echo) hi[]"}


async def test_a_long_chain_is_answered_in_full_and_stored_capped(start_chatgate: StartChatgate) -> None:
    def small_records(config: dict[str, Any]) -> None:
        config["engine"] = {"max_record_bytes": 4096}

    gw = await start_chatgate(small_records)
    question = "why? " * 100
    async with gw.client() as http:
        wid = await create_workflow(http, chain(30))
        r = await http.post(f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": question}})
        body = await r.json()
        assert r.status == 200, body
        full = "(echo) " * 30 + question
        assert body["result"] == {"content": full}  # the caller gets all of it
        async with http.get(f"/api/v1/executions/{body['execution_id']}") as got:
            stored = await got.json()
    assert stored["status"] == "completed"
    assert stored["truncated"] is True
    assert full.startswith(stored["result"]["content"])
    assert len(stored["result"]["content"]) < len(full)
    assert stored["result"]["_truncated"] == {"content": len(full) + 2}
    nodes = [ident(i) for i in range(1, 31)]
    assert set(stored["outputs"]) == {"_s", *nodes}
    assert all("_truncated" in stored["outputs"][node] for node in nodes)


# -- a node bug, in a server in this process (a node type of its own, with a bug) ---------


@pytest.fixture
async def server_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, Gateway]]:
    monkeypatch.setitem(REGISTRY, "buggy", BuggyNode)
    (tmp_path / "workflows").mkdir()
    (tmp_path / "data").mkdir()
    config = base_config(free_port(), tmp_path)
    path = tmp_path / "chatgate.yaml"
    path.write_text(yaml.safe_dump(config))
    settings = parse_settings(path.read_text(), path, {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""})
    gw = await Gateway.open(settings)
    runner = web.AppRunner(create_app(gw), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.server.port).start()
    try:
        yield f"http://127.0.0.1:{settings.server.port}", gw
    finally:
        await runner.cleanup()
        await gw.close()


async def test_a_node_bug_is_a_500_internal_error_naming_the_execution(
    server_here: tuple[str, Gateway], caplog: pytest.LogCaptureFixture
) -> None:
    base_url, gw = server_here
    doc = chain(0)
    doc["nodes"].append({"id": "oops", "type": "buggy"})
    doc["connections"] = [{"from": "_s", "to": "oops"}]
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with aiohttp.ClientSession(base_url=base_url, headers=headers) as http:
        wid = await create_workflow(http, doc)
        r = await http.post(f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "hi"}})
        body = await r.json()
        assert r.status == 500, body
        error = assert_error(body, "internal_error")
        assert error == {
            "code": "internal_error",
            "message": "node 'oops' stopped on an internal error",
            "details": {"node": "oops"},
        }
        assert body["status"] == "failed"
        assert body["execution_id"].startswith("exec_")
        async with http.get(f"/api/v1/executions/{body['execution_id']}") as got:
            record = await got.json()
        assert record["status"] == "failed"
        assert record["error"]["code"] == "internal_error"
    assert gw.executor.finished["failed"] == 1
    assert not gw.executor.finished["completed"]
    # The traceback is in the server's log, once, and only there.
    traced = [rec for rec in caplog.records if rec.exc_info and rec.exc_info[0] is KeyError]
    assert len(traced) == 1
    assert body["execution_id"] in traced[0].getMessage()
    assert "KeyError" not in str(body)
