"""Questions in chat: the buttons a waiting execution's options become, and what a press on
one of them means.

A button's key carries all a press needs — the execution, a short digest of the question it
was shown with, the option's place — so buttons keep working after a restart and in any
process, with nothing remembered in memory. The digest tells a press on this question from
a press on an earlier question of the same execution (answered, or asked again differently).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import orjson

from bots.base import Button

EXPIRED = "This question has expired."
_KEY = re.compile(r"^q:(?P<execution>[A-Za-z0-9_]{1,40}):(?P<tag>[0-9a-f]{8}):(?P<index>[0-9]{1,2})$")


@dataclass(frozen=True, slots=True)
class Pressed:
    """What a button's key says."""

    execution_id: str
    tag: str
    index: int


@dataclass(frozen=True, slots=True)
class Check:
    """The verdict on a press, known before the press is acknowledged."""

    toast: str | None  # a short note for the presser only; None: the press counts
    execution_id: str | None = None
    option: str | None = None  # the chosen option's id
    label: str | None = None  # ...and its label, as the question message will show it


def expired() -> Check:
    return Check(EXPIRED)


def only_asked(name: str | None) -> Check:
    who = name or "the person I asked"
    return Check(f"Only {who} can answer this question.")


def tag(question: dict[str, Any]) -> str:
    """A short digest of a question as it was shown (its text and options)."""
    return hashlib.blake2b(orjson.dumps(question, option=orjson.OPT_SORT_KEYS), digest_size=4).hexdigest()


def buttons(execution_id: str, question: dict[str, Any]) -> list[Button]:
    """One button per option of a waiting execution's question."""
    t = tag(question)
    return [
        Button(f"q:{execution_id}:{t}:{i}", option["label"])
        for i, option in enumerate(question.get("options") or ())
    ]


def read_key(key: str) -> Pressed | None:
    """A button key of ours, read; None for anything else (another bot's, a forged one)."""
    m = _KEY.match(key)
    if m is None:
        return None
    return Pressed(m["execution"], m["tag"], int(m["index"]))


def choice(pressed: Pressed, question: dict[str, Any]) -> tuple[str, str] | None:
    """The (id, label) of the option a press picked on ``question``; None: the press was on
    another question's buttons."""
    options = question.get("options") or []
    if tag(question) != pressed.tag or pressed.index >= len(options):
        return None
    option = options[pressed.index]
    return option["id"], option["label"]
