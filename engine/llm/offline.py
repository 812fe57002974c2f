"""The offline model ``echo``: answers without any server, so `make run` works on a fresh machine."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from engine.workflow.nodes.model import Image

OFFLINE_MODEL = "echo"


def echo_reply(messages: Sequence[Mapping[str, Any]], images: Sequence[Image] = ()) -> str:
    """The offline model's whole answer: the user's message (always the last one), labelled,
    and the images it came with by name, so a vision workflow shows them arrive."""
    content = messages[-1].get("content") if messages else ""
    text = "(echo) " + (content if isinstance(content, str) else "")
    if images:
        seen = ", ".join(f"{i.name} ({i.mime_type}, {len(i.data)} bytes)" for i in images)
        text = text.rstrip() + f" [{len(images)} image{'s' if len(images) > 1 else ''}: {seen}]"
    return text


def echo(
    messages: Sequence[Mapping[str, Any]],
    on_delta: Callable[[str], None] | None,
    images: Sequence[Image] = (),
) -> str:
    # A few chunks, so the offline path exercises streaming like a real model.
    text = echo_reply(messages, images)
    if on_delta is None:
        return text
    step = max(16, len(text) // 4)
    for i in range(0, len(text), step):
        on_delta(text[i : i + step])
    return text
