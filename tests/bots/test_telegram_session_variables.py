"""A Telegram chat is a session: what a workflow remembered in a session variable, the
chat's next message reads; ``/reset`` forgets it, and each chat keeps its own."""

from __future__ import annotations

from bots.messages import RESET_DONE
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.recall_workflow import greeting, recall_workflow
from tests.support.telegram import TOKEN, StartTelegram, wait_texts


async def test_a_chat_remembers_a_name_until_reset(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_telegram(workflow="recall", workflows={"recall.json": recall_workflow()})
    chat, other_chat = 501, 502
    tg_emu.push_message(TOKEN, chat_id=chat, text="Ada")
    assert await wait_texts(tg_emu, chat, 1) == [greeting("Ada")]
    tg_emu.push_message(TOKEN, chat_id=chat, text="Bo")
    assert (await wait_texts(tg_emu, chat, 2))[1] == greeting("Bo", before="Ada")
    tg_emu.push_message(TOKEN, chat_id=other_chat, text="Cy")
    assert await wait_texts(tg_emu, other_chat, 1) == [greeting("Cy")]

    tg_emu.push_message(TOKEN, chat_id=chat, text="/reset")
    tg_emu.push_message(TOKEN, chat_id=chat, text="Dee")
    assert (await wait_texts(tg_emu, chat, 4))[2:] == [RESET_DONE, greeting("Dee")]
    # The other chat's variables were not touched.
    tg_emu.push_message(TOKEN, chat_id=other_chat, text="Eve")
    assert (await wait_texts(tg_emu, other_chat, 2))[1] == greeting("Eve", before="Cy")
