"""A chat user's message is routed by what it means: the bot's workflow file has an
``intent`` node (on the offline model) that sends a refund request and an order question
down different branches, and an ``extract`` node that reads the order number, on Telegram
and on Discord alike."""

from __future__ import annotations

from tests.emulators.telegram.server import TelegramEmulator
from tests.support.discord import CHANNEL, StartDiscordBot
from tests.support.intent_workflows import support_workflow
from tests.support.telegram import TOKEN, StartTelegram, wait_texts

WORKFLOWS = {"support_routing.json": support_workflow()}


async def test_telegram_messages_take_their_intents_branch(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_telegram(workflow="support_routing", workflows=WORKFLOWS)
    tg_emu.push_message(TOKEN, chat_id=4801, text="I want my money back", first_name="Ann")
    tg_emu.push_message(TOKEN, chat_id=4802, text="Where is my order? Order id: A-1234", first_name="Bea")
    tg_emu.push_message(TOKEN, chat_id=4803, text="Tell me a joke", first_name="Cy")
    assert await wait_texts(tg_emu, 4801, 2) == ["Refunds take 5 days.", "refund"]
    assert await wait_texts(tg_emu, 4802, 2) == ["Looking up A-1234.", "order_status"]
    assert await wait_texts(tg_emu, 4803, 2) == ["A human will answer.", "other"]


async def test_discord_messages_take_their_intents_branch(discord_bot: StartDiscordBot) -> None:
    bot = await discord_bot(workflow="support_routing", workflows=WORKFLOWS)
    bot.say(CHANNEL, "where is my order? order id: B-77")
    shown = await bot.wait_bot_messages(CHANNEL, 2)
    assert [m["content"] for m in shown] == ["Looking up B-77.", "order_status"]
    bot.say(CHANNEL, "MONEY BACK now")
    shown = await bot.wait_bot_messages(CHANNEL, 4)
    assert [m["content"] for m in shown[2:]] == ["Refunds take 5 days.", "refund"]
