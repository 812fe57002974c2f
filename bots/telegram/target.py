"""Where a Telegram answer goes: the chat, its topic, what it replies to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Target:
    """Where and how to answer one message."""

    chat_id: int
    private: bool
    thread_id: int | None = None  # forum topic
    reply_to: int | None = None  # the question, in groups
    draft_id: int = 1  # non-zero; parts use draft_id, draft_id + 1, ...
