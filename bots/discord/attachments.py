"""The files a user sent on Discord (a message's attachments) as `bots.files.Received`: what
they are, from the message alone, and their bytes on demand, read only when the message is
really answered.

Discord announces each attachment's size, so `bots.files.take` refuses one over the limit
before anything is downloaded; the read checks again.
"""

from __future__ import annotations

import discord

from bots.files import Received
from engine.files import MAX_FILES
from engine.files.store import too_large


def sent_files(message: discord.Message) -> tuple[Received, ...]:
    """The message's attachments, in order, at most as many as a ``files`` input takes."""
    return tuple(_received(a) for a in message.attachments[:MAX_FILES])


def _received(attachment: discord.Attachment) -> Received:
    async def fetch(max_bytes: int) -> bytes:
        if attachment.size > max_bytes:
            raise too_large(max_bytes, attachment.size)
        data = await attachment.read()
        if len(data) > max_bytes:
            raise too_large(max_bytes, len(data))
        return data

    return Received("attachment", attachment.filename, attachment.content_type, attachment.size, fetch)
