"""A developer composes workflows over the REST API: one calls another by id, one runs a
helper per item, and a loop of calls is refused when it is saved."""

from __future__ import annotations

import itertools
from typing import Any

from tests.api.shared_server import SharedServer
from tests.api.support import assert_error, create_workflow
from tests.support.chatgate import StartChatgate


def workflow(name: str, params: list[dict[str, Any]], *nodes: dict[str, Any]) -> dict[str, Any]:
    """start (declaring ``params``) followed by ``nodes`` in a chain."""
    chain = [{"id": "start", "type": "start", "config": {"input_params": params}}, *nodes]
    return {
        "name": name,
        "nodes": chain,
        "connections": [{"from": a["id"], "to": b["id"]} for a, b in itertools.pairwise(chain)],
    }


def helper(name: str = "greet") -> dict[str, Any]:
    say = {"id": "say", "type": "response", "config": {"model": "echo", "prompt": "hello {{inputs.who}}"}}
    return workflow(name, [{"name": "who"}], say)


async def run(http: Any, workflow_id: str, inputs: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with http.post(f"/api/v1/workflows/{workflow_id}/execute", json={"inputs": inputs}) as r:
        return r.status, await r.json()


async def test_a_workflow_calls_a_helper_and_iterates_it_over_a_list(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        greet = await create_workflow(http, helper())
        call = {
            "id": "call",
            "type": "workflow",
            "config": {"workflow": greet, "inputs": {"who": "{{inputs.user_input}}"}},
        }
        each = {
            "id": "each",
            "type": "iterate",
            "config": {"items": "{{inputs.names}}", "workflow": greet, "item_input": "who", "concurrency": 2},
        }
        say = {
            "id": "say",
            "type": "response",
            "config": {
                "model": "echo",
                "prompt": "{{call.content}}; {{each.count}}: {{each.results[1].content}}",
            },
        }
        params = [{"name": "user_input"}, {"name": "names", "type": "object"}]
        main = await create_workflow(http, workflow("main", params, call, each, say))
        status, body = await run(http, main, {"user_input": "ann", "names": ["bo", "cy", "di"]})
        assert status == 200, body
        detail = await (await http.get(f"/api/v1/executions/{body['execution_id']}")).json()
    assert body["result"] == {"content": "(echo) (echo) hello ann; 3: (echo) hello cy"}
    assert detail["outputs"]["each"] == {
        "results": [{"content": f"(echo) hello {n}"} for n in ("bo", "cy", "di")],
        "count": 3,
    }
    assert detail["nodes"]["each"]["status"] == "completed"


async def test_a_workflow_that_would_call_itself_is_refused_when_saved(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        a = await create_workflow(http, helper("a"))
        to_a = {"id": "to_a", "type": "workflow", "config": {"workflow": a, "inputs": {"who": "x"}}}
        b = await create_workflow(http, workflow("b", [{"name": "who"}], to_a))
        to_b = {"id": "to_b", "type": "workflow", "config": {"workflow": b, "inputs": {"who": "x"}}}
        r = await http.put(f"/api/v1/workflows/{a}", json=workflow("a", [{"name": "who"}], to_b))
        refused = await r.json()
        status, still = await run(http, a, {"who": "me"})
    assert r.status == 400, refused
    error = assert_error(refused, "invalid_workflow")
    assert "node 'to_b' calls workflows in a loop: 'a' -> 'b' -> 'a'" in error["details"]
    assert (status, still["result"]) == (200, {"content": "(echo) hello me"})


async def test_another_keys_workflow_cannot_be_called(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as alice:
        secret = await create_workflow(alice, helper("secret"))
    call = {"id": "call", "type": "workflow", "config": {"workflow": secret, "inputs": {"who": "x"}}}
    async with shared_server.client(shared_server.new_key()) as bob:
        mine = await create_workflow(bob, workflow("bobs", [{"name": "user_input"}], call))
        status, body = await run(bob, mine, {"user_input": "hi"})
    error = assert_error(body, "execution_failed")
    assert error["message"] == f"node 'call': workflow '{secret}' not found"
    assert status >= 400


async def test_workflow_files_calling_each_other_are_reported(start_chatgate: StartChatgate) -> None:
    ping = workflow(
        "ping", [{"name": "user_input"}], {"id": "c", "type": "workflow", "config": {"workflow": "pong"}}
    )
    pong = workflow(
        "pong", [{"name": "user_input"}], {"id": "c", "type": "workflow", "config": {"workflow": "ping"}}
    )
    gw = await start_chatgate(workflows={"ping.json": ping, "pong.json": pong})
    async with gw.client() as http:
        health = await (await http.get("/healthz")).json()
        missing = await http.get("/api/v1/workflows/ping")
    [problem] = health["workflows"]["problems"]
    assert problem["path"].endswith("ping.json")
    assert "'ping' -> 'pong' -> 'ping'" in str(problem["details"])
    assert missing.status == 404
