"""An operator configures bots before having their tokens: /healthz lists every configured
bot, those without a token as ``no_token``, and the server is ``ok``."""

from __future__ import annotations

from typing import Any

from tests.support.chatgate import StartChatgate


async def test_bots_configured_without_a_token_are_listed_as_no_token(start_chatgate: StartChatgate) -> None:
    def two_bots(config: dict[str, Any]) -> None:
        config["bots"] = [
            {"name": "tg-main", "platform": "telegram", "token": "", "workflow": "support_bot"},
            {"name": "dc-main", "platform": "discord", "token": "", "workflow": "support_bot"},
        ]

    gw = await start_chatgate(two_bots)
    async with gw.client(None) as http, http.get("/healthz") as r:
        health = await r.json()
    assert health["bots"] == {
        "tg-main": {"platform": "telegram", "state": "no_token"},
        "dc-main": {"platform": "discord", "state": "no_token"},
    }
    assert health["status"] == "ok"
