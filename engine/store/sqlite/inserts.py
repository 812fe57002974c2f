"""The group commit's common case on SQLite: a batch of plain inserts, in one go.

Through SQLAlchemy on aiosqlite, each statement of a batch is three trips to aiosqlite's
thread (cursor, executemany, close) and the commit a fourth. Every trip back waits for a
turn of the busy event loop, one turn often several milliseconds long, and every request
in the batch waits for all of them: this latency, not the CPU, bounded how many
executions per second one process answers. Here a batch becomes multi-row INSERTs, sent
with its commit as one frame to a process of its own with its own connection to the
database file (engine.store.sqlite.process: why not a thread): one trip there, one back.
Values are encoded as SQLAlchemy's SQLite types encode them (JSON as its text, datetimes
as ``YYYY-MM-DD HH:MM:SS.ffffff``), so it reads them back unchanged. Anything else, and any
failure, goes the ordinary way (engine.store.writer).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from engine.clock import digits
from engine.store.sqlite import process as sqlite_insert_process
from engine.store.sqlite.process import HEADER

log = logging.getLogger("chatgate.storage")


def _datetime(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite format, YYYY-MM-DD HH:MM:SS.ffffff (its wall-clock fields, any
    # offset dropped).
    return None if value is None else digits(value).replace("T", " ")


Encoders = dict[type[Any], Callable[[Any], Any]]
_PLAIN: frozenset[type[Any]] = frozenset({sa.String, sa.Text, sa.Integer})

# Rows for one table, as the storage's writer hands them over.
TableInsert = tuple[sa.Table, list[dict[str, Any]]]
# A batch ready for the driver: per statement, its SQL and the values of all its rows.
Planned = list[tuple[str, list[Any]]]


class _Statement:
    """One table's INSERT for rows with these keys, and how to turn a row into its values."""

    __slots__ = ("encoders", "head", "row", "rows_max", "sql")

    def __init__(self, table: sa.Table, keys: tuple[str, ...], encoders: Encoders) -> None:
        # Names of our own tables and columns; every value goes in as a parameter.
        self.head = f"INSERT INTO {table.name} ({', '.join(keys)}) VALUES "  # noqa: S608
        self.row = f"({', '.join('?' * len(keys))})"
        # Within the 999 parameters any SQLite accepts in one statement.
        self.rows_max = max(1, 999 // len(keys))
        self.sql: dict[int, str] = {}  # by number of rows
        self.encoders = [(key, encoders.get(type(table.c[key].type))) for key in keys]

    @staticmethod
    def possible(table: sa.Table, keys: tuple[str, ...], encoders: Encoders) -> bool:
        kinds = [type(table.c[key].type) for key in keys if key in table.c]
        return len(kinds) == len(keys) and all(k in _PLAIN or k in encoders for k in kinds)

    def plan(self, rows: list[dict[str, Any]]) -> Planned:
        """Multi-row INSERTs: one statement runs (and lets go of the GIL) once for all its
        rows, where executemany would run once per row."""
        encoders = self.encoders
        planned: Planned = []
        for start in range(0, len(rows), self.rows_max):
            chunk = rows[start : start + self.rows_max]
            values: list[Any] = []
            for row in chunk:
                values.extend([row[key] if encode is None else encode(row[key]) for key, encode in encoders])
            planned.append((self._sql(len(chunk)), values))
        return planned

    def _sql(self, n: int) -> str:
        try:
            return self.sql[n]
        except KeyError:
            sql = self.sql[n] = self.head + ",".join([self.row] * n)
            return sql


class SqliteInserts:
    """Plain inserts on one database file, committed by a process of its own; one batch at
    a time (the storage's writer task awaits each)."""

    def __init__(self, database: str, *, uri: bool, json_serializer: Callable[[Any], str]) -> None:
        self._database = database
        self._uri = uri
        # The engine's own serializer: JSON columns hold exactly what SQLAlchemy would write
        # (None included: JSON null).
        self._encoders: Encoders = {sa.JSON: json_serializer, sa.DateTime: _datetime}
        self._statements: dict[tuple[sa.Table, tuple[str, ...]], _Statement | None] = {}
        self._process: asyncio.subprocess.Process | None = None  # started on the first batch

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
            planned.extend(statement.plan(rows))
        return planned

    def _statement(self, table: sa.Table, keys: tuple[str, ...]) -> _Statement | None:
        try:
            return self._statements[(table, keys)]
        except KeyError:
            possible = _Statement.possible(table, keys, self._encoders)
            made = _Statement(table, keys, self._encoders) if possible else None
            self._statements[(table, keys)] = made
            return made

    async def write(self, tables: Iterable[TableInsert]) -> bool:
        """Insert and commit; False (nothing done) if a column needs SQLAlchemy. On failure:
        rolled back and raised (the caller then takes the ordinary way, whose errors are
        SQLAlchemy's)."""
        planned = self.plan(tables)
        if planned is None:
            return False
        frame = orjson.dumps(planned)
        process = self._process or await self._start()
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            process.stdin.write(HEADER.pack(len(frame)) + frame)
            (size,) = HEADER.unpack(await process.stdout.readexactly(HEADER.size))
            error = await process.stdout.readexactly(size) if size else b""
        except BaseException as e:
            # Gone (killed?), or this wait cancelled half-way: its replies can no longer be
            # matched to batches. The next batch starts another.
            self._forget()
            if isinstance(e, asyncio.IncompleteReadError | ConnectionError):
                raise ConnectionError("the SQLite insert process ended") from e
            raise
        if error:
            raise RuntimeError(f"SQLite insert process: {error.decode(errors='replace')}")
        return True

    async def _start(self) -> asyncio.subprocess.Process:
        args = [self._database, *(["--uri"] if self._uri else [])]
        self._process = await asyncio.create_subprocess_exec(
            # -I: none of the server's PYTHON* variables, working directory or user site on its
            # path (the venv's packages, orjson among them, are still found).
            *(sys.executable, "-I", str(Path(sqlite_insert_process.__file__)), *args),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        log.debug("SQLite insert process %s started", self._process.pid)
        return self._process

    def _forget(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()

    async def close(self) -> None:
        """Let the process finish what it was sent and exit (end of its input)."""
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
