"""discord.py's own failure lines, made one line each: which bot, what failed, when it retries.

While the gateway is unreachable discord.py logs each reconnect attempt with the
exception's whole traceback (``Attempting a reconnect in %.2fs`` on ``discord.client``),
about 50 lines a retry for a failure that is expected and says nothing an operator
could act on. A filter on that logger rewrites those records in place; the bot's name
comes from a context variable the adapter sets in its task (discord.py's loop runs
inside it).
"""

from __future__ import annotations

import logging
from contextvars import ContextVar

CURRENT_BOT: ContextVar[str | None] = ContextVar("chatgate_discord_bot", default=None)
RECONNECT = "Attempting a reconnect in %.2fs"  # discord.Client.connect's message


def describe(error: BaseException | None) -> str:
    if error is None:
        return "unknown error"
    text = str(error)
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__


class OneLineReconnects(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == RECONNECT and record.exc_info:
            args = record.args if isinstance(record.args, tuple) else ()
            delay = args[0] if args else 0.0
            record.msg = "discord bot %s: gateway connection failed (%s); reconnecting in %.1fs"
            record.args = (CURRENT_BOT.get() or "?", describe(record.exc_info[1]), delay)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def install() -> None:
    """Idempotent: every Discord adapter calls it when it starts."""
    logger = logging.getLogger("discord.client")
    if not any(isinstance(f, OneLineReconnects) for f in logger.filters):
        logger.addFilter(OneLineReconnects())
