"""Who may talk to a bot, in which tier, and who is an admin: the config's ``users``,
``admins`` and ``access`` as one immutable policy object.

The router consults it before rate limiting, so a refused user costs no model
call and no rate-limit slot. A reload builds a new policy and swaps the one
reference every router reads, so a message sees either the old rules or the new
ones, never a mix.
"""

from __future__ import annotations

from dataclasses import dataclass

from bots.base import Incoming
from config.access import AccessSettings
from config.schema import BotCommon, Settings


class _Rules:
    """One ``access`` block with its lists as sets (a lookup per message)."""

    def __init__(self, source: AccessSettings) -> None:
        self.source = source
        self.allow_all = source.default == "allow"
        self.allow = frozenset(source.allow)
        self.deny = frozenset(source.deny)


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str  # "blocked", "denied", "not allowed": for the log
    text: str  # what the user is told once; "" = nothing


class AccessPolicy:
    def __init__(self, settings: Settings | None = None) -> None:
        s = settings
        self.access = s.access if s else AccessSettings()
        self.blocked = frozenset(u.id for u in s.users if u.blocked) if s else frozenset()
        self.tiers = {u.id: u.tier for u in s.users if u.tier} if s else {}
        admins = s.admins if s else []
        # key:<name> entries are API keys' rights, which chatgate/keys.py decides.
        self.admins = frozenset(a for a in admins if not a.startswith("key:"))
        self._rules: dict[int, _Rules] = {}

    def is_admin(self, user_key: str) -> bool:
        return user_key in self.admins

    def tier(self, user_key: str, bot_tier: str) -> str:
        """The user's own tier where ``users`` sets one, else the bot's."""
        return self.tiers.get(user_key, bot_tier)

    def refusal(self, bot: BotCommon, msg: Incoming) -> Refusal | None:
        """None when the user may talk to this bot here; else why not, and what to say.

        Blocked users never; admins always; then the bot's own ``access`` (or the global
        one): deny list, allow list, default. A rule may name the user or the chat."""
        rules = self._compiled(bot.access or self.access)
        refusal = rules.source.refusal
        if msg.user_key in self.blocked:
            return Refusal("blocked", refusal)
        if msg.user_key in self.admins:
            return None
        if msg.user_key in rules.deny or msg.chat_key in rules.deny:
            return Refusal("denied", refusal)
        if rules.allow_all or msg.user_key in rules.allow or msg.chat_key in rules.allow:
            return None
        return Refusal("not allowed", refusal)

    def _compiled(self, source: AccessSettings) -> _Rules:
        rules = self._rules.get(id(source))
        if rules is None or rules.source is not source:
            rules = self._rules[id(source)] = _Rules(source)
        return rules
