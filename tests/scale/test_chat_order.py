"""A Telegram chat whose messages land on different chatgate processes (webhook mode behind a
load balancer) is answered one message at a time, in the order the messages arrived, even when
the process that received the first one is busy with other chats; and a message waiting in a
process that is then killed does not hold its chat up for more than a few seconds."""

from __future__ import annotations

import asyncio
import itertools
import signal
from typing import Any

import aiohttp
import pytest

from tests.emulators.openai_server import OpenAIEmulator
from tests.emulators.telegram.server import TelegramEmulator
from tests.scale.support import eventually, logs_on_failure, shared
from tests.support.chatgate import ChatgateProcess, StartChatgate
from tests.support.services import PostgresServer
from tests.support.telegram import TOKEN, chat_workflow, model_config, telegram_bot, texts, wait_texts

SECRET = "hook-secret-0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
CHAT, OTHER_CHAT = 7400, 7401


@pytest.fixture
async def pair(
    start_chatgate: StartChatgate,
    tg_emu: TelegramEmulator,
    openai_emu: OpenAIEmulator,
    redis_url: str,
    postgres: PostgresServer,
) -> tuple[ChatgateProcess, ChatgateProcess]:
    """Two processes in webhook mode on one Redis and one database, each answering one message
    at a time (a second chat's message waits in the local queue)."""
    bot = telegram_bot(
        tg_emu,
        workflow="chat",
        max_in_flight=1,
        mode={"url": "https://bot.example.test/telegram/tg", "secret_token": SECRET},
    )
    db = postgres.new_database(f"chatorder{next(_databases)}")

    def configure(config: dict[str, Any]) -> None:
        shared(redis_url, db, bots=[bot])(config)
        model_config(openai_emu.base_url)(config)

    workflows = {"chat.json": chat_workflow()}
    one, two = await asyncio.gather(
        start_chatgate(configure, workflows=workflows), start_chatgate(configure, workflows=workflows)
    )
    await tg_emu.wait_for(lambda: len(tg_emu.calls_to("setWebhook")) == 2, timeout=15)
    return one, two


_databases = itertools.count()


async def _deliver(gw: ChatgateProcess, tg_emu: TelegramEmulator, chat_id: int, text: str) -> None:
    """Telegram calls this process's webhook with a new message, and gets its 200."""
    update = tg_emu.push_message(TOKEN, chat_id=chat_id, text=text)
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{gw.base_url}/telegram/tg", json=update, headers={HEADER: SECRET}) as r,
    ):
        assert r.status == 200


def _asked(llm: OpenAIEmulator, text: str) -> list[str]:
    """What the user had said when the model was asked to answer ``text``, oldest first."""
    for request in llm.requests:
        said = [m["content"] for m in request.body["messages"] if m["role"] == "user"]
        if said[-1] == text:
            return said
    raise AssertionError(f"the model was never asked about {text!r}")


async def test_a_chat_is_answered_in_arrival_order_when_its_first_message_waits_in_a_busy_process(
    pair: tuple[ChatgateProcess, ChatgateProcess], tg_emu: TelegramEmulator, openai_emu: OpenAIEmulator
) -> None:
    one, two = pair
    with logs_on_failure(one, two):
        openai_emu.delay_s = 1.0  # each answer takes a second
        await _deliver(one, tg_emu, OTHER_CHAT, "busy")  # process one's only worker is taken...
        await eventually(lambda: _model_asked(openai_emu, 1), what="process one asking the model")
        await _deliver(one, tg_emu, CHAT, "first")  # ...so this waits in its queue,
        await _deliver(two, tg_emu, CHAT, "second")  # while process two is idle.

        assert await wait_texts(tg_emu, CHAT, 2, within=20) == ["echo: first", "echo: second"]
        assert _asked(openai_emu, "second") == ["first", "second"]  # answered knowing the first
        assert texts(tg_emu, OTHER_CHAT) == ["echo: busy"]


async def test_a_message_waiting_in_a_killed_process_holds_its_chat_up_only_for_seconds(
    pair: tuple[ChatgateProcess, ChatgateProcess], tg_emu: TelegramEmulator, openai_emu: OpenAIEmulator
) -> None:
    one, two = pair
    with logs_on_failure(one, two):
        openai_emu.hang_next()  # process one's only worker never hears back from the model
        await _deliver(one, tg_emu, OTHER_CHAT, "stuck")
        await eventually(lambda: _model_asked(openai_emu, 1), what="process one asking the model")
        await _deliver(one, tg_emu, CHAT, "first")  # its place in the chat's line is taken...
        await _deliver(two, tg_emu, CHAT, "second")  # ...so process two waits for it

        await one.stop(signal.SIGKILL)
        # Process two stops waiting once process one's heartbeat is gone, then takes over
        # what process one had acknowledged to Telegram (with new places in the line).
        answers = await wait_texts(tg_emu, CHAT, 2, within=20)
        assert sorted(answers) == ["echo: first", "echo: second"]
        assert await wait_texts(tg_emu, OTHER_CHAT, 1, within=20) == ["echo: stuck"]


async def _model_asked(llm: OpenAIEmulator, count: int) -> bool:
    return len(llm.requests) >= count
