"""The offline model ``echo``: answers without any server, so `make run` works on a fresh machine."""

from __future__ import annotations

from collections.abc import Callable

OFFLINE_MODEL = "echo"


def echo_reply(messages: list[dict[str, str]]) -> str:
    """The offline model's whole answer: the user's message (always the last one), labelled."""
    return "(echo) " + (messages[-1]["content"] if messages else "")


def echo(messages: list[dict[str, str]], on_delta: Callable[[str], None] | None) -> str:
    # A few chunks, so the offline path exercises streaming like a real model.
    text = echo_reply(messages)
    if on_delta is None:
        return text
    step = max(16, len(text) // 4)
    for i in range(0, len(text), step):
        on_delta(text[i : i + step])
    return text
