"""A press on a question's button: checked and acknowledged at once (Discord allows 3 s),
then answered in the session's queue like a message.

Nothing about the question is kept in memory: the button's custom id is its key
(`bots.questions`), so a press on a message sent before a restart, or by another
process, is handled the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import discord

from bots.delivery.dispatch import SessionQueue
from bots.delivery.pacing import Pacer
from bots.discord.buttons import pressed_label, with_choice
from bots.discord.inbound import press_incoming
from bots.discord.limits import CHANNEL
from bots.discord.responder import SAFE_MENTIONS, MessageResponder
from bots.messages import chat_message
from bots.questions import read_key
from bots.router import ChatRouter
from engine.errors import ChatgateError

log = logging.getLogger("chatgate.bots.discord")


async def handle(
    interaction: discord.Interaction[Any],
    router: ChatRouter,
    queue: SessionQueue[Callable[[], Awaitable[None]]],
    pacer: Pacer,
    *,
    bot: str,
    scope: Literal["chat", "user"],
) -> None:
    key = dict(interaction.data or {}).get("custom_id")
    question = interaction.message
    if not isinstance(key, str) or read_key(key) is None or question is None:
        return  # not one of our questions' buttons
    msg = press_incoming(interaction, pressed_label(question, key), bot=bot, scope=scope)
    try:
        check = await router.check_press(msg, key)
    except ChatgateError as e:  # e.g. the database is away: say so; the question still waits
        log.warning("discord bot %s: could not check a button press: %s", bot, e.message)
        await acknowledge(interaction, chat_message(e))
        return
    acknowledged = await acknowledge(interaction, check.toast)
    if check.toast is not None:
        return
    # The answer replies to the question, as a typed answer's reply goes to what was typed.
    responder = MessageResponder(question.channel, question.channel.id, pacer, reference=question)

    async def chosen(label: str) -> None:
        await _show_choice(interaction, question, label, pacer, acknowledged=acknowledged)

    await queue.arrive(msg.session_id, lambda: router.answer_press(msg, check, responder, chosen))


async def acknowledge(interaction: discord.Interaction[Any], toast: str | None) -> bool:
    """Answer the press: a note the presser alone sees, or (None) a silent "update coming".
    False when Discord refused it (too late, or a press delivered again): a press that
    counts is still answered, once."""
    try:
        if toast is None:
            await interaction.response.defer()
        else:
            await interaction.response.send_message(toast, ephemeral=True)
        return True
    except discord.HTTPException as e:
        log.warning("discord: could not acknowledge a button press: %s", e)
        return False


async def _show_choice(
    interaction: discord.Interaction[Any],
    question: discord.Message,
    label: str,
    pacer: Pacer,
    *,
    acknowledged: bool,
) -> None:
    """The question message shows the choice instead of its buttons."""
    text = with_choice(question.content, label)
    if acknowledged:
        try:  # through the press itself: needs no permission in the channel
            await interaction.edit_original_response(content=text, view=None, allowed_mentions=SAFE_MENTIONS)
            return
        except discord.HTTPException:
            pass  # the press's token ran out (it waited long in the queue): edit it directly
    await pacer.lanes(question.channel.id, CHANNEL.pace).edits.take()
    await question.edit(content=text, view=None, allowed_mentions=SAFE_MENTIONS)
