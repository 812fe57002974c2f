"""The offline model ``echo``: answers without any server, so `make run` works on a fresh machine."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

OFFLINE_MODEL = "echo"


def echo_reply(messages: Sequence[Mapping[str, Any]]) -> str:
    """The offline model's whole answer: the user's message (always the last one), labelled."""
    content = messages[-1].get("content") if messages else ""
    return "(echo) " + (content if isinstance(content, str) else "")


def echo(messages: Sequence[Mapping[str, Any]], on_delta: Callable[[str], None] | None) -> str:
    # A few chunks, so the offline path exercises streaming like a real model.
    text = echo_reply(messages)
    if on_delta is None:
        return text
    step = max(16, len(text) // 4)
    for i in range(0, len(text), step):
        on_delta(text[i : i + step])
    return text
