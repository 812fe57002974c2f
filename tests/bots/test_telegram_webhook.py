"""An operator runs a bot in webhook mode: Telegram calls chatgate's own HTTP server."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.emulators.telegram.server import TelegramEmulator
from tests.support.telegram import OTHER_TOKEN, TOKEN, StartTelegram, health, telegram_bot, texts, wait_texts

SECRET = "hook-secret-0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def test_webhook_updates_are_checked_answered_and_never_answered_twice(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    tg_emu.add_bot(OTHER_TOKEN, username="other_bot")
    second = telegram_bot(
        tg_emu, name="tg2", token=OTHER_TOKEN, mode={"url": "https://bot.example.test/telegram/tg2"}
    )
    gw = await start_telegram(
        mode={"url": "https://bot.example.test/telegram/tg", "secret_token": SECRET},
        configure=lambda c: c["bots"].append(second),
        wait_polling=False,
    )
    await tg_emu.wait_for(lambda: len(tg_emu.calls_to("setWebhook")) == 2, timeout=15)
    hooks = {c.token: c.params for c in tg_emu.calls_to("setWebhook")}
    assert hooks[TOKEN]["url"] == "https://bot.example.test/telegram/tg"
    assert hooks[TOKEN]["secret_token"] == SECRET
    assert hooks[TOKEN]["allowed_updates"] == ["message", "callback_query"]  # messages, presses
    derived = hooks[OTHER_TOKEN]["secret_token"]  # none configured: chatgate made one up
    assert derived
    assert OTHER_TOKEN.partition(":")[2] not in derived

    update = tg_emu.push_message(TOKEN, chat_id=8001, text="via webhook")
    async with aiohttp.ClientSession(base_url=gw.base_url) as http:

        async def post(path: str, body: dict[str, Any], secret: str | None) -> tuple[int, Any]:
            headers = {HEADER: secret} if secret is not None else {}
            async with http.post(path, json=body, headers=headers) as r:
                return r.status, await r.json()

        status, body = await post("/telegram/tg", update, "wrong-secret")
        assert status == 401
        assert body["error"]["code"] == "unauthorized"
        assert (await post("/telegram/tg", update, None))[0] == 401
        assert (await post("/telegram/tg", update, derived))[0] == 401  # another bot's secret
        assert (await post("/telegram/nobody", update, SECRET))[0] == 404
        assert texts(tg_emu, 8001) == []  # nothing got through

        assert await post("/telegram/tg", update, SECRET) == (200, {"ok": True})
        assert await wait_texts(tg_emu, 8001, 1) == ["(echo) via webhook"]
        assert await post("/telegram/tg", update, SECRET) == (200, {"ok": True})  # Telegram retried it
        follow_up = tg_emu.push_message(TOKEN, chat_id=8001, text="and again")
        assert (await post("/telegram/tg", follow_up, SECRET))[0] == 200
        assert await wait_texts(tg_emu, 8001, 2) == ["(echo) via webhook", "(echo) and again"]

        other = tg_emu.push_message(OTHER_TOKEN, chat_id=8002, text="second bot")
        assert (await post("/telegram/tg2", other, derived))[0] == 200
        assert await wait_texts(tg_emu, 8002, 1, token=OTHER_TOKEN) == ["(echo) second bot"]

        status, body = await post("/telegram/tg", {"not": "an update"}, SECRET)
        assert status == 400

    assert tg_emu.calls_to("getUpdates") == []  # webhook bots never poll
    bots = (await health(gw))["bots"]
    assert bots["tg"]["mode"] == "webhook"
    assert bots["tg"]["state"] == "webhook"
    assert bots["tg"]["last_update_at"].endswith("Z")
    assert SECRET not in gw.logs()
    assert TOKEN not in gw.logs()
