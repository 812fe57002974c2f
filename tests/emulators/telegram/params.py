"""Request parameters: query string, JSON or form bodies, given their JSON types."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import orjson
from aiohttp import web

from tests.emulators.telegram.responses import JSON_TYPE

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


async def read_params(request: web.Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query)  # Telegram also accepts query-string parameters
    if request.body_exists:
        if request.content_type == JSON_TYPE:
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
