"""A Telegram bot on two chatgate processes (webhook mode, shared PostgreSQL and Redis): a
button press Telegram delivers to both processes is acknowledged once and answered once."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.emulators.telegram.server import TelegramEmulator
from tests.scale.support import logs_on_failure, shared
from tests.support.chatgate import StartChatgate
from tests.support.services import PostgresServer
from tests.support.telegram import TOKEN, asked, coffee, press, telegram_bot, texts, wait_texts

SECRET = "hook-secret-0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def test_a_press_reaching_both_processes_is_answered_once(
    start_chatgate: StartChatgate, tg_emu: TelegramEmulator, redis_url: str, postgres: PostgresServer
) -> None:
    db = postgres.new_database("tgbuttons")
    bot = telegram_bot(
        tg_emu,
        workflow="coffee",
        mode={"url": "https://bot.example.test/telegram/tg", "secret_token": SECRET},
    )
    workflows = {"coffee.json": coffee()}
    configure = shared(redis_url, db, bots=[bot])
    one, two = await asyncio.gather(
        start_chatgate(configure, workflows=workflows), start_chatgate(configure, workflows=workflows)
    )
    async with aiohttp.ClientSession() as http:

        async def post(gw_url: str, update: dict[str, object]) -> int:
            async with http.post(f"{gw_url}/telegram/tg", json=update, headers={HEADER: SECRET}) as r:
                return r.status

        with logs_on_failure(one, two):
            await tg_emu.wait_for(lambda: len(tg_emu.calls_to("setWebhook")) == 2, timeout=15)
            chat = 7101
            assert await post(one.base_url, tg_emu.push_message(TOKEN, chat_id=chat, text="Ann")) == 200
            assert await wait_texts(tg_emu, chat, 2) == ["Hi Ann!", "Which size?"]

            pressed = press(tg_emu, chat, asked(tg_emu, chat), "Large cup")
            # Telegram retried at the other process while the first call was still running.
            statuses = await asyncio.gather(post(one.base_url, pressed), post(two.base_url, pressed))
            assert statuses == [200, 200]
            await wait_texts(tg_emu, chat, 3)
            await asyncio.sleep(0.5)  # room for a wrong second answer to show up before we count
            assert texts(tg_emu, chat) == ["Hi Ann!", "Which size?\n\n→ Large cup", "Large for Ann."]
            assert len(tg_emu.callback_answers(TOKEN)) == 1
            assert len(tg_emu.calls_to("answerCallbackQuery")) == 1
