"""A question's options as Discord buttons, and what a press on one says.

The buttons are sent as plain components: the view is stopped before it is sent, so
discord.py keeps no callback for it in memory. A press arrives as a component interaction
whose custom id is the button's key (`bots.questions`), which any chatgate process can
read, before or after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bots.base import Button

PER_ROW = 5  # Discord's limits: 5 buttons to a row, 5 rows to a message
MAX_BUTTONS = 25
LABEL_CHARS = 80
MESSAGE_CHARS = 2000


def button_view(buttons: Sequence[Button]) -> discord.ui.View | None:
    """The buttons, five to a row; None without any. Beyond 25 the rest is left off (the
    user can still type an option)."""
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for i, button in enumerate(buttons[:MAX_BUTTONS]):
        view.add_item(
            discord.ui.Button(
                label=_label(button.label),
                custom_id=button.key,
                style=discord.ButtonStyle.primary,
                row=i // PER_ROW,
            )
        )
    view.stop()  # finished: sent as components, never stored for dispatch
    return view


def _label(text: str) -> str:
    text = " ".join(text.split())
    if len(text) > LABEL_CHARS:
        return text[: LABEL_CHARS - 1].rstrip() + "…"
    return text or "…"  # Discord refuses a button without a label (or emoji)


def pressed_label(message: discord.Message | None, key: str) -> str:
    """The label of the button with this key on the pressed message ("" when not found)."""
    for row in message.components if message is not None else ():
        for item in getattr(row, "children", ()):
            if isinstance(item, discord.Button) and item.custom_id == key:
                return item.label or ""
    return ""


def with_choice(question: str, label: str) -> str:
    """The question message once answered: its text and the choice, within 2000 characters."""
    choice = f"\n\n→ {discord.utils.escape_markdown(label)}"
    room = MESSAGE_CHARS - len(choice)
    if len(question) > room:
        question = question[: room - 1].rstrip() + "…"
    return question + choice
