"""The files a user sent on Discord (a message's attachments): what they are, from the message
alone, and their bytes (`DiscordFile.read`), read only when the message is really answered.

Discord announces each attachment's size, so one over the limit is refused before anything
is downloaded; the download itself is bounded too.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from engine.files import MAX_FILES
from engine.files.store import too_large


@dataclass(frozen=True, slots=True)
class DiscordFile:
    """A sent file as the router takes it: its name and type, its bytes on demand."""

    attachment: discord.Attachment

    @property
    def name(self) -> str:
        return self.attachment.filename

    @property
    def mime_type(self) -> str | None:
        return self.attachment.content_type

    async def read(self, max_bytes: int) -> bytes:
        """The bytes, never more than ``max_bytes`` (else `FileTooLarge`, before downloading
        when Discord's announced size says so)."""
        if self.attachment.size > max_bytes:
            raise too_large(max_bytes, self.attachment.size)
        data = await self.attachment.read()
        if len(data) > max_bytes:
            raise too_large(max_bytes, len(data))
        return data


def sent_files(message: discord.Message) -> list[DiscordFile]:
    """The message's attachments, in order, at most as many as a ``files`` input takes."""
    return [DiscordFile(a) for a in message.attachments[:MAX_FILES]]
