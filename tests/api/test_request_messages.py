"""A client's mistake in a request body is told in JSON's words, with every problem listed in
``details`` as ``{loc, msg}`` (the one shape of ``invalid_request``'s details)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.shared_server import SharedServer
from tests.api.support import assert_error
from tests.support.chatgate import seed_workflow

EXECUTE = "/api/v1/workflows/support_bot/execute"


async def _refused(shared_server: SharedServer, url: str, body: Any, method: str = "POST") -> dict[str, Any]:
    async with shared_server.client(shared_server.new_key()) as http:
        r = await http.request(method, url, json=body)
        error = assert_error(await r.json(), "invalid_request")
    assert r.status == 400
    return error


async def test_a_near_miss_of_inputs_suggests_inputs(shared_server: SharedServer) -> None:
    error = await _refused(shared_server, EXECUTE, {"input": {"user_input": "hi"}})
    assert "did you mean 'inputs'?" in error["message"], error
    assert error["details"] == [{"loc": ["body", "input"], "msg": "unknown field; did you mean 'inputs'?"}]


@pytest.mark.parametrize(
    ("body", "got"), [(["not", "an", "object"], "an array"), ("text", "a string"), (3, "a number")]
)
async def test_a_body_that_is_not_an_object_says_a_json_object_was_expected(
    shared_server: SharedServer, body: Any, got: str
) -> None:
    for url in (EXECUTE, "/api/v1/workflows"):
        error = await _refused(shared_server, url, body)
        assert error["message"] == f"body: expected a JSON object, got {got}", error
        assert error["details"] == [{"loc": ["body"], "msg": f"expected a JSON object, got {got}"}]


async def test_a_field_that_must_be_an_object_says_so_in_jsons_words(shared_server: SharedServer) -> None:
    error = await _refused(shared_server, EXECUTE, {"inputs": "hello"})
    assert error["message"] == "inputs: must be an object", error
    assert "dictionary" not in str(error)
    node = seed_workflow()
    node["nodes"][0]["config"] = ["not", "an", "object"]
    workflow_error = await _refused(shared_server, "/api/v1/workflows", node)
    assert workflow_error["message"] == "nodes.0.config: must be an object", workflow_error


async def test_every_problem_is_listed_and_the_message_counts_the_rest(shared_server: SharedServer) -> None:
    error = await _refused(shared_server, EXECUTE, {"inputs": [], "session_id": 5, "stream": "yes"})
    assert error["message"] == "inputs: must be an object (and 2 more problems)", error
    assert [p["loc"] for p in error["details"]] == [
        ["body", "inputs"],
        ["body", "session_id"],
        ["body", "stream"],
    ]


async def test_input_problems_and_bad_json_and_bad_query_have_the_same_details_shape(
    shared_server: SharedServer,
) -> None:
    missing = await _refused(shared_server, EXECUTE, {"inputs": {}})
    assert missing["details"] == [{"loc": ["body", "inputs", "user_input"], "msg": "is required"}]
    unknown = await _refused(shared_server, EXECUTE, {"inputs": {"user_input": "hi", "colour": "red"}})
    assert unknown["details"][0]["loc"] == ["body", "inputs", "colour"]
    assert "user_input" in unknown["details"][0]["msg"]  # what is declared
    async with shared_server.client(shared_server.new_key()) as http:
        r = await http.post(EXECUTE, data=b'{"inputs": ', headers={"Content-Type": "application/json"})
        bad_json = assert_error(await r.json(), "invalid_request")
        q = await http.get("/api/v1/workflows?page_size=500")
        bad_query = assert_error(await q.json(), "invalid_request")
    assert bad_json["details"][0]["loc"] == ["body"]
    assert "not valid JSON" in bad_json["message"]
    assert bad_query["details"] == [{"loc": ["query", "page_size"], "msg": "must be at most 100"}]
    assert bad_query["message"] == "query parameter 'page_size' must be at most 100"
