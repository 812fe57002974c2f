"""An operator runs two chatgate processes on one Redis and reloads only one of them
(the admin API, SIGHUP): the other reloads its own config file too. Only a note
travels through Redis, never settings or secrets."""

from __future__ import annotations

import signal
from typing import Any

import orjson
import redis.asyncio as aioredis

from tests.scale.support import eventually, health, shared
from tests.support.chatgate import API_KEY, StartChatgate

NEW_KEY = "fanned-out-key-0123456789"
LATER_KEY = "later-key-0123456789"


async def test_a_reload_in_one_process_reaches_the_other(
    start_chatgate: StartChatgate, redis_url: str, tmp_path: Any
) -> None:
    configure = shared(
        redis_url,
        f"sqlite:///{tmp_path / 'shared.db'}",
        admins=["key:tester"],
        reload={"watch": False},  # only the fan-out can make the second process reload
    )
    one = await start_chatgate(configure)
    two = await start_chatgate(configure)
    assert (await health(two))["shared"]["reload_fanout"]["listening"] is True

    notes: list[dict[str, Any]] = []
    listener = aioredis.Redis.from_url(redis_url)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe("chatgate:config-reload")

    # The operator adds a key to both files (config management) and reloads process one.
    for gw in (one, two):
        gw.config["api_keys"].append({"key": NEW_KEY, "name": "new", "tier": "paid"})
        gw.write_config(gw.config)
    async with one.client() as http:
        r = await http.post("/api/v1/admin/reload")
        body = await r.json()
    assert r.status == 200, body
    assert body["result"] == "applied"
    assert body["peers_notified"] == 2  # process two, and this test listening in

    async def two_reloaded() -> bool:
        return bool((await health(two))["config"]["version"] == 2)

    await eventually(two_reloaded, what="process two reloading")
    async with two.client(NEW_KEY) as http:
        assert (await http.get("/api/v1/workflows")).status == 200
    last = (await health(two))["config"]["last_reload"]
    assert last["trigger"].startswith("peer")
    assert last["result"] == "applied"

    # SIGHUP to process two reaches process one just as well.
    for gw in (one, two):
        gw.config["api_keys"].append({"key": LATER_KEY, "name": "later", "tier": "paid"})
        gw.write_config(gw.config)
    assert two.proc is not None
    two.proc.send_signal(signal.SIGHUP)

    async def one_reloaded() -> bool:
        return bool((await health(one))["config"]["version"] == 3)

    await eventually(one_reloaded, what="process one reloading after SIGHUP to two")
    async with one.client(LATER_KEY) as http:
        assert (await http.get("/api/v1/workflows")).status == 200

    for _ in range(10):  # (the first reads return the subscription's confirmation as None)
        m = await pubsub.get_message(timeout=0.1)
        if m is not None:
            notes.append(orjson.loads(m["data"]))
    await pubsub.aclose()
    await listener.aclose()
    assert len(notes) == 2  # one note per operator action: peers' reloads are not echoed
    for note in notes:
        assert set(note) == {"from", "trigger"}
        assert NEW_KEY not in str(note)
        assert API_KEY not in str(note)


async def test_a_rejected_edit_in_one_process_leaves_the_other_running_its_own_config(
    start_chatgate: StartChatgate, redis_url: str, tmp_path: Any
) -> None:
    configure = shared(redis_url, f"sqlite:///{tmp_path / 'shared.db'}", reload={"watch": False})
    one = await start_chatgate(configure)
    two = await start_chatgate(configure)
    two.config["rate_limits"] = {**two.config["rate_limits"], "free": "lots per minute"}
    two.write_config(two.config)
    assert one.proc is not None
    one.proc.send_signal(signal.SIGHUP)

    async def two_rejected() -> bool:
        return (await health(two))["config"]["last_error"] is not None

    await eventually(two_rejected, what="process two noticing its bad file")
    error = (await health(two))["config"]["last_error"]
    assert error["key"] == "rate_limits.free"
    assert (await health(one))["config"]["last_error"] is None  # process one's own file is fine
    async with two.client() as http:  # still serving on the config it had
        r = await http.post(
            "/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "still here"}}
        )
        assert r.status == 200
