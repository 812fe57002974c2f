"""Time as chatgate records and shows it, and the time-ordered ids made from it."""

from __future__ import annotations

import itertools
import os
import time
from datetime import UTC, datetime

import orjson


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def digits(t: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS.ffffff`` of t's own fields, any offset left off. Formatted by
    orjson's C code at a third of ``isoformat``'s cost: every execution pays for several."""
    s = orjson.dumps(t)  # b'"<date>T<time>[.ffffff][<offset>]"', the fraction left out when zero
    return s[1:27].decode() if t.microsecond else s[1:20].decode() + ".000000"


def iso(t: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a "Z", as the seed shows times."""
    if t is None:
        return None
    if t.utcoffset():  # stored times are UTC; anything else is converted, not relabelled
        t = t.astimezone(UTC)
    return digits(t)[:23] + "Z"


def iso_at(t: float | None) -> str | None:
    """A ``time.time()`` as `iso` shows times."""
    return None if t is None else iso(datetime.fromtimestamp(t, UTC))


_ID_SALT = os.urandom(3).hex()  # tells apart ids made in the same millisecond by two processes
_id_counter = itertools.count()


def new_id(prefix: str) -> str:
    """Time-ordered ids (milliseconds, a counter, a per-process salt): new rows append to
    the end of the primary-key index instead of landing on random pages, ids sort by age,
    and making one costs no system call for randomness."""
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{next(_id_counter) & 0xFFFF:04x}{_ID_SALT}"
