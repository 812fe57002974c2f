"""A pizza shop's bot reads an order from a customer's chat message (``extract``, offline) and
prices it with the shop's own Python (``code``, in its sandbox), on Telegram and on Discord;
what the code prints stays on the execution record, never in the chat."""

from __future__ import annotations

from typing import Any

from tests.emulators.telegram.server import TelegramEmulator
from tests.support.discord import CHANNEL, StartDiscordBot
from tests.support.telegram import TOKEN, StartTelegram, wait_texts

PRICE = """
PRICES = {"small": 7, "medium": 9, "large": 12}
def main(inputs):
    print("pricing", inputs)
    return {"total": PRICES[inputs["size"]] * inputs["count"]}
"""


def pizza_bot() -> dict[str, Any]:
    return {
        "name": "pizza",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
            {
                "id": "order",
                "type": "extract",
                "config": {
                    "parameters": [
                        {"name": "size", "type": "enum", "options": ["small", "medium", "large"]},
                        {"name": "count", "type": "integer"},
                    ]
                },
            },
            {
                "id": "price",
                "type": "code",
                "config": {
                    "code": PRICE,
                    "inputs": {"size": "{{order.size}}", "count": "{{order.count}}"},
                    "outputs": ["total"],
                },
            },
            {
                "id": "end",
                "type": "end",
                "config": {"content": "{{order.count}} {{order.size}}: {{price.total}} EUR"},
            },
        ],
        "connections": [
            {"from": "start", "to": "order"},
            {"from": "order", "to": "price"},
            {"from": "price", "to": "end"},
        ],
    }


async def test_a_telegram_customer_orders_and_the_shops_code_prices_it(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    gw = await start_telegram(workflow="pizza", workflows={"pizza.json": pizza_bot()})
    tg_emu.push_message(TOKEN, chat_id=5201, text="2 large please", first_name="Ann")
    [said] = await wait_texts(tg_emu, 5201, 1)
    assert said == "2 large: 24 EUR"
    assert "pricing" not in said
    assert "code nodes will refuse to run" not in gw.logs()


async def test_a_discord_customer_orders_and_the_shops_code_prices_it(discord_bot: StartDiscordBot) -> None:
    bot = await discord_bot(workflows={"pizza.json": pizza_bot()}, workflow="pizza")
    bot.say(CHANNEL, "3 small")
    [answer] = await bot.wait_bot_messages(CHANNEL, 1)
    assert answer["content"] == "3 small: 21 EUR"
