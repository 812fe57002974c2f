"""Telegram's text pipeline for a sent or edited message: parse markup, trim, check limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.emulators.telegram.html_markup import parse_html
from tests.emulators.telegram.markdown_markup import parse_markdown, parse_markdown_v2
from tests.emulators.telegram.responses import bad_request
from tests.emulators.telegram.text import MAX_TEXT_UTF16, ParseEntitiesError, sorted_entities, utf16_len

_PARSERS: dict[str, Callable[[str], tuple[str, list[dict[str, Any]]]]] = {
    "html": parse_html,
    "markdownv2": parse_markdown_v2,
    "markdown": parse_markdown,
}


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip surrounding whitespace like Telegram does, clipping the entities."""
    left = text.lstrip()
    stripped = left.rstrip()
    if len(stripped) == len(text):
        return text, entities
    shift = utf16_len(text[: len(text) - len(left)])
    total = utf16_len(stripped)
    clipped: list[dict[str, Any]] = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            clipped.append({**entity, "offset": start, "length": end - start})
    return stripped, clipped


def render_text(
    text: Any, parse_mode: Any, entities: Any = None, *, allow_empty: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's text pipeline: parse markup, trim, check emptiness and the 4096 UTF-16 limit."""
    source = "" if text is None else str(text)
    mode = str(parse_mode or "").lower()
    if mode:
        parser = _PARSERS.get(mode)
        if parser is None:
            raise bad_request("unsupported parse_mode")
        try:
            plain, parsed = parser(source)
        except ParseEntitiesError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    else:
        plain = source
        parsed = [e for e in entities if isinstance(e, dict)] if isinstance(entities, list) else []
    plain, parsed = _trim(plain, sorted_entities(parsed))
    if not plain and not allow_empty:
        raise bad_request("message text is empty")
    if utf16_len(plain) > MAX_TEXT_UTF16:
        raise bad_request("message is too long")
    return plain, parsed
