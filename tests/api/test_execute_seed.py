"""A developer calls the seed's execute endpoint and gets the seed's response shape."""

from __future__ import annotations

from tests.support.chatgate import StartChatgate


async def test_executing_the_seed_workflow_by_name_answers_with_the_offline_model(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate()
    async with gw.client() as http:
        r = await http.post(
            "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "hi there"}}
        )
        body = await r.json()
    assert r.status == 200, body
    assert body["status"] == "completed"
    assert body["result"] == {"content": "(echo) hi there"}
    assert body["execution_id"].startswith("exec_")
    assert body["start_time"].endswith("Z")
    assert body["end_time"].endswith("Z")
