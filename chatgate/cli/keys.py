"""``chatgate keys …`` and ``chatgate workflows reassign``: key management from the shell.

They work on the database of the config's ``storage.url`` directly, so they need no
running server and no admin key (whoever can read the config and the database is the
operator). They are safe while chatgate serves (SQLite in WAL mode, or PostgreSQL): every
running process sees a new or revoked key within `chatgate.keys.REFRESH_S` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator

from chatgate.keys import (
    REFRESH_S,
    NewKey,
    Principal,
    StoredKeys,
    admin_key_path,
    admin_tier,
    create_key,
    reassign_workflows,
    revoke_key,
)
from config.schema import GENERATED_KEY_NAME, Settings
from engine.clock import iso, utcnow
from engine.errors import ChatgateError
from engine.store.api_keys import stored_api_keys, workflow_owners
from engine.store.writer import Storage


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[Storage]:
    storage = Storage(settings.storage.url)
    await storage.open()  # also brings the schema up to date (the keys table may be new)
    try:
        yield storage
    finally:
        await storage.close()


async def create(settings: Settings, args: argparse.Namespace) -> int:
    async with _database(settings) as storage:
        spec = NewKey(
            name=args.name,
            tier=args.tier,
            admin=args.admin,
            read_only=args.read_only,
            workflows=[w.strip() for w in args.workflows.split(",") if w.strip()] if args.workflows else None,
            expires_at=args.expires,
        )
        secret = await create_key(storage, settings, spec)
        owned = (await workflow_owners(storage)).get(spec.name, 0)
    rights = ", ".join(
        [f"tier {spec.tier}"]
        + (["admin"] if spec.admin else [])
        + (["read-only"] if spec.read_only else [])
        + ([f"may run only {', '.join(spec.workflows)}"] if spec.workflows else [])
        + ([f"expires {iso(spec.expires_at)}"] if spec.expires_at else [])
    )
    print(
        f"created API key '{spec.name}' ({rights}); it works within {REFRESH_S:g}s in every running "
        "chatgate. It is shown this once (only its digest is stored):",
        file=sys.stderr,
    )
    if owned:
        print(f"(the name '{spec.name}' owns {owned} workflow(s): this key sees them)", file=sys.stderr)
    print(secret)  # alone on stdout: KEY=$(chatgate keys create …)
    return 0


def _principals(settings: Settings, stored: StoredKeys) -> list[Principal]:
    """Every key there is, as a server would see it, without generating anything."""
    admins = {a[4:] for a in settings.admins if a.startswith("key:")}
    keys = [Principal(k.name, k.tier, admin=k.name in admins) for k in settings.api_keys]
    if admin_key_path(settings).exists() and all(k.name != GENERATED_KEY_NAME for k in settings.api_keys):
        keys.append(Principal(GENERATED_KEY_NAME, admin_tier(settings), admin=True, source="generated"))
    return keys + list(stored.by_digest.values())


async def list_(settings: Settings, args: argparse.Namespace) -> int:
    async with _database(settings) as storage:
        stored = StoredKeys()
        stored.replace(await stored_api_keys(storage), {k.name for k in settings.api_keys})
        owned = await workflow_owners(storage)
    keys = _principals(settings, stored)
    rows = [("NAME", "SOURCE", "TIER", "RIGHTS", "EXPIRES", "WORKFLOWS OWNED")]
    now = utcnow()
    for p in keys:
        rights = ",".join(
            (["admin"] if p.admin else [])
            + (["read-only"] if p.read_only else [])
            + ([f"runs:{'|'.join(sorted(p.workflows))}"] if p.workflows is not None else [])
        )
        expires = iso(p.expires_at) or "-"
        if p.expires_at is not None and p.expires_at <= now:
            expires += " (expired)"
        rows.append((p.name, p.source, p.tier, rights or "-", expires, str(owned.get(p.name, 0))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    names = {p.name for p in keys}
    for owner, count in owned.items():
        if owner not in names:
            print(
                f"no key is named '{owner}', which owns {count} workflow(s): "
                f"chatgate workflows reassign --from {owner} --to NAME"
            )
    return 0


async def revoke(settings: Settings, args: argparse.Namespace) -> int:
    async with _database(settings) as storage:
        source = await revoke_key(storage, settings, args.name)
    what = f"deleted {admin_key_path(settings)}" if source == "generated" else "removed from the database"
    print(
        f"revoked API key '{args.name}' ({what}); every running chatgate refuses it within {REFRESH_S:g}s. "
        f"What it created still belongs to the name '{args.name}' (see chatgate workflows reassign)."
    )
    return 0


async def reassign(settings: Settings, args: argparse.Namespace) -> int:
    async with _database(settings) as storage:
        counts = await reassign_workflows(storage, args.from_, args.to)
    print(
        f"moved {counts['workflows']} workflow(s), {counts['executions']} execution record(s) and "
        f"{counts['session_turns']} session turn(s) from '{args.from_}' to '{args.to}'. A running "
        "chatgate shows them to the new owner at once; `chatgate reload` makes it forget the old "
        "owner's cached copies."
    )
    return 0


def run(command: str, settings: Settings, args: argparse.Namespace) -> int:
    """Run one key command; a refusal (taken name, unknown tier, …) is one line, exit 1."""
    actions = {
        "keys create": create,
        "keys list": list_,
        "keys revoke": revoke,
        "workflows reassign": reassign,
    }
    try:
        return asyncio.run(actions[command](settings, args))
    except ChatgateError as e:
        print(f"chatgate {command}: {e.message}", file=sys.stderr)
        return 1
