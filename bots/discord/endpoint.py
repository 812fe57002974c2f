"""Where discord.py connects: Discord itself, or another server (``api_base``).

discord.py keeps the REST base (``Route.BASE``) and the gateway URL
(``DiscordWebSocket.DEFAULT_GATEWAY``) in class attributes, so they are
process-wide: all Discord bots of one chatgate process use the same api_base
(normally null, i.e. discord.com). A bot asking for a different one while another
bot runs on the first is refused with a clear error; a single bot may change it on
a config reload (it reconnects, and the old value is released when it stops).
"""

from __future__ import annotations

import discord
import yarl

DEFAULT_BASE = discord.http.Route.BASE
DEFAULT_GATEWAY = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


class EndpointConflict(Exception):
    """Another Discord bot of this process uses another api_base."""


_in_use: dict[str, str | None] = {}  # running bot name -> its api_base (None: Discord)


def point_at(bot: str, api_base: str | None) -> None:
    base = api_base.rstrip("/") if api_base else None
    others = {name: b for name, b in _in_use.items() if name != bot and b != base}
    if others:
        name, other = next(iter(others.items()))
        raise EndpointConflict(
            f"Discord bot {bot} wants api_base {base or 'null (discord.com)'}, but bot {name} in this "
            f"process uses {other or 'null (discord.com)'}: discord.py keeps it process-wide. "
            "Give them the same api_base, or run the other bot in another chatgate process."
        )
    _in_use[bot] = base
    discord.http.Route.BASE = base or DEFAULT_BASE
    if base is None:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = DEFAULT_GATEWAY


def release(bot: str) -> None:
    _in_use.pop(bot, None)


async def point_gateway(client: discord.Client) -> None:
    """With an api_base the gateway must be asked for: a plain Client dials
    DEFAULT_GATEWAY (discord.gg) without calling GET /gateway/bot. Call after login."""
    _, url, _ = await client.http.get_bot_gateway()
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
