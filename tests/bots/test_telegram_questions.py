"""A Telegram bot asks a question (the workflow waits) and the user's next message in that
chat is the answer: the same execution goes on, a chat elsewhere is not affected."""

from __future__ import annotations

from tests.emulators.telegram.server import TelegramEmulator
from tests.support.telegram import TOKEN, StartTelegram, coffee, wait_texts


async def test_the_next_message_answers_the_bots_question(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_telegram(workflow="coffee", workflows={"coffee.json": coffee()})
    chat, other_chat = 601, 602
    tg_emu.push_message(TOKEN, chat_id=chat, text="Ann")
    assert await wait_texts(tg_emu, chat, 2) == ["Hi Ann!", "Which size?"]
    tg_emu.push_message(TOKEN, chat_id=other_chat, text="Bob")
    assert await wait_texts(tg_emu, other_chat, 2) == ["Hi Bob!", "Which size?"]
    tg_emu.push_message(TOKEN, chat_id=chat, text="a mug")  # no option: asked again
    assert (await wait_texts(tg_emu, chat, 3))[2] == "Which size?"
    tg_emu.push_message(TOKEN, chat_id=chat, text="Large cup")
    # The answer goes on from the first message's execution: its inputs are Ann's.
    assert (await wait_texts(tg_emu, chat, 4))[3] == "Large for Ann."
    tg_emu.push_message(TOKEN, chat_id=other_chat, text="small")
    assert (await wait_texts(tg_emu, other_chat, 3))[2] == "Small for Bob."


async def test_in_a_group_only_the_person_asked_answers(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_telegram(workflow="coffee", workflows={"coffee.json": coffee()})
    group = -100_603

    def say(text: str, user_id: int, first_name: str) -> None:
        tg_emu.push_message(
            TOKEN, chat_id=group, chat_type="supergroup", text=f"@chatgate_bot {text}", user_id=user_id,
            first_name=first_name,
        )  # fmt: skip

    say("Ann", 11, "Ann")
    assert await wait_texts(tg_emu, group, 2) == ["Hi Ann!", "Which size?"]
    say("small", 12, "Bob")  # not Bob's question: it waits on
    assert (await wait_texts(tg_emu, group, 3))[2] == "I'm waiting for Ann's answer to my question first."
    say("large", 11, "Ann")
    assert (await wait_texts(tg_emu, group, 4))[3] == "Large for Ann."
