"""Each key is rate limited by its tier, exactly, and every response tells the client where it stands."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from tests.api.shared_server import SharedServer
from tests.api.support import SSE, assert_error


def quota(r: aiohttp.ClientResponse) -> tuple[int, int]:
    return int(r.headers["X-Rate-Limit-Remaining"]), int(r.headers["X-Rate-Limit-Reset"])


async def test_every_response_carries_the_remaining_quota_and_reset(shared_server: SharedServer) -> None:
    """A free key (10/minute) counts down on successes and on every kind of error alike."""
    async with shared_server.client(shared_server.new_key("free")) as http:
        responses = [
            await http.get("/api/v1/workflows"),
            await http.post("/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "hi"}}),
            await http.get("/api/v1/workflows/wf_missing"),
            await http.post("/api/v1/workflows", json={"name": "broken"}),
            await http.post(
                "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "s"}, "stream": True}
            ),
            await http.get("/api/v1/executions/exec_missing"),
            await http.delete("/api/v1/sessions/s1"),
            await http.patch("/api/v1/workflows/support_bot", json={}),
            await http.post("/api/v1/workflows", data=b"x" * (2 * 1024 * 1024)),
        ]
        for r in responses:
            await r.read()
    assert [r.status for r in responses] == [200, 200, 404, 400, 200, 404, 200, 405, 413]
    now = time.time()
    remaining = [quota(r)[0] for r in responses]
    assert remaining == [9, 8, 7, 6, 5, 4, 3, 2, 1]
    for r in responses:
        reset = quota(r)[1]
        assert now - 5 < reset <= now + 61, (reset, now)  # unix seconds, within the one-minute window


async def test_over_the_limit_is_a_429_with_retry_after(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key("free")) as http:
        for _ in range(10):
            async with http.get("/api/v1/workflows") as r:
                assert r.status == 200
        r = await http.get("/api/v1/workflows")
        error = assert_error(await r.json(), "rate_limit_exceeded")
        execute = await http.post(
            "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "hi"}}
        )
        await execute.read()
    assert r.status == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert quota(r)[0] == 0
    assert "free" in error["message"]
    assert execute.status == 429


async def test_a_fresh_ten_per_minute_key_admits_exactly_ten_of_forty_simultaneous_requests(
    shared_server: SharedServer,
) -> None:
    async with shared_server.client(shared_server.new_key("free")) as http:

        async def call() -> int:
            async with http.post(
                "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "x"}}
            ) as r:
                await r.read()
                return r.status

        statuses = await asyncio.gather(*(call() for _ in range(40)))
    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == 30, statuses


async def test_keys_are_limited_independently_and_by_tier(shared_server: SharedServer) -> None:
    spent, fresh, paid = (
        shared_server.new_key("free"),
        shared_server.new_key("free"),
        shared_server.new_key("paid"),
    )
    async with shared_server.client(spent) as http:
        statuses = []
        for _ in range(11):
            async with http.get("/api/v1/workflows") as r:
                statuses.append(r.status)
    assert statuses[-1] == 429
    async with shared_server.client(fresh) as http, http.get("/api/v1/workflows") as r:
        assert r.status == 200
        assert quota(r)[0] == 9
    async with shared_server.client(paid) as http:
        for _ in range(11):
            async with http.get("/api/v1/workflows") as r:
                assert r.status == 200
        assert quota(r)[0] == 100000 - 11


async def test_a_streamed_response_carries_the_quota_headers(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key("free")) as http:
        payload = {"inputs": {"user_input": "hi"}, "stream": True}
        async with http.post("/api/v1/workflows/support_bot/execute", json=payload) as r:
            events = await SSE(r).all()
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert quota(r)[0] == 9
    assert events[-1][0] == "execution_finished"
