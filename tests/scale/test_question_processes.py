"""Two chatgate processes share a database and Redis: a question asked through one is answered
through the other, once; two answers at the same moment, one to each process, resume it once."""

from __future__ import annotations

import asyncio

from tests.api.test_questions import coffee
from tests.scale.support import logs_on_failure, shared
from tests.support.chatgate import StartChatgate


async def test_a_question_asked_by_one_process_is_answered_once_through_either(
    start_chatgate: StartChatgate, redis_url: str, storage_url: str
) -> None:
    db = storage_url  # SQLite and PostgreSQL
    workflows = {"coffee.json": coffee()}
    one = await start_chatgate(shared(redis_url, db), workflows=workflows)
    two = await start_chatgate(shared(redis_url, db), workflows=workflows)
    with logs_on_failure(one, two):
        async with one.client() as a, two.client() as b:
            r = await a.post(
                "/api/v1/workflows/coffee/execute", json={"inputs": {"user_input": "Ann"}, "session_id": "s"}
            )
            asked = await r.json()
            assert asked["status"] == "waiting", asked
            # The session's next message, through the other process, is the answer.
            r = await b.post(
                "/api/v1/workflows/coffee/execute",
                json={"inputs": {"user_input": "large"}, "session_id": "s"},
            )
            done = await r.json()
            assert (done["execution_id"], done["status"]) == (asked["execution_id"], "completed")
            assert done["result"]["content"] == "A large one (large)."

            r = await a.post("/api/v1/workflows/coffee/execute", json={"inputs": {"user_input": "Bo"}})
            again = (await r.json())["execution_id"]
            path = f"/api/v1/executions/{again}/resume"
            first, second = await asyncio.gather(
                a.post(path, json={"option": "small"}), b.post(path, json={"option": "large"})
            )
            bodies = [await first.json(), await second.json()]
            assert sorted([first.status, second.status]) == [200, 409], bodies
            shown = await (await a.get(f"/api/v1/executions/{again}")).json()
            winner = bodies[0] if first.status == 200 else bodies[1]
            assert shown["result"]["content"] == winner["result"]["content"]
