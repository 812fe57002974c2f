"""An operator misconfigures or doubles a bot: chatgate says so clearly and recovers by itself."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from tests.emulators.telegram.server import TelegramEmulator
from tests.support.telegram import (
    OTHER_TOKEN,
    TOKEN,
    StartTelegram,
    health,
    telegram_bot,
    texts,
    wait_texts,
    wait_until,
)


async def test_a_second_consumer_of_the_token_is_reported_and_polling_resumes_when_it_leaves(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    async with aiohttp.ClientSession() as other:
        # Another process long-polls with the same token before chatgate starts.
        url = f"{tg_emu.base_url}/bot{TOKEN}/getUpdates"
        squatter = asyncio.create_task(other.post(url, data={"timeout": "30"}))
        await tg_emu.wait_for(lambda: tg_emu.bots[TOKEN].poller is not None)
        gw = await start_telegram()

        async def conflict() -> bool:
            return bool((await health(gw))["bots"]["tg"]["state"] == "conflict")

        await wait_until(conflict)
        assert "another process is receiving updates with this bot token" in gw.logs()
        squatter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await squatter

    tg_emu.push_message(TOKEN, chat_id=6001, text="anyone home?")
    assert await wait_texts(tg_emu, 6001, 1, within=15) == ["(echo) anyone home?"]
    assert (await health(gw))["bots"]["tg"]["state"] == "polling"


async def test_a_crashed_bot_is_restarted_without_touching_the_others(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    tg_emu.add_bot(OTHER_TOKEN, username="other_bot")
    tg_emu.fail_next("getMe", error_code=401, token=TOKEN)  # the first start of "tg" crashes
    gw = await start_telegram(
        configure=lambda c: c["bots"].append(telegram_bot(tg_emu, name="tg2", token=OTHER_TOKEN))
    )
    tg_emu.push_message(OTHER_TOKEN, chat_id=7001, text="still there?")
    assert await wait_texts(tg_emu, 7001, 1, token=OTHER_TOKEN) == ["(echo) still there?"]

    async def restarted() -> bool:
        return bool((await health(gw))["bots"]["tg"]["restarts"] == 1)

    await wait_until(restarted)
    bots = (await health(gw))["bots"]
    assert "401" in bots["tg"]["last_crash"]
    assert TOKEN not in str(bots)
    assert bots["tg2"]["restarts"] == 0
    tg_emu.push_message(TOKEN, chat_id=7002, text="back again?")
    assert await wait_texts(tg_emu, 7002, 1, within=10) == ["(echo) back again?"]
    assert texts(tg_emu, 7001, OTHER_TOKEN) == ["(echo) still there?"]
    recovered = await health(gw)  # serving again: no longer failed, the server ok
    assert recovered["status"] == "ok"
    assert recovered["bots"]["tg"]["state"] == "polling"
    assert "reason" not in recovered["bots"]["tg"]
    assert "401" in recovered["bots"]["tg"]["last_crash"]
