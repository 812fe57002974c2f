"""The bot's commands (/start, /help, /reset, /ask), their menu in Telegram, and the
answers to everything but questions, which need no model call."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import ClientDecodeError, TelegramAPIError
from aiogram.types import BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeDefault

from bots.messages import HELP, NON_TEXT, RESET_DONE
from bots.telegram.inbound import Job

log = logging.getLogger("chatgate.bots.telegram")

GROUP_HELP = "\nIn groups: mention me, reply to my message, or write /ask <question>."
ASK_USAGE = "Write your question after the command, e.g. /ask What is chatgate?"
PRIVATE_COMMANDS = [
    BotCommand(command="start", description="Say hello"),
    BotCommand(command="help", description="How to talk to me"),
    BotCommand(command="reset", description="Forget our conversation"),
]
GROUP_COMMANDS = [
    BotCommand(command="ask", description="Ask me a question"),
    BotCommand(command="help", description="How to talk to me"),
    BotCommand(command="reset", description="Forget this chat's conversation"),
]


async def register_commands(bot: Bot, name: str, clean: Callable[[str], str]) -> None:
    """The command menus for private chats and groups. A failure is logged, not fatal:
    commands typed by hand still work. ``clean`` strips the token from error texts."""
    try:
        await bot.set_my_commands(PRIVATE_COMMANDS, scope=BotCommandScopeDefault())
        await bot.set_my_commands(GROUP_COMMANDS, scope=BotCommandScopeAllGroupChats())
    except (TelegramAPIError, ClientDecodeError) as e:
        log.warning("bot %s: could not register its commands (%s)", name, clean(str(e)))


async def command_reply(job: Job, *, greeting: str, reset: Callable[[str], Awaitable[object]]) -> str:
    """Everything but questions: answered without calling the model."""
    if job.kind == "reset":
        await reset(job.incoming.session_id)
        return RESET_DONE
    if job.kind == "start":
        return greeting
    if job.kind == "help":
        return HELP if job.target.private else HELP + GROUP_HELP
    if job.kind == "non_text":
        return NON_TEXT
    return ASK_USAGE
