"""Who may do what: chat users' overrides, admins, access rules, and how edits are reloaded.

Ids name people and places the way the bots see them (config/ids.py: each platform's
grammar, e.g. ``telegram:42`` a Telegram user, ``discord:channel:1234`` a Discord
channel); ``key:<name>`` in ``admins`` names an API key (for the admin API, e.g.
``chatgate reload``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Literal

from pydantic import Field

from config.ids import RuleId, UserId
from config.section import Section


class UserSettings(Section):
    """Overrides for one chat user; users not listed get their bot's tier and rules."""

    id: UserId
    tier: str | None = None  # rate-limit tier in every bot (default: the bot's tier)
    blocked: bool = False  # no bot answers them


class AccessSettings(Section):
    """Who may talk to a bot at all. A bot's own ``access`` replaces the global one."""

    default: Literal["allow", "deny"] = "allow"  # deny: only allow-listed users and chats
    allow: list[RuleId] = Field(default_factory=list)
    deny: list[RuleId] = Field(default_factory=list)  # wins over allow
    refusal: str = "Sorry, you can't use this bot."  # said once per user; "" = stay silent


class ReloadSettings(Section):
    """Live reload of the config file and workflow files."""

    watch: bool = True  # watch the files; SIGHUP, `chatgate reload` and /reload work either way
    settle_ms: int = Field(500, ge=0, le=60_000)  # apply once the files were quiet this long
    force_polling: bool = False  # for filesystems without change events (NFS, some containers)
    poll_interval_ms: int = Field(500, ge=50, le=60_000)


def check_people(
    users: Sequence[UserSettings],
    admins: Sequence[str],
    tiers: Mapping[str, object],
    key_names: Collection[str],
) -> None:
    """Cross-field checks of ``users`` and ``admins`` against the tiers (``rate_limits``)
    and the API keys' names; a ValueError names its key first (``users.1.tier: …``)."""
    known_tiers = sorted(tiers)
    seen: set[str] = set()
    for i, user in enumerate(users):
        if user.id in seen:
            raise ValueError(f"users.{i}.id: {user.id} is listed twice; merge the entries")
        seen.add(user.id)
        if user.tier is not None and user.tier not in tiers:
            raise ValueError(f"users.{i}.tier: unknown tier {user.tier!r} (rate_limits has {known_tiers})")
    blocked = {u.id for u in users if u.blocked}
    for i, admin in enumerate(admins):
        if admin in blocked:
            raise ValueError(f"admins.{i}: {admin} is also blocked in users; remove one of the two")
        if admin.startswith("key:") and admin[4:] not in key_names:
            raise ValueError(
                f"admins.{i}: no API key is named {admin[4:]!r} (api_keys has {sorted(key_names)}; "
                "a key made with `chatgate keys create` is an admin when created with --admin)"
            )
