"""A Telegram user talks to a bot whose workflow says things as it goes: each ``message``
node's text arrives at once as a message of its own, in order, before the answer."""

from __future__ import annotations

from tests.emulators.openai_server import OpenAIEmulator
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.chatgate import ChatgateProcess
from tests.support.talking_workflows import draft_then_message, only_talk, talkative
from tests.support.telegram import (
    MODEL,
    TOKEN,
    StartTelegram,
    health,
    model_config,
    texts,
    wait_texts,
    wait_until,
)


async def _settled(gw: ChatgateProcess) -> None:
    """Until the bot has nothing in hand: whatever it was going to send is sent."""

    async def idle() -> bool:
        tg = (await health(gw))["bots"]["tg"]
        return bool(tg["in_flight"] == 0 and tg["waiting"] == 0)

    await wait_until(idle)


async def test_messages_arrive_one_by_one_then_the_answer(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_telegram(workflow="talk", workflows={"talk.json": talkative()})
    tg_emu.push_message(TOKEN, chat_id=4101, text="my order", first_name="Ann")
    assert await wait_texts(tg_emu, 4101, 3) == [
        "Hi Ann, on telegram: looking into my order…",
        "Still here.",
        "(echo) my order",
    ]
    assert not tg_emu.calls_to("editMessageText", TOKEN)  # each its own message, none an edit of another


async def test_a_workflow_that_only_talks_sends_no_placeholder_after(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    gw = await start_telegram(workflow="talk", workflows={"talk.json": only_talk()})
    tg_emu.push_message(TOKEN, chat_id=4102, text="bye", first_name="Bea")
    await wait_texts(tg_emu, 4102, 1)
    await _settled(gw)
    assert texts(tg_emu, 4102) == ["Bye, Bea (telegram)"]


async def test_in_a_group_a_streamed_draft_is_never_left_above_the_message(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_telegram(
        workflow="talk",
        configure=model_config(openai_emu.base_url),
        workflows={"talk.json": draft_then_message(MODEL)},
    )
    openai_emu.chunk_size = 3
    openai_emu.chunk_delay_s = 0.5  # well past the group's quiet second: the preview shows the draft
    group = -1_000_000_004_103
    asked = tg_emu.push_message(TOKEN, chat_id=group, chat_type="supergroup", text="@chatgate_bot plan")
    await wait_texts(tg_emu, group, 2, within=30)
    await _settled(gw)
    shown = tg_emu.chat_messages(TOKEN, group)
    assert [m["text"] for m in shown] == ["noted: echo: draft plan", "echo: final plan"]
    # The draft's preview was really shown, and then taken away: it was not the answer.
    assert len(tg_emu.calls_to("sendMessage", TOKEN)) >= 3
    assert tg_emu.calls_to("deleteMessage", TOKEN)
    # The first message replies to the question; the answer after it needs not.
    assert shown[0]["reply_to_message"]["message_id"] == asked["message"]["message_id"]
    assert "reply_to_message" not in shown[1]
