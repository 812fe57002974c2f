"""The OpenAPI document is generated from the routes and their models, so it is the truth:
every route the server has is in it and nothing else, every operation has an id, a tag and
every status it can answer, and what the server answers validates against it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
import yaml
from aiohttp import web

from chatgate.gateway import Gateway
from chatgate.http import docs, openapi
from chatgate.http.app import API_PREFIX, PUBLIC, PUBLIC_PREFIXES, create_app
from chatgate.http.openapi import document
from chatgate.http.routes import admin, executions, health, metrics, workflows
from config.loader import parse_settings
from tests.api.openapi_check import Document, Seen
from tests.api.shared_server import SharedServer
from tests.api.support import create_workflow
from tests.support.chatgate import base_config, seed_workflow
from tests.support.net import free_port

pytestmark = pytest.mark.timeout(60)


def _static_document() -> dict[str, Any]:
    """The document of the routes every server has, without starting one."""
    app = web.Application()
    for module in (workflows, executions, health, openapi, docs, admin, metrics):
        app.router.add_routes(module.routes)
    return document(app.router)


_DOC = _static_document()


async def test_every_route_of_the_server_is_in_the_document_and_nothing_else(tmp_path: Path) -> None:
    """Built in-process from the app chatgate serves, with a webhook bot so its path is there too."""
    config = base_config(free_port(), tmp_path)
    config["bots"] = [
        {
            "name": "tg-hook",
            "platform": "telegram",
            "token": "123:abc",
            "workflow": "support_bot",
            "mode": {
                "url": "https://example.invalid/hooks/tg-hook",
                "secret_token": "s3cret",
                "path": "/hooks/{bot}",
            },
        }
    ]
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "support_bot.json").write_text(json.dumps(seed_workflow()))
    settings = parse_settings(yaml.safe_dump(config), tmp_path / "chatgate.yaml", env={})
    gw = await Gateway.open(settings)
    try:
        app = create_app(gw)
        routed = {
            (r.resource.canonical, r.method.lower())
            for r in app.router.routes()
            if r.method != "HEAD" and r.resource is not None
        }
        doc = document(app.router)
    finally:
        await gw.close()
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routed == documented
    assert ("/hooks/{bot}", "post") in documented
    assert ("/telegram/{bot}", "post") in documented
    assert ("/api/v1/workflows/{workflow_id}/execute", "post") in documented
    assert ("/docs", "get") in documented
    # What the document calls keyless under /api/v1 is what the front door lets through.
    keyless = {path for path, ops in doc["paths"].items() for op in ops.values() if op.get("security") == []}
    keyless_api = {p for p in keyless if p.startswith(API_PREFIX)}
    assert {p for p in keyless_api if not p.startswith(PUBLIC_PREFIXES)} == PUBLIC
    assert {p for p in keyless_api if p.startswith(PUBLIC_PREFIXES)} == {"/api/v1/files/{file_id}"}


async def test_each_operation_has_an_id_a_tag_and_documents_its_errors_in_the_envelope(
    shared_server: SharedServer,
) -> None:
    async with aiohttp.ClientSession(base_url=shared_server.base_url) as http:
        doc = await (await http.get("/api/v1/openapi.json")).json()
    jsonschema.Draft202012Validator.check_schema(doc["components"]["schemas"]["Error"])
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids)), ids
    assert {"executeWorkflow", "createWorkflow", "listWorkflows", "getExecution", "health"} <= set(ids)
    tags = {t["name"] for t in doc["tags"]}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            where = f"{method} {path}"
            assert op["tags"], where
            assert set(op["tags"]) <= tags, where
            assert op["summary"], where
            assert "500" in op["responses"], where
            for status, response in op["responses"].items():
                if int(status) >= 400 and op["operationId"] != "telegramWebhook":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema["required"] == ["error"], where
            if path.startswith("/api/v1/") and op.get("security") != []:
                assert {"401", "429"} <= set(op["responses"]), where
                assert "X-Rate-Limit-Remaining" in op["responses"][min(op["responses"])]["headers"], where
            if "requestBody" in op:
                assert {"400", "413"} <= set(op["responses"]), where
    execute = doc["paths"]["/api/v1/workflows/{workflow_id}/execute"]["post"]
    assert execute["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ExecuteRequest"
    }
    # The seed's examples are in the document.
    created = doc["components"]["schemas"]["WorkflowCreated"]["examples"][0]
    assert created["workflow_id"] == "wf_123456"
    assert created["status"] == "created"
    assert "invalid_request" in doc["info"]["description"]


async def _execute_body(http: aiohttp.ClientSession, wid: str, payload: Any) -> tuple[int, str, bytes]:
    r = await http.post(f"/api/v1/workflows/{wid}/execute", json=payload)
    return r.status, r.headers["Content-Type"], await r.read()


async def test_the_servers_own_responses_validate_against_its_document(shared_server: SharedServer) -> None:
    """What the old hand-written document refused: a workflow with its created_at, status and
    id; a list as a page; an execution with its fields; health; errors with their details."""
    key = shared_server.new_key()
    async with shared_server.client(key) as http:
        document_ = Document(await (await http.get("/api/v1/openapi.json")).json())
        wid = await create_workflow(http, seed_workflow())
        exchanges: list[tuple[str, str, Any]] = [
            ("GET", f"/api/v1/workflows/{wid}", None),
            ("GET", "/api/v1/workflows/support_bot", None),
            ("GET", "/api/v1/workflows?page=1&page_size=2", None),
            ("GET", "/api/v1/workflows?page=0", None),
            ("PUT", f"/api/v1/workflows/{wid}", seed_workflow(description="v2")),
            ("PUT", "/api/v1/workflows/support_bot", seed_workflow()),
            ("POST", f"/api/v1/workflows/{wid}/execute", {"inputs": {"user_input": "hi"}, "session_id": "s"}),
            ("POST", f"/api/v1/workflows/{wid}/execute", {"inputs": {"user_input": 1, "x": 2}}),
            ("POST", f"/api/v1/workflows/{wid}/execute", {"input": {}}),
            ("POST", "/api/v1/workflows", {"name": "x", "nodes": [{"id": "a", "type": "wizard"}]}),
            ("GET", "/api/v1/executions/exec_missing", None),
            ("DELETE", "/api/v1/sessions/s", None),
            ("POST", "/api/v1/admin/reload", None),
            ("GET", "/healthz", None),
        ]
        status, _, body = await _execute_body(http, wid, {"inputs": {"user_input": "hi"}})
        assert status == 200
        exchanges.append(("GET", f"/api/v1/executions/{json.loads(body)['execution_id']}", None))
        problems: list[str] = []
        statuses = set()
        for method, url, payload in exchanges:
            r = await http.request(method, url, json=payload)
            seen = Seen(method, str(r.url), r.status, r.headers["Content-Type"], await r.read())
            statuses.add(r.status)
            problems += document_.problems(seen)
    assert not problems, "\n".join(problems)
    assert {200, 400, 403, 404} <= statuses


def test_the_check_itself_catches_a_response_the_document_does_not_allow() -> None:
    """The story-wide check is only worth something if it can fail."""
    doc = Document(json.loads(json.dumps(_DOC)))
    url = "http://127.0.0.1:1/api/v1/workflows/wf_1"
    good = b'{"error": {"code": "not_found", "message": "m", "details": {"workflow_id": "wf_1"}}}'
    assert doc.problems(Seen("GET", url, 404, "application/json", good)) == []
    bare = b'{"workflow_id": "wf_1", "name": "x"}'
    assert any("required" in p for p in doc.problems(Seen("GET", url, 200, "application/json", bare)))
    teapot = doc.problems(Seen("GET", url, 418, "application/json", good))
    assert teapot
    assert "status 418 not documented" in teapot[0]
    assert "'404'" in teapot[0]
    plain = doc.problems(Seen("GET", url, 404, "text/plain", b"404: Not Found"))
    assert plain
    assert "content type text/plain" in plain[0]
