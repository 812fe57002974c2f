"""An admin keeps the orders service's token in the config's ``secrets:``; workflows send it
to that service by name, and nobody ever sees it: not the caller (result, errors, the
stream), not the record or the database, not the log, not ``GET`` of the workflow. A key
the admin did not grant it cannot use it, and loses it when the grant is taken back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.api.support import SSE, assert_error, create_workflow
from tests.config.reload_support import edit, fast_reload, wait_version
from tests.support.chatgate import OTHER_KEY, StartChatgate
from tests.support.http_service import HttpService

TOKEN = "tok-orders-9d41c7e2aa"
START = {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}}


def lookup(url: str) -> dict[str, Any]:
    """Looks the order up with the token, then lets the model (offline: echo) retell what the
    service answered, which echoes the token back: a leak at every step if masking failed."""
    return {
        "name": "lookup",
        "nodes": [
            START,
            {
                "id": "call",
                "type": "http",
                "config": {
                    "url": url,
                    "method": "POST",
                    "headers": {"Authorization": "Bearer {{secrets.orders_token}}"},
                    "body": {"json": {"order": "{{inputs.user_input}}", "token": "{{secrets.orders_token}}"}},
                },
            },
            {"id": "tell", "type": "response", "config": {"prompt": "The service said {{call.body}}"}},
            {"id": "fail", "type": "message", "config": {"content": "seen: {{call.headers}}"}},
        ],
        "connections": [
            {"from": "start", "to": "call"},
            {"from": "call", "to": "tell"},
            {"from": "call", "to": "fail"},
        ],
    }


def grant(*keys: str) -> Any:
    def configure(config: dict[str, Any]) -> None:
        fast_reload(config)
        config["http"] = {"allow_networks": ["127.0.0.1/32"]}
        config["secrets"] = {"orders_token": {"value": TOKEN, "keys": list(keys)}}

    return configure


def stored_bytes(data_dir: Path) -> bytes:
    """Everything the database holds on disk (its WAL included)."""
    return b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("chatgate.db"))


async def test_the_token_reaches_the_service_and_nothing_anyone_can_read(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(grant("tester"), workflows={})
    async with HttpService("127.0.0.1") as service, gw.client() as http:
        wid = await create_workflow(http, lookup(service.url("/echo")))
        async with http.post(
            f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "A-17"}}
        ) as r:
            plain = await r.text()
            status = r.status
        payload = {"inputs": {"user_input": "B-2"}, "stream": True}
        async with http.post(f"/api/v1/workflows/{wid}/execute", json=payload) as r:
            events = await SSE(r).all()
        execution = next(data for name, data in events if name == "execution_finished")["execution_id"]
        record = await (await http.get(f"/api/v1/executions/{execution}")).text()
        document = await (await http.get(f"/api/v1/workflows/{wid}")).text()
    assert status == 200, plain
    assert [s.headers["authorization"] for s in service.seen] == [f"Bearer {TOKEN}"] * 2
    assert "[secret:orders_token]" in plain  # the echoed token, as everyone sees it
    assert "{{secrets.orders_token}}" in document
    sent = json.loads(record)["nodes"]["call"]["sent"]  # what went out, as the record shows it
    assert sent["headers"] == {"Authorization": "Bearer [secret:orders_token]"}
    assert sent["body"] == {"order": "B-2", "token": "[secret:orders_token]"}
    assert sent["method"] == "POST"
    for seen in (plain, str(events), record, document, gw.logs()):
        assert TOKEN not in seen
    assert TOKEN.encode() not in stored_bytes(gw.workdir / "data")


async def test_a_key_without_the_grant_cannot_name_the_secret(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(grant("tester"), workflows={})
    async with HttpService("127.0.0.1") as service, gw.client(OTHER_KEY) as http:
        r = await http.post("/api/v1/workflows", json=lookup(service.url("/echo")))
        refused = await r.json()
    error = assert_error(refused, "invalid_workflow")
    assert "there is no secret 'orders_token'" in error["details"]  # the same as for a secret nobody has
    assert service.seen == []


async def test_a_secret_is_refused_where_a_user_or_model_could_read_it(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(grant("tester"), workflows={})
    leaky = lookup("http://127.0.0.1:1/")
    leaky["nodes"][3]["config"]["content"] = "token: {{secrets.orders_token}}"
    async with gw.client() as http, http.post("/api/v1/workflows", json=leaky) as r:
        refused = await r.json()
    error = assert_error(refused, "invalid_workflow")
    assert "node 'fail' config 'content' references {{secrets.orders_token}}" in error["details"]
    assert "only in an http node's headers, query and body" in error["details"]


async def test_taking_the_grant_back_stops_the_workflows_that_send_it(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(grant("tester"), workflows={})
    async with HttpService("127.0.0.1") as service, gw.client() as http:
        wid = await create_workflow(http, lookup(service.url("/echo")))
        edit(gw, lambda c: c["secrets"]["orders_token"].update(keys=["someone-else"]))
        await wait_version(gw, 2)
        async with http.post(f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "A-1"}}) as r:
            status, body = r.status, await r.json()
    assert status == 403, body
    assert (
        "sends secret 'orders_token', which is not configured for its owner"
        in assert_error(body, "forbidden")["message"]
    )
    assert service.seen == []


async def test_the_admins_file_workflows_may_use_every_secret(start_chatgate: StartChatgate) -> None:
    async with HttpService("127.0.0.1") as service:
        gw = await start_chatgate(grant(), workflows={"lookup.json": lookup(service.url("/echo"))})
        async with gw.client(OTHER_KEY) as http:  # any key may run a file workflow
            r = await http.post("/api/v1/workflows/lookup/execute", json={"inputs": {"user_input": "C-3"}})
            status, body = r.status, await r.json()
    assert status == 200, body
    assert [s.headers["authorization"] for s in service.seen] == [f"Bearer {TOKEN}"]
    assert TOKEN not in str(body)


async def test_an_answer_after_the_grant_was_taken_back_does_not_send_the_secret(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(grant("tester"), workflows={})
    async with HttpService("127.0.0.1") as service, gw.client() as http:
        doc = lookup(service.url("/echo"))
        doc["nodes"].insert(1, {"id": "ask", "type": "question", "config": {"question": "Which order?"}})
        doc["connections"][0] = {"from": "start", "to": "ask"}
        doc["connections"].insert(1, {"from": "ask", "port": "other", "to": "call"})
        wid = await create_workflow(http, doc)
        r = await http.post(f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "hi"}})
        asked = await r.json()
        edit(gw, lambda c: c["secrets"]["orders_token"].update(keys=["someone-else"]))
        await wait_version(gw, 2)
        r = await http.post(f"/api/v1/executions/{asked['execution_id']}/resume", json={"answer": "A-1"})
        status, body = r.status, await r.json()
    assert asked["status"] == "waiting", asked
    assert status == 403, body
    assert "sends secret 'orders_token'" in assert_error(body, "forbidden")["message"]
    assert service.seen == []
