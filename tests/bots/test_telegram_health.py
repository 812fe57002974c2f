"""An operator watches the Telegram bots: /healthz, startup warnings, outages, secrets."""

from __future__ import annotations

import pytest

from tests.support.telegram import SHARED_TOKENS, Shared, health, wait_until

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_healthz_shows_each_bot_polling_with_its_last_successful_poll(shared: Shared) -> None:
    bots = (await health(shared.gw))["bots"]
    assert set(bots) == set(SHARED_TOKENS)
    tg = bots["tg"]
    assert tg["platform"] == "telegram"
    assert tg["mode"] == "polling"
    assert tg["state"] == "polling"
    assert tg["username"] == "chatgate_bot"
    assert tg["last_successful_poll"].endswith("Z")
    assert tg["restarts"] == 0


async def test_startup_warns_that_group_privacy_mode_hides_messages(shared: Shared) -> None:
    logs = shared.gw.logs()
    assert "bot tg (@chatgate_bot): group privacy mode is on" in logs
    assert "/setprivacy" in logs


async def test_when_the_bot_api_is_down_polling_backs_off_and_resumes_by_itself(shared: Shared) -> None:
    s, chat = shared, shared.chat()
    before = (await health(s.gw))["bots"]["tg"]["last_successful_poll"]
    s.tg.set_down(True)
    s.tg.push_message(s.echo, chat_id=chat, text="during the outage")  # ends the current long poll

    async def backing_off() -> bool:
        tg = (await health(s.gw))["bots"]["tg"]
        return bool(tg["state"] == "backoff" and tg["consecutive_failures"] >= 2)

    await wait_until(backing_off)
    down = (await health(s.gw))["bots"]["tg"]
    assert "502" in down["last_error"] or "Bad Gateway" in down["last_error"]
    assert "SECRET" not in str(down)

    s.tg.set_down(False)
    s.tg.push_message(s.echo, chat_id=chat, text="after the outage")
    texts = await s.wait_texts(s.echo, chat, 2, within=15)
    assert texts == ["(echo) during the outage", "(echo) after the outage"]  # nothing was lost either
    up = (await health(s.gw))["bots"]["tg"]
    assert up["state"] == "polling"
    assert up["consecutive_failures"] == 0
    assert up["last_successful_poll"] > before
    assert "Telegram reachable again" in s.gw.logs()


async def test_bot_tokens_never_reach_the_logs(shared: Shared) -> None:
    logs = shared.gw.logs()
    assert "chatgate.bots.telegram" in logs  # the adapters did log
    for token in SHARED_TOKENS.values():
        assert token not in logs
        assert token.partition(":")[2] not in logs
