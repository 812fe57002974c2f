"""Two chatgate processes share one conversation: its messages are answered one at a time,
in the order they arrived, whichever process took them; a crashed process does not
block the conversation for long."""

from __future__ import annotations

import asyncio
import signal
from functools import partial
from typing import Any

import redis.asyncio as aioredis

from tests.emulators.openai_server import OpenAIEmulator
from tests.scale.support import eventually
from tests.support.chatgate import ChatgateProcess, StartChatgate, seed_workflow

WORKFLOW = seed_workflow()
WORKFLOW["nodes"][1]["config"]["model"] = "stub-model"


def _shared(redis_url: str, db: str, llm_url: str) -> Any:
    def configure(config: dict[str, Any]) -> None:
        config["redis_url"] = redis_url
        config["storage"]["url"] = db
        config["llm"] = {**config["llm"], "base_url": llm_url, "api_key": "k", "max_retries": 0}

    return configure


async def _pair(
    start: StartChatgate, redis_url: str, tmp_path: Any, llm_url: str
) -> tuple[ChatgateProcess, ...]:
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    workflows = {"support_bot.json": WORKFLOW}
    one = await start(_shared(redis_url, db, llm_url), workflows=workflows)
    two = await start(_shared(redis_url, db, llm_url), workflows=workflows)
    return one, two


async def in_line(redis: aioredis.Redis, session_id: str, n: int) -> bool:
    """Whether n of a session's messages have taken their place in its line, in any process
    (the line's ticket counter in the shared Redis)."""
    counters = [key async for key in redis.scan_iter(match=f"*:{session_id}:next")]
    return any(int(taken) >= n for taken in await redis.mget(counters)) if counters else False


async def test_a_burst_across_two_processes_is_answered_in_arrival_order(
    start_chatgate: StartChatgate, redis_url: str, openai_emu: OpenAIEmulator, tmp_path: Any
) -> None:
    one, two = await _pair(start_chatgate, redis_url, tmp_path, openai_emu.base_url)
    openai_emu.delay_s = 0.3  # long enough that the burst piles up behind the first answer
    async with one.client() as a, two.client() as b:

        async def say(i: int) -> int:
            http = a if i % 2 == 0 else b
            r = await http.post(
                "/api/v1/workflows/support_bot/execute",
                json={"inputs": {"user_input": f"m{i}"}, "session_id": "shared"},
            )
            r.release()
            return r.status

        redis = aioredis.Redis.from_url(redis_url)
        tasks = []
        try:
            for i in range(8):
                tasks.append(asyncio.create_task(say(i)))
                # A definite arrival order, however busy the machine: the next message is
                # sent once this one has its place in line.
                await eventually(partial(in_line, redis, "shared", i + 1), what=f"m{i} in line")
            statuses = await asyncio.gather(*tasks)
        finally:
            await redis.aclose()
    assert statuses == [200] * 8
    # Each call saw every earlier exchange, in order: one at a time, in arrival order.
    for k, request in enumerate(openai_emu.requests):
        said = [m["content"] for m in request.body["messages"] if m["role"] == "user"]
        assert said == [f"m{i}" for i in range(k + 1)], (k, said)


async def test_a_process_killed_mid_answer_does_not_block_the_conversation(
    start_chatgate: StartChatgate, redis_url: str, openai_emu: OpenAIEmulator, tmp_path: Any
) -> None:
    one, two = await _pair(start_chatgate, redis_url, tmp_path, openai_emu.base_url)
    openai_emu.hang_next()
    async with one.client() as a, two.client() as b:
        stuck = asyncio.create_task(
            a.post(
                "/api/v1/workflows/support_bot/execute",
                json={"inputs": {"user_input": "first"}, "session_id": "s"},
            )
        )
        while not openai_emu.requests:  # process one holds the turn and is waiting on the model
            await asyncio.sleep(0.02)
        await one.stop(signal.SIGKILL)
        r = await b.post(
            "/api/v1/workflows/support_bot/execute",
            json={"inputs": {"user_input": "second"}, "session_id": "s"},
        )
        assert r.status == 200, await r.text()
        assert (await r.json())["result"]["content"] == "echo: second"
        stuck.cancel()
