"""How an answer reaches Discord: typing, a growing preview edited in place, then
the whole answer in parts of at most 2000 characters, every part in order.

Two destinations share the logic: a channel message (a reply to the asking
message) and a slash command (deferred, then webhook follow-ups). Pacing, the
shielded preview and the typing delay are the shared ones of `bots.delivery`,
with Discord's numbers from `bots.discord.limits`.
"""

from __future__ import annotations

import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import discord

from bots.base import Attachment, Button
from bots.delivery.pacing import Lanes, Pacer
from bots.delivery.previews import ShieldedPreview
from bots.delivery.typing_delay import TypingDelay
from bots.discord import uploads
from bots.discord.buttons import button_view
from bots.discord.limits import CHANNEL
from bots.split import split_markdown

log = logging.getLogger("chatgate.bots.discord")

# The model's text is the user's to shape (the offline model even repeats it):
# it must never ping @everyone, a role or a user. Only the asker, by the reply.
SAFE_MENTIONS = discord.AllowedMentions(everyone=False, users=False, roles=False, replied_user=True)


class PartsResponder(ABC):
    """A `bots.base.Responder` that keeps the answer shown as a list of Discord messages."""

    partial_interval_s = CHANNEL.partial_interval_s

    def __init__(self, channel_id: int, pacer: Pacer) -> None:
        self.channel_id = channel_id
        self.pacer = pacer
        self.shown: list[str] = []  # what each message we sent says now
        self.handles: list[Any] = []  # the messages themselves, to edit
        # Quiet from when answering began: an answer whole within that is sent once.
        self._preview = ShieldedPreview(CHANNEL.quiet_s, since=time.monotonic())
        self.answering = False  # text (or a notice) has arrived: typing is over
        self.said = 0  # messages of their own sent before the answer (they come first)

    @property
    def lanes(self) -> Lanes:
        return self.pacer.lanes(self.channel_id, CHANNEL.pace)

    # -- the destination
    @abstractmethod
    async def _send(
        self, text: str, index: int, view: discord.ui.View | None = None, files: Sequence[Attachment] = ()
    ) -> Any: ...

    @abstractmethod
    async def _edit(self, handle: Any, text: str, view: discord.ui.View | None = None) -> Any:
        """Change the text; ``view``: also show these buttons (None: keep what it shows)."""

    async def _delete(self, handle: Any) -> None:
        await handle.delete()

    # -- the Responder protocol
    async def typing(self) -> None:  # noqa: B027 - optional: a deferred command shows "thinking…" itself
        pass

    async def partial(self, text: str) -> None:
        self.answering = True
        # Too early, the router calls again when more text arrives; final() shows it all anyway.
        await self._preview.show(
            lambda: self._show(split_markdown(text, CHANNEL.message_length), final=False)
        )

    async def final(self, text: str) -> None:
        self.answering = True
        await self._preview.settle()
        await self._show(split_markdown(text, CHANNEL.message_length) or ["…"], final=True)

    async def attach(self, text: str, files: Sequence[Attachment]) -> None:
        await self._anew(text, files)

    async def ask(self, text: str, buttons: Sequence[Button]) -> None:
        view = button_view(buttons)
        if view is None:
            await self.final(text)
            return
        self.answering = True
        await self._preview.settle()
        await self._show(split_markdown(text, CHANNEL.message_length) or ["…"], final=True, view=view)

    async def message(self, text: str) -> None:
        await self._anew(text, ())

    async def _anew(self, text: str, files: Sequence[Attachment]) -> None:
        """Say ``text`` in messages of its own, ``files`` with its last part (or after it, when
        more than one message takes)."""
        self.answering = True
        await self._preview.settle()
        # The answer's preview so far goes: the answer comes after the message, anew.
        while self.handles:
            self.shown.pop()
            with contextlib.suppress(discord.HTTPException):
                await self._delete(self.handles.pop())
        groups, too_large = uploads.batches(files)
        parts = split_markdown(text, CHANNEL.message_length)
        if too_large:
            parts.append(uploads.left_out(too_large))
        sends: list[tuple[str, Sequence[Attachment]]] = [(part, ()) for part in parts]
        if groups and sends:
            sends[-1] = (sends[-1][0], groups.pop(0))
        sends += [("", group) for group in groups]
        for part, group in sends:
            await self.lanes.sends.take()  # every part must arrive: wait for the turn
            await self._send(part, self.said, files=group)
            self.said += 1
        self._preview = ShieldedPreview(CHANNEL.quiet_s, since=time.monotonic())

    async def notice(self, text: str) -> None:
        self.answering = True
        await self.lanes.sends.take()
        handle = await self._send(text, self.said + len(self.handles))
        self.handles.append(handle)
        self.shown.append(text)

    # -- keeping the messages in line with the parts
    async def _show(self, parts: list[str], *, final: bool, view: discord.ui.View | None = None) -> None:
        """Edit the messages whose part changed and send the new parts, in order. A preview
        gives up when the channel's budget is spent (the next one, or final(), catches up);
        the final answer waits for its turn instead, because every part must arrive.
        ``view``: buttons for the last part (a question)."""
        sends, edits = self.lanes.sends, self.lanes.edits
        for i, part in enumerate(parts):
            buttons = view if i == len(parts) - 1 else None
            if i < len(self.handles):
                if self.shown[i] == part and buttons is None:
                    continue  # never an edit that changes nothing
                if final:
                    await edits.take()
                elif not edits.try_take():
                    return
                try:
                    self.handles[i] = await self._edit(self.handles[i], part, buttons)
                except discord.NotFound:
                    if not final:
                        raise
                    # Someone deleted our preview: the answer still has to arrive whole.
                    await sends.take()
                    self.handles[i] = await self._send(part, self.said + i, buttons)
                self.shown[i] = part
            else:
                if final:
                    await sends.take()
                elif not sends.try_take():
                    return
                self.handles.append(await self._send(part, self.said + i, buttons))
                self.shown.append(part)
        if final:
            while len(self.handles) > len(parts):  # a preview showed more parts than the answer has
                self.shown.pop()
                with contextlib.suppress(discord.HTTPException):
                    await self._delete(self.handles.pop())


class MessageResponder(PartsResponder):
    """Answers in a channel (or thread, or DM); the first part replies to the question."""

    def __init__(
        self,
        channel: discord.abc.Messageable,
        channel_id: int,
        pacer: Pacer,
        *,
        reference: discord.Message | None,
    ) -> None:
        super().__init__(channel_id, pacer)
        self.channel = channel
        self.reference = reference
        self._typing = TypingDelay(CHANNEL.typing_after_s)

    async def typing(self) -> None:
        await self._typing.show(self._indicate)

    async def _indicate(self) -> None:
        if self.answering:
            return  # the answer shows progress now
        try:
            await self.channel.typing()
        except discord.HTTPException as e:  # cosmetic: never worth losing the answer over
            log.debug("typing in %s failed: %s", self.channel_id, e)

    async def _send(
        self, text: str, index: int, view: discord.ui.View | None = None, files: Sequence[Attachment] = ()
    ) -> discord.Message:
        ref = None
        if index == 0 and self.reference is not None:
            # fail_if_not_exists=False: a question deleted meanwhile still gets its answer.
            ref = self.reference.to_reference(fail_if_not_exists=False)
        return await self.channel.send(
            text,
            reference=ref,  # type: ignore[arg-type]
            allowed_mentions=SAFE_MENTIONS,
            view=view,  # type: ignore[arg-type]
            files=uploads.as_files(files) or None,  # type: ignore[arg-type]
        )

    async def _edit(self, handle: Any, text: str, view: discord.ui.View | None = None) -> discord.Message:
        edited: discord.Message = await handle.edit(
            content=text, allowed_mentions=SAFE_MENTIONS, view=_or_missing(view)
        )
        return edited


class InteractionResponder(PartsResponder):
    """Answers a deferred slash command: the first follow-up replaces "thinking…",
    further parts are more follow-ups; edits go through the interaction's webhook."""

    def __init__(self, interaction: discord.Interaction[Any], pacer: Pacer) -> None:
        super().__init__(interaction.channel_id or 0, pacer)
        self.interaction = interaction

    async def _send(
        self, text: str, index: int, view: discord.ui.View | None = None, files: Sequence[Attachment] = ()
    ) -> discord.WebhookMessage:
        return await self.interaction.followup.send(
            text,
            wait=True,
            allowed_mentions=SAFE_MENTIONS,
            view=_or_missing(view),
            files=uploads.as_files(files) or discord.utils.MISSING,
        )

    async def _edit(
        self, handle: Any, text: str, view: discord.ui.View | None = None
    ) -> discord.WebhookMessage:
        edited: discord.WebhookMessage = await handle.edit(
            content=text, allowed_mentions=SAFE_MENTIONS, view=_or_missing(view)
        )
        return edited


def _or_missing(view: discord.ui.View | None) -> Any:
    """discord.py's "leave the buttons as they are" (None would remove them)."""
    return discord.utils.MISSING if view is None else view


class EphemeralNotice:
    """A responder for a slash command not yet acknowledged: only the invoking user sees
    what it says (a rate-limit notice). Used before the command is deferred."""

    partial_interval_s = CHANNEL.partial_interval_s

    def __init__(self, interaction: discord.Interaction[Any]) -> None:
        self.interaction = interaction
        self.sent = False

    async def typing(self) -> None:
        pass

    async def partial(self, text: str) -> None:
        pass

    async def final(self, text: str) -> None:
        await self.notice(text)

    async def ask(self, text: str, buttons: Sequence[Button]) -> None:
        await self.notice(text)

    async def attach(self, text: str, files: Sequence[Attachment]) -> None:
        await self.notice(text)

    async def message(self, text: str) -> None:
        await self.notice(text)

    async def notice(self, text: str) -> None:
        if self.sent or self.interaction.response.is_done():
            await self.interaction.followup.send(text, ephemeral=True)
        else:
            await self.interaction.response.send_message(text, ephemeral=True)
        self.sent = True
