"""The API describes itself, and an operator can check the service is alive."""

from __future__ import annotations

import aiohttp

from tests.api.shared_server import SharedServer

EXPECTED = {
    "/api/v1/workflows": {"get", "post"},
    "/api/v1/workflows/{workflow_id}": {"get", "put", "delete"},
    "/api/v1/workflows/{workflow_id}/execute": {"post"},
    "/api/v1/executions/{execution_id}": {"get"},
    "/api/v1/sessions/{session_id}": {"delete"},
    "/healthz": {"get"},
}


async def test_the_openapi_document_lists_every_endpoint(shared_server: SharedServer) -> None:
    async with aiohttp.ClientSession(base_url=shared_server.base_url) as http:  # no key needed
        r = await http.get("/api/v1/openapi.json")
        doc = await r.json()
    assert r.status == 200
    assert doc["openapi"].startswith("3.")
    methods = {path: set(ops) - {"parameters"} for path, ops in doc["paths"].items()}
    for path, expected in EXPECTED.items():
        assert expected <= methods.get(path, set()), path
    execute = doc["paths"]["/api/v1/workflows/{workflow_id}/execute"]["post"]
    assert {"200", "400", "401", "404", "413", "429", "502", "504"} <= set(execute["responses"])
    assert "text/event-stream" in execute["responses"]["200"]["content"]
    workflow = doc["paths"]["/api/v1/workflows/{workflow_id}"]
    assert "403" in workflow["put"]["responses"]
    assert "403" in workflow["delete"]["responses"]
    assert {"WorkflowSpec", "ExecuteRequest", "Error"} <= set(doc["components"]["schemas"])
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_every_documented_endpoint_exists(shared_server: SharedServer) -> None:
    """Each documented path answers something other than "no such endpoint"."""
    async with aiohttp.ClientSession(base_url=shared_server.base_url) as anon:
        doc = await (await anon.get("/api/v1/openapi.json")).json()
    key = shared_server.new_key()
    async with shared_server.client(key) as http:
        for path, ops in doc["paths"].items():
            url = (
                path.replace("{workflow_id}", "support_bot")
                .replace("{execution_id}", "exec_x")
                .replace("{session_id}", "s1")
                .replace("{asset}", "swagger-ui.css")
                .replace("{bot}", "tg")
                .replace("{name}", "someone")
                .replace("{file_id}", "file_x")
            )
            for method in set(ops) - {"parameters"}:
                r = await http.request(method.upper(), url, json={"inputs": {"user_input": "x"}})
                body = await r.json() if r.content_type == "application/json" else {}  # /docs, /metrics
                assert r.status not in (404, 405) or body["error"]["message"] != "no such endpoint", (
                    method,
                    path,
                )
                assert r.status != 405, (method, path)


async def test_healthz_is_open_and_tells_the_state_without_secrets(shared_server: SharedServer) -> None:
    async with aiohttp.ClientSession(base_url=shared_server.base_url) as http:
        r = await http.get("/healthz")
        text = await r.text()
        body = await r.json()
    assert r.status == 200
    assert body["status"] == "ok"
    assert body["workflows"]["files"] == 1
    assert body["workflows"]["problems"] == []
    assert isinstance(body["executions_in_flight"], int)
    assert "key-000" not in text
