"""The small interface every chat platform implements, and what flows through it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from bots.files import Received
from config.schema import BotCommon


@dataclass(frozen=True, slots=True)
class Incoming:
    """One chat message, stripped of platform details, ready for the router."""

    bot: str  # the bot's name in the config
    platform: str  # "telegram", "discord"
    session_id: str  # e.g. telegram:<bot>:<chat_id>
    user_key: str  # e.g. telegram:<user_id>: rate limits and per-user rules
    text: str
    dedup_key: str  # unique per bot: update_id, message id
    chat_key: str = ""  # e.g. telegram:chat:<chat_id>: access rules
    private: bool = False  # a one-to-one chat with the bot (admin commands work only there)
    sent_at: float | None = None  # unix time the platform says it was sent (lets dedup skip storage)
    # Who wrote it and where, as a workflow's {{sys.user_id}}, {{sys.user_name}}, {{sys.chat_id}} show it.
    user_id: str | None = None
    user_name: str | None = None
    chat_id: str | None = None
    files: tuple[Received, ...] = ()  # photos, documents, voice notes sent with it (bots.files)


def incoming(
    platform: str,
    *,
    bot: str,
    session_id: str,
    user_id: int,
    place: str,
    text: str,
    dedup_key: str,
    private: bool,
    sent_at: float,
    user_name: str | None = None,
    chat_id: int | None = None,
    files: tuple[Received, ...] = (),
) -> Incoming:
    """The one way a platform's parsed message becomes `Incoming`: keys of users and places
    are namespaced by platform the same way everywhere (``place``: e.g. ``chat:<id>``)."""
    return Incoming(
        bot=bot,
        platform=platform,
        session_id=session_id,
        user_key=f"{platform}:{user_id}",
        text=text,
        dedup_key=dedup_key,
        chat_key=f"{platform}:{place}",
        private=private,
        sent_at=sent_at,
        user_id=str(user_id),
        user_name=user_name,
        chat_id=None if chat_id is None else str(chat_id),
        files=files,
    )


@dataclass(frozen=True, slots=True)
class Button:
    """One answer to a question the user may press (bots.questions makes them)."""

    key: str  # what the platform sends back on a press: ASCII, at most 64 bytes (Telegram's limit)
    label: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the bot sends (a ``message`` or ``end`` node's ``attachments``), its bytes read."""

    name: str
    mime_type: str
    data: bytes


class Responder(Protocol):
    """How one message is answered on its platform. The router decides *what* to say,
    the responder *how*: drafts or edits, splitting, formatting, pacing, retries."""

    #: the least time between two ``partial`` calls (platform edit limits)
    partial_interval_s: float

    async def typing(self) -> None:
        """Show that an answer is coming (refreshed by the router while waiting)."""

    async def partial(self, text: str) -> None:
        """The answer so far; called only with text that changed since the last call."""

    async def final(self, text: str) -> None:
        """The whole answer; every part must be delivered, in order."""

    async def ask(self, text: str, buttons: Sequence[Button]) -> None:
        """A question: its text as `final` sends it, ``buttons`` (maybe none) attached to
        its last message."""

    async def attach(self, text: str, files: Sequence[Attachment]) -> None:
        """Files sent with ``text`` (a message's, or the answer's: then instead of `final`):
        the text as their caption where the platform allows it, else as a message before them."""

    async def message(self, text: str) -> None:
        """A message of its own, said now and whole (a ``message`` node's text), before
        the answer; the answer's preview is never shown inside it, nor it inside the answer."""

    async def notice(self, text: str) -> None:
        """A short system message (rate limit, apology); never a traceback."""


class Adapter(Protocol):
    """One running bot. ``run`` serves until ``stop``; an exception from ``run`` means
    the adapter crashed and the manager restarts it without touching other bots."""

    platform: ClassVar[str]

    async def run(self) -> None: ...

    async def stop(self) -> None:
        """Stop receiving, finish in-flight answers, acknowledge what was handled."""

    def reconfigure(self, settings: BotCommon) -> None:
        """Apply changes that need no reconnect (workflow, tier, greeting)."""

    async def say(self, chat_id: str, text: str) -> None:
        """Say ``text`` in a chat unprompted (what a question's timeout led to); raises
        `Unavailable` when the bot is not connected."""

    def health(self) -> dict[str, Any]: ...

    def describe_failure(self, error: Exception) -> str | None:
        """One line (no secrets) for a failure the platform makes expected: unreachable,
        a refused token. None for anything else: a bug, logged with its traceback."""
