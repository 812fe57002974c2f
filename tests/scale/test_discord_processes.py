"""An operator runs one Discord bot on two chatgate processes sharing PostgreSQL and Redis:
one process holds the gateway connection (a lease), the other stands by and takes
over within seconds when the holder is killed; every message is answered once."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

from tests.emulators.discord.server import DiscordEmulator
from tests.scale.support import eventually, health, logs_on_failure, shared
from tests.support.chatgate import ChatgateProcess, StartChatgate
from tests.support.discord import ALICE, TOKEN, DiscordBot, discord_bot_config, dm_channel
from tests.support.services import PostgresServer


async def test_one_process_holds_the_gateway_and_another_takes_over_when_it_is_killed(
    start_chatgate: StartChatgate, discord_emu: DiscordEmulator, redis_url: str, postgres: PostgresServer
) -> None:
    configure = shared(redis_url, postgres.new_database("dcgateway"), bots=[discord_bot_config(discord_emu)])
    one, two = await asyncio.gather(start_chatgate(configure), start_chatgate(configure))
    with logs_on_failure(one, two):

        async def connected() -> list[bool]:
            return [bool((await health(gw))["bots"]["dc-test"]["connected"]) for gw in (one, two)]

        async def exactly_one_connected() -> bool:
            return sorted(await connected()) == [False, True]

        await eventually(exactly_one_connected, within=15, what="one process holding the gateway")
        assert len(discord_emu.identify_payloads) == 1  # the standby never even tried
        holder: ChatgateProcess = one if (await connected())[0] else two
        standby = two if holder is one else one
        bot = DiscordBot(holder, discord_emu)
        asked = [bot.dm(f"question {i}") for i in range(3)]
        for i, message_id in enumerate(asked):
            assert await bot.answer_to(dm_channel(ALICE), message_id) == f"(echo) question {i}"

        await holder.stop(signal.SIGKILL)

        async def standby_connected() -> bool:
            return bool((await health(standby))["bots"]["dc-test"]["connected"])

        await eventually(standby_connected, within=15, what="the standby taking the gateway over")
        lease: dict[str, Any] = (await health(standby))["bots"]["dc-test"]["gateway_lease"]
        assert lease["held"] is True
        after = bot.dm("still there?")
        assert await bot.answer_to(dm_channel(ALICE), after) == "(echo) still there?"
        assert len(bot.bot_messages(dm_channel(ALICE))) == 4  # each answered once
        assert TOKEN not in standby.logs()
