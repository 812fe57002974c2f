"""The bot's slash commands (/ask, /reset, /help) and their registration with Discord."""

from __future__ import annotations

import logging
from typing import Any, Protocol

import discord
from discord import app_commands

log = logging.getLogger("chatgate.bots.discord")

ASK_MAX_CHARS = 4000  # Discord's own cap for a string option is 6000; a question needs less


class CommandHandler(Protocol):
    async def on_ask(self, interaction: discord.Interaction[Any], text: str) -> None: ...

    async def on_reset(self, interaction: discord.Interaction[Any]) -> None: ...

    async def on_help(self, interaction: discord.Interaction[Any]) -> None: ...


def build_tree(client: discord.Client, handler: CommandHandler) -> app_commands.CommandTree[Any]:
    tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)

    @tree.command(name="ask", description="Ask me a question")
    @app_commands.describe(text="Your question")
    async def ask(
        interaction: discord.Interaction[Any],
        text: app_commands.Range[str, 1, ASK_MAX_CHARS],
    ) -> None:
        await handler.on_ask(interaction, text)

    @tree.command(name="reset", description="Forget our conversation and start over")
    async def reset(interaction: discord.Interaction[Any]) -> None:
        await handler.on_reset(interaction)

    @tree.command(name="help", description="What I can do and how to talk to me")
    async def help_(interaction: discord.Interaction[Any]) -> None:
        await handler.on_help(interaction)

    @tree.error
    async def on_error(interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        # The user gets a short message, the log gets the details; never a traceback in chat.
        log.error(
            "slash command /%s failed: %s", getattr(interaction.command, "name", "?"), error, exc_info=error
        )
        text = "Sorry, something went wrong. Please try again."
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except discord.HTTPException:
            pass

    return tree


async def sync_commands(tree: app_commands.CommandTree[Any], guild_ids: list[int], bot: str) -> None:
    """Register the commands: in the listed guilds (instantly visible there), else globally
    (Discord may take a while to show global changes). A failure is logged, not fatal:
    mentions and DMs work without slash commands."""
    try:
        if not guild_ids:
            await tree.sync()
            log.info("discord bot %s: slash commands synced globally", bot)
            return
        for guild_id in guild_ids:
            guild = discord.Object(id=guild_id)
            tree.copy_global_to(guild=guild)
            await tree.sync(guild=guild)
        log.info("discord bot %s: slash commands synced to guilds %s", bot, guild_ids)
    except discord.HTTPException as e:
        log.warning(
            "discord bot %s: could not register slash commands (%s); mentions and DMs still work. "
            "Check that the bot was invited with the applications.commands scope and that "
            "command_guilds lists guilds it is in.",
            bot,
            e,
        )
