"""Keys and ownership in the database, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from engine.clock import utcnow
from engine.store.api_keys import (
    add_api_key,
    reassign_owner,
    remove_api_key,
    stored_api_keys,
    workflow_owners,
)
from engine.store.tables import executions, session_turns, workflows
from engine.store.writer import Storage


def key_row(name: str, digest: str) -> dict[str, object]:
    return {
        "name": name,
        "digest": digest,
        "tier": "free",
        "admin": False,
        "read_only": True,
        "workflows": ["support_bot"],
        "expires_at": utcnow() + timedelta(days=1),
        "created_at": utcnow(),
    }


async def test_a_key_is_stored_once_by_name_and_removed(storage: Storage) -> None:
    assert await add_api_key(storage, key_row("ci", "ab" * 32))
    assert not await add_api_key(storage, key_row("ci", "cd" * 32))  # the name is taken
    rows = await stored_api_keys(storage)
    assert [(r.name, r.digest, r.read_only, r.workflows) for r in rows] == [
        ("ci", "ab" * 32, True, ["support_bot"])
    ]
    assert await remove_api_key(storage, "ci")
    assert not await remove_api_key(storage, "ci")
    assert await stored_api_keys(storage) == []


async def test_reassigning_moves_workflows_executions_and_only_that_names_sessions(storage: Storage) -> None:
    now = utcnow()
    doc = {"nodes": [], "connections": []}
    await storage.queue_inserts(
        [
            (
                workflows,
                [
                    {
                        "id": f"wf_{o}",
                        "owner": o,
                        "name": o,
                        "description": "",
                        "document": doc,
                        "status": "active",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for o in ("team", "team.x")
                ],
            ),
            (
                executions,
                [
                    {
                        "id": "exec_1",
                        "workflow_id": "wf_team",
                        "owner": "team",
                        "session_id": "api:team:x:s1",
                        "status": "completed",
                        "inputs": {},
                        "outputs": {},
                        "start_time": now,
                    },
                    {
                        "id": "exec_2",
                        "workflow_id": "wf_team",
                        "owner": "team",
                        "session_id": None,
                        "status": "completed",
                        "inputs": {},
                        "outputs": {},
                        "start_time": now,
                    },
                ],
            ),
            (
                session_turns,
                [
                    {"session_id": s, "user_text": "q", "answer_text": "a", "created_at": now}
                    for s in ("api:team:x:s1", "api:team.x:s1", "telegram:1:team")
                ],
            ),
        ]
    )
    counts = await reassign_owner(storage, "team", "ops")
    assert counts == {"workflows": 1, "executions": 2, "session_turns": 1}
    assert await workflow_owners(storage) == {"ops": 1, "team.x": 1}
    turns = await storage.fetch_all(
        sa.select(session_turns.c.session_id).order_by(session_turns.c.session_id)
    )
    assert [t.session_id for t in turns] == ["api:ops:x:s1", "api:team.x:s1", "telegram:1:team"]
    moved = await storage.fetch_all(
        sa.select(executions.c.owner, executions.c.session_id).order_by(executions.c.id)
    )
    assert [tuple(m) for m in moved] == [("ops", "api:ops:x:s1"), ("ops", None)]


async def test_a_legacy_name_with_a_colon_moves_only_its_own_sessions(storage: Storage) -> None:
    # Before names were restricted, key "team:x" stored session "s1" as "api:team:x:s1", which
    # also prefixes key "team"'s session "x:s2" ("api:team:x:s2"): only its executions' move.
    now = utcnow()
    await storage.queue_inserts(
        [
            (
                executions,
                [
                    {
                        "id": "exec_1",
                        "workflow_id": "wf_1",
                        "owner": "team:x",
                        "session_id": "api:team:x:s1",
                        "status": "completed",
                        "inputs": {},
                        "outputs": {},
                        "start_time": now,
                    },
                    {
                        "id": "exec_2",
                        "workflow_id": "wf_1",
                        "owner": "team",
                        "session_id": "api:team:x:s2",
                        "status": "completed",
                        "inputs": {},
                        "outputs": {},
                        "start_time": now,
                    },
                ],
            ),
            (
                session_turns,
                [
                    {"session_id": s, "user_text": "q", "answer_text": "a", "created_at": now}
                    for s in ("api:team:x:s1", "api:team:x:s2")
                ],
            ),
        ]
    )
    counts = await reassign_owner(storage, "team:x", "team-x")
    assert counts == {"workflows": 0, "executions": 1, "session_turns": 1}
    turns = await storage.fetch_all(
        sa.select(session_turns.c.session_id).order_by(session_turns.c.session_id)
    )
    assert [t.session_id for t in turns] == ["api:team-x:s1", "api:team:x:s2"]
