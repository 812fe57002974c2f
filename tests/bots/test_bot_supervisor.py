"""A bot that blows up before it has connected anything (here: aiogram refusing a token that
slipped past the config check) is shown as failed, and stopping it still ends at once:
the supervisor never waits on an adapter that never really started."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pydantic import SecretStr

from chatgate.gateway import Gateway
from chatgate.http.serializers import health
from config.platforms.telegram import TelegramBotSettings
from config.schema import Settings


async def test_a_bot_failing_before_it_connects_is_failed_and_stops_at_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        storage={"url": f"sqlite:///{tmp_path / 'chatgate.db'}"},  # type: ignore[arg-type]
        data_dir=str(tmp_path),
        workflows_dir=str(tmp_path / "workflows"),
    )
    gw = await Gateway.open(settings)
    try:
        # Unchecked on purpose: the shape check in config would refuse it.
        bot = TelegramBotSettings.model_construct(
            name="tg", platform="telegram", token=SecretStr("fake"), workflow="support_bot"
        )
        gw.bots.start(bot)
        async with asyncio.timeout(15):
            while gw.bots.health()["tg"]["restarts"] < 2 or gw.bots.health()["tg"].get("state") != "failed":
                await asyncio.sleep(0.05)
        # An unexpected error: its traceback once, then one line per attempt.
        failures = [r for r in caplog.records if "retrying in" in r.getMessage()]
        assert [r.exc_info is not None for r in failures] == [True, False]
        assert health(gw)["status"] == "degraded"
        assert "fake" not in str(gw.bots.health()["tg"]["reason"])
        async with asyncio.timeout(5):
            await gw.bots.stop("tg")
        assert gw.bots.health() == {}
    finally:
        await gw.close()
