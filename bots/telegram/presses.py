"""Button presses on Telegram: the presser's acknowledgement (a toast, at once), and the
question message edited to show the choice, without its buttons."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Bot
from aiogram.enums import ParseMode
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramBadRequest

from bots.telegram.inbound import Press
from bots.telegram.keyboard import answered_html
from bots.telegram.send import Sender, is_not_modified
from bots.telegram.target import Target

log = logging.getLogger("chatgate.bots.telegram")

ACK_TIMEOUT_S = 5  # Telegram forgets an unanswered query within seconds: later is useless


async def acknowledge(bot: Bot, press: Press, toast: str | None, clean: Callable[[str], str]) -> None:
    """Stop the presser's spinner, with ``toast`` shown to them alone. One try: a retry would
    come after Telegram stopped waiting. A failure costs only the toast."""
    try:
        await bot.answer_callback_query(press.query_id, text=toast, request_timeout=ACK_TIMEOUT_S)
    except (TelegramAPIError, ClientDecodeError, OSError, TimeoutError) as e:
        # e.g. a press redelivered after a restart: Telegram took its answer long ago.
        log.info("could not acknowledge button press %s: %s", press.query_id, clean(str(e))[:200])


async def show_choice(bot: Bot, sender: Sender, target: Target, press: Press, label: str) -> None:
    """The question message reads "<question>\\n\\n→ <label>" and loses its keyboard. When its
    text cannot be edited (too long now, or no longer shown to the bot), only the keyboard
    goes. Raises only `DeliveryFailed` (Telegram unreachable)."""
    chat_id, group = target.chat_id, not target.private
    question = press.question_html
    if question is not None:
        try:
            await sender.deliver(
                chat_id,
                group,
                lambda: bot.edit_message_text(
                    text=answered_html(question, label),
                    chat_id=chat_id,
                    message_id=press.message_id,
                    parse_mode=ParseMode.HTML,
                ),
            )
            return
        except TelegramBadRequest as e:
            if is_not_modified(e):
                return
            log.info("could not show the choice in chat %s (%s); removing the buttons", chat_id, e.message)
    try:
        await sender.deliver(
            chat_id,
            group,
            lambda: bot.edit_message_reply_markup(chat_id=chat_id, message_id=press.message_id),
        )
    except TelegramBadRequest as e:
        log.info("could not remove the buttons in chat %s: %s", chat_id, e.message)
