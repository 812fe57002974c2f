"""An operator restarts or loses chatgate: no Telegram message is lost, none answered twice."""

from __future__ import annotations

import asyncio
import copy
import signal
import time
from typing import Any

from tests.emulators.openai_server import OpenAIEmulator
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.telegram import (
    TOKEN,
    StartTelegram,
    chat_workflow,
    health,
    model_config,
    texts,
    wait_texts,
    wait_until,
)


async def test_sigterm_finishes_answers_in_flight_and_acknowledges_them(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_telegram(workflow="chat", configure=model_config(openai_emu.base_url), workflows=_chat())
    openai_emu.delay_s = 1.0
    chats = [2001, 2002, 2003]
    for chat in chats:
        tg_emu.push_message(TOKEN, chat_id=chat, text=f"question from {chat}")
    await tg_emu.wait_for(lambda: len(openai_emu.requests) == 3)  # all three are being answered

    assert gw.proc is not None
    gw.proc.send_signal(signal.SIGTERM)
    late = tg_emu.push_message(TOKEN, chat_id=2004, text="sent while stopping")
    assert await asyncio.wait_for(gw.proc.wait(), 20) == 0

    for chat in chats:  # in-flight answers were finished, not dropped
        assert texts(tg_emu, chat) == [f"echo: question from {chat}"]
    handled_late = bool(texts(tg_emu, 2004))
    pending = [u["update_id"] for u in tg_emu.pending_updates(TOKEN)]
    # Everything fetched was acknowledged: only the late message may still wait, if it was not fetched.
    assert pending == ([] if handled_late else [late["update_id"]])

    openai_emu.delay_s = 0
    await gw.start()
    await tg_emu.wait_for(lambda: texts(tg_emu, 2004) == ["echo: sent while stopping"])
    for chat in chats:  # a chat's next question is answered after anything left of the last run
        tg_emu.push_message(TOKEN, chat_id=chat, text="after the restart")
    for chat in chats:  # and nothing was answered twice
        assert await wait_texts(tg_emu, chat, 2) == [f"echo: question from {chat}", "echo: after the restart"]


async def test_after_a_crash_redelivered_updates_are_not_answered_again(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    gw = await start_telegram()
    first = tg_emu.push_message(TOKEN, chat_id=3001, text="one")
    tg_emu.push_message(TOKEN, chat_id=3001, text="two")
    await wait_texts(tg_emu, 3001, 2)

    async def all_recorded() -> bool:  # answered, and remembered as answered
        tg = (await health(gw))["bots"]["tg"]
        return bool(tg["in_flight"] == 0 and tg["waiting"] == 0)

    await wait_until(all_recorded)
    await gw.stop(signal.SIGKILL)

    # Telegram hands out again what it never saw acknowledged: here, the answered "one".
    tg_emu.push_update(TOKEN, copy.deepcopy(first))
    tg_emu.push_message(TOKEN, chat_id=3001, text="three")
    await gw.start()
    await wait_texts(tg_emu, 3001, 3)
    assert texts(tg_emu, 3001) == ["(echo) one", "(echo) two", "(echo) three"]
    assert "already answered; skipping" in gw.logs()


async def test_after_a_crash_an_answer_cut_short_is_given_on_restart(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_telegram(workflow="chat", configure=model_config(openai_emu.base_url), workflows=_chat())
    openai_emu.hang_next()
    tg_emu.push_message(TOKEN, chat_id=4001, text="are you still there?")
    await tg_emu.wait_for(lambda: len(openai_emu.requests) == 1)
    # Telegram already considers the update delivered: it will never send it again...
    await tg_emu.wait_for(lambda: tg_emu.pending_updates(TOKEN) == [])
    await gw.stop(signal.SIGKILL)

    await gw.start()  # ...yet the answer comes, once
    assert await wait_texts(tg_emu, 4001, 1) == ["echo: are you still there?"]
    assert "resuming 1 update(s)" in gw.logs()


async def test_a_backlog_older_than_the_limit_is_skipped_at_startup(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    now = int(time.time())
    tg_emu.push_message(TOKEN, chat_id=5001, text="from yesterday", date=now - 86_400)
    tg_emu.push_message(TOKEN, chat_id=5001, text="from five minutes ago", date=now - 300)
    tg_emu.push_message(TOKEN, chat_id=5001, text="just now", date=now)
    gw = await start_telegram(backlog_max_age_s=600)

    assert await wait_texts(tg_emu, 5001, 2) == ["(echo) from five minutes ago", "(echo) just now"]
    await tg_emu.wait_for(lambda: tg_emu.pending_updates(TOKEN) == [])  # acknowledged, not answered
    assert (await health(gw))["bots"]["tg"]["skipped_backlog"] == 1
    assert "skipped 1 message(s) older than 600s" in gw.logs()


def _chat() -> dict[str, dict[str, Any]]:
    return {"chat.json": chat_workflow()}
