"""Redis goes away for a while under two chatgate processes running a Telegram bot:
the API answers 503 at once, a chat user is told the bot is briefly unavailable, nobody
polls Telegram twice; when Redis is back (empty, as after a restart) one process polls
again, messages are answered once, and a reload made during the outage reaches the
other process."""

from __future__ import annotations

import signal
import time

from bots.messages import chat_message
from engine.errors import Unavailable
from tests.emulators.telegram.server import TelegramEmulator
from tests.scale.support import eventually, health, logs_on_failure, shared
from tests.support.chatgate import StartChatgate
from tests.support.services import PostgresServer, RedisServer
from tests.support.telegram import TOKEN, telegram_bot, texts, wait_texts

NEW_KEY = "added-while-redis-was-away-0123"
BRIEFLY_UNAVAILABLE = chat_message(Unavailable("", None))


async def test_a_redis_restart_fails_fast_corrupts_nothing_and_service_resumes(
    start_chatgate: StartChatgate,
    tg_emu: TelegramEmulator,
    redis_url: str,
    redis_server: RedisServer,
    postgres: PostgresServer,
) -> None:
    configure = shared(
        redis_url, postgres.new_database("outage"), bots=[telegram_bot(tg_emu)], reload={"watch": False}
    )
    one = await start_chatgate(configure)
    two = await start_chatgate(configure)
    with logs_on_failure(one, two):

        async def states() -> list[str]:
            return sorted([(await health(gw))["bots"]["tg"]["state"] for gw in (one, two)])

        async def one_polls() -> bool:
            return await states() == ["polling", "standby"]

        await eventually(one_polls, within=15, what="one process polling")
        tg_emu.push_message(TOKEN, chat_id=7300, text="before")
        assert await wait_texts(tg_emu, 7300, 1) == ["(echo) before"]

        redis_server.stop()
        async with one.client() as http:
            started = time.monotonic()
            r = await http.post("/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "x"}})
            assert r.status == 503
            assert (await r.json())["error"]["code"] == "service_unavailable"
            assert time.monotonic() - started < 5
        tg_emu.push_message(TOKEN, chat_id=7300, text="during")  # the poller is still out for updates
        assert await wait_texts(tg_emu, 7300, 2) == ["(echo) before", BRIEFLY_UNAVAILABLE]

        async def nobody_polls() -> bool:  # a lease that cannot be renewed is given up
            return await states() == ["standby", "standby"]

        await eventually(nobody_polls, within=12, what="the poller stepping down")
        assert (await health(two))["shared"]["redis"] == "unreachable"

        # The operator adds a key to both files and reloads one process while Redis is away.
        for gw in (one, two):
            gw.config["api_keys"].append({"key": NEW_KEY, "name": "new", "tier": "paid"})
            gw.write_config(gw.config)
        assert one.proc is not None
        one.proc.send_signal(signal.SIGHUP)

        async def one_reloaded() -> bool:
            return bool((await health(one))["config"]["version"] == 2)

        await eventually(one_reloaded, what="process one reloading")
        assert (await health(two))["config"]["version"] == 1  # the note could not reach it

        redis_server.start()  # empty: every claim, lease and counter is gone
        await eventually(one_polls, within=15, what="one process polling again")

        async def two_caught_up() -> bool:
            return bool((await health(two))["config"]["version"] == 2)

        await eventually(two_caught_up, within=10, what="process two catching up with the reload")
        tg_emu.push_message(TOKEN, chat_id=7300, text="after")
        assert (await wait_texts(tg_emu, 7300, 3))[-1] == "(echo) after"
        async with two.client(NEW_KEY) as http:
            r = await http.post("/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "y"}})
            assert r.status == 200
        assert [c for c in tg_emu.calls_to("getUpdates") if c.status == 409] == []  # never two pollers
        assert texts(tg_emu, 7300) == ["(echo) before", BRIEFLY_UNAVAILABLE, "(echo) after"]
