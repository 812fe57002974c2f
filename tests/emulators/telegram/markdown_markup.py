"""Telegram's MarkdownV2 parse mode (following tdlib's parser) and the legacy Markdown one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.emulators.telegram.text import (
    ParseEntitiesError,
    PlainText,
    byte_offset,
    make_entity,
    sorted_entities,
)

_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_PLAIN = re.compile(r"[^_*\[\]()~`>#+\-=|{}.!\\\n]+")
_MDV2_CODE_PLAIN = re.compile(r"[^`\\\n]+")
_MDV2_KIND = {
    "Bold": "bold",
    "Italic": "italic",
    "Underline": "underline",
    "Strikethrough": "strikethrough",
    "Spoiler": "spoiler",
    "Code": "code",
    "Pre": "pre",
    "PreCode": "pre",
    "TextUrl": "text_link",
    "CustomEmoji": "custom_emoji",
}
_CUSTOM_EMOJI_URL = re.compile(r"tg://emoji\?id=(\d+)")


@dataclass(slots=True)
class _MdOpen:
    kind: str  # tdlib's entity type name, used in error texts
    offset: int
    index: int
    part: int
    argument: str = ""


def _mdv2_is_end(kind: str, src: str, i: int) -> bool:
    c = src[i]
    following = src[i + 1 : i + 3]
    if kind in ("Bold",):
        return c == "*"
    if kind == "Italic":
        return c == "_" and not following.startswith("_")
    if kind == "Underline":
        return c == "_" and following.startswith("_")
    if kind == "Code":
        return c == "`"
    if kind in ("Pre", "PreCode"):
        return c == "`" and following == "``"
    if kind in ("TextUrl", "CustomEmoji"):
        return c == "]"
    if kind == "Strikethrough":
        return c == "~"
    return c == "|" and following.startswith("|")  # Spoiler


def parse_markdown_v2(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram MarkdownV2 into plain text and entities, following tdlib's parser."""
    out = PlainText()
    entities: list[dict[str, Any]] = []
    stack: list[_MdOpen] = []
    quote_start: int | None = None
    quote_expandable = False
    n = len(src)
    i = 0

    def close_quote(end: int) -> None:
        nonlocal quote_start
        if quote_start is not None and end > quote_start:
            kind = "expandable_blockquote" if quote_expandable else "blockquote"
            entities.append(make_entity(kind, quote_start, end - quote_start))
        quote_start = None

    while i < n:
        c = src[i]
        in_code = bool(stack) and stack[-1].kind in ("Code", "Pre", "PreCode")
        if not in_code and (i == 0 or src[i - 1] == "\n"):
            if c == ">" or src.startswith("**>", i):
                if quote_start is None:
                    quote_start = out.u16
                    quote_expandable = c == "*"
                i += 1 if c == ">" else 3
                continue
            if quote_start is not None:
                close_quote(out.u16 - 1)  # the quote ended before the previous line break
        if c == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
            out.add(src[i + 1])
            i += 2
            continue
        if c == "\n":
            out.add(c)
            i += 1
            continue
        if c not in ("`" if in_code else _MDV2_RESERVED):
            plain = (_MDV2_CODE_PLAIN if in_code else _MDV2_PLAIN).match(src, i)
            chunk = plain.group(0) if plain else c
            out.add(chunk)
            i += len(chunk)
            continue
        if (
            quote_expandable
            and quote_start is not None
            and src.startswith("||", i)
            and (i + 2 == n or src[i + 2] == "\n")
            and not (stack and stack[-1].kind == "Spoiler")
        ):
            close_quote(out.u16)
            i += 2
            continue
        if stack and _mdv2_is_end(stack[-1].kind, src, i):
            i = _mdv2_close(src, i, out, stack.pop(), entities)
        else:
            i = _mdv2_open(src, i, out, stack)
    if stack:
        opened = stack[-1]
        raise ParseEntitiesError(
            f"Can't find end of {opened.kind} entity at byte offset {byte_offset(src, opened.index)}"
        )
    close_quote(out.u16)
    return out.value(), sorted_entities(entities)


def _mdv2_reserved(char: str) -> ParseEntitiesError:
    return ParseEntitiesError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")


def _mdv2_open(src: str, i: int, out: PlainText, stack: list[_MdOpen]) -> int:
    c = src[i]
    begin = i
    argument = ""
    nxt = src[i + 1] if i + 1 < len(src) else ""
    if c == "_":
        kind = "Underline" if nxt == "_" else "Italic"
        i += 2 if nxt == "_" else 1
    elif c == "*":
        kind, i = "Bold", i + 1
    elif c == "~":
        kind, i = "Strikethrough", i + 1
    elif c == "|" and nxt == "|":
        kind, i = "Spoiler", i + 2
    elif c == "[":
        kind, i = "TextUrl", i + 1
    elif c == "!" and nxt == "[":
        kind, i = "CustomEmoji", i + 2
    elif c == "`" and src.startswith("```", i):
        kind = "Pre"
        i += 3
        language_end = i
        while language_end < len(src) and not src[language_end].isspace() and src[language_end] != "`":
            language_end += 1
        if language_end != i and language_end < len(src) and src[language_end] != "`":
            kind, argument = "PreCode", src[i:language_end]
            i = language_end
        if i < len(src) and src[i] in "\r\n":  # one line break after ``` is not content
            i += 2 if src[i : i + 2] in ("\r\n", "\n\r") else 1
    elif c == "`":
        kind, i = "Code", i + 1
    else:
        raise _mdv2_reserved(c)
    stack.append(_MdOpen(kind, out.u16, begin, len(out.parts), argument))
    return i


def _mdv2_close(src: str, i: int, out: PlainText, opened: _MdOpen, entities: list[dict[str, Any]]) -> int:
    kind = opened.kind
    extra: dict[str, Any] = {}
    if kind in ("Underline", "Spoiler"):
        i += 2
    elif kind in ("Pre", "PreCode"):
        i += 3
        if kind == "PreCode":
            extra["language"] = opened.argument
    elif kind in ("TextUrl", "CustomEmoji"):
        if not src.startswith("(", i + 1):
            if kind == "CustomEmoji":
                raise ParseEntitiesError("Custom emoji entity must contain a tg://emoji URL")
            extra["url"] = out.since(opened.part)
            i += 1
        else:
            url_start = i + 2
            j = url_start
            url: list[str] = []
            while j < len(src) and src[j] != ")":
                if src[j] == "\\" and j + 1 < len(src) and 0 < ord(src[j + 1]) <= 126:
                    url.append(src[j + 1])
                    j += 2
                    continue
                url.append(src[j])
                j += 1
            if j >= len(src):
                raise ParseEntitiesError(
                    f"Can't find end of a URL at byte offset {byte_offset(src, url_start)}"
                )
            target = "".join(url)
            if kind == "CustomEmoji":
                emoji = _CUSTOM_EMOJI_URL.fullmatch(target)
                if emoji is None:
                    raise ParseEntitiesError("Custom emoji URL must have an emoji identifier")
                extra["custom_emoji_id"] = emoji.group(1)
            else:
                extra["url"] = target
            i = j + 1
    else:
        i += 1
    length = out.u16 - opened.offset
    if length > 0:
        entities.append(make_entity(_MDV2_KIND[kind], opened.offset, length, **extra))
    return i


_MD_PLAIN = re.compile(r"[^_*`\[\\]+")


def parse_markdown(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse legacy Telegram Markdown (``*bold* _italic_ `code` ```pre``` [text](url)``)."""
    out = PlainText()
    entities: list[dict[str, Any]] = []
    n = len(src)
    i = 0
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.add(src[i + 1])
            i += 2
            continue
        if c not in "_*`[":
            plain = _MD_PLAIN.match(src, i)
            chunk = plain.group(0) if plain else c
            out.add(chunk)
            i += len(chunk)
            continue
        begin = i
        missing_end = ParseEntitiesError(
            f"Can't find end of the entity starting at byte offset {byte_offset(src, begin)}"
        )
        offset = out.u16
        extra: dict[str, Any] = {}
        if src.startswith("```", i):
            kind = "pre"
            i += 3
            language_end = i
            while language_end < n and not src[language_end].isspace() and src[language_end] != "`":
                language_end += 1
            if language_end != i and language_end < n and src[language_end] != "`":
                extra["language"] = src[i:language_end]
                i = language_end
            if i < n and src[i] == "\n":
                i += 1
            end = src.find("```", i)
            if end < 0:
                raise missing_end
            out.add(src[i:end])
            i = end + 3
        else:
            end = src.find("]" if c == "[" else c, i + 1)
            if end < 0:
                raise missing_end
            out.add(src[i + 1 : end])
            i = end + 1
            kind = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}[c]
            if c == "[":
                url_end = src.find(")", i + 1) if src.startswith("(", i) else -1
                if url_end < 0:
                    kind = ""  # "[text]" without a URL is plain text
                else:
                    extra["url"] = src[i + 1 : url_end]
                    i = url_end + 1
        if kind and out.u16 > offset:
            entities.append(make_entity(kind, offset, out.u16 - offset, **extra))
    return out.value(), sorted_entities(entities)
