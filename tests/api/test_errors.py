"""Every failure a client can meet comes back as ``{"error": {code, message, details}}``."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tests.api.shared_server import SharedServer
from tests.api.support import MODEL, assert_error, chat_workflow, create_workflow, execute, use_emulator
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.chatgate import StartChatgate, seed_workflow

# -- invalid_request -----------------------------------------------------------


async def test_a_body_that_is_not_json_is_an_invalid_request(shared_server: SharedServer) -> None:
    headers = {"Content-Type": "application/json"}
    async with shared_server.client(shared_server.new_key()) as http:
        for url in ("/api/v1/workflows", "/api/v1/workflows/support_bot/execute"):
            r = await http.post(url, data=b'{"name": "oops",', headers=headers)
            error = assert_error(await r.json(), "invalid_request")
            assert r.status == 400
            assert "JSON" in error["message"]
            empty = await http.post(url, data=b"", headers=headers)
            assert_error(await empty.json(), "invalid_request")
            assert empty.status == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"inputs": "hello"}, "inputs"),
        ({"inputs": {"user_input": "hi"}, "session_id": 42}, "session_id"),
        ({"inputs": {"user_input": "hi"}, "stream": {"on": True}}, "stream"),
        ({"inputs": {"user_input": "hi"}, "sesion_id": "typo"}, "sesion_id"),
        (["not", "an", "object"], "body"),
    ],
)
async def test_an_execute_body_of_the_wrong_shape_names_the_field(
    shared_server: SharedServer, body: Any, field: str
) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        r = await http.post("/api/v1/workflows/support_bot/execute", json=body)
        error = assert_error(await r.json(), "invalid_request")
    assert r.status == 400
    assert field in error["message"], error


async def test_a_workflow_body_of_the_wrong_shape_names_the_field(shared_server: SharedServer) -> None:
    cases: list[tuple[Any, str]] = [
        (seed_workflow(nodes="start, response"), "nodes"),
        (seed_workflow(name=""), "name"),
        ({"nodes": [], "connections": []}, "name"),
        (seed_workflow(connections=[{"from": "start_node"}]), "connections.0.to"),
        ([seed_workflow()], "object"),
    ]
    async with shared_server.client(shared_server.new_key()) as http:
        for body, field in cases:
            r = await http.post("/api/v1/workflows", json=body)
            error = assert_error(await r.json(), "invalid_request")
            assert r.status == 400
            assert field in error["message"], (field, error)


async def test_a_missing_declared_input_is_named(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        for body in ({"inputs": {}}, {}, {"inputs": {"user_input": None}}):
            r = await http.post("/api/v1/workflows/support_bot/execute", json=body)
            error = assert_error(await r.json(), "invalid_request")
            assert r.status == 400
            assert "user_input" in error["message"], error


async def test_an_input_of_the_wrong_type_or_undeclared_is_named(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        wrong = await http.post(
            "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": ["a"]}}
        )
        wrong_error = assert_error(await wrong.json(), "invalid_request")
        extra = await http.post(
            "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "hi", "colour": "red"}}
        )
        extra_error = assert_error(await extra.json(), "invalid_request")
    assert (wrong.status, extra.status) == (400, 400)
    assert "user_input" in wrong_error["message"]
    assert "string" in wrong_error["message"]
    assert "colour" in extra_error["message"]


# -- invalid_workflow ----------------------------------------------------------


def _mutate(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = copy.deepcopy(seed_workflow())
    change(doc)
    return doc


def _response(node_id: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "response", "config": config}


INVALID_WORKFLOWS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "duplicate node ids": (
        _mutate(lambda d: d["nodes"].append(_response("response_node"))),
        ["response_node", "more than once"],
    ),
    "connection to a missing node": (
        _mutate(lambda d: d["connections"].append({"from": "response_node", "to": "ghost_node"})),
        ["ghost_node", "missing"],
    ),
    "cycle": (
        _mutate(
            lambda d: (
                d["nodes"].append(_response("loop_node")),
                d["connections"].extend(
                    [
                        {"from": "response_node", "to": "loop_node"},
                        {"from": "loop_node", "to": "response_node"},
                    ]
                ),
            )
        ),
        ["cycle"],
    ),
    "no start node": (
        {"name": "headless", "nodes": [_response("response_node")], "connections": []},
        ["no start node"],
    ),
    "two start nodes": (
        _mutate(
            lambda d: (
                d["nodes"].append({"id": "second_start", "type": "start", "config": {}}),
                d["connections"].append({"from": "second_start", "to": "response_node"}),
            )
        ),
        ["start_node", "second_start"],
    ),
    "unknown node type": (
        _mutate(lambda d: d["nodes"][1].update(type="telepathy")),
        ["response_node", "telepathy"],
    ),
    "missing required config": (
        _mutate(lambda d: d["nodes"][0]["config"].update(input_params=[{"type": "string"}])),
        ["start_node", "missing required config", "name"],
    ),
    "bad config value": (
        _mutate(lambda d: d["nodes"][1]["config"].update(temperature=7)),
        ["response_node", "temperature"],
    ),
    "unknown config key": (
        _mutate(lambda d: d["nodes"][1]["config"].update(sytem_prompt="typo")),
        ["response_node", "sytem_prompt"],
    ),
    "unreachable node": (
        _mutate(lambda d: d["nodes"].append(_response("orphan_node"))),
        ["orphan_node", "unreachable"],
    ),
    "unresolvable template": (
        _mutate(lambda d: d["nodes"][1]["config"].update(prompt="Say {{ghost.text}}")),
        ["response_node", "{{ghost.text}}"],
    ),
    "undeclared input in a template": (
        _mutate(lambda d: d["nodes"][1]["config"].update(prompt="Say {{inputs.topic}}")),
        ["response_node", "topic"],
    ),
}


@pytest.mark.parametrize("case", list(INVALID_WORKFLOWS))
async def test_an_invalid_workflow_is_refused_naming_the_node(shared_server: SharedServer, case: str) -> None:
    doc, expected = INVALID_WORKFLOWS[case]
    async with shared_server.client(shared_server.new_key()) as http:
        r = await http.post("/api/v1/workflows", json=doc)
        error = assert_error(await r.json(), "invalid_workflow")
        listing = await (await http.get("/api/v1/workflows")).json()
    assert r.status == 400
    for part in expected:
        assert part in error["details"], (part, error)
    assert listing["total"] == 1  # only the file workflow: nothing was stored


# -- unauthorized / not_found / payload_too_large ------------------------------


async def test_every_api_call_needs_a_configured_key(shared_server: SharedServer) -> None:
    calls = [
        ("GET", "/api/v1/workflows"),
        ("POST", "/api/v1/workflows"),
        ("GET", "/api/v1/workflows/support_bot"),
        ("PUT", "/api/v1/workflows/support_bot"),
        ("DELETE", "/api/v1/workflows/support_bot"),
        ("POST", "/api/v1/workflows/support_bot/execute"),
        ("GET", "/api/v1/executions/exec_0000"),
        ("DELETE", "/api/v1/sessions/s1"),
    ]
    bad_headers: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer not-a-configured-key"},
        {"Authorization": "Basic cGFpZC1rZXktMDAwOg=="},
        {"Authorization": "Bearer"},
    ]
    async with aiohttp.ClientSession(base_url=shared_server.base_url) as http:
        for headers in bad_headers:
            for method, url in calls:
                r = await http.request(method, url, headers=headers, json={"inputs": {"user_input": "x"}})
                error = assert_error(await r.json(), "unauthorized")
                assert r.status == 401, (method, url, headers)
                assert "not-a-configured-key" not in error["message"] + str(error["details"])


async def test_unknown_things_are_not_found(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        for url in (
            "/api/v1/workflows/wf_doesnotexist",
            "/api/v1/workflows/no_such_name",
            "/api/v1/executions/exec_doesnotexist",
            "/api/v1/no/such/endpoint",
            "/nowhere",
        ):
            r = await http.get(url)
            assert r.status == 404, url
            assert_error(await r.json(), "not_found")
        r = await http.post("/api/v1/workflows/wf_doesnotexist/execute", json={"inputs": {}})
        error = assert_error(await r.json(), "not_found")
    assert r.status == 404
    assert "wf_doesnotexist" in error["message"]


async def test_a_body_over_one_mebibyte_is_refused(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        big = b'{"inputs": {"user_input": "' + b"x" * (1024 * 1024) + b'"}}'
        r = await http.post(
            "/api/v1/workflows/support_bot/execute", data=big, headers={"Content-Type": "application/json"}
        )
        assert_error(await r.json(), "payload_too_large")
        assert r.status == 413
        # Just under the limit is still served.
        text = "y" * (1024 * 1024 - 100)
        ok = await http.post("/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": text}})
        body = await ok.json()
    assert ok.status == 200, body
    assert body["result"]["content"] == f"(echo) {text}"


async def test_the_body_limit_is_configurable(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(lambda c: c["server"].update(max_body_bytes=2048))
    async with gw.client() as http:
        small = await http.post(
            "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "y" * 1500}}
        )
        assert small.status == 200, await small.text()
        r = await http.post(
            "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "y" * 3000}}
        )
        error = assert_error(await r.json(), "payload_too_large")
    assert r.status == 413
    assert error["details"]["max_bytes"] == 2048


async def test_a_wrong_method_gets_the_envelope_too(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        r = await http.patch("/api/v1/workflows/support_bot", json={})
        error = assert_error(await r.json(), "method_not_allowed")
    assert r.status == 405
    assert "PUT" in error["details"]["allowed"]


# -- execution_failed ----------------------------------------------------------


async def test_a_model_failing_after_retries_is_a_502_with_the_execution(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu, max_retries=1))
    openai_emu.fail_next(500, times=2)
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        r = await http.post(f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "hi"}})
        body = await r.json()
    assert r.status == 502, body
    error = assert_error(body, "execution_failed")
    assert body["status"] == "failed"
    assert body["execution_id"].startswith("exec_")
    assert MODEL in error["message"]
    assert "500" in error["message"]
    assert len(openai_emu.requests) == 2  # the first try and one retry


async def test_a_timed_out_execution_is_a_504_with_the_execution(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu))
    openai_emu.delay_s = 30
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow(timeout_s=0.3))
        status, body = await execute(http, wid, "hi", within_s=10)
    assert status == 504, body
    error = assert_error(body, "execution_failed")
    assert body["status"] == "failed"
    assert body["execution_id"].startswith("exec_")
    assert "response_node" in error["message"]
    assert "timed out" in error["message"]
