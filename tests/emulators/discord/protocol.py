"""Discord's wire constants (API v10: opcodes, intents, channel and message types, flags) and JSON helpers."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from typing import Any

Json = dict[str, Any]

API_PREFIX = "/api/v10"
GATEWAY_PATH = "/gateway"
CDN_PATH = "/attachments"  # Discord's CDN, served by the emulator itself (loopback only)
DISCORD_EPOCH_MS = 1_420_070_400_000
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_UPLOAD_BYTES = 10 * 1024 * 1024  # files of one message, for a bot in a guild without boosts
INTERACTION_TOKEN_TTL = 15 * 60.0

# Gateway opcodes
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_REQUEST_GUILD_MEMBERS = 8
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

# Server close codes after which Discord forgets the session (a RESUME would fail). A client
# closing with 1000/1001 ends its session too.
NON_RESUMABLE_CLOSE_CODES = frozenset({4004, 4007, 4009, 4010, 4011, 4012, 4013, 4014})

INTENT_GUILDS = 1 << 0
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

CHANNEL_GUILD_TEXT = 0
CHANNEL_DM = 1
CHANNEL_PUBLIC_THREAD = 11
CHANNEL_PRIVATE_THREAD = 12
CHANNEL_FORUM = 15
THREAD_TYPES = frozenset({10, CHANNEL_PUBLIC_THREAD, CHANNEL_PRIVATE_THREAD})

MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20

INTERACTION_COMMAND = 2
INTERACTION_COMPONENT = 3

# Interaction callback types
CALLBACK_MESSAGE = 4  # CHANNEL_MESSAGE_WITH_SOURCE
CALLBACK_DEFERRED_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE = 6  # components only: "I'll edit the message later", nothing shown
CALLBACK_UPDATE = 7  # components only: edit the message the component is on
CALLBACK_MODAL = 9

FLAG_HAS_THREAD = 1 << 5
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

APP_FLAG_GATEWAY_MESSAGE_CONTENT = 1 << 18
APP_FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19

PERMS_EVERYONE = sum(
    1 << bit
    for bit in (
        0,  # create instant invite
        6,  # add reactions
        10,  # view channel
        11,  # send messages
        14,  # embed links
        15,  # attach files
        16,  # read message history
        18,  # use external emojis
        20,  # connect
        21,  # speak
        26,  # change nickname
        31,  # use application commands
        35,  # create public threads
        36,  # create private threads
        38,  # send messages in threads
    )
)
PERMS_BOT_ROLE = PERMS_EVERYONE | (1 << 13) | (1 << 34)  # + manage messages, manage threads

MENTION_RE = re.compile(r"<@!?(\d+)>")
ROUTE_PARAM_RE = re.compile(r"\{(\w+)\}")


def dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Snowflakes:
    """Monotonic, time-based snowflakes (discord.py derives created_at from them)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate
