"""The storage: SQLAlchemy 2 async Core, SQLite by default, PostgreSQL by URL.

Writes go through one writer task that commits whatever has queued up in a
single transaction (group commit) and only then resolves each caller's future:
nothing is acknowledged before it is on disk, yet a burst of executions costs
one commit instead of one each. What is written and read is said by the
repositories beside this module (workflows, executions, history, answered,
inbox, api_keys), the only code that speaks SQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from engine.store.migrate import migrate
from engine.store.refusals import log_refused, refusal
from engine.store.sqlite.inserts import SqliteInserts
from engine.store.sqlite.process import PRAGMAS
from engine.store.urls import async_url

log = logging.getLogger("chatgate.storage")


# Rows to insert, per table: what a caller hands over to be committed in one go.
TableRows = list[tuple[sa.Table, list[dict[str, Any]]]]

# A custom write: plain SQLAlchemy Core on the connection of the writer's next transaction.
# Synchronous: the whole batch runs as one piece of synchronous work (see _WriterConnection).
Write = Callable[[sa.Connection], None]


class _Insert:
    """Rows for one or more tables; the inserts of a batch become one executemany per table."""

    __slots__ = ("rows",)

    def __init__(self, rows: TableRows) -> None:
        self.rows = rows


# A queued write and the future its caller awaits.
_Queued = tuple["_Insert | Write", asyncio.Future[None]]


class Storage:
    def __init__(self, url: str, *, batch_max: int = 512) -> None:
        self.url = async_url(url)
        self.batch_max = batch_max
        self.engine: AsyncEngine | None = None
        # Queued writes and the batch being committed. A list and a wake-up future rather
        # than an asyncio.Queue: every execution queues one write, and the queue's own
        # bookkeeping (getters, task counts) cost more than the list.
        self._pending: list[_Queued] = []
        self._committing: list[_Queued] = []
        self._wake: asyncio.Future[None] | None = None  # set when a write is queued
        self._idle: asyncio.Future[None] | None = None  # set when nothing is left (close)
        self._writer: asyncio.Task[None] | None = None
        self._wconn: _WriterConnection | None = None

    @property
    def db(self) -> AsyncEngine:
        assert self.engine is not None, "Storage.open() was not called"
        return self.engine

    async def open(self) -> None:
        u = make_url(self.url)
        if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_async_engine(
            self.url,
            pool_pre_ping=u.get_backend_name() != "sqlite",
            # PostgreSQL: enough pooled connections for a busy process's concurrent reads
            # (history is read per execution when processes share Redis). SQLAlchemy's 5 + 10
            # made the rest wait and opened/closed overflow connections per request; measured
            # in benchmarks/scale_out.py. 40 per process: mind max_connections (100) at 3+.
            **({} if u.get_backend_name() == "sqlite" else {"pool_size": 20, "max_overflow": 20}),
            # A failed statement's text names its parameters, i.e. users' input: never in a log.
            hide_parameters=True,
            **JSON_CODEC,
        )
        if u.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        await self.migrate()
        self._wconn = _WriterConnection(self.engine)
        self._writer = asyncio.create_task(self._write_loop(), name="storage-writer")

    async def migrate(self) -> None:
        """Bring the schema up to date with Alembic (idempotent; runs on every start)."""
        await migrate(self.db)

    async def close(self) -> None:
        if self._writer is not None:
            if self._committing or self._pending:  # everything queued lands first
                self._idle = asyncio.get_running_loop().create_future()
                await self._idle
            self._writer.cancel()
            self._writer = None
        if self._wconn is not None:
            await self._wconn.close()
            self._wconn = None
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None

    # -- writing -----------------------------------------------------------

    def insert(self, table: sa.Table, row: dict[str, Any]) -> asyncio.Future[None]:
        return self.queue_insert(table, [row])

    def queue_insert(self, table: sa.Table, rows: list[dict[str, Any]]) -> asyncio.Future[None]:
        """Queue rows now (every method here queues when called, not when awaited); the
        future resolves once they are committed. Queue several and await them together
        to have them land in the same commit."""
        return self._queue_op(_Insert([(table, rows)]))

    def queue_inserts(self, inserts: TableRows) -> asyncio.Future[None]:
        """Rows for several tables, committed together, with one future for all of them."""
        return self._queue_op(_Insert(inserts))

    def write(self, fn: Write) -> asyncio.Future[None]:
        """Run ``fn`` inside the next committed batch, after everything queued before it;
        the future resolves once it is durable."""
        return self._queue_op(fn)

    def queue_write(self, fn: Write) -> None:
        """Like `write`, without waiting: for housekeeping nobody needs to wait for."""
        self._queue_op(fn).add_done_callback(_log_failure)

    def _queue_op(self, op: _Insert | Write) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((op, fut))
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)
        return fut

    async def _next_batch(self) -> list[_Queued]:
        while not self._pending:
            if self._idle is not None and not self._idle.done():
                self._idle.set_result(None)
            self._wake = asyncio.get_running_loop().create_future()
            await self._wake
        batch, self._pending = self._pending[: self.batch_max], self._pending[self.batch_max :]
        return batch

    async def _write_loop(self) -> None:
        assert self._wconn is not None
        while True:
            batch = self._committing = await self._next_batch()
            try:
                await self._wconn.commit([op for op, _ in batch])
            except Exception as e:
                # One bad write must not fail its neighbours: retry them one by one.
                if len(batch) > 1:
                    refused = 0
                    for op, fut in batch:
                        try:
                            await self._wconn.commit([op])
                            _resolve(fut, None)
                        except Exception as single:
                            refused += 1
                            _resolve(fut, refusal(single))
                    if refused:
                        log_refused(e, refused, len(batch))
                else:
                    log_refused(e, 1, 1)
                    _resolve(batch[0][1], refusal(e))
            else:
                for _, fut in batch:
                    _resolve(fut, None)
            finally:
                self._committing = []

    # -- reading -----------------------------------------------------------

    async def fetch_one(self, query: sa.Select[Any]) -> sa.Row[Any] | None:
        async with self.db.connect() as conn:
            row: sa.Row[Any] | None = (await conn.execute(query)).first()
            return row

    async def fetch_all(self, query: sa.Select[Any]) -> list[sa.Row[Any]]:
        async with self.db.connect() as conn:
            return list((await conn.execute(query)).all())

    async def scalar(self, query: sa.Select[Any]) -> Any:
        async with self.db.connect() as conn:
            return (await conn.execute(query)).scalar()


def _apply(ops: Sequence[_Insert | Write], conn: sa.Connection) -> None:
    """One batch, inside its transaction. Inserts are gathered per table into one
    executemany each; a custom write first flushes what came before it, so writes keep
    their relative order."""
    pending: dict[sa.Table, list[dict[str, Any]]] = {}
    for op in ops:
        if isinstance(op, _Insert):
            for table, rows in op.rows:
                pending.setdefault(table, []).extend(rows)
        else:
            _flush(conn, pending)
            op(conn)
    _flush(conn, pending)


def _flush(conn: sa.Connection, pending: dict[sa.Table, list[dict[str, Any]]]) -> None:
    for table, rows in pending.items():
        conn.execute(table.insert(), rows)
    pending.clear()


class _WriterConnection:
    """The writer's own connection (no pool checkout and reset per batch); a batch runs
    on it as synchronous Core through SQLAlchemy's ``run_sync``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.conn: AsyncConnection | None = None
        self._sqlite = _sqlite_inserts(engine)

    async def commit(self, ops: Sequence[_Insert | Write]) -> None:
        if self._sqlite is not None and all(isinstance(op, _Insert) for op in ops):
            tables = [t for op in ops if isinstance(op, _Insert) for t in op.rows]
            try:
                if await self._sqlite.write(tables):
                    return
            except Exception as e:  # rolled back: the ordinary way below reports it properly
                log.debug("plain inserts failed (%s); retrying through SQLAlchemy", type(e).__name__)
        if self.conn is None or self.conn.closed or self.conn.invalidated:
            self.conn = await self.engine.connect()
        try:
            async with self.conn.begin():
                await self.conn.run_sync(functools.partial(_apply, ops))
        except Exception:
            await self._drop()  # a broken connection (database restarted) must not poison every later batch
            raise

    async def _drop(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await self.conn.close()
            self.conn = None

    async def close(self) -> None:
        await self._drop()
        if self._sqlite is not None:
            await self._sqlite.close()
            self._sqlite = None


def _sqlite_inserts(engine: AsyncEngine) -> SqliteInserts | None:
    """The plain-insert path for a SQLite database file, opened as the engine opens it; an
    in-memory database exists only on the engine's own connection, so it has none."""
    if engine.dialect.name != "sqlite":
        return None
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    if args[0] == ":memory:" or "mode=memory" in args[0]:
        return None
    return SqliteInserts(args[0], uri=bool(kwargs.get("uri")), json_serializer=json_dumps)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    for pragma in PRAGMAS:
        cur.execute(pragma)
    cur.close()


def _log_failure(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.error("background database write failed", exc_info=fut.exception())


def json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# orjson for JSON columns: they are written on every execution.
JSON_CODEC: dict[str, Any] = {"json_serializer": json_dumps, "json_deserializer": orjson.loads}


def _resolve(fut: asyncio.Future[None], error: BaseException | None) -> None:
    if fut.done():
        return
    if error is None:
        fut.set_result(None)
    else:
        fut.set_exception(error)
