"""A developer builds a support workflow over the REST API: an ``intent`` node sends each
message down its own branch, an ``extract`` node pulls an order number out of it, the
workflow schema knows both node types, and a bad intent config is refused when saved."""

from __future__ import annotations

from typing import Any

import jsonschema

from tests.api.shared_server import SharedServer
from tests.api.support import MODEL, assert_error, create_workflow, execute, use_emulator
from tests.emulators.openai_server import EmulatedCall, EmulatedReply, OpenAIEmulator
from tests.support.chatgate import StartChatgate
from tests.support.intent_workflows import support_workflow


async def test_each_message_takes_its_intents_branch_on_the_offline_model(
    shared_server: SharedServer,
) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        workflow = await create_workflow(http, support_workflow())
        refund = await execute(http, workflow, "I want my money back")
        order = await execute(http, workflow, "Where is my order? order id: A-1234")
        other = await execute(http, workflow, "Tell me a joke")
        detail = await (await http.get(f"/api/v1/executions/{order[1]['execution_id']}")).json()
    assert [r[0] for r in (refund, order, other)] == [200, 200, 200]
    assert refund[1]["result"] == {
        "content": "refund",
        "messages": ["Refunds take 5 days."],
        "order": None,
        "reason": 'offline: "money back" occurs in the input',
    }
    assert order[1]["result"]["content"] == "order_status"
    assert order[1]["result"]["messages"] == ["Looking up A-1234."]
    assert order[1]["result"]["order"] == "A-1234"
    assert other[1]["result"]["content"] == "other"
    assert other[1]["result"]["messages"] == ["A human will answer."]
    assert detail["outputs"]["get_order"] == {"order_id": "A-1234", "missing": [], "ok": True}
    assert detail["nodes"]["route"]["port"] == "order_status"
    assert detail["nodes"]["say_refund"]["status"] == "skipped"


async def test_a_bad_intent_config_is_refused_when_saved(shared_server: SharedServer) -> None:
    doc = support_workflow()
    doc["nodes"][1]["config"]["intents"].append({"name": "other"})
    secret = support_workflow()
    secret["nodes"][3]["config"]["instructions"] = "token {{secrets.orders_token}}"
    async with shared_server.client(shared_server.new_key()) as http:
        reserved = await http.post("/api/v1/workflows", json=doc)
        reserved_body = await reserved.json()
        leaked = await http.post("/api/v1/workflows", json=secret)
        leaked_body = await leaked.json()
    assert reserved.status == 400
    error = assert_error(reserved_body, "invalid_workflow")
    assert "intent 'other' is reserved" in error["details"]
    assert leaked.status == 400
    error = assert_error(leaked_body, "invalid_workflow")
    assert (
        "references {{secrets.orders_token}}: secrets may appear only in an http node's" in error["details"]
    )
    assert "orders_token" not in str(leaked_body).replace("{{secrets.orders_token}}", "")


async def test_the_workflow_schema_covers_both_node_types(shared_server: SharedServer) -> None:
    async with shared_server.client(None) as http:
        schema = await (await http.get("/api/v1/schemas/workflow.json")).json(content_type=None)
    validator = jsonschema.Draft7Validator(schema)
    assert list(validator.iter_errors(support_workflow())) == []
    typo = support_workflow()
    typo["nodes"][1]["config"]["intents"][0]["exmaples"] = ["refund please"]
    assert [e.message for e in validator.iter_errors(typo)]
    bad_type = support_workflow()
    bad_type["nodes"][3]["config"]["parameters"][0]["type"] = "date"
    assert [e.message for e in validator.iter_errors(bad_type)]
    names = {d.get("title") for d in schema["definitions"].values()}
    assert {"intent node", "extract node"} <= names


async def test_a_real_model_server_routes_by_tool_call_through_chatgate(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    def answer(body: dict[str, Any]) -> str | EmulatedReply:
        if "tools" in body:  # the intent node
            return EmulatedReply(
                "", (EmulatedCall("classify", {"intent": "order_status", "reason": "an order"}),)
            )
        return '{"order_id": "B-77"}'  # the extract node, asked for a JSON schema

    openai_emu.reply = answer
    gw = await start_chatgate(use_emulator(openai_emu, max_retries=0))
    async with gw.client() as http:
        workflow = await create_workflow(http, support_workflow(MODEL))
        status, body = await execute(http, workflow, "where is B-77?")
    assert status == 200, body
    assert body["result"] == {
        "content": "order_status",
        "messages": ["Looking up B-77."],
        "order": "B-77",
        "reason": "an order",
    }
    intent_call, extract_call = (r.body for r in openai_emu.requests)
    assert intent_call["tool_choice"]["function"]["name"] == "classify"
    assert extract_call["response_format"]["json_schema"]["schema"]["required"] == ["order_id"]
