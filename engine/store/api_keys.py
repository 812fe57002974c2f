"""Stored API keys (``api_keys``) and what their names own across the other tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from engine.session_ids import api_session_prefix
from engine.store.tables import api_keys, executions, session_turns, workflows
from engine.store.writer import Storage


@dataclass(frozen=True, slots=True)
class StoredKey:
    name: str
    digest: str  # SHA-256 of the key, hex
    tier: str
    admin: bool
    read_only: bool
    workflows: list[str] | None  # names/ids it may run; None: any
    expires_at: datetime | None
    created_at: datetime


async def stored_api_keys(storage: Storage) -> list[StoredKey]:
    """Every key in the database (a handful: operators make them by hand), oldest first."""
    rows = await storage.fetch_all(sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.name))
    return [
        StoredKey(
            r.name,
            r.digest,
            r.tier,
            bool(r.admin),
            bool(r.read_only),
            r.workflows,
            r.expires_at,
            r.created_at,
        )
        for r in rows
    ]


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
