"""How one answer appears in a Telegram chat (the `Responder` of bots/base.py).

* Private chats: the growing answer streams as a draft (``sendMessageDraft``),
  then the final text is sent as real messages.
* Groups: a first message (a reply to the question) is sent once text has been
  arriving for a moment and edited as it grows, throttled (edits are skipped,
  never queued, when the chat's pace is used up) and never with unchanged text.
* Quick answers (done within one preview interval, e.g. cached or short) get no
  preview and no "typing…": one sendMessage, which also spares Telegram's limits.
* Long answers: once the streamed text outgrows a message, the full parts are
  sent for good and the preview continues in the next one. Parts are cut from
  the start of the text, so a complete part never changes as the text grows.
* Questions (``ask``): sent as ``final`` sends an answer, with the options as an inline
  keyboard on the last message (`bots.telegram.keyboard`).
* Formatting: HTML from `telegram_format`; a part Telegram refuses is resent
  as its plain Markdown source, so an answer is never lost to formatting.

Preview work runs shielded (`bots.delivery.previews`), so a cancelled
``sendMessage`` is never sent twice; the numbers are in `bots.telegram.limits`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from aiogram import Bot
from aiogram.enums import ChatAction, ParseMode
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import InlineKeyboardMarkup, Message, ReplyParameters

from bots.base import Attachment, Button
from bots.delivery.previews import ShieldedPreview
from bots.delivery.typing_delay import TypingDelay
from bots.split import split_text, utf16_len
from bots.telegram.format import Part, render_parts
from bots.telegram.keyboard import inline_keyboard
from bots.telegram.limits import limits
from bots.telegram.outbound import MAX_UPLOAD_BYTES, caption_for, send_files
from bots.telegram.send import DeliveryFailed, Sender, is_bad_entities, is_not_modified, is_too_long
from bots.telegram.target import Target

log = logging.getLogger("chatgate.bots.telegram")


@dataclass(slots=True)
class _Sent:
    """One message of the answer: the part it stands for, and what it actually shows
    (they differ after a plain-text fallback)."""

    message_id: int
    want: tuple[str, str | None]  # (text, parse mode) the part asked for
    shown: tuple[str, str | None]  # (text, parse mode) on screen


def _content(part: Part) -> tuple[str, str | None]:
    return (part.html, ParseMode.HTML) if part.html is not None else (part.source, None)


class TelegramResponder:
    def __init__(self, bot: Bot, sender: Sender, target: Target) -> None:
        self.bot = bot
        self.sender = sender
        self.target = target
        self.limits = limits(group=not target.private)
        self.partial_interval_s = self.limits.partial_interval_s
        self._sent: list[_Sent] = []  # the answer's messages, in order
        self._drafts: dict[int, str] = {}  # part index -> text last drafted
        self._preview = ShieldedPreview(self.limits.quiet_s)  # quiet from the first text on
        self._typing = TypingDelay(self.limits.typing_after_s)
        self._said = False  # a message of its own went out: it, not the answer, replies to the question

    @property
    def _group(self) -> bool:
        return not self.target.private

    # -- Responder -----------------------------------------------------------

    async def typing(self) -> None:
        t = self.target
        await self._typing.show(
            lambda: self.sender.preview(
                t.chat_id,
                self._group,
                lambda: self.bot.send_chat_action(
                    t.chat_id, ChatAction.TYPING, message_thread_id=t.thread_id
                ),
                paced=False,
            )
        )

    async def partial(self, text: str) -> None:
        # Skipping the quiet period's previews saves a draft (private) or a send plus an
        # edit (groups) per quick answer.
        await self._preview.show(lambda: self._show_partial(text))

    async def final(self, text: str) -> None:
        await self._finish(text, None)

    async def ask(self, text: str, buttons: Sequence[Button]) -> None:
        await self._finish(text, inline_keyboard(buttons))

    async def _finish(self, text: str, markup: InlineKeyboardMarkup | None) -> None:
        """Every part of the answer for good; ``markup`` goes on the last one."""
        await self._preview.settle()
        limit = self.limits.message_length
        parts = render_parts(text, limit) or render_parts("…", limit)
        for index, part in enumerate(parts):
            await self._put(index, part, markup if index == len(parts) - 1 else None)
        for extra in self._sent[len(parts) :]:  # the preview ran longer than the answer
            await self._delete(extra.message_id)
        del self._sent[len(parts) :]

    async def attach(self, text: str, files: Sequence[Attachment]) -> None:
        """The text as the files' caption when it fits one, else said first (as ``final``)."""
        await self._preview.settle()
        sendable = any(len(f.data) <= MAX_UPLOAD_BYTES for f in files)
        caption = caption_for(text) if text.strip() and sendable else None
        if caption is None and text.strip():
            await self._finish(text, None)
        else:
            await self._forget_preview()  # the caption says it: no preview stays above it
        t = self.target
        first = not (self._said or self._sent)
        target = Target(t.chat_id, t.private, t.thread_id, t.reply_to if first else None, t.draft_id)
        refused = await send_files(self.bot, self.sender, target, files, caption)
        self._said = True
        if refused:
            names = ", ".join(f.name for f in refused)
            await self.notice(f"I couldn't send {names}: Telegram takes files of at most 50 MB.")

    async def message(self, text: str) -> None:
        await self._preview.settle()
        await self._forget_preview()
        for part in render_parts(text, self.limits.message_length):
            await self._send_part(part, first=not self._said)  # not one of the answer's parts
            self._said = True

    async def notice(self, text: str) -> None:
        await self._preview.settle()
        try:
            await self._send(text, None, first=not self._sent)
        except TelegramBadRequest as e:
            log.warning("could not send a notice to chat %s: %s", self.target.chat_id, e.message)

    # -- internals -----------------------------------------------------------

    async def _forget_preview(self) -> None:
        """The answer's preview so far goes: the answer comes after the message, and
        starts over (with its quiet period) below it."""
        for sent in self._sent:
            await self._delete(sent.message_id)
        self._sent.clear()
        self._drafts.clear()
        self._preview = ShieldedPreview(self.limits.quiet_s)

    async def _delete(self, message_id: int) -> None:
        chat_id = self.target.chat_id
        with contextlib.suppress(TelegramAPIError, DeliveryFailed):
            await self.sender.deliver(
                chat_id, self._group, lambda: self.bot.delete_message(chat_id, message_id), paced=False
            )

    async def _show_partial(self, text: str) -> None:
        try:
            parts = render_parts(text, self.limits.message_length)
            if not parts:
                return
            *done, current = parts
            for index, part in enumerate(done):
                await self._put(index, part)  # complete: delivered for good
            index = len(done)
            body, mode = _content(current)
            if self.target.private:
                await self._draft(index, body, mode)
            elif index < len(self._sent):
                await self._edit(index, body, mode, preview=True)
            else:
                await self._send_preview(body, mode)
        except (TelegramAPIError, DeliveryFailed) as e:
            log.debug("preview for chat %s failed: %s", self.target.chat_id, e)

    async def _draft(self, index: int, body: str, mode: str | None) -> None:
        if self._drafts.get(index) == body:
            return
        t = self.target
        self._drafts[index] = body
        await self.sender.preview(
            t.chat_id,
            False,
            lambda: self.bot.send_message_draft(
                t.chat_id, t.draft_id + index, message_thread_id=t.thread_id, text=body, parse_mode=mode
            ),
            paced=False,  # drafts are ephemeral and not counted as messages
        )

    async def _send_preview(self, body: str, mode: str | None) -> None:
        t = self.target
        message = await self.sender.preview(
            t.chat_id,
            True,
            lambda: self._send_call(body, mode, first=not (self._sent or self._said)),
            paced=True,
        )
        if message is not None:
            self._sent.append(_Sent(message.message_id, (body, mode), (body, mode)))

    async def _put(self, index: int, part: Part, markup: InlineKeyboardMarkup | None = None) -> None:
        """Make message ``index`` show ``part`` (and ``markup``) for good: edit the preview, or send it."""
        want = _content(part)
        if index >= len(self._sent):
            self._sent.append(await self._send_part(part, first=index == 0 and not self._said, markup=markup))
            return
        if markup is not None:  # the preview gets its text first, then the buttons
            await self._put(index, part)
            await self._add_markup(self._sent[index].message_id, markup)
            return
        sent = self._sent[index]
        if sent.want == want:
            return
        try:
            await self._edit(index, *want, preview=False)
        except TelegramBadRequest as e:
            if want[1] is not None and is_bad_entities(e):
                log.info(
                    "Telegram refused the formatting in chat %s; showing plain text", self.target.chat_id
                )
                await self._edit(index, part.source, None, preview=False)
            else:  # the preview is gone (deleted) or can't be edited: send the part anew
                log.info(
                    "could not edit the preview in chat %s (%s); sending anew", self.target.chat_id, e.message
                )
                self._sent[index] = await self._send_part(part, first=False)
                return
        self._sent[index].want = want

    async def _add_markup(self, message_id: int, markup: InlineKeyboardMarkup) -> None:
        chat_id = self.target.chat_id
        try:
            await self.sender.deliver(
                chat_id,
                self._group,
                lambda: self.bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=message_id, reply_markup=markup
                ),
            )
        except TelegramBadRequest as e:
            if not is_not_modified(e):
                raise

    async def _send_part(
        self, part: Part, *, first: bool, markup: InlineKeyboardMarkup | None = None
    ) -> _Sent:
        """Send one part as a new message, falling back to its plain source if Telegram
        refuses the formatting. Nothing is ever dropped for its form."""
        want = _content(part)
        try:
            message = await self._send(*want, first=first, markup=markup)
            return _Sent(message.message_id, want, want)
        except TelegramBadRequest as e:
            if want[1] is not None and is_bad_entities(e):
                log.info(
                    "Telegram refused the formatting in chat %s; sending plain text", self.target.chat_id
                )
                message = await self._send(part.source, None, first=first, markup=markup)
                return _Sent(message.message_id, want, (part.source, None))
            if not is_too_long(e):
                raise
        # Should not happen (parts are measured), but still lose nothing: smaller plain pieces.
        pieces = split_text(part.source, max(utf16_len(part.source) // 2, 1), utf16_len)
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            message = await self._send(piece, None, first=first and i == 0, markup=markup if last else None)
        return _Sent(message.message_id, want, (pieces[-1], None))

    async def _send(
        self, body: str, mode: str | None, *, first: bool, markup: InlineKeyboardMarkup | None = None
    ) -> Message:
        return await self.sender.deliver(
            self.target.chat_id, self._group, lambda: self._send_call(body, mode, first=first, markup=markup)
        )

    def _send_call(
        self, body: str, mode: str | None, *, first: bool, markup: InlineKeyboardMarkup | None = None
    ) -> Awaitable[Message]:
        t = self.target
        reply = (
            ReplyParameters(message_id=t.reply_to, allow_sending_without_reply=True)
            if first and t.reply_to is not None
            else None
        )
        return self.bot.send_message(
            t.chat_id,
            body,
            message_thread_id=t.thread_id,
            parse_mode=mode,
            reply_parameters=reply,
            reply_markup=markup,
        )

    async def _edit(self, index: int, body: str, mode: str | None, *, preview: bool) -> None:
        t = self.target
        sent = self._sent[index]
        if sent.shown == (body, mode):
            return  # never an edit with unchanged text

        def call() -> Awaitable[Message | bool]:
            return self.bot.edit_message_text(
                text=body, chat_id=t.chat_id, message_id=sent.message_id, parse_mode=mode
            )

        if preview:
            if await self.sender.preview(t.chat_id, self._group, call, paced=True) is None:
                return
            sent.want = (body, mode)
        else:
            try:
                await self.sender.deliver(t.chat_id, self._group, call)
            except TelegramBadRequest as e:
                if not is_not_modified(e):
                    raise
        sent.shown = (body, mode)
