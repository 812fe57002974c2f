"""Persistence with SQLAlchemy 2 async Core: SQLite by default, PostgreSQL by URL.

Writes go through one writer task that commits whatever has queued up in a
single transaction (group commit) and only then resolves each caller's future:
nothing is acknowledged before it is on disk, yet a burst of executions costs
one commit instead of one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from engine.errors import Unavailable
from engine.session_ids import api_session_prefix
from engine.store.sqlite.inserts import SqliteInserts
from engine.store.sqlite.process import PRAGMAS

log = logging.getLogger("chatgate.storage")

metadata = sa.MetaData()

workflows = sa.Table(
    "workflows",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False, index=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

executions = sa.Table(
    "executions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("workflow_id", sa.String(64), nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("session_id", sa.String(512), nullable=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("inputs", sa.JSON, nullable=False),
    sa.Column("outputs", sa.JSON, nullable=False),
    sa.Column("result", sa.JSON, nullable=True),
    sa.Column("error", sa.JSON, nullable=True),
    sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
)

# One row per exchange: the user's message and the answer to it.
session_turns = sa.Table(
    "session_turns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(512), nullable=False, index=True),
    sa.Column("user_text", sa.Text, nullable=False),
    sa.Column("answer_text", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Chat updates already answered, so a redelivered update is never answered twice.
seen_updates = sa.Table(
    "seen_updates",
    metadata,
    sa.Column("source", sa.String(128), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)


# API keys made with `chatgate keys create` / the admin API; keys from the config file are
# never stored. Only the key's SHA-256 digest is kept: the key itself is shown once.
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("tier", sa.String(64), nullable=False),
    sa.Column("admin", sa.Boolean, nullable=False),
    sa.Column("read_only", sa.Boolean, nullable=False),
    sa.Column("workflows", sa.JSON, nullable=True),  # names/ids it may run; null: any
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_api_keys_digest", "digest", unique=True),
)


def async_url(url: str) -> str:
    """Accept plain sqlite:// and postgresql:// URLs and pick the async drivers."""
    u = make_url(url)
    if u.drivername == "sqlite":
        u = u.set(drivername="sqlite+aiosqlite")
    elif u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+asyncpg")
    return u.render_as_string(hide_password=False)


def redacted_url(url: str) -> str:
    """The URL with its password masked, for messages."""
    return make_url(url).render_as_string(hide_password=True)


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
            **_JSON,
        )
        if u.get_backend_name() == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        await self.migrate()
        self._wconn = _WriterConnection(self.engine)
        self._writer = asyncio.create_task(self._write_loop(), name="storage-writer")

    async def migrate(self) -> None:
        """Bring the schema up to date with Alembic (idempotent; runs on every start)."""
        async with self.db.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Several processes starting at once: one migrates, the others wait for its
                # commit and find nothing left to do (held until this transaction ends).
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            await conn.run_sync(_upgrade)

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
                            _resolve(fut, _refusal(single))
                    if refused:
                        _log_refused(e, refused, len(batch))
                else:
                    _log_refused(e, 1, 1)
                    _resolve(batch[0][1], _refusal(e))
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
    return SqliteInserts(args[0], uri=bool(kwargs.get("uri")), json_serializer=_json_dumps)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    for pragma in PRAGMAS:
        cur.execute(pragma)
    cur.close()


MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK = 0x63686174676174  # any constant shared by every chatgate ("chatgat")


def _upgrade(connection: sa.Connection) -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    alembic_command.upgrade(config, "head")


def out_of_space(error: BaseException) -> bool:
    """The database, or the disk under it, is full: SQLite's SQLITE_FULL, PostgreSQL's class 53
    (disk_full, out of memory), or ENOSPC, however deep SQLAlchemy or the drivers wrapped it."""
    seen: BaseException | None = error
    for _ in range(8):  # wrappers wrap a few levels deep at most
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        if isinstance(seen, sqlite3.Error) and getattr(seen, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        if str(getattr(seen, "sqlstate", None) or "").startswith("53"):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def _refusal(error: Exception) -> Exception:
    """What a caller sees of a failed write: a full database is a 503 to retry later (nothing
    of the write was stored); anything else as it was."""
    if out_of_space(error):
        return Unavailable(
            "the database has no space left, so nothing was stored; retry once space is freed",
            {"service": "database", "error": "out_of_space"},
        )
    return error


def _log_refused(error: Exception, refused: int, batch: int) -> None:
    """A full database, once per batch (its callers answer 503 and log nothing). Other failures
    are logged by whoever handles them, with the traceback."""
    if out_of_space(error):
        # The driver's one-line reason only: SQLAlchemy's text adds the statement.
        inner = getattr(error, "orig", None) or error
        reason = f"{type(inner).__name__}: {str(inner).strip().splitlines()[0][:200]}"
        log.error(
            "database full: %d of %d writes refused, nothing of them stored (%s)", refused, batch, reason
        )


def _log_failure(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.error("background database write failed", exc_info=fut.exception())


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# orjson for JSON columns: they are written on every execution.
_JSON: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}


def _resolve(fut: asyncio.Future[None], error: BaseException | None) -> None:
    if fut.done():
        return
    if error is None:
        fut.set_result(None)
    else:
        fut.set_exception(error)


# -- API keys and what their names own ----------------------------------------------


async def stored_api_keys(storage: Storage) -> list[sa.Row[Any]]:
    """Every key in the database (a handful: operators make them by hand), oldest first."""
    return await storage.fetch_all(sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.name))


async def add_api_key(storage: Storage, row: dict[str, Any]) -> bool:
    """Store a new key; False when a key of that name is stored already."""
    added = True

    def write(conn: sa.Connection) -> None:
        nonlocal added
        taken = conn.execute(sa.select(api_keys.c.name).where(api_keys.c.name == row["name"])).first()
        if taken is not None:
            added = False
            return
        conn.execute(api_keys.insert().values(**row))

    await storage.write(write)
    return added


async def remove_api_key(storage: Storage, name: str) -> bool:
    """Delete a stored key; False when there was none of that name."""
    removed = 0

    def write(conn: sa.Connection) -> None:
        nonlocal removed
        removed = conn.execute(api_keys.delete().where(api_keys.c.name == name)).rowcount

    await storage.write(write)
    return removed > 0


async def workflow_owners(storage: Storage) -> dict[str, int]:
    """How many stored workflows each key name owns."""
    rows = await storage.fetch_all(
        sa.select(workflows.c.owner, sa.func.count().label("n"))
        .group_by(workflows.c.owner)
        .order_by(workflows.c.owner)
    )
    return {r.owner: int(r.n) for r in rows}


async def reassign_owner(storage: Storage, old: str, new: str) -> dict[str, int]:
    """Give everything key name ``old`` owns to ``new``: its workflows, its execution
    records and its API sessions' history (re-prefixed), in one transaction."""
    counts: dict[str, int] = {}
    before, after = api_session_prefix(old), api_session_prefix(new)

    def renamed(column: sa.Column[Any]) -> Any:
        return sa.literal(after, sa.String) + sa.func.substr(column, len(before) + 1)

    def prefixed(column: sa.Column[Any]) -> Any:
        return sa.func.substr(column, 1, len(before)) == before

    def write(conn: sa.Connection) -> None:
        turns = session_turns.update().where(prefixed(session_turns.c.session_id))
        if ":" in old:
            # A name from before names were restricted: "api:team:x:" also prefixes key
            # "team"'s session "x:…", so only the sessions its own executions name move.
            own = sa.select(executions.c.session_id).where(executions.c.owner == old)
            turns = turns.where(session_turns.c.session_id.in_(own))
        counts["session_turns"] = conn.execute(
            turns.values(session_id=renamed(session_turns.c.session_id))
        ).rowcount
        counts["workflows"] = conn.execute(
            workflows.update().where(workflows.c.owner == old).values(owner=new)
        ).rowcount
        counts["executions"] = conn.execute(
            executions.update()
            .where(executions.c.owner == old)
            .values(
                owner=new,
                session_id=sa.case(
                    (prefixed(executions.c.session_id), renamed(executions.c.session_id)),
                    else_=executions.c.session_id,
                ),
            )
        ).rowcount

    await storage.write(write)
    return {k: counts[k] for k in ("workflows", "executions", "session_turns")}
