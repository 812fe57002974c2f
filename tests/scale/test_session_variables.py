"""Two chatgate processes on one PostgreSQL and Redis share a session's variables: what one
process remembered the other reads at once, each turn after the last, and a session deleted
through one is forgotten by both."""

from __future__ import annotations

import uuid

import aiohttp

from tests.scale.support import logs_on_failure, shared
from tests.support.chatgate import StartChatgate
from tests.support.recall_workflow import greeting, recall_workflow
from tests.support.services import PostgresServer


async def said(http: aiohttp.ClientSession, text: str) -> str:
    async with http.post(
        "/api/v1/workflows/recall/execute", json={"inputs": {"user_input": text}, "session_id": "shared"}
    ) as r:
        body = await r.json()
        assert r.status == 200, body
        content: str = body["result"]["content"]
        return content


async def test_two_processes_read_each_others_session_variables(
    start_chatgate: StartChatgate, redis_url: str, postgres: PostgresServer
) -> None:
    configure = shared(redis_url, postgres.new_database(f"vars{uuid.uuid4().hex[:12]}"))
    workflows = {"recall.json": recall_workflow()}
    one = await start_chatgate(configure, workflows=workflows)
    two = await start_chatgate(configure, workflows=workflows)
    with logs_on_failure(one, two):
        async with one.client() as a, two.client() as b:
            assert await said(a, "Ada") == greeting("Ada")
            assert await said(b, "Bo") == greeting("Bo", before="Ada")
            # Process one read "Ada" before; it must not answer from a stale copy of it.
            assert await said(a, "Cy") == greeting("Cy", before="Bo")
            assert await said(b, "Dee") == greeting("Dee", before="Cy")
            async with b.delete("/api/v1/sessions/shared") as r:
                assert r.status == 200, await r.text()
            assert await said(a, "Eve") == greeting("Eve")
            assert await said(b, "Fay") == greeting("Fay", before="Eve")
