"""A shop's bot looks an order up in the shop's own HTTP service while a customer chats, on
Telegram and on Discord (the admin opted the service's address in); when the service is not
opted in, the customer gets the usual short apology and nothing reaches the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.emulators.telegram.server import TelegramEmulator
from tests.support.discord import CHANNEL, StartDiscordBot
from tests.support.http_service import HttpService
from tests.support.telegram import TOKEN, StartTelegram, wait_texts


def order_bot(service: HttpService) -> dict[str, Any]:
    return {
        "name": "orders",
        "nodes": [
            {
                "id": "start",
                "type": "start",
                "config": {"input_params": [{"name": "user_input", "type": "string"}]},
            },
            {
                "id": "lookup",
                "type": "http",
                "config": {"url": service.url("/echo"), "query": {"id": "{{inputs.user_input}}"}},
            },
            {
                "id": "end",
                "type": "end",
                "config": {"content": "Order {{lookup.json.query.id}}: HTTP {{lookup.status}}"},
            },
        ],
        "connections": [{"from": "start", "to": "lookup"}, {"from": "lookup", "to": "end"}],
    }


@pytest.fixture
async def service() -> AsyncIterator[HttpService]:
    async with HttpService("127.0.0.2") as running:
        yield running


def opt_in(config: dict[str, Any]) -> None:
    config["http"] = {"allow_networks": ["127.0.0.2/32"]}


async def test_a_telegram_customer_asks_about_an_order(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator, service: HttpService
) -> None:
    await start_telegram(workflow="orders", configure=opt_in, workflows={"orders.json": order_bot(service)})
    tg_emu.push_message(TOKEN, chat_id=5101, text="A-17", first_name="Ann")
    assert await wait_texts(tg_emu, 5101, 1) == ["Order A-17: HTTP 200"]
    assert [s.query for s in service.seen] == [{"id": "A-17"}]


async def test_a_discord_customer_asks_about_an_order(
    discord_bot: StartDiscordBot, service: HttpService
) -> None:
    bot = await discord_bot(opt_in, workflows={"orders.json": order_bot(service)}, workflow="orders")
    bot.say(CHANNEL, "B-2")
    [answer] = await bot.wait_bot_messages(CHANNEL, 1)
    assert answer["content"] == "Order B-2: HTTP 200"
    assert [s.query for s in service.seen] == [{"id": "B-2"}]


async def test_without_the_opt_in_the_customer_gets_an_apology_and_the_service_nothing(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator, service: HttpService
) -> None:
    gw = await start_telegram(workflow="orders", workflows={"orders.json": order_bot(service)})
    tg_emu.push_message(TOKEN, chat_id=5102, text="A-17", first_name="Ann")
    [said] = await wait_texts(tg_emu, 5102, 1)
    assert said == "Sorry, I can't answer right now. Please try again in a moment."
    assert service.seen == []
    assert "destination not allowed: '127.0.0.2' (loopback address)" in gw.logs()
