"""Times as the API shows them and as SQLite stores them, for any time a record can hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite

from engine.clock import iso, iso_at
from engine.store.sqlite.inserts import _datetime

TIMES = [
    datetime(2026, 11, 27, 23, 4, 5, 123456, tzinfo=UTC),
    datetime(2026, 11, 27, 23, 4, 5, 0, tzinfo=UTC),  # on the second: no fraction to cut
    datetime(2026, 11, 27, 23, 4, 5, 999, tzinfo=UTC),  # under a millisecond
    datetime(2026, 11, 27, 23, 4, 5, 999999),  # naive, as SQLite hands times back
    datetime(2026, 11, 27, 20, 4, 5, 500000, tzinfo=timezone(timedelta(hours=-3))),
    datetime(987, 1, 2, 3, 4, 5, 6, tzinfo=UTC),  # a year of three digits
]


@pytest.mark.parametrize("t", TIMES, ids=str)
def test_the_api_shows_utc_to_the_millisecond_with_a_z(t: datetime) -> None:
    utc = t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC)
    expected = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:"
        f"{utc.second:02d}.{utc.microsecond // 1000:03d}Z"
    )
    assert iso(t) == expected


@pytest.mark.parametrize("t", TIMES, ids=str)
def test_sqlite_gets_exactly_what_sqlalchemy_itself_would_write(t: datetime) -> None:
    sqlalchemy_writes = sqlite.DATETIME().bind_processor(sqlite.dialect())
    assert sqlalchemy_writes is not None
    assert _datetime(t) == sqlalchemy_writes(t)


def test_no_time_is_shown_and_stored_as_none() -> None:
    assert iso(None) is None
    assert _datetime(None) is None


def test_a_unix_time_is_shown_like_every_other_api_time() -> None:
    assert iso_at(None) is None
    assert iso_at(0.0) == "1970-01-01T00:00:00.000Z"
    # milliseconds cut, not rounded, as `iso` does for a datetime
    assert iso_at(1767225600.123999) == "2026-01-01T00:00:00.123Z"
