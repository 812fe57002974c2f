"""The one place that turns chatgate errors into short messages for chat users."""

from __future__ import annotations

from engine.errors import (
    AskedSomeoneElse,
    ChatgateError,
    Conflict,
    ExecutionFailed,
    ExecutionTimeout,
    InvalidRequest,
    NotFound,
    RateLimited,
    Unavailable,
)

HELP = (
    "Just write to me and I'll answer.\n/reset – forget our conversation and start over\n/help – this message"
)
RESET_DONE = "Done – I've forgotten our conversation. Let's start over."
NON_TEXT = "I can only read text messages for now – please type your question."


def chat_message(error: ChatgateError) -> str:
    if isinstance(error, AskedSomeoneElse):
        if error.asked:
            return f"I'm waiting for {error.asked}'s answer to my question first."
        return "I'm waiting for the answer of the person I asked first."
    if isinstance(error, Conflict):  # in chat only a question answered meanwhile, or reset
        return "That question has expired – please write your message again."
    if isinstance(error, RateLimited):
        return f"You're sending messages too fast. Please wait {error.retry_after} s and try again."
    if isinstance(error, Unavailable):
        return "Sorry, I'm briefly unavailable. Please try again in a minute."
    if isinstance(error, ExecutionTimeout):
        return "Sorry, that took too long to answer. Please try again."
    if isinstance(error, ExecutionFailed):
        return "Sorry, I can't answer right now. Please try again in a moment."
    if isinstance(error, InvalidRequest):
        return "Sorry, I couldn't use that message. Please rephrase it."
    if isinstance(error, NotFound):
        return "Sorry, this bot is not set up correctly yet. Its operator has been told."
    return "Sorry, something went wrong. Please try again."
