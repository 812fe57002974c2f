"""An admin adds, changes and removes bots in chatgate.yaml while it runs: only the bots
concerned start, reconnect or stop (finishing their answers); the others keep serving.

Against the Telegram Bot API emulator, with the real aiogram inside chatgate."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.config.reload_support import edit, fast_reload, health, wait_version
from tests.emulators.openai_server import OpenAIEmulator
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.chatgate import SEED_WORKFLOW, ChatgateProcess, StartChatgate
from tests.support.telegram import (
    OTHER_TOKEN,
    TOKEN,
    chat_workflow,
    model_config,
    telegram_bot,
    wait_polling_started,
    wait_texts,
)


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator() as emu:
        emu.add_bot(TOKEN, username="first_bot")
        second = emu.add_bot(OTHER_TOKEN, username="second_bot")
        # Real bots' update ids are unrelated numbers; here they would both start at 1, and a
        # bot keeping its name under a new token would take the new ids for ones it answered.
        second.next_update_id = 1_000_000
        yield emu


async def start_with_bot(start_chatgate: StartChatgate, emu: TelegramEmulator, **bot: Any) -> ChatgateProcess:
    def configure(config: dict[str, Any]) -> None:
        fast_reload(config)
        config["bots"] = [telegram_bot(emu, **bot)]

    gw = await start_chatgate(configure)
    await wait_polling_started(emu, TOKEN)
    return gw


async def test_an_added_bot_starts_and_a_removed_one_stops_while_the_other_keeps_serving(
    start_chatgate: StartChatgate, telegram: TelegramEmulator
) -> None:
    gw = await start_with_bot(start_chatgate, telegram)
    telegram.push_message(TOKEN, chat_id=1, text="before")
    assert await wait_texts(telegram, 1, 1) == ["(echo) before"]

    edit(gw, lambda c: c["bots"].append(telegram_bot(telegram, name="tg2", token=OTHER_TOKEN)))
    await wait_version(gw, 2)
    await wait_polling_started(telegram, OTHER_TOKEN)
    telegram.push_message(OTHER_TOKEN, chat_id=2, text="to the new bot")
    assert await wait_texts(telegram, 2, 1, token=OTHER_TOKEN) == ["(echo) to the new bot"]

    edit(gw, lambda c: c["bots"].pop())
    await wait_version(gw, 3)
    body = await wait_health(gw, lambda h: "tg2" not in h["bots"])
    assert body["bots"]["tg"]["state"] == "polling"
    telegram.push_message(TOKEN, chat_id=1, text="after")
    assert await wait_texts(telegram, 1, 2) == ["(echo) before", "(echo) after"]
    assert len(telegram.calls_to("getMe", TOKEN)) == 1  # the first bot never reconnected


async def test_a_greeting_change_applies_in_place_and_a_token_change_reconnects(
    start_chatgate: StartChatgate, telegram: TelegramEmulator
) -> None:
    gw = await start_with_bot(start_chatgate, telegram)
    edit(gw, lambda c: c["bots"][0].update(greeting="Welcome back!"))
    await wait_version(gw, 2)
    telegram.push_message(TOKEN, chat_id=3, text="/start")
    assert await wait_texts(telegram, 3, 1) == ["Welcome back!"]
    assert len(telegram.calls_to("getMe", TOKEN)) == 1

    edit(gw, lambda c: c["bots"][0].update(token=OTHER_TOKEN))
    await wait_version(gw, 3)
    await wait_polling_started(telegram, OTHER_TOKEN)
    telegram.push_message(OTHER_TOKEN, chat_id=4, text="hello")
    assert await wait_texts(telegram, 4, 1, token=OTHER_TOKEN) == ["(echo) hello"]
    assert OTHER_TOKEN not in gw.logs()
    assert TOKEN not in gw.logs()


async def test_a_removed_bot_finishes_the_answer_it_was_giving(
    start_chatgate: StartChatgate, telegram: TelegramEmulator, openai_emu: OpenAIEmulator
) -> None:
    def configure(config: dict[str, Any]) -> None:
        fast_reload(config)
        model_config(openai_emu.base_url)(config)
        config["bots"] = [telegram_bot(telegram, workflow="chat")]

    gw = await start_chatgate(
        configure,
        workflows={
            "chat.json": chat_workflow(),
            "support_bot.json": json.loads(SEED_WORKFLOW.read_text()),
        },
    )
    await wait_polling_started(telegram, TOKEN)
    openai_emu.delay_s = 1.0
    telegram.push_message(TOKEN, chat_id=5, text="a slow question")
    await telegram.wait_for(lambda: len(openai_emu.requests) == 1, timeout=10)

    edit(gw, lambda c: c["bots"].clear())
    assert await wait_texts(telegram, 5, 1) == ["echo: a slow question"]
    await wait_health(gw, lambda h: h["bots"] == {})


async def wait_health(gw: ChatgateProcess, holds: Any, within: float = 30.0) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        body = await health(gw)
        if holds(body):
            return body
        assert loop.time() < deadline, body
        await asyncio.sleep(0.05)
