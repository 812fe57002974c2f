"""A Telegram bot asks with buttons: a press answers the question (acknowledged at once, the
question then shows the choice), typing still works, a stale or someone else's press gets a
short toast and changes nothing, and a press is answered once even when Telegram delivers
it again after a crash."""

from __future__ import annotations

import asyncio
import copy
import signal
from typing import Any

from bots.questions import EXPIRED
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.telegram import (
    TOKEN,
    StartTelegram,
    asked,
    buttons,
    coffee,
    health,
    press,
    texts,
    wait_texts,
    wait_until,
)

SUPERGROUP = "supergroup"


async def start_coffee(start_telegram: StartTelegram, **kw: Any) -> Any:
    return await start_telegram(workflow="coffee", workflows={"coffee.json": coffee(**kw)})


async def toasted(emu: TelegramEmulator, update: dict[str, Any]) -> list[str | None]:
    """Once the press was acknowledged: the toasts its answers showed (None: no text)."""
    await emu.wait_for(lambda: emu.answers_to(update) != [])
    return [answer.get("text") for answer in emu.answers_to(update)]


async def test_pressing_a_button_answers_the_question(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_coffee(start_telegram)
    chat = 701
    tg_emu.push_message(TOKEN, chat_id=chat, text="Ann")
    assert await wait_texts(tg_emu, chat, 2) == ["Hi Ann!", "Which size?"]
    question = asked(tg_emu, chat)
    assert list(buttons(tg_emu, chat, question["message_id"])) == ["Small cup", "Large cup"]
    assert all(len(data.encode()) <= 64 for data in buttons(tg_emu, chat, question["message_id"]).values())

    pressed = press(tg_emu, chat, question, "Large cup", first_name="Ann")
    assert await wait_texts(tg_emu, chat, 3) == ["Hi Ann!", "Which size?\n\n→ Large cup", "Large for Ann."]
    assert await toasted(tg_emu, pressed) == [None]  # acknowledged once, nothing to say
    assert buttons(tg_emu, chat, question["message_id"]) == {}  # the keyboard is gone
    assert len(tg_emu.calls_to("answerCallbackQuery")) == 1


async def test_typing_the_answer_works_while_the_buttons_are_shown(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_coffee(start_telegram)
    chat = 702
    tg_emu.push_message(TOKEN, chat_id=chat, text="Ann")
    await wait_texts(tg_emu, chat, 2)
    question = asked(tg_emu, chat)
    tg_emu.push_message(TOKEN, chat_id=chat, text="small")
    assert (await wait_texts(tg_emu, chat, 3))[2] == "Small for Ann."

    # The buttons of the question answered by typing are stale now: a press only gets a toast.
    late = press(tg_emu, chat, question, "Large cup")
    assert await toasted(tg_emu, late) == [EXPIRED]
    await asyncio.sleep(0.3)  # (time for a wrong answer to show)
    assert texts(tg_emu, chat)[2:] == ["Small for Ann."]


async def test_a_second_press_after_the_answer_gets_the_expired_toast(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_coffee(start_telegram)
    chat = 703
    tg_emu.push_message(TOKEN, chat_id=chat, text="Ann")
    await wait_texts(tg_emu, chat, 2)
    question = asked(tg_emu, chat)
    press(tg_emu, chat, question, "Small cup")
    assert (await wait_texts(tg_emu, chat, 3))[2] == "Small for Ann."

    again = press(tg_emu, chat, question, "Large cup")  # a client still showing the old buttons
    assert await toasted(tg_emu, again) == [EXPIRED]
    await asyncio.sleep(0.3)
    assert texts(tg_emu, chat) == ["Hi Ann!", "Which size?\n\n→ Small cup", "Small for Ann."]


async def test_after_reset_the_old_buttons_have_expired(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_coffee(start_telegram)
    chat = 704
    tg_emu.push_message(TOKEN, chat_id=chat, text="Ann")
    await wait_texts(tg_emu, chat, 2)
    question = asked(tg_emu, chat)
    tg_emu.push_message(TOKEN, chat_id=chat, text="/reset")
    await wait_texts(tg_emu, chat, 3)

    stale = press(tg_emu, chat, question, "Large cup")
    assert await toasted(tg_emu, stale) == [EXPIRED]
    await asyncio.sleep(0.3)
    assert len(texts(tg_emu, chat)) == 3


async def test_a_question_that_timed_out_says_so_and_its_buttons_have_expired(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    def quick_sweeps(config: dict[str, Any]) -> None:
        config["engine"] = {"question_sweep_s": 0.1}

    await start_telegram(
        workflow="coffee", workflows={"coffee.json": coffee(timeout_s=0.3)}, configure=quick_sweeps
    )
    chat = 705
    tg_emu.push_message(TOKEN, chat_id=chat, text="Ann")
    await wait_texts(tg_emu, chat, 2)
    question = asked(tg_emu, chat)
    # Nobody listens when the sweep resumes it: the bot says where the timeout led, unprompted.
    assert (await wait_texts(tg_emu, chat, 3))[2] == "Too late."

    stale = press(tg_emu, chat, question, "Small cup")
    assert await toasted(tg_emu, stale) == [EXPIRED]
    await asyncio.sleep(0.3)
    assert "Small for Ann." not in texts(tg_emu, chat)


async def test_in_a_group_only_the_asker_can_press(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_coffee(start_telegram)
    group = -1_000_000_000_706
    tg_emu.push_message(
        TOKEN, chat_id=group, chat_type=SUPERGROUP, text="@chatgate_bot Ann", user_id=11, first_name="Ann"
    )
    assert await wait_texts(tg_emu, group, 2) == ["Hi Ann!", "Which size?"]
    question = asked(tg_emu, group)

    other = press(tg_emu, group, question, "Large cup", user_id=12, first_name="Bob")
    assert await toasted(tg_emu, other) == ["Only Ann can answer this question."]
    await asyncio.sleep(0.3)
    assert texts(tg_emu, group) == ["Hi Ann!", "Which size?"]  # nothing changed
    assert list(buttons(tg_emu, group, question["message_id"])) == ["Small cup", "Large cup"]

    mine = press(tg_emu, group, question, "Small cup", user_id=11, first_name="Ann")
    assert await toasted(tg_emu, mine) == [None]
    assert (await wait_texts(tg_emu, group, 3))[1:] == ["Which size?\n\n→ Small cup", "Small for Ann."]


async def test_a_press_delivered_again_after_a_crash_is_answered_once(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    gw = await start_coffee(start_telegram)
    chat = 707
    tg_emu.push_message(TOKEN, chat_id=chat, text="Ann")
    await wait_texts(tg_emu, chat, 2)
    pressed = press(tg_emu, chat, asked(tg_emu, chat), "Large cup")
    await wait_texts(tg_emu, chat, 3)

    async def all_recorded() -> bool:  # answered, and remembered as answered
        tg = (await health(gw))["bots"]["tg"]
        return bool(tg["in_flight"] == 0 and tg["waiting"] == 0)

    await wait_until(all_recorded)
    await gw.stop(signal.SIGKILL)

    # Telegram hands out again what it never saw acknowledged: here, the answered press.
    tg_emu.push_update(TOKEN, copy.deepcopy(pressed))
    tg_emu.push_message(TOKEN, chat_id=chat, text="Bob")
    await gw.start()
    await wait_texts(tg_emu, chat, 5)
    assert texts(tg_emu, chat) == [
        "Hi Ann!",
        "Which size?\n\n→ Large cup",
        "Large for Ann.",
        "Hi Bob!",
        "Which size?",
    ]
    assert len(tg_emu.callback_answers(TOKEN)) == 1
    assert "was already answered; skipping" in gw.logs()
