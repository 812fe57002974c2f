"""The group commit's common case on SQLite: a batch of plain inserts, in one go.

Through SQLAlchemy on aiosqlite, each statement of a batch is three trips to aiosqlite's
thread (cursor, executemany, close) and the commit a fourth, each waiting for a turn of
the busy event loop; every request in the batch waits for all of them, so this latency,
not the CPU, bounded how many executions per second one process answers. Here the
batch's statements are queued to the thread together and the commit follows: two
waits instead of seven. Values are encoded as SQLAlchemy's SQLite types encode them
(JSON as its text, datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff``), so it reads them back
unchanged. Anything else, and any failure, goes the ordinary way (engine.storage).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from engine.clock import digits


def _datetime(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite format, YYYY-MM-DD HH:MM:SS.ffffff (its wall-clock fields, any
    # offset dropped).
    return None if value is None else digits(value).replace("T", " ")


Encoders = dict[type[Any], Callable[[Any], Any]]
_PLAIN: frozenset[type[Any]] = frozenset({sa.String, sa.Text, sa.Integer})

# Rows for one table, as the storage's writer hands them over.
TableInsert = tuple[sa.Table, list[dict[str, Any]]]
# A batch ready for the driver: per statement, its SQL and its rows' values.
Planned = list[tuple[str, list[tuple[Any, ...]]]]


class _Statement:
    """One table's INSERT for rows with these keys, and how to turn a row into its values."""

    __slots__ = ("encoders", "sql")

    def __init__(self, table: sa.Table, keys: tuple[str, ...], encoders: Encoders) -> None:
        self.sql = f"INSERT INTO {table.name} ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})"
        self.encoders = [(key, encoders.get(type(table.c[key].type))) for key in keys]

    @staticmethod
    def possible(table: sa.Table, keys: tuple[str, ...], encoders: Encoders) -> bool:
        kinds = [type(table.c[key].type) for key in keys if key in table.c]
        return len(kinds) == len(keys) and all(k in _PLAIN or k in encoders for k in kinds)

    def values(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple([row[key] if encode is None else encode(row[key]) for key, encode in self.encoders])


class SqliteInserts:
    def __init__(self, json_serializer: Callable[[Any], str]) -> None:
        # The engine's own serializer: JSON columns hold exactly what SQLAlchemy would write
        # (None included: JSON null).
        self._encoders: Encoders = {sa.JSON: json_serializer, sa.DateTime: _datetime}
        self._statements: dict[tuple[sa.Table, tuple[str, ...]], _Statement | None] = {}

    def plan(self, tables: Iterable[TableInsert]) -> Planned | None:
        """The batch as (sql, values) per table and row shape; None if a column needs SQLAlchemy."""
        groups: dict[tuple[sa.Table, tuple[str, ...]], list[dict[str, Any]]] = {}
        for table, rows in tables:
            for row in rows:
                groups.setdefault((table, tuple(row)), []).append(row)
        planned: Planned = []
        for (table, keys), rows in groups.items():
            statement = self._statement(table, keys)
            if statement is None:
                return None
            planned.append((statement.sql, [statement.values(row) for row in rows]))
        return planned

    def _statement(self, table: sa.Table, keys: tuple[str, ...]) -> _Statement | None:
        try:
            return self._statements[(table, keys)]
        except KeyError:
            possible = _Statement.possible(table, keys, self._encoders)
            made = _Statement(table, keys, self._encoders) if possible else None
            self._statements[(table, keys)] = made
            return made

    async def write(self, conn: AsyncConnection, tables: Iterable[TableInsert]) -> bool:
        """Insert and commit on the connection's aiosqlite connection; False (nothing done)
        if a column needs SQLAlchemy. On failure: rolled back and raised (the caller then
        takes the ordinary way, whose errors are SQLAlchemy's)."""
        planned = self.plan(tables)
        if planned is None:
            return False
        db: Any = (await conn.get_raw_connection()).driver_connection  # aiosqlite.Connection
        try:
            # Queued together, run one after another in aiosqlite's thread, awaited once.
            await asyncio.gather(*(db.executemany(sql, values) for sql, values in planned))
            await db.commit()
        except Exception:
            with contextlib.suppress(Exception):
                await db.rollback()
            raise
        return True
