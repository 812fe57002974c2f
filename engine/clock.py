"""Time as chatgate records and shows it, and the time-ordered ids made from it."""

from __future__ import annotations

import itertools
import os
import time
from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def iso(t: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a "Z", as the seed shows times."""
    if t is None:
        return None
    if t.utcoffset():  # stored times are UTC; anything else is converted, not relabelled
        t = t.astimezone(UTC)
    return t.isoformat(timespec="milliseconds")[:23] + "Z"  # the digits, without any "+00:00"


_ID_SALT = os.urandom(3).hex()  # tells apart ids made in the same millisecond by two processes
_id_counter = itertools.count()


def new_id(prefix: str) -> str:
    """Time-ordered ids (milliseconds, a counter, a per-process salt): new rows append to
    the end of the primary-key index instead of landing on random pages, ids sort by age,
    and making one costs no system call for randomness."""
    return f"{prefix}_{time.time_ns() // 1_000_000:012x}{next(_id_counter) & 0xFFFF:04x}{_ID_SALT}"
