"""Telegram's HTML parse mode: tags, nesting and error texts like Telegram's parser."""

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

_HTML_SPECIAL = re.compile(r"[<&]")
_HTML_TEXT_ENTITY = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|([A-Za-z]+));")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def _decode_html_entity(match: re.Match[str]) -> str | None:
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _HTML_NAMED.get(name)
    code = int(decimal) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _decode_html_attribute(value: str) -> str:
    # Inside attribute values Telegram keeps unknown "&..." literally; so do we.
    def replace(match: re.Match[str]) -> str:
        decoded = _decode_html_entity(match)
        return match.group(0) if decoded is None else decoded

    return _HTML_TEXT_ENTITY.sub(replace, value)


@dataclass(slots=True)
class _OpenTag:
    name: str
    offset: int  # UTF-16 offset in the parsed text
    index: int  # position of "<" in the source
    url: str | None = None
    language: str | None = None
    emoji_id: str | None = None
    expandable: bool = False


def parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into plain text and entities (UTF-16 offsets).

    Raises ParseEntitiesError with Telegram's wording (after "can't parse entities: ").
    """
    out = PlainText()
    entities: list[dict[str, Any]] = []
    stack: list[_OpenTag] = []
    n = len(src)
    i = 0
    while i < n:
        special = _HTML_SPECIAL.search(src, i)
        stop = special.start() if special else n
        if stop > i:
            out.add(src[i:stop])
            i = stop
            continue
        if src[i] == "&":
            match = _HTML_TEXT_ENTITY.match(src, i)
            decoded = _decode_html_entity(match) if match else None
            if match is None or decoded is None:
                raise ParseEntitiesError(
                    f'Unsupported HTML entity or unescaped "&" at byte offset {byte_offset(src, i)}'
                    " (use &lt; &gt; &amp; &quot; or a numeric entity)"
                )
            out.add(decoded)
            i = match.end()
        elif i + 1 < n and src[i + 1] == "/":
            i = _html_close_tag(src, i, out, stack, entities)
        else:
            i = _html_open_tag(src, i, out, stack)
    if stack:
        raise ParseEntitiesError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.value(), sorted_entities(entities)


def _skip_space(src: str, k: int) -> int:
    while k < len(src) and src[k].isspace():
        k += 1
    return k


def _need_more(src: str, k: int, at: int) -> None:
    """The start tag must go on past ``k``."""
    if k >= len(src):
        raise ParseEntitiesError(f"Unclosed start tag at byte offset {at}")


def _html_open_tag(src: str, start: int, out: PlainText, stack: list[_OpenTag]) -> int:
    n = len(src)
    at = byte_offset(src, start)
    j = start + 1
    while j < n and not src[j].isspace() and src[j] != ">":
        j += 1
    _need_more(src, j, at)
    name = src[start + 1 : j].lower()
    if name not in _HTML_TAG_ENTITY:
        raise ParseEntitiesError(f'Unsupported start tag "{name}" at byte offset {at}')
    tag = _OpenTag(name, out.u16, start)
    span_class = ""
    k = j
    while True:
        k = _skip_space(src, k)
        _need_more(src, k, at)
        if src[k] == ">":
            break
        attr_start = k
        while k < n and not src[k].isspace() and src[k] not in "=>":
            k += 1
        attribute = src[attr_start:k].lower()
        if not attribute:
            raise ParseEntitiesError(f'Empty attribute name in the tag "{name}" at byte offset {at}')
        k = _skip_space(src, k)
        _need_more(src, k, at)
        if src[k] != "=":
            if name == "blockquote" and attribute == "expandable":
                tag.expandable = True
                continue
            raise ParseEntitiesError(
                f'Expected equal sign in declaration of an attribute of the tag "{name}" at byte offset {at}'
            )
        value, k = _html_attribute_value(src, _skip_space(src, k + 1), at)
        span_class = _html_set_attribute(tag, attribute, value, span_class)
    if name == "span" and span_class != "tg-spoiler":
        raise ParseEntitiesError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
    if name == "tg-emoji" and not tag.emoji_id:
        raise ParseEntitiesError(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {at}')
    stack.append(tag)
    return k + 1


def _html_attribute_value(src: str, k: int, at: int) -> tuple[str, int]:
    """The value starting at ``k`` (quoted, or a bare name token) and the index after it."""
    n = len(src)
    _need_more(src, k, at)
    if src[k] in "'\"":
        end = src.find(src[k], k + 1)
        if end < 0:
            raise ParseEntitiesError(f"Unclosed start tag at byte offset {at}")
        return _decode_html_attribute(src[k + 1 : end]), end + 1
    value_start = k
    while k < n and (src[k].isalnum() or src[k] in ".-"):
        k += 1
    value = src[value_start:k].lower()
    _need_more(src, k, at)
    if not src[k].isspace() and src[k] != ">":
        raise ParseEntitiesError(
            f"Unexpected end of name token at byte offset {byte_offset(src, value_start)}"
        )
    return value, k


def _html_set_attribute(tag: _OpenTag, attribute: str, value: str, span_class: str) -> str:
    """Keep what an attribute means for ``tag``; returns the span's class so far."""
    if tag.name == "a" and attribute == "href":
        tag.url = value
    elif tag.name == "code" and attribute == "class" and value.startswith("language-"):
        tag.language = value[len("language-") :]
    elif tag.name == "span" and attribute == "class":
        return value
    elif tag.name == "tg-emoji" and attribute == "emoji-id":
        tag.emoji_id = value
    return span_class


def _html_close_tag(
    src: str, start: int, out: PlainText, stack: list[_OpenTag], entities: list[dict[str, Any]]
) -> int:
    n = len(src)
    at = byte_offset(src, start)
    if not stack:
        raise ParseEntitiesError(f"Unexpected end tag at byte offset {at}")
    j = start + 2
    while j < n and not src[j].isspace() and src[j] != ">":
        j += 1
    end_name = src[start + 2 : j].lower()
    while j < n and src[j].isspace():
        j += 1
    if j >= n or src[j] != ">":
        raise ParseEntitiesError(f"Unclosed end tag at byte offset {at}")
    tag = stack.pop()
    if end_name and end_name != tag.name:
        raise ParseEntitiesError(
            f'Unmatched end tag at byte offset {at}, expected "</{tag.name}>", found "</{end_name}>"'
        )
    length = out.u16 - tag.offset
    if tag.name == "code" and stack and stack[-1].name == "pre":
        # <pre><code class="language-x"> is one pre entity carrying the language
        stack[-1].language = stack[-1].language or tag.language
    elif length > 0:
        kind = _HTML_TAG_ENTITY[tag.name]
        if kind == "blockquote" and tag.expandable:
            kind = "expandable_blockquote"
        if kind != "text_link" or tag.url:
            entities.append(
                make_entity(
                    kind,
                    tag.offset,
                    length,
                    url=tag.url,
                    language=tag.language if kind == "pre" else None,
                    custom_emoji_id=tag.emoji_id,
                )
            )
    return j + 1
