"""The SQLite fast path stores exactly what SQLAlchemy stores: for every column type it takes
over, the same storage class and the same bytes, for any value, so rows read back the same
whichever way they were written.

The fast path's side runs its real steps: `SqliteInserts.plan`, the orjson frame it sends,
and `sqlite_insert_process.commit` on a connection of its own. SQLAlchemy's side inserts
through the storage's tables and JSON serializer with the pysqlite dialect (aiosqlite's,
which the server uses, is built on it and binds values the same way).
"""

from __future__ import annotations

import datetime
import sqlite3
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from hypothesis import event, given
from hypothesis import strategies as st

from engine.store import tables, writer
from engine.store.sqlite import process as sqlite_insert_process
from engine.store.sqlite.inserts import SqliteInserts
from tests.unit.strategies import INT64, INTS, MIXED_TEXT, STORABLE_SCALARS, examples, json_values, nested

# Each accepted column type the tables use, as its table declares it.
ACCEPTED = (sa.String, sa.Text, sa.Integer, sa.JSON, sa.DateTime)
# The tables whose every column is of those types: the only ones whose rows take the fast path
# (api_keys has a Boolean; the inbox a BigInteger, and its rows are insert-or-ignore anyway).
FAST_TABLES = [t for t in tables.metadata.sorted_tables if all(type(c.type) in ACCEPTED for c in t.c)]
COLUMN_TYPES = {
    type(c.type).__name__
    + (f"(timezone={c.type.timezone})" if isinstance(c.type, sa.DateTime) else ""): c.type
    for t in FAST_TABLES
    for c in t.c
}

TEXT_VALUES = st.one_of(
    st.text(),
    MIXED_TEXT,
    st.text(min_size=3000, max_size=4000),
    st.sampled_from(["", "\x00", "a\x00b", "\ud800"]),
)
OFFSETS = st.builds(lambda s: datetime.timezone(datetime.timedelta(seconds=s)), st.integers(-86399, 86399))
DATETIMES = st.one_of(
    st.datetimes(),  # naive, as SQLite hands them back
    st.datetimes(timezones=st.just(datetime.UTC)),  # what chatgate stores
    st.datetimes(timezones=st.timezones() | OFFSETS),
    st.sampled_from([datetime.datetime.min, datetime.datetime.max, datetime.datetime(999, 1, 1, 0, 0, 0, 1)]),
)
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "String": TEXT_VALUES,
    "Text": TEXT_VALUES,
    "Integer": INTS,
    "JSON": st.one_of(
        json_values(20, STORABLE_SCALARS),
        json_values(20, STORABLE_SCALARS),
        json_values(20),
        st.builds(nested, st.integers(50, 300)),
        st.dictionaries(st.integers(), st.integers(), min_size=1, max_size=2),  # no string keys: both refuse
        st.sampled_from([float("nan"), float("inf"), "\x00", {"k": "\ud800"}]),
    ),
    "DateTime": DATETIMES,
}


def _value_strategy(type_name: str) -> st.SearchStrategy[Any]:
    return st.none() | VALUES[type_name.split("(")[0]]


class _Sides:
    """One in-memory database per side, with one single-column table per column type."""

    def __init__(self) -> None:
        md = sa.MetaData()
        self.tables = {
            name: sa.Table(f"t{i}", md, sa.Column("v", kind, nullable=True))
            for i, (name, kind) in enumerate(COLUMN_TYPES.items())
        }
        self.engine = sa.create_engine("sqlite://", **writer.JSON_CODEC)
        md.create_all(self.engine)
        self.fast_db = sqlite3.connect(":memory:", isolation_level=None)
        for table in self.tables.values():
            self.fast_db.execute(str(sa.schema.CreateTable(table).compile(self.engine)))
        self.fast = SqliteInserts(":memory:", uri=False, json_serializer=writer.json_dumps)

    def stored(self, table: sa.Table, rows: list[dict[str, Any]]) -> tuple[Any, Any]:
        """What each side stored, as (typeof, hex) of every value, or the exception it raised."""
        self.fast_db.execute(f"DELETE FROM {table.name}")
        try:
            frame = orjson.dumps(self.fast.plan([(table, rows)]))  # as SqliteInserts.write sends it
            error = sqlite_insert_process.commit(self.fast_db, frame)
            fast: Any = (
                RuntimeError(error.decode())
                if error
                else self.fast_db.execute(
                    f"SELECT typeof(v), hex(v) FROM {table.name} ORDER BY rowid"
                ).fetchall()
            )
        except Exception as e:  # write() raises it; the storage then takes SQLAlchemy's way
            fast = e
        with self.engine.begin() as conn:
            conn.execute(table.delete())
        try:
            with self.engine.begin() as conn:
                conn.execute(table.insert(), rows)
            with self.engine.connect() as conn:
                sql = sa.text(f"SELECT typeof(v), hex(v) FROM {table.name} ORDER BY rowid")
                slow: Any = [tuple(r) for r in conn.execute(sql)]
        except Exception as e:
            slow = e
        return fast, slow


@pytest.fixture(scope="module")
def sides() -> Iterator[_Sides]:
    made = _Sides()
    yield made
    made.fast_db.close()
    made.engine.dispose()


def test_the_fast_path_takes_every_table_whose_rows_are_plain_inserts() -> None:
    # api_keys, the inbox and files are written by statements of their own (booleans,
    # insert-or-ignore, bytes checked against the quota in the insert's transaction)
    assert {t.name for t in tables.metadata.sorted_tables} - {t.name for t in FAST_TABLES} == {
        "api_keys",
        "telegram_inbox",
        "files",
    }
    fast = SqliteInserts(":memory:", uri=False, json_serializer=writer.json_dumps)
    for table in FAST_TABLES:
        plain = [c.name for c in table.c if type(c.type) in ACCEPTED]
        assert fast.plan([(table, [dict.fromkeys(plain)])]) is not None, table.name
    assert {"String", "Text", "Integer", "JSON", "DateTime(timezone=True)"} <= set(COLUMN_TYPES)


@examples(150)
@given(data=st.data(), type_name=st.sampled_from(sorted(COLUMN_TYPES)))
def test_each_value_is_stored_as_sqlalchemy_stores_it(
    sides: _Sides, data: st.DataObject, type_name: str
) -> None:
    # The module's fixture: one pair of databases for every example; each example empties
    # its table first, so nothing of one example reaches the next.
    values = data.draw(st.lists(_value_strategy(type_name), min_size=1, max_size=4), label="values")
    fast, slow = sides.stored(sides.tables[type_name], [{"v": v} for v in values])
    if isinstance(fast, Exception):
        # The fast path gives up and the storage writes the batch through SQLAlchemy: fine,
        # as long as it does so only for what SQLAlchemy refuses too.
        event(f"{type_name}: fast path fell back ({type(fast).__name__})")
        assert isinstance(slow, Exception), (values, fast, slow)
        return
    event(f"{type_name}: stored")
    assert not isinstance(slow, Exception), (values, fast, slow)
    assert fast == slow, values


ROW_VALUES = {
    "String": st.text(max_size=20),
    "Text": MIXED_TEXT,
    "Integer": INT64,
    "JSON": json_values(scalars=STORABLE_SCALARS),
    "DateTime": st.datetimes(timezones=st.just(datetime.UTC)),
}


@examples(40)
@given(data=st.data(), table=st.sampled_from(FAST_TABLES))
def test_whole_rows_of_the_real_tables_are_stored_alike(
    sides: _Sides, data: st.DataObject, table: sa.Table
) -> None:
    """Rows as the storage writes them (every column, multi-row INSERTs): the same on both sides."""
    columns = [
        c
        for c in table.c
        if not (c.primary_key and c.autoincrement is True and isinstance(c.type, sa.Integer))
    ]
    rows = []
    for n in range(data.draw(st.integers(1, 5), label="rows")):
        row = {}
        for c in columns:
            kind = type(c.type).__name__
            value = data.draw(
                ROW_VALUES[kind] if not c.nullable else st.none() | ROW_VALUES[kind], label=c.name
            )
            row[c.name] = f"{n}-{value}" if c.primary_key else value
        rows.append(row)
    fast_db, engine = (
        sqlite3.connect(":memory:", isolation_level=None),
        sa.create_engine("sqlite://", **writer.JSON_CODEC),
    )
    try:
        table.metadata.create_all(engine, tables=[table])
        fast_db.execute(str(sa.schema.CreateTable(table).compile(engine)))
        fast = SqliteInserts(":memory:", uri=False, json_serializer=writer.json_dumps)
        assert not sqlite_insert_process.commit(fast_db, orjson.dumps(fast.plan([(table, rows)])))
        with engine.begin() as conn:
            conn.execute(table.insert(), rows)
        shown = ", ".join(f"typeof({c.name}), hex({c.name})" for c in table.c)
        on_fast = fast_db.execute(f"SELECT {shown} FROM {table.name} ORDER BY rowid").fetchall()
        with engine.connect() as conn:
            on_slow = [
                tuple(r) for r in conn.execute(sa.text(f"SELECT {shown} FROM {table.name} ORDER BY rowid"))
            ]
        assert on_fast == on_slow
    finally:
        fast_db.close()
        engine.dispose()
