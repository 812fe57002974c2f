"""Files the bot sends on Discord: grouped into messages within Discord's limits (10 files and,
for a bot in a server without boosts, 10 MiB to a message); a file over that is not sent, and
the text says so rather than leave it out silently."""

from __future__ import annotations

import io
from collections.abc import Sequence

import discord

from bots.base import Attachment
from engine.files import size_text

FILES_PER_MESSAGE = 10
UPLOAD_BYTES = 10 * 1024 * 1024  # what Discord takes in one message from a bot, at the least


def batches(files: Sequence[Attachment]) -> tuple[list[list[Attachment]], list[Attachment]]:
    """The files in messages' worth, in order, and those too large for any message."""
    groups: list[list[Attachment]] = []
    too_large: list[Attachment] = []
    size = 0
    for file in files:
        if len(file.data) > UPLOAD_BYTES:
            too_large.append(file)
            continue
        if not groups or len(groups[-1]) == FILES_PER_MESSAGE or size + len(file.data) > UPLOAD_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(file)
        size += len(file.data)
    return groups, too_large


def left_out(files: Sequence[Attachment]) -> str:
    """What the user is told of files too large to send here."""
    names = ", ".join(discord.utils.escape_markdown(f.name) for f in files)
    return f"({names}: too large to send on Discord, which takes at most {size_text(UPLOAD_BYTES)}.)"


def as_files(group: Sequence[Attachment]) -> list[discord.File]:
    """discord.py's uploads (each is read once: made anew for every send)."""
    return [discord.File(io.BytesIO(f.data), filename=f.name) for f in group]
