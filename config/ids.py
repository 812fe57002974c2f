"""How people and places are named in ``users``, ``admins`` and ``access`` rules.

Each chat platform says how its users and chats are written (an `IdGrammar`, declared
in its module in config/platforms and registered by config/platforms/registry.py);
``key:<name>`` in ``admins`` names an API key. A mistyped id is an error naming it,
never a rule that silently matches nobody.

The grammars are registered rather than imported: a platform's bot settings contain
access rules, so this module must not depend on the platform modules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

_KEY = re.compile(r"^key:.+$")


@dataclass(frozen=True)
class IdGrammar:
    """One platform's ids: ``user`` and ``place`` match a whole id (a user; a chat or
    channel); the examples are what error messages suggest instead."""

    user: re.Pattern[str]
    place: re.Pattern[str]
    user_example: str
    place_example: str

    def is_user(self, value: str) -> bool:
        return self.user.match(value) is not None

    def is_place(self, value: str) -> bool:
        return self.place.match(value) is not None


_grammars: dict[str, IdGrammar] = {}  # by platform, in the registry's order


def register(grammars: Mapping[str, IdGrammar]) -> None:
    """The registry's platforms, by name; ids of other platforms are refused."""
    _grammars.update(grammars)


def is_user(value: str) -> bool:
    return any(g.is_user(value) for g in _grammars.values())


def _user_id(value: str) -> str:
    if not is_user(value):
        examples = " or ".join(g.user_example for g in _grammars.values())
        raise ValueError(f"{value!r} is not a user id such as {examples}")
    return value


def _rule_id(value: str) -> str:
    if not (is_user(value) or any(g.is_place(value) for g in _grammars.values())):
        users = ", ".join(g.user_example for g in _grammars.values())
        places = ", ".join(g.place_example for g in _grammars.values())
        raise ValueError(f"{value!r} is neither a user ({users}) nor a chat ({places})")
    return value


def _admin_id(value: str) -> str:
    if not (is_user(value) or _KEY.match(value)):
        example = next((g.user_example for g in _grammars.values()), "<platform>:<id>")
        raise ValueError(f"{value!r} is not a user id such as {example}, or an API key as key:<name>")
    return value


UserId = Annotated[str, AfterValidator(_user_id)]
RuleId = Annotated[str, AfterValidator(_rule_id)]  # a user or a chat
AdminId = Annotated[str, AfterValidator(_admin_id)]  # a user or key:<name>
