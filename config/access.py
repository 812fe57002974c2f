"""Who may do what: chat users' overrides, admins, access rules, and how edits are reloaded.

Ids name people and places the way the bots see them: ``telegram:42`` is a
Telegram user, ``telegram:chat:-100123`` a Telegram chat, ``discord:99`` a
Discord user, ``discord:channel:1234`` a Discord channel. ``key:<name>`` in
``admins`` names an API key (for the admin API, e.g. ``chatgate reload``).
A mistyped id is an error naming it, never a rule that silently matches nobody.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from config.schema import Settings

_USER = re.compile(r"^(telegram|discord):-?\d{1,20}$")
_PLACE = re.compile(r"^(telegram:chat|discord:channel):-?\d{1,20}$")
_KEY = re.compile(r"^key:.+$")


def _user_id(value: str) -> str:
    if not _USER.match(value):
        raise ValueError(f"{value!r} is not a user id such as telegram:42 or discord:1234")
    return value


def _rule_id(value: str) -> str:
    if not (_USER.match(value) or _PLACE.match(value)):
        raise ValueError(
            f"{value!r} is neither a user (telegram:42, discord:1234) nor a chat "
            "(telegram:chat:-100123, discord:channel:1234)"
        )
    return value


def _admin_id(value: str) -> str:
    if not (_USER.match(value) or _KEY.match(value)):
        raise ValueError(f"{value!r} is not a user id such as telegram:42, or an API key as key:<name>")
    return value


UserId = Annotated[str, AfterValidator(_user_id)]
RuleId = Annotated[str, AfterValidator(_rule_id)]
AdminId = Annotated[str, AfterValidator(_admin_id)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UserSettings(_Section):
    """Overrides for one chat user; users not listed get their bot's tier and rules."""

    id: UserId
    tier: str | None = None  # rate-limit tier in every bot (default: the bot's tier)
    blocked: bool = False  # no bot answers them


class AccessSettings(_Section):
    """Who may talk to a bot at all. A bot's own ``access`` replaces the global one."""

    default: Literal["allow", "deny"] = "allow"  # deny: only allow-listed users and chats
    allow: list[RuleId] = []
    deny: list[RuleId] = []  # wins over allow
    refusal: str = "Sorry, you can't use this bot."  # said once per user; "" = stay silent


class ReloadSettings(_Section):
    """Live reload of the config file and workflow files."""

    watch: bool = True  # watch the files; SIGHUP, `chatgate reload` and /reload work either way
    settle_ms: int = Field(500, ge=0, le=60_000)  # apply once the files were quiet this long
    force_polling: bool = False  # for filesystems without change events (NFS, some containers)
    poll_interval_ms: int = Field(500, ge=50, le=60_000)


def check_people(s: Settings) -> None:
    """Cross-field checks; a ValueError names its key first (``users.1.tier: …``)."""
    tiers = sorted(s.rate_limits)
    seen: set[str] = set()
    for i, user in enumerate(s.users):
        if user.id in seen:
            raise ValueError(f"users.{i}.id: {user.id} is listed twice; merge the entries")
        seen.add(user.id)
        if user.tier is not None and user.tier not in s.rate_limits:
            raise ValueError(f"users.{i}.tier: unknown tier {user.tier!r} (rate_limits has {tiers})")
    blocked = {u.id for u in s.users if u.blocked}
    key_names = {k.name for k in s.api_keys} | {"admin"}  # "admin": the generated key (data/admin_key)
    for i, admin in enumerate(s.admins):
        if admin in blocked:
            raise ValueError(f"admins.{i}: {admin} is also blocked in users; remove one of the two")
        if admin.startswith("key:") and admin[4:] not in key_names:
            raise ValueError(
                f"admins.{i}: no API key is named {admin[4:]!r} (api_keys has {sorted(key_names)}; "
                "a key made with `chatgate keys create` is an admin when created with --admin)"
            )
