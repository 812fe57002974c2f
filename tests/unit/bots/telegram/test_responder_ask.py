"""A question goes out with its buttons on the message the user reads last: through the real
aiogram Bot against the Bot API emulator."""

from __future__ import annotations

import asyncio

from aiogram import Bot

from bots.base import Button
from bots.delivery.pacing import Pacer
from bots.telegram.responder import TelegramResponder
from bots.telegram.send import Sender
from bots.telegram.target import Target
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.telegram import TOKEN

SIZES = [Button("q:e1:0a0b0c0d:0", "Small cup"), Button("q:e1:0a0b0c0d:1", "Large cup")]


def shown(emu: TelegramEmulator, chat: int) -> list[tuple[str, list[str]]]:
    """Each message's text, and the labels of its buttons."""
    return [
        (m["text"], [b["text"] for row in emu.keyboard(TOKEN, chat, m["message_id"]) for b in row])
        for m in emu.chat_messages(TOKEN, chat)
    ]


async def test_a_long_question_carries_its_buttons_on_its_last_part(emu: TelegramEmulator, bot: Bot) -> None:
    responder = TelegramResponder(bot, Sender(Pacer()), Target(chat_id=1001, private=True))
    await responder.ask("word " * 1500 + "Which size?", SIZES)
    [(_, first), (last_text, last)] = shown(emu, 1001)
    assert first == []
    assert last_text.endswith("Which size?")
    assert last == ["Small cup", "Large cup"]


async def test_a_question_without_options_is_a_plain_message(emu: TelegramEmulator, bot: Bot) -> None:
    responder = TelegramResponder(bot, Sender(Pacer()), Target(chat_id=1001, private=True))
    await responder.ask("What is your name?", [])
    assert shown(emu, 1001) == [("What is your name?", [])]


async def test_a_question_after_a_group_preview_edits_the_preview_and_adds_the_buttons(
    emu: TelegramEmulator, bot: Bot
) -> None:
    responder = TelegramResponder(bot, Sender(Pacer()), Target(chat_id=-100500, private=False))
    await responder.partial("Which")
    await asyncio.sleep(responder.limits.quiet_s + 0.05)
    await responder.partial("Which size")  # past the quiet period: a preview message
    assert shown(emu, -100500) == [("Which size", [])]
    await responder.ask("Which size?", SIZES)
    assert shown(emu, -100500) == [("Which size?", ["Small cup", "Large cup"])]
