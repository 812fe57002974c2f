"""An operator runs two chatgate processes on one Redis: limits hold across both,
and a Redis outage fails requests fast instead of hanging or letting them through."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.support.chatgate import API_KEY, StartChatgate
from tests.support.services import RedisServer


def _shared(redis_url: str, storage_url: str) -> Any:
    def configure(config: dict[str, Any]) -> None:
        config["redis_url"] = redis_url
        config["storage"]["url"] = storage_url
        config["api_keys"] = [{"key": API_KEY, "name": "tester", "tier": "free"}]

    return configure


async def test_forty_simultaneous_requests_over_two_processes_admit_exactly_ten(
    start_chatgate: StartChatgate, redis_url: str, tmp_path: Any
) -> None:
    shared_db = f"sqlite:///{tmp_path / 'shared.db'}"
    one = await start_chatgate(_shared(redis_url, shared_db))
    two = await start_chatgate(_shared(redis_url, shared_db))
    async with one.client() as a, two.client() as b:
        responses = await asyncio.gather(
            *(
                (a if i % 2 else b).post(
                    "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "x"}}
                )
                for i in range(40)
            )
        )
        statuses = sorted(r.status for r in responses)
        for r in responses:
            assert "X-Rate-Limit-Remaining" in r.headers
            r.release()
    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == 30, statuses


async def test_losing_redis_fails_fast_and_service_resumes_when_it_returns(
    start_chatgate: StartChatgate, redis_url: str, redis_server: RedisServer, tmp_path: Any
) -> None:
    gw = await start_chatgate(_shared(redis_url, f"sqlite:///{tmp_path / 'db.db'}"))
    async with gw.client() as http:
        r = await http.post(
            "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "before"}}
        )
        assert r.status == 200

        redis_server.stop()
        started = time.monotonic()
        r = await http.post(
            "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "during"}}
        )
        body = await r.json()
        assert r.status == 503, body
        assert body["error"]["code"] == "service_unavailable"
        assert "Redis" in body["error"]["message"]
        assert time.monotonic() - started < 10  # fails fast; never waits on a dead Redis for long

        redis_server.start()
        for _ in range(50):
            r = await http.post(
                "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "after"}}
            )
            if r.status == 200:
                break
            await asyncio.sleep(0.2)
        assert r.status == 200
        assert (await http.get("/healthz")).status == 200
