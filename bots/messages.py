"""The one place that turns chatgate errors into short messages for chat users."""

from __future__ import annotations

from engine.errors import (
    AskedSomeoneElse,
    ChatgateError,
    Conflict,
    ExecutionFailed,
    ExecutionTimeout,
    FileNotTaken,
    FileQuotaExceeded,
    FileTooLarge,
    InvalidRequest,
    NotFound,
    RateLimited,
    TranscriptionFailed,
    Unavailable,
)
from engine.files import size_text

HELP = (
    "Just write to me and I'll answer.\n/reset – forget our conversation and start over\n/help – this message"
)
RESET_DONE = "Done – I've forgotten our conversation. Let's start over."
NON_TEXT = "I can only read text messages for now – please type your question."
UNHEARD = "Sorry, I couldn't make out that voice message. Please type your question instead."


#: What each kind of error is, to a chat user; the first that fits (subclasses first).
_SAID: tuple[tuple[type[ChatgateError], str], ...] = (
    (TranscriptionFailed, UNHEARD),
    (FileNotTaken, NON_TEXT),
    (FileQuotaExceeded, "Sorry, I can't take more files right now. Please try again later."),
    (Conflict, "That question has expired – please write your message again."),  # answered meanwhile
    (Unavailable, "Sorry, I'm briefly unavailable. Please try again in a minute."),
    (ExecutionTimeout, "Sorry, that took too long to answer. Please try again."),
    (ExecutionFailed, "Sorry, I can't answer right now. Please try again in a moment."),
    (InvalidRequest, "Sorry, I couldn't use that message. Please rephrase it."),
    (NotFound, "Sorry, this bot is not set up correctly yet. Its operator has been told."),
)


def chat_message(error: ChatgateError) -> str:
    if isinstance(error, RateLimited):
        return f"You're sending messages too fast. Please wait {error.retry_after} s and try again."
    if isinstance(error, AskedSomeoneElse):
        if error.asked:
            return f"I'm waiting for {error.asked}'s answer to my question first."
        return "I'm waiting for the answer of the person I asked first."
    takes = error.details if isinstance(error, FileNotTaken) and isinstance(error.details, dict) else {}
    if takes.get("accept"):
        return f"I can only read {_kinds(takes['accept'])} up to {size_text(takes['max_bytes'])}."
    if isinstance(error, FileTooLarge):
        limit = error.details.get("max_bytes") if isinstance(error.details, dict) else None
        up_to = f" up to {size_text(limit)}" if isinstance(limit, int) else ""
        return f"That file is too big: I can read files{up_to}."
    return next(
        (text for kind, text in _SAID if isinstance(error, kind)),
        "Sorry, something went wrong. Please try again.",
    )


_KINDS = {"image/*": "photos", "application/pdf": "PDFs", "audio/*": "voice messages", "video/*": "videos"}


def _kinds(accept: list[str]) -> str:
    """Media types as people say them: ``photos and PDFs``."""
    names = list(dict.fromkeys(_KINDS.get(a, a) for a in accept))
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
