"""An operator runs one Telegram bot on two chatgate processes sharing PostgreSQL and Redis.

Webhook mode: Telegram may call either process, even with the same update twice; each
update is answered once, and one acknowledged by a process that then crashes is still
answered by the other. Long polling: exactly one process polls, and another takes over
within seconds when it is killed."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import aiohttp

from tests.emulators.openai_server import OpenAIEmulator
from tests.emulators.telegram.server import TelegramEmulator
from tests.scale.support import eventually, health, logs_on_failure, shared
from tests.support.chatgate import ChatgateProcess, StartChatgate
from tests.support.services import PostgresServer
from tests.support.telegram import TOKEN, chat_workflow, model_config, telegram_bot, texts, wait_texts

SECRET = "hook-secret-0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def _pair(
    start: StartChatgate, configure: Any, workflows: dict[str, dict[str, Any]] | None = None
) -> tuple[ChatgateProcess, ChatgateProcess]:
    one, two = await asyncio.gather(
        start(configure, workflows=workflows), start(configure, workflows=workflows)
    )
    return one, two


async def _post(gw: ChatgateProcess, update: dict[str, Any], secret: str = SECRET) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{gw.base_url}/telegram/tg", json=update, headers={HEADER: secret}) as r,
    ):
        return r.status


async def test_webhook_updates_reaching_either_process_or_both_are_answered_once(
    start_chatgate: StartChatgate, tg_emu: TelegramEmulator, redis_url: str, postgres: PostgresServer
) -> None:
    db = postgres.new_database("tgwebhook")
    bot = telegram_bot(tg_emu, mode={"url": "https://bot.example.test/telegram/tg", "secret_token": SECRET})
    one, two = await _pair(start_chatgate, shared(redis_url, db, bots=[bot]))
    with logs_on_failure(one, two):
        await tg_emu.wait_for(lambda: len(tg_emu.calls_to("setWebhook")) == 2, timeout=15)

        first = tg_emu.push_message(TOKEN, chat_id=7001, text="hello")
        assert await _post(one, first, "wrong") == 401
        assert await _post(two, first, "wrong") == 401
        # Telegram retried at the other process while the first call was still running.
        assert await asyncio.gather(_post(one, first), _post(two, first)) == [200, 200]
        assert await wait_texts(tg_emu, 7001, 1) == ["(echo) hello"]

        # A conversation whose updates land on alternate processes, each twice.
        updates = [tg_emu.push_message(TOKEN, chat_id=7002, text=f"m{i}") for i in range(6)]
        for i, update in enumerate(updates):
            assert await _post(one if i % 2 else two, update) == 200
            assert await _post(two if i % 2 else one, update) == 200
        answers = await wait_texts(tg_emu, 7002, 6)
        await asyncio.sleep(0.5)  # room for a wrong second answer to show up before we count
        assert sorted(texts(tg_emu, 7002)) == sorted(f"(echo) m{i}" for i in range(6)), answers
        assert texts(tg_emu, 7001) == ["(echo) hello"]


async def test_a_webhook_update_acknowledged_by_a_process_killed_mid_answer_is_answered_by_the_other(
    start_chatgate: StartChatgate,
    tg_emu: TelegramEmulator,
    openai_emu: OpenAIEmulator,
    redis_url: str,
    postgres: PostgresServer,
) -> None:
    db = postgres.new_database("tghandoff")
    bot = telegram_bot(
        tg_emu, workflow="chat", mode={"url": "https://bot.example.test/telegram/tg", "secret_token": SECRET}
    )

    def configure(config: dict[str, Any]) -> None:
        shared(redis_url, db, bots=[bot])(config)
        model_config(openai_emu.base_url)(config)

    one, two = await _pair(start_chatgate, configure, workflows={"chat.json": chat_workflow()})
    with logs_on_failure(one, two):
        await tg_emu.wait_for(lambda: len(tg_emu.calls_to("setWebhook")) == 2, timeout=15)
        assert await _post(one, tg_emu.push_message(TOKEN, chat_id=7100, text="first")) == 200
        assert await wait_texts(tg_emu, 7100, 1) == ["echo: first"]

        openai_emu.hang_next()  # process one takes the next update and never hears back from the model
        assert await _post(one, tg_emu.push_message(TOKEN, chat_id=7100, text="second")) == 200
        await eventually(lambda: _asked(openai_emu, 2), what="process one asking the model")
        await one.stop(signal.SIGKILL)  # Telegram has its 200: only chatgate can still answer it

        assert await wait_texts(tg_emu, 7100, 2, within=20) == ["echo: first", "echo: second"]
        assert (await health(two))["bots"]["tg"]["orphans_adopted"] == 1
        # The conversation goes on, on the surviving process, with its whole history.
        assert await _post(two, tg_emu.push_message(TOKEN, chat_id=7100, text="third")) == 200
        assert await wait_texts(tg_emu, 7100, 3) == ["echo: first", "echo: second", "echo: third"]
        said = [m["content"] for m in openai_emu.requests[-1].body["messages"] if m["role"] == "user"]
        assert said == ["first", "second", "third"]


async def _asked(llm: OpenAIEmulator, count: int) -> bool:
    return len(llm.requests) >= count


async def test_only_the_lease_holder_polls_and_another_takes_over_when_it_is_killed(
    start_chatgate: StartChatgate, tg_emu: TelegramEmulator, redis_url: str, postgres: PostgresServer
) -> None:
    db = postgres.new_database("tgpolling")
    one, two = await _pair(start_chatgate, shared(redis_url, db, bots=[telegram_bot(tg_emu)]))
    with logs_on_failure(one, two):

        async def states() -> list[str]:
            return [(await health(gw))["bots"]["tg"]["state"] for gw in (one, two)]

        async def one_polls() -> bool:
            return sorted(await states()) == ["polling", "standby"]

        await eventually(one_polls, within=15, what="one process polling, the other standing by")
        for i in range(4):
            tg_emu.push_message(TOKEN, chat_id=7200, text=f"q{i}")
        assert await wait_texts(tg_emu, 7200, 4) == [f"(echo) q{i}" for i in range(4)]
        assert [c for c in tg_emu.calls_to("getUpdates") if c.status == 409] == []  # never two pollers

        holder, standby = (one, two) if (await states())[0] == "polling" else (two, one)
        await holder.stop(signal.SIGKILL)
        tg_emu.push_message(TOKEN, chat_id=7200, text="while nobody polls")

        async def standby_polls() -> bool:
            return bool((await health(standby))["bots"]["tg"]["state"] == "polling")

        await eventually(standby_polls, within=12, what="the standby taking over")
        assert (await wait_texts(tg_emu, 7200, 5))[-1] == "(echo) while nobody polls"
        await asyncio.sleep(0.5)
        assert len(texts(tg_emu, 7200)) == 5  # nothing answered twice
