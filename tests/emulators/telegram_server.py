"""Telegram Bot API emulator for tests and benchmarks.

A real aiohttp server on 127.0.0.1 speaking the Bot API's HTTP protocol, so the
unmodified aiogram client (``AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url))``)
and ``Dispatcher.start_polling`` run against it. Tests push updates, inspect what
the bot sent (``chat_messages``, ``drafts``, ``calls``) and inject faults
(``fail_next``, ``set_down``, ``flood_limit_per_chat``).

Fidelity notes:

* HTML is parsed like Telegram's parser (same tags, nesting and error texts) but is
  stricter about ``&``: a bare ``&`` or a named entity other than ``&lt; &gt; &amp;
  &quot;`` is refused (Telegram would show it literally), so escaping bugs surface.
* MarkdownV2 is fully parsed (entities, reserved characters that must be escaped,
  ``>`` block quotes); legacy Markdown gets a simple parser.
* Text is trimmed and must be 1..4096 UTF-16 code units after entity parsing.
  Plain text gets no auto-detected entities (urls, hashtags).
* Unknown chat ids are accepted (a chat is made up: private for positive ids,
  supergroup for ``-100…``, group otherwise); ``@username`` chat ids are refused.
* ``set_down`` answers a JSON ``{"ok": false, "error_code": 502, "description":
  "Bad Gateway"}`` by default, which aiogram maps to ``TelegramServerError``;
  ``html=True`` sends nginx's HTML page instead, which aiogram turns into
  ``ClientDecodeError`` (not a ``TelegramAPIError``).
* Webhooks are recorded (and block getUpdates) but updates are never delivered to them.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any

import orjson
from aiohttp import web

__all__ = [
    "MAX_TEXT_UTF16",
    "BotState",
    "Call",
    "ChatState",
    "ParseEntitiesError",
    "SentMessage",
    "TelegramEmulator",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "utf16_len",
]

MAX_TEXT_UTF16 = 4096
MAX_LONG_POLL_S = 50.0

_JSON = "application/json"
_log = logging.getLogger(__name__)
# Short, so stop() never waits long on in-flight long polls.
_SHUTDOWN_TIMEOUT_S = 0.1

CONFLICT_OTHER_POLLER = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)

_CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (what Telegram's limits and offsets count)."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode())


class ParseEntitiesError(ValueError):
    """Markup that Telegram would refuse with "can't parse entities"."""


class ApiError(Exception):
    """An error answer: ``{"ok": false, "error_code", "description", "parameters"?}``."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def _too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


# --------------------------------------------------------------------------- text & entities


class _Text:
    """Parsed plain text being built, with its UTF-16 length."""

    __slots__ = ("parts", "u16")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.u16 = 0

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.u16 += utf16_len(chunk)

    def since(self, part_index: int) -> str:
        return "".join(self.parts[part_index:])

    def value(self) -> str:
        return "".join(self.parts)


def _entity(kind: str, offset: int, length: int, **extra: Any) -> dict[str, Any]:
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    entity.update({key: value for key, value in extra.items() if value is not None})
    return entity


def _sorted_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


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
    out = _Text()
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
                    f'Unsupported HTML entity or unescaped "&" at byte offset {_byte_offset(src, i)}'
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
    return out.value(), _sorted_entities(entities)


def _html_open_tag(src: str, start: int, out: _Text, stack: list[_OpenTag]) -> int:
    n = len(src)
    at = _byte_offset(src, start)
    j = start + 1
    while j < n and not src[j].isspace() and src[j] != ">":
        j += 1
    if j >= n:
        raise ParseEntitiesError(f"Unclosed start tag at byte offset {at}")
    name = src[start + 1 : j].lower()
    if name not in _HTML_TAG_ENTITY:
        raise ParseEntitiesError(f'Unsupported start tag "{name}" at byte offset {at}')
    tag = _OpenTag(name, out.u16, start)
    span_class = ""
    k = j
    while True:
        while k < n and src[k].isspace():
            k += 1
        if k >= n:
            raise ParseEntitiesError(f"Unclosed start tag at byte offset {at}")
        if src[k] == ">":
            break
        attr_start = k
        while k < n and not src[k].isspace() and src[k] not in "=>":
            k += 1
        attribute = src[attr_start:k].lower()
        if not attribute:
            raise ParseEntitiesError(f'Empty attribute name in the tag "{name}" at byte offset {at}')
        while k < n and src[k].isspace():
            k += 1
        if k >= n:
            raise ParseEntitiesError(f"Unclosed start tag at byte offset {at}")
        if src[k] != "=":
            if name == "blockquote" and attribute == "expandable":
                tag.expandable = True
                continue
            raise ParseEntitiesError(
                f'Expected equal sign in declaration of an attribute of the tag "{name}" at byte offset {at}'
            )
        k += 1
        while k < n and src[k].isspace():
            k += 1
        if k >= n:
            raise ParseEntitiesError(f"Unclosed start tag at byte offset {at}")
        if src[k] in "'\"":
            end = src.find(src[k], k + 1)
            if end < 0:
                raise ParseEntitiesError(f"Unclosed start tag at byte offset {at}")
            value = _decode_html_attribute(src[k + 1 : end])
            k = end + 1
        else:
            value_start = k
            while k < n and (src[k].isalnum() or src[k] in ".-"):
                k += 1
            value = src[value_start:k].lower()
            if k >= n:
                raise ParseEntitiesError(f"Unclosed start tag at byte offset {at}")
            if not src[k].isspace() and src[k] != ">":
                raise ParseEntitiesError(
                    f"Unexpected end of name token at byte offset {_byte_offset(src, value_start)}"
                )
        if name == "a" and attribute == "href":
            tag.url = value
        elif name == "code" and attribute == "class" and value.startswith("language-"):
            tag.language = value[len("language-") :]
        elif name == "span" and attribute == "class":
            span_class = value
        elif name == "tg-emoji" and attribute == "emoji-id":
            tag.emoji_id = value
    if name == "span" and span_class != "tg-spoiler":
        raise ParseEntitiesError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
    if name == "tg-emoji" and not tag.emoji_id:
        raise ParseEntitiesError(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {at}')
    stack.append(tag)
    return k + 1


def _html_close_tag(
    src: str, start: int, out: _Text, stack: list[_OpenTag], entities: list[dict[str, Any]]
) -> int:
    n = len(src)
    at = _byte_offset(src, start)
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
                _entity(
                    kind,
                    tag.offset,
                    length,
                    url=tag.url,
                    language=tag.language if kind == "pre" else None,
                    custom_emoji_id=tag.emoji_id,
                )
            )
    return j + 1


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
    out = _Text()
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
            entities.append(_entity(kind, quote_start, end - quote_start))
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
            f"Can't find end of {opened.kind} entity at byte offset {_byte_offset(src, opened.index)}"
        )
    close_quote(out.u16)
    return out.value(), _sorted_entities(entities)


def _mdv2_reserved(char: str) -> ParseEntitiesError:
    return ParseEntitiesError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")


def _mdv2_open(src: str, i: int, out: _Text, stack: list[_MdOpen]) -> int:
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


def _mdv2_close(src: str, i: int, out: _Text, opened: _MdOpen, entities: list[dict[str, Any]]) -> int:
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
                    f"Can't find end of a URL at byte offset {_byte_offset(src, url_start)}"
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
        entities.append(_entity(_MDV2_KIND[kind], opened.offset, length, **extra))
    return i


_MD_PLAIN = re.compile(r"[^_*`\[\\]+")


def parse_markdown(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse legacy Telegram Markdown (``*bold* _italic_ `code` ```pre``` [text](url)``)."""
    out = _Text()
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
            f"Can't find end of the entity starting at byte offset {_byte_offset(src, begin)}"
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
            entities.append(_entity(kind, offset, out.u16 - offset, **extra))
    return out.value(), _sorted_entities(entities)


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
            raise _bad_request("unsupported parse_mode")
        try:
            plain, parsed = parser(source)
        except ParseEntitiesError as exc:
            raise _bad_request(f"can't parse entities: {exc}") from None
    else:
        plain = source
        parsed = [e for e in entities if isinstance(e, dict)] if isinstance(entities, list) else []
    plain, parsed = _trim(plain, _sorted_entities(parsed))
    if not plain and not allow_empty:
        raise _bad_request("message text is empty")
    if utf16_len(plain) > MAX_TEXT_UTF16:
        raise _bad_request("message is too long")
    return plain, parsed


# --------------------------------------------------------------------------- request parameters

# Parameters the Bot API defines as JSON-serialized objects/arrays.
_JSON_FIELDS = frozenset(
    [
        "allowed_updates",
        "caption_entities",
        "commands",
        "entities",
        "explanation_entities",
        "input_message_content",
        "link_preview_options",
        "media",
        "menu_button",
        "message_ids",
        "options",
        "permissions",
        "prices",
        "reaction",
        "reply_markup",
        "reply_parameters",
        "results",
        "rights",
        "scope",
        "suggested_post_parameters",
    ]
)
# String parameters that may look like numbers or booleans but must stay strings.
_STRING_FIELDS = frozenset(
    [
        "action",
        "business_connection_id",
        "callback_query_id",
        "caption",
        "custom_emoji_id",
        "description",
        "effect_id",
        "emoji",
        "file_id",
        "first_name",
        "inline_message_id",
        "inline_query_id",
        "ip_address",
        "language_code",
        "last_name",
        "name",
        "next_offset",
        "parse_mode",
        "payload",
        "phone_number",
        "pre_checkout_query_id",
        "query",
        "question",
        "secret_token",
        "short_description",
        "shipping_query_id",
        "text",
        "title",
        "url",
    ]
)
_INT_RE = re.compile(r"-?[0-9]{1,20}")


def _normalise_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Give form-encoded values their JSON types: ints, bools and decoded JSON fields."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and key not in _STRING_FIELDS:
            if key in _JSON_FIELDS:
                with contextlib.suppress(orjson.JSONDecodeError):
                    value = orjson.loads(value)
            elif _INT_RE.fullmatch(value):
                value = int(value)
            elif value in ("true", "false"):
                value = value == "true"
        params[key] = value
    return params


async def _read_params(request: web.Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query)  # Telegram also accepts query-string parameters
    if request.body_exists:
        if request.content_type == _JSON:
            body = orjson.loads(await request.read() or b"{}")
            if not isinstance(body, dict):
                raise ValueError("JSON body must be an object")
            raw.update(body)
        else:
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    raw[key] = {
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "data": value.file.read(),
                    }
                else:
                    raw[key] = value
    return _normalise_params(raw)


# --------------------------------------------------------------------------- state model


@dataclass(slots=True)
class Call:
    """One HTTP request to ``/bot{token}/{method}``, as the emulator received it."""

    token: str
    method: str  # as sent (aiogram sends camelCase)
    params: dict[str, Any]
    time: float  # time.monotonic() on arrival
    status: int = 0  # HTTP status answered; 0 while pending or when the connection was dropped

    @property
    def ok(self) -> bool:
        return self.status == HTTPStatus.OK


@dataclass
class SentMessage:
    """A message the bot sent; ``message`` is the live Message object (edits applied)."""

    message: dict[str, Any]
    raw_text: str
    parse_mode: str | None
    edits: int = 0
    deleted: bool = False


@dataclass
class ChatState:
    chat: dict[str, Any]  # the Chat object embedded in messages
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # every live message, by id
    sent: list[SentMessage] = field(default_factory=list)  # the bot's, in order
    sent_by_id: dict[int, SentMessage] = field(default_factory=dict)
    drafts: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def remember(self, message: dict[str, Any]) -> None:
        message_id = int(message["message_id"])
        self.messages[message_id] = message
        if message_id >= self.next_message_id:
            self.next_message_id = message_id + 1


@dataclass
class BotState:
    token: str
    me: dict[str, Any]  # getMe result
    updates: deque[dict[str, Any]] = field(default_factory=deque)  # unacknowledged, by update_id
    next_update_id: int = 1
    chats: dict[int, ChatState] = field(default_factory=dict)
    commands_by_scope: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None
    allowed_updates: list[str] | None = None  # recorded only; updates are not filtered
    poller: web.Request | None = field(default=None, repr=False)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def id(self) -> int:
        return int(self.me["id"])

    @property
    def username(self) -> str:
        return str(self.me["username"])

    @property
    def can_read_all_group_messages(self) -> bool:
        return bool(self.me["can_read_all_group_messages"])

    @property
    def user(self) -> dict[str, Any]:
        """The bot as the ``from`` User of its messages."""
        return {key: self.me[key] for key in ("id", "is_bot", "first_name", "username")}

    @property
    def commands(self) -> list[dict[str, Any]]:
        """Commands for the default scope and no language."""
        return self.commands_by_scope.get(_scope_key(None, None), [])

    def enqueue(self, update: dict[str, Any]) -> None:
        if self.updates and update["update_id"] <= self.updates[-1]["update_id"]:
            self.updates = deque(sorted([*self.updates, update], key=lambda u: int(u["update_id"])))
        else:
            self.updates.append(update)
        self.next_update_id = max(self.next_update_id, int(update["update_id"]) + 1)
        self.wakeup.set()

    def acknowledge(self, offset: int) -> None:
        if offset < 0:
            # Negative offset: keep only the last -offset updates.
            while len(self.updates) > -offset:
                self.updates.popleft()
            return
        while self.updates and self.updates[0]["update_id"] < offset:
            self.updates.popleft()


def _scope_key(scope: Any, language_code: Any) -> tuple[str, str]:
    if not isinstance(scope, dict):
        scope = {"type": "default"}
    return orjson.dumps(scope, option=orjson.OPT_SORT_KEYS).decode(), str(language_code or "")


@dataclass(slots=True)
class _Fault:
    error: ApiError
    remaining: int
    token: str | None


@dataclass(slots=True)
class _Bucket:
    rate: float
    tokens: float
    stamp: float


def _is_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _reply_copy(message: dict[str, Any]) -> dict[str, Any]:
    # Telegram embeds the replied-to message one level deep only.
    return {key: value for key, value in message.items() if key != "reply_to_message"}


_Handler = Callable[[BotState, dict[str, Any], web.Request], Awaitable[Any]]


# --------------------------------------------------------------------------- the emulator


class TelegramEmulator:
    """In-process Telegram Bot API server; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.calls: list[Call] = []
        self.bots: dict[str, BotState] = {}
        # Messages per second per chat for sendMessage/editMessageText; None = unlimited.
        self.flood_limit_per_chat: float | None = None
        # When true, group messages a privacy-mode bot could not see are not queued.
        self.enforce_privacy_mode = False
        self._calls_by_method: dict[str, list[Call]] = {}
        self._faults: dict[str, list[_Fault]] = {}
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._down_status: int | None = None
        self._down_html = False
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, _Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "sendmessagedraft": self._send_message_draft,
            "sendchataction": self._send_chat_action,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getchat": self._get_chat,
        }
        # Methods answered with a bare true (recorded in calls only).
        accepted = (
            "close logOut answerCallbackQuery setMyName setMyDescription setMyShortDescription "
            "setChatMenuButton setMyDefaultAdministratorRights setMessageReaction pinChatMessage "
            "unpinChatMessage unpinAllChatMessages leaveChat"
        )
        for name in accepted.split():
            self._handlers[name.lower()] = self._accept

    # -- lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=_SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        for bot in self.bots.values():
            bot.wakeup.set()
        await runner.cleanup()

    async def __aenter__(self) -> TelegramEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- test control

    def add_bot(
        self,
        token: str,
        *,
        username: str = "chatgate_bot",
        bot_id: int | None = None,
        can_read_all_group_messages: bool = False,
        first_name: str = "Chatgate",
    ) -> BotState:
        """Register a bot token (replacing any earlier state for it)."""
        if bot_id is None:
            prefix = token.partition(":")[0]
            bot_id = int(prefix) if prefix.isdigit() else 7_000_000_000 + sum(map(ord, token))
        me = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": can_read_all_group_messages,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        state = BotState(token=token, me=me)
        self.bots[token] = state
        return state

    def push_update(self, token: str, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw Update (``update_id`` assigned when missing) and return it."""
        bot = self._bot(token)
        if "update_id" not in update:
            update["update_id"] = bot.next_update_id
        for key in ("message", "edited_message", "channel_post", "business_message"):
            message = update.get(key)
            if (
                isinstance(message, dict)
                and isinstance(message.get("chat"), dict)
                and "message_id" in message
            ):
                chat = self._chat_for(bot, int(message["chat"]["id"]), message["chat"])
                chat.remember(message)
        bot.enqueue(update)
        return update

    def push_message(
        self,
        token: str,
        *,
        chat_id: int,
        text: str | None = None,
        user_id: int = 1001,
        chat_type: str = "private",
        first_name: str = "Alice",
        username: str | None = None,
        reply_to_message_id: int | None = None,
        message_thread_id: int | None = None,
        is_topic_message: bool = False,
        caption: str | None = None,
        photo: bool = False,
        sticker: bool = False,
        date: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Queue an incoming user message as an Update and return the Update."""
        bot = self._bot(token)
        chat = self._chat_for(bot, chat_id, self._chat_object(chat_id, chat_type, first_name, username))
        if is_topic_message and chat.chat.get("type") == "supergroup":
            chat.chat["is_forum"] = True
        sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username is not None:
            sender["username"] = username
        sender["language_code"] = "en"
        message: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": sender,
            "chat": chat.chat,
            "date": int(time.time()) if date is None else date,
        }
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
        if is_topic_message:
            message["is_topic_message"] = True
        if reply_to_message_id is not None:
            replied = chat.messages.get(reply_to_message_id)
            if replied is None:
                raise ValueError(f"push_message: no message {reply_to_message_id} in chat {chat_id}")
            message["reply_to_message"] = _reply_copy(replied)
        if text is not None:
            message["text"] = text
            found = entities if entities is not None else self._auto_entities(text, bot.username)
            if found:
                message["entities"] = found
        if photo:
            message["photo"] = [
                {
                    "file_id": f"photo-{chat_id}-{message['message_id']}-{size}",
                    "file_unique_id": f"p{chat_id}{message['message_id']}{size}",
                    "width": size,
                    "height": size,
                    "file_size": size * 40,
                }
                for size in (90, 320, 800)
            ]
        if sticker:
            message["sticker"] = {
                "file_id": f"sticker-{chat_id}-{message['message_id']}",
                "file_unique_id": f"s{chat_id}{message['message_id']}",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            }
        if caption is not None:
            message["caption"] = caption
            found = self._auto_entities(caption, bot.username)
            if found:
                message["caption_entities"] = found
        chat.remember(message)
        update = {"update_id": bot.next_update_id, "message": message}
        if not (self.enforce_privacy_mode and not self._bot_can_see(bot, message)):
            bot.enqueue(update)
        else:
            bot.next_update_id += 1
        return update

    def calls_to(self, method: str, token: str | None = None) -> list[Call]:
        found = self._calls_by_method.get(method.lower(), [])
        return [call for call in found if token is None or call.token == token]

    def chat_messages(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        """The bot's live messages in the chat, oldest first, plus ``edits``/``parse_mode``/``raw_text``."""
        chat = self._bot(token).chats.get(chat_id)
        if chat is None:
            return []
        return [
            {**sent.message, "edits": sent.edits, "parse_mode": sent.parse_mode, "raw_text": sent.raw_text}
            for sent in chat.sent
            if not sent.deleted
        ]

    def drafts(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        chat = self._bot(token).chats.get(chat_id)
        return list(chat.drafts) if chat else []

    def chat_actions(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        chat = self._bot(token).chats.get(chat_id)
        return list(chat.actions) if chat else []

    def pending_updates(self, token: str) -> list[dict[str, Any]]:
        return list(self._bot(token).updates)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Poll ``predicate`` until it is true; AssertionError describing the state on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() >= deadline:
                raise AssertionError(self._describe_timeout(predicate, timeout))
            await asyncio.sleep(0.005)

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        token: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (any token unless given) with this error."""
        if description is None:
            if error_code == HTTPStatus.TOO_MANY_REQUESTS and retry_after is not None:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _status_phrase(error_code)
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        fault = _Fault(ApiError(error_code, description, parameters), times, token)
        self._faults.setdefault(method.lower(), []).append(fault)

    def set_down(self, down: bool, *, status: int = 502, html: bool = False) -> None:
        """While down every call answers ``status`` (0: the connection is closed unanswered)."""
        self._down_status = status if down else None
        self._down_html = html

    # -- HTTP

    async def _not_found(self, request: web.Request) -> web.Response:
        return _json_response(ApiError(404, "Not Found").body(), 404)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params = await _read_params(request)
            malformed = False
        except ValueError:
            params, malformed = {}, True
        call = Call(token, method, params, time.monotonic())
        self.calls.append(call)
        self._calls_by_method.setdefault(method.lower(), []).append(call)

        if self._down_status is not None:
            return self._down_response(request, call)
        try:
            if malformed:
                raise _bad_request("can't parse request body")
            bot = self.bots.get(token)
            if bot is None:
                raise ApiError(401, "Unauthorized")
            fault = self._take_fault(method, token)
            if fault is not None:
                raise fault
            handler = self._handlers.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(bot, params, request)
        except ApiError as exc:
            call.status = exc.code
            return _json_response(exc.body(), exc.code)
        except Exception as exc:
            _log.exception("emulator failure in %s", method)
            call.status = 500
            return _json_response(ApiError(500, f"Internal Server Error: emulator bug: {exc!r}").body(), 500)
        call.status = 200
        return _json_response({"ok": True, "result": result}, 200)

    def _down_response(self, request: web.Request, call: Call) -> web.Response:
        status = self._down_status or 0
        if status == 0:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)  # never reaches the client
        call.status = status
        phrase = _status_phrase(status)
        if self._down_html:
            page = f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
            page += f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            return web.Response(status=status, text=page + "</body>\r\n</html>\r\n", content_type="text/html")
        return _json_response(ApiError(status, phrase).body(), status)

    def _take_fault(self, method: str, token: str) -> ApiError | None:
        queue = self._faults.get(method.lower())
        if not queue:
            return None
        for fault in queue:
            if fault.token is None or fault.token == token:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.remove(fault)
                error = fault.error
                return ApiError(error.code, error.description, error.parameters)
        return None

    # -- helpers

    def _bot(self, token: str) -> BotState:
        try:
            return self.bots[token]
        except KeyError:
            raise KeyError(f"unknown bot token {token!r}; call add_bot() first") from None

    @staticmethod
    def _chat_object(chat_id: int, chat_type: str, first_name: str, username: str | None) -> dict[str, Any]:
        if chat_type == "private":
            chat: dict[str, Any] = {"id": chat_id, "type": "private", "first_name": first_name}
            if username is not None:
                chat["username"] = username
            return chat
        return {"id": chat_id, "type": chat_type, "title": f"Test {chat_type} {chat_id}"}

    def _chat_for(self, bot: BotState, chat_id: int, chat: dict[str, Any] | None = None) -> ChatState:
        state = bot.chats.get(chat_id)
        if state is None:
            if chat is None:
                if chat_id > 0:
                    chat = {"id": chat_id, "type": "private", "first_name": "User"}
                elif chat_id <= -1_000_000_000_000:
                    chat = {"id": chat_id, "type": "supergroup", "title": f"Supergroup {chat_id}"}
                else:
                    chat = {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}
            state = ChatState(chat=dict(chat))
            bot.chats[chat_id] = state
        elif chat is not None and chat.get("type") != state.chat.get("type"):
            state.chat.update(chat)
        return state

    def _target_chat(self, bot: BotState, params: dict[str, Any]) -> ChatState:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad_request("chat_id is empty")
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise _bad_request("chat not found")
        return self._chat_for(bot, chat_id)

    def _own_message(
        self, bot: BotState, params: dict[str, Any], missing: str
    ) -> tuple[ChatState, SentMessage]:
        if params.get("inline_message_id"):
            raise _bad_request(missing)
        chat = self._target_chat(bot, params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int):
            raise _bad_request("message identifier is not specified")
        sent = chat.sent_by_id.get(message_id)
        if sent is None or sent.deleted:
            if message_id in chat.messages:
                raise _bad_request("message can't be edited")
            raise _bad_request(missing)
        return chat, sent

    @staticmethod
    def _auto_entities(text: str, bot_username: str) -> list[dict[str, Any]]:
        entities: list[dict[str, Any]] = []
        command_end = 0
        command = re.match(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?", text)
        if command:
            command_end = command.end()
            entities.append(_entity("bot_command", 0, utf16_len(command.group(0))))
        mention = re.compile("@" + re.escape(bot_username) + r"(?![A-Za-z0-9_])", re.IGNORECASE)
        for found in mention.finditer(text, command_end):
            entities.append(_entity("mention", utf16_len(text[: found.start()]), utf16_len(found.group(0))))
        return entities

    @staticmethod
    def _bot_can_see(bot: BotState, message: dict[str, Any]) -> bool:
        """Privacy mode: in groups only commands, mentions of the bot and replies to it arrive."""
        if message["chat"]["type"] in ("private", "channel") or bot.can_read_all_group_messages:
            return True
        replied = message.get("reply_to_message")
        if isinstance(replied, dict) and replied.get("from", {}).get("id") == bot.id:
            return True
        text = message.get("text") or message.get("caption") or ""
        for entity in message.get("entities") or message.get("caption_entities") or []:
            if entity["type"] == "bot_command":
                return True
            if entity["type"] == "mention":
                start = entity["offset"]
                chunk = text.encode("utf-16-le")[2 * start : 2 * (start + entity["length"])]
                if chunk.decode("utf-16-le").lower() == "@" + bot.username.lower():
                    return True
        return False

    def _check_flood(self, token: str, chat_id: int) -> None:
        limit = self.flood_limit_per_chat
        if not limit:
            return
        now = time.monotonic()
        burst = max(limit, 1.0)
        bucket = self._buckets.get((token, chat_id))
        if bucket is None or bucket.rate != limit:
            bucket = _Bucket(limit, burst, now)
            self._buckets[(token, chat_id)] = bucket
        else:
            bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * limit)
            bucket.stamp = now
        if bucket.tokens < 1.0:
            raise _too_many_requests(max(1, math.ceil((1.0 - bucket.tokens) / limit)))
        bucket.tokens -= 1.0

    def _describe_timeout(self, predicate: Callable[[], bool], timeout: float) -> str:
        try:
            what = inspect.getsource(predicate).strip()
        except (OSError, TypeError):
            what = repr(predicate)
        lines = [f"wait_for timed out after {timeout}s: {what}"]
        recent = self.calls[-10:]
        lines.append(f"last {len(recent)} of {len(self.calls)} calls:")
        for call in recent:
            shown = {k: v for k, v in call.params.items() if k not in ("timeout", "allowed_updates")}
            lines.append(f"  {call.method} -> {call.status or 'pending'} {str(shown)[:160]}")
        for token, bot in self.bots.items():
            sent = {chat_id: len(chat.sent) for chat_id, chat in bot.chats.items() if chat.sent}
            lines.append(
                f"bot {token.partition(':')[0]}: {len(bot.updates)} pending updates, "
                f"poller {'connected' if bot.poller is not None else 'none'}, sent per chat {sent}"
            )
        return "\n".join(lines)

    # -- Bot API methods

    async def _accept(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        return True

    async def _get_me(self, bot: BotState, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        return dict(bot.me)

    async def _get_updates(self, bot: BotState, params: dict[str, Any], request: web.Request) -> list[Any]:
        if bot.webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        if bot.poller is not None and not _is_gone(bot.poller):
            raise ApiError(409, CONFLICT_OTHER_POLLER)
        offset = params.get("offset")
        limit = params.get("limit")
        limit = min(max(limit, 1), 100) if isinstance(limit, int) else 100
        timeout = params.get("timeout")
        wait = min(float(timeout), MAX_LONG_POLL_S) if isinstance(timeout, int | float) else 0.0
        if isinstance(params.get("allowed_updates"), list):
            bot.allowed_updates = params["allowed_updates"]
        if isinstance(offset, int) and not isinstance(offset, bool) and offset != 0:
            bot.acknowledge(offset)
        bot.poller = request
        try:
            if not bot.updates and wait > 0 and not self._closing:
                bot.wakeup.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(bot.wakeup.wait(), wait)
            return list(itertools.islice(bot.updates, limit))
        finally:
            if bot.poller is request:
                bot.poller = None

    async def _send_message(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> dict[str, Any]:
        chat = self._target_chat(bot, params)
        text, entities = render_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
        replied = self._replied_message(chat, params)
        self._check_flood(bot.token, int(chat.chat["id"]))
        message: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": bot.user,
            "chat": chat.chat,
            "date": int(time.time()),
        }
        thread_id = params.get("message_thread_id")
        if isinstance(thread_id, int) and thread_id:
            message["message_thread_id"] = thread_id
            if chat.chat.get("is_forum"):
                message["is_topic_message"] = True
        if replied is not None:
            message["reply_to_message"] = _reply_copy(replied)
        message["text"] = text
        if entities:
            message["entities"] = entities
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        chat.remember(message)
        parse_mode = params.get("parse_mode")
        sent = SentMessage(message, str(params.get("text", "")), str(parse_mode) if parse_mode else None)
        chat.sent.append(sent)
        chat.sent_by_id[message["message_id"]] = sent
        return message

    @staticmethod
    def _replied_message(chat: ChatState, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            tolerant = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.get("reply_to_message_id")
            tolerant = bool(params.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        replied = chat.messages.get(message_id) if isinstance(message_id, int) else None
        if replied is None and not tolerant:
            raise _bad_request("message to be replied not found")
        return replied

    async def _edit_message_text(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> dict[str, Any]:
        chat, sent = self._own_message(bot, params, "message to edit not found")
        text, entities = render_text(params.get("text"), params.get("parse_mode"), params.get("entities"))
        markup = params.get("reply_markup")
        markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        message = sent.message
        if (
            text == message.get("text")
            and entities == message.get("entities", [])
            and markup == message.get("reply_markup")
        ):
            raise _bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        self._check_flood(bot.token, int(chat.chat["id"]))
        message["text"] = text
        _set_or_pop(message, "entities", entities or None)
        _set_or_pop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        sent.edits += 1
        parse_mode = params.get("parse_mode")
        sent.parse_mode = str(parse_mode) if parse_mode else None
        sent.raw_text = str(params.get("text", ""))
        return message

    async def _edit_message_reply_markup(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> dict[str, Any]:
        _, sent = self._own_message(bot, params, "message to edit not found")
        markup = params.get("reply_markup")
        markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
        if markup == sent.message.get("reply_markup"):
            raise _bad_request(NOT_MODIFIED[len("Bad Request: ") :])
        _set_or_pop(sent.message, "reply_markup", markup)
        sent.message["edit_date"] = int(time.time())
        sent.edits += 1
        return sent.message

    async def _delete_message(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        chat = self._target_chat(bot, params)
        message_id = params.get("message_id")
        if not isinstance(message_id, int) or chat.messages.pop(message_id, None) is None:
            raise _bad_request("message to delete not found")
        sent = chat.sent_by_id.get(message_id)
        if sent is not None:
            sent.deleted = True
        return True

    async def _delete_messages(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        chat = self._target_chat(bot, params)
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not ids:
            raise _bad_request("message identifiers are not specified")
        for message_id in ids:
            if isinstance(message_id, int) and chat.messages.pop(message_id, None) is not None:
                sent = chat.sent_by_id.get(message_id)
                if sent is not None:
                    sent.deleted = True
        return True

    async def _send_message_draft(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        chat = self._target_chat(bot, params)
        if chat.chat.get("type") != "private":
            # Invented wording: drafts exist in private chats only.
            raise _bad_request("draft messages can be sent only to private chats")
        draft_id = params.get("draft_id")
        if not isinstance(draft_id, int) or draft_id == 0:
            raise _bad_request("draft_id must be non-zero")
        render_text(params.get("text"), params.get("parse_mode"), params.get("entities"), allow_empty=True)
        chat.drafts.append(dict(params))
        return True

    async def _send_chat_action(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        chat = self._target_chat(bot, params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad_request("wrong parameter action in request")
        chat.actions.append(dict(params))
        return True

    async def _set_my_commands(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("commands must be a list of at most 100 BotCommand")
        cleaned: list[dict[str, Any]] = []
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
                raise _bad_request("BOT_COMMAND_INVALID")
            description = str(command.get("description", ""))
            if not 1 <= len(description) <= 256:
                raise _bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append(dict(command))
        bot.commands_by_scope[_scope_key(params.get("scope"), params.get("language_code"))] = cleaned
        return True

    async def _get_my_commands(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> list[dict[str, Any]]:
        return bot.commands_by_scope.get(_scope_key(params.get("scope"), params.get("language_code")), [])

    async def _delete_my_commands(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        bot.commands_by_scope.pop(_scope_key(params.get("scope"), params.get("language_code")), None)
        return True

    async def _set_webhook(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        url = str(params.get("url") or "")
        if params.get("drop_pending_updates"):
            bot.updates.clear()
        if not url:
            bot.webhook = None
            return True
        if not url.startswith(("https://", "http://")):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        bot.webhook = {key: value for key, value in params.items() if key != "certificate"}
        bot.wakeup.set()
        return True

    async def _delete_webhook(self, bot: BotState, params: dict[str, Any], request: web.Request) -> bool:
        bot.webhook = None
        if params.get("drop_pending_updates"):
            bot.updates.clear()
        return True

    async def _get_webhook_info(
        self, bot: BotState, params: dict[str, Any], request: web.Request
    ) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": bot.webhook["url"] if bot.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }
        if bot.webhook:
            info["max_connections"] = bot.webhook.get("max_connections", 40)
            if "allowed_updates" in bot.webhook:
                info["allowed_updates"] = bot.webhook["allowed_updates"]
        return info

    async def _get_chat(self, bot: BotState, params: dict[str, Any], request: web.Request) -> dict[str, Any]:
        chat = self._target_chat(bot, params)
        return {
            **chat.chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }


def _set_or_pop(message: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        message.pop(key, None)
    else:
        message[key] = value


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _json_response(body: dict[str, Any], status: int) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=_JSON)
