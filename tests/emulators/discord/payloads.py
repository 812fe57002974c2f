"""Discord objects as the API sends them: users, members, roles, channels, threads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.emulators.discord.protocol import (
    CHANNEL_DM,
    CHANNEL_FORUM,
    CHANNEL_GUILD_TEXT,
    CHANNEL_PRIVATE_THREAD,
    CHANNEL_PUBLIC_THREAD,
    Json,
    now_iso,
)

if TYPE_CHECKING:
    from tests.emulators.discord.state import BotState, MemberState


# --------------------------------------------------------------------------- object builders


def user_object(user_id: int, username: str, *, bot: bool = False, discriminator: str = "0") -> Json:
    obj: Json = {
        "id": str(user_id),
        "username": username,
        "global_name": None if bot else username.capitalize(),
        "discriminator": discriminator,
        "avatar": None,
        "avatar_decoration_data": None,
        "banner": None,
        "accent_color": None,
        "public_flags": 0,
        "flags": 0,
        "collectibles": None,
        "primary_guild": None,
    }
    if bot:
        obj["bot"] = True
    return obj


def bot_user_object(bot: BotState, *, me: bool = False) -> Json:
    obj = user_object(bot.user_id, bot.username, bot=True, discriminator=bot.discriminator)
    if me:
        obj.update({"verified": True, "mfa_enabled": False, "email": None, "locale": "en-US", "bio": ""})
    return obj


def member_object(member: MemberState, user: Json | None, *, permissions: int | None = None) -> Json:
    obj: Json = {
        "roles": [str(r) for r in member.roles],
        "joined_at": member.joined_at,
        "nick": member.nick,
        "avatar": None,
        "banner": None,
        "premium_since": None,
        "deaf": False,
        "mute": False,
        "pending": False,
        "flags": 0,
        "communication_disabled_until": None,
    }
    if user is not None:
        obj["user"] = user
    if permissions is not None:
        obj["permissions"] = str(permissions)
    return obj


def role_object(
    role_id: int, name: str, permissions: int, *, position: int = 0, bot_id: int | None = None
) -> Json:
    obj: Json = {
        "id": str(role_id),
        "name": name,
        "description": None,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
        "hoist": False,
        "icon": None,
        "unicode_emoji": None,
        "position": position,
        "permissions": str(permissions),
        "managed": bot_id is not None,
        "mentionable": False,
        "flags": 0,
    }
    if bot_id is not None:
        obj["tags"] = {"bot_id": str(bot_id)}
    return obj


def guild_channel_object(
    guild_id: int, channel_id: int, name: str, *, position: int, forum: bool = False
) -> Json:
    obj: Json = {
        "id": str(channel_id),
        "type": CHANNEL_FORUM if forum else CHANNEL_GUILD_TEXT,
        "guild_id": str(guild_id),
        "name": name,
        "position": position,
        "permission_overwrites": [],
        "parent_id": None,
        "topic": None,
        "nsfw": False,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
    }
    if forum:
        obj.update(
            {
                "available_tags": [],
                "default_reaction_emoji": None,
                "default_sort_order": None,
                "default_forum_layout": 0,
                "default_thread_rate_limit_per_user": 0,
                "default_auto_archive_duration": 1440,
            }
        )
    return obj


def thread_object(
    guild_id: int,
    parent_id: int,
    thread_id: int,
    *,
    name: str,
    owner_id: int,
    thread_type: int = CHANNEL_PUBLIC_THREAD,
    auto_archive_duration: int = 1440,
) -> Json:
    now = now_iso()
    return {
        "id": str(thread_id),
        "type": thread_type,
        "guild_id": str(guild_id),
        "parent_id": str(parent_id),
        "owner_id": str(owner_id),
        "name": name,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "flags": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "applied_tags": [],
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": auto_archive_duration,
            "archive_timestamp": now,
            "locked": False,
            "invitable": thread_type != CHANNEL_PRIVATE_THREAD,
            "create_timestamp": now,
        },
    }


def dm_channel_object(channel_id: int, recipient: Json) -> Json:
    return {
        "id": str(channel_id),
        "type": CHANNEL_DM,
        "last_message_id": None,
        "flags": 0,
        "recipients": [recipient],
    }


def strip_content(data: Json) -> Json:
    stripped = dict(data)
    stripped.update(content="", embeds=[], attachments=[], components=[])
    stripped.pop("poll", None)
    return stripped
