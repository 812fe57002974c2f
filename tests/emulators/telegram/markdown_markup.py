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


@dataclass(slots=True)
class _Quote:
    """The blockquote being read, if any: where it started (UTF-16 units), and whether it expands."""

    start: int | None = None
    expandable: bool = False

    def close(self, end: int, entities: list[dict[str, Any]]) -> None:
        if self.start is not None and end > self.start:
            kind = "expandable_blockquote" if self.expandable else "blockquote"
            entities.append(make_entity(kind, self.start, end - self.start))
        self.start = None


def parse_markdown_v2(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram MarkdownV2 into plain text and entities, following tdlib's parser."""
    out = PlainText()
    entities: list[dict[str, Any]] = []
    stack: list[_MdOpen] = []
    quote = _Quote()
    n = len(src)
    i = 0
    while i < n:
        c = src[i]
        in_code = bool(stack) and stack[-1].kind in ("Code", "Pre", "PreCode")
        if not in_code and (i == 0 or src[i - 1] == "\n"):
            if c == ">" or src.startswith("**>", i):
                if quote.start is None:
                    quote.start = out.u16
                    quote.expandable = c == "*"
                i += 1 if c == ">" else 3
                continue
            quote.close(out.u16 - 1, entities)  # the quote ended before the previous line break
        after_text = _mdv2_text(src, i, out, in_code)
        if after_text is not None:
            i = after_text
        elif _mdv2_ends_expandable_quote(src, i, quote, stack):
            quote.close(out.u16, entities)
            i += 2
        elif stack and _mdv2_is_end(stack[-1].kind, src, i):
            i = _mdv2_close(src, i, out, stack.pop(), entities)
        else:
            i = _mdv2_open(src, i, out, stack)
    if stack:
        opened = stack[-1]
        raise ParseEntitiesError(
            f"Can't find end of {opened.kind} entity at byte offset {byte_offset(src, opened.index)}"
        )
    quote.close(out.u16, entities)
    return out.value(), sorted_entities(entities)


def _mdv2_text(src: str, i: int, out: PlainText, in_code: bool) -> int | None:
    """An escaped character, a line break or a run of plain text at ``i``: added to ``out``,
    returns the index after it; None when markup starts at ``i``."""
    c = src[i]
    if c == "\\" and i + 1 < len(src) and 0 < ord(src[i + 1]) <= 126:
        out.add(src[i + 1])
        return i + 2
    if c == "\n":
        out.add(c)
        return i + 1
    if c not in ("`" if in_code else _MDV2_RESERVED):
        plain = (_MDV2_CODE_PLAIN if in_code else _MDV2_PLAIN).match(src, i)
        chunk = plain.group(0) if plain else c
        out.add(chunk)
        return i + len(chunk)
    return None


def _mdv2_ends_expandable_quote(src: str, i: int, quote: _Quote, stack: list[_MdOpen]) -> bool:
    """``||`` at the end of a line closes an expandable quote (unless it closes a spoiler)."""
    return (
        quote.expandable
        and quote.start is not None
        and src.startswith("||", i)
        and (i + 2 == len(src) or src[i + 2] == "\n")
        and not (stack and stack[-1].kind == "Spoiler")
    )


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
        i = _mdv2_link_target(src, i, out, opened, extra)
    else:
        i += 1
    length = out.u16 - opened.offset
    if length > 0:
        entities.append(make_entity(_MDV2_KIND[kind], opened.offset, length, **extra))
    return i


def _mdv2_link_target(src: str, i: int, out: PlainText, opened: _MdOpen, extra: dict[str, Any]) -> int:
    """After the ``]`` at ``i``: the link's URL or the custom emoji's id into ``extra``; returns the
    index after it. A text link without ``(url)`` links to its own text."""
    if not src.startswith("(", i + 1):
        if opened.kind == "CustomEmoji":
            raise ParseEntitiesError("Custom emoji entity must contain a tg://emoji URL")
        extra["url"] = out.since(opened.part)
        return i + 1
    target, j = _mdv2_url(src, i + 2)
    if opened.kind == "CustomEmoji":
        emoji = _CUSTOM_EMOJI_URL.fullmatch(target)
        if emoji is None:
            raise ParseEntitiesError("Custom emoji URL must have an emoji identifier")
        extra["custom_emoji_id"] = emoji.group(1)
    else:
        extra["url"] = target
    return j + 1


def _mdv2_url(src: str, url_start: int) -> tuple[str, int]:
    """The URL from ``url_start`` to its ``)`` (escapes resolved) and the index of that ``)``."""
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
        raise ParseEntitiesError(f"Can't find end of a URL at byte offset {byte_offset(src, url_start)}")
    return "".join(url), j


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
            kind, i = "pre", _md_pre(src, i + 3, out, extra, missing_end)
        else:
            kind, i = _md_delimited(src, i, out, extra, missing_end)
        if kind and out.u16 > offset:
            entities.append(make_entity(kind, offset, out.u16 - offset, **extra))
    return out.value(), sorted_entities(entities)


def _md_pre(src: str, i: int, out: PlainText, extra: dict[str, Any], missing_end: ParseEntitiesError) -> int:
    """A ```pre``` block whose content (after an optional language) starts at ``i``;
    returns the index after its closing fence."""
    n = len(src)
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
    return end + 3


def _md_delimited(
    src: str, i: int, out: PlainText, extra: dict[str, Any], missing_end: ParseEntitiesError
) -> tuple[str, int]:
    """*bold*, _italic_, `code` or [text](url) opening at ``i``: its entity kind ("" for a
    bracket without a URL, which is plain text) and the index after it."""
    c = src[i]
    end = src.find("]" if c == "[" else c, i + 1)
    if end < 0:
        raise missing_end
    out.add(src[i + 1 : end])
    i = end + 1
    kind = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}[c]
    if c == "[":
        url_end = src.find(")", i + 1) if src.startswith("(", i) else -1
        if url_end < 0:
            return "", i  # "[text]" without a URL is plain text
        extra["url"] = src[i + 1 : url_end]
        i = url_end + 1
    return kind, i
