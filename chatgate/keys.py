"""API keys: who a bearer key is, in one dict lookup, from three sources.

- the config file's ``api_keys`` (admin when ``admins`` lists ``key:<name>``);
- the generated admin key of ``<data_dir>/admin_key``, named ``admin``: made on a fresh
  install (no key anywhere) and valid for as long as the file exists, whatever else is
  configured; deleting the file (or ``chatgate keys revoke admin``) revokes it;
- keys made with ``chatgate keys create`` / ``POST /api/v1/admin/keys``, kept in the database
  as SHA-256 digests and re-read every `REFRESH_S` in every process (at once in the one that
  made or revoked them), so the request path never touches the database.

A key's *name* owns what it creates (workflows, executions, API sessions): a new key with an
old name inherits them, and ``chatgate workflows reassign`` moves them to another name.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import secrets
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import SecretStr

from config.loader import ConfigError
from config.schema import GENERATED_KEY_NAME, ApiKey, Settings, check_key_name
from engine.clock import as_utc, iso, utcnow
from engine.errors import Conflict, Forbidden, NotFound, Unauthorized, problem
from engine.store.api_keys import add_api_key, reassign_owner, remove_api_key, stored_api_keys
from engine.store.writer import Storage

log = logging.getLogger("chatgate.keys")

REFRESH_S = 2.0  # how stale another process's view of the database keys may be
KEY_PREFIX = "cg_"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

Source = Literal["file", "generated", "database"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's name (owner of its workflows), its tier and its rights."""

    name: str
    tier: str
    admin: bool = False
    read_only: bool = False  # may read (GET), never create, change, delete or execute
    workflows: frozenset[str] | None = None  # the workflows (names or ids) it may run; None: any
    expires_at: datetime | None = None
    source: Source = "file"
    created_at: datetime | None = None

    def check_method(self, method: str) -> None:
        if self.read_only and method not in SAFE_METHODS:
            raise Forbidden(
                f"API key '{self.name}' is read-only: it may read but not create, change, delete or run",
                {"key": self.name, "read_only": True},
            )

    def check_run(self, workflow_id: str, name: str) -> None:
        if self.workflows is not None and not {workflow_id, name} & self.workflows:
            raise Forbidden(
                f"API key '{self.name}' may not run workflow '{name}'",
                {"key": self.name, "workflows": sorted(self.workflows)},
            )


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class StoredKeys:
    """The database's keys as this process last read them; shared by every `KeyRing`."""

    def __init__(self) -> None:
        self.by_digest: dict[bytes, Principal] = {}
        self._conflicts: frozenset[str] = frozenset()  # already logged

    def names(self) -> set[str]:
        return {p.name for p in self.by_digest.values()}

    def replace(self, rows: Iterable[Any], taken: set[str]) -> None:
        """``taken``: names of the file's keys, which win (a clash is logged once)."""
        found: dict[bytes, Principal] = {}
        conflicts = set()
        for r in rows:
            if r.name in taken:
                conflicts.add(r.name)
                continue
            found[bytes.fromhex(r.digest)] = Principal(
                r.name,
                r.tier,
                admin=bool(r.admin),
                read_only=bool(r.read_only),
                workflows=frozenset(r.workflows) if r.workflows is not None else None,
                expires_at=as_utc(r.expires_at) if r.expires_at is not None else None,
                source="database",
                created_at=as_utc(r.created_at),
            )
        for name in sorted(conflicts - self._conflicts):
            log.error(
                "API key %r is both in the config file and in the database: the file's is used; "
                "run `chatgate keys revoke %s` or rename one of them",
                name,
                name,
            )
        self._conflicts = frozenset(conflicts)
        self.by_digest = found

    async def refresh(self, storage: Storage, taken: set[str]) -> None:
        self.replace(await stored_api_keys(storage), taken)


class KeyRing:
    """Keys are held only as SHA-256 digests: a lookup leaks no timing about the key itself."""

    def __init__(
        self,
        keys: list[ApiKey],
        stored: StoredKeys | None = None,
        *,
        admins: Iterable[str] = (),
        generated: ApiKey | None = None,
        generated_path: Path | None = None,
        source: Path | str = "config",
    ) -> None:
        admin_names = {a[4:] for a in admins if a.startswith("key:")}
        self.stored = stored if stored is not None else StoredKeys()
        self.generated_path = generated_path if generated is not None else None
        self._file: dict[bytes, Principal] = {}
        # for the log's masking; the generated key is never in the config's own secrets
        self.secret_values = [k.key.get_secret_value() for k in [*keys, *([generated] if generated else [])]]
        for k in keys:
            self._file[digest(k.key.get_secret_value())] = Principal(
                k.name, k.tier, admin=k.name in admin_names
            )
        if generated is not None:
            self._file[digest(generated.key.get_secret_value())] = Principal(
                generated.name, generated.tier, admin=True, source="generated"
            )
        clash = sorted(self.file_names() & self.stored.names())
        if clash:
            index = next(i for i, k in enumerate(keys) if k.name == clash[0])
            raise ConfigError(
                source,
                f"{clash[0]!r} is also the name of a key in the database; "
                f"run `chatgate keys revoke {clash[0]}` or choose another name",
                key=f"api_keys.{index}.name",
            )

    def __len__(self) -> int:
        return len(self._file) + len(self.stored.by_digest)

    def file_names(self) -> set[str]:
        return {p.name for p in self._file.values()}

    def principals(self) -> list[Principal]:
        return [*self._file.values(), *self.stored.by_digest.values()]

    def find(self, presented: str) -> Principal | None:
        # Comparing SHA-256 digests instead of keys: how far a wrong guess matches
        # says nothing about the real key, which is what a constant-time compare is for.
        d = digest(presented)
        return self._file.get(d) or self.stored.by_digest.get(d)

    def authenticate(self, presented: str, tiers: Iterable[str]) -> Principal:
        """The caller of a bearer key, or `Unauthorized` saying why not."""
        who = self.find(presented) if presented else None
        if who is None:
            raise Unauthorized("a valid API key is required", "send Authorization: Bearer <api key>")
        if who.expires_at is not None and who.expires_at <= utcnow():
            raise Unauthorized(
                f"API key '{who.name}' expired at {iso(who.expires_at)}",
                "ask an admin for a new key (chatgate keys create)",
            )
        if who.tier not in tiers:
            raise Unauthorized(
                f"API key '{who.name}' has tier '{who.tier}', which rate_limits no longer defines",
                "ask an admin to restore the tier or make a new key",
            )
        return who

    def drop_generated_if_deleted(self) -> None:
        """Deleting data/admin_key revokes the generated key, in this process too."""
        if self.generated_path is not None and not self.generated_path.exists():
            self._file = {d: p for d, p in self._file.items() if p.source != "generated"}
            log.warning("%s was deleted: the generated admin key no longer works", self.generated_path)
            self.generated_path = None


def admin_tier(settings: Settings) -> str:
    """The generated admin key gets the "paid" tier, or the first tier if there is none."""
    return "paid" if "paid" in settings.rate_limits else next(iter(settings.rate_limits), "free")


def admin_key_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "admin_key"


def generated_key(settings: Settings, *, others: bool) -> ApiKey | None:
    """The generated admin key: read while ``data/admin_key`` exists, made when no key
    exists at all (``others``: the database holds keys). A key named ``admin`` in the file
    takes its place (the name owns the same workflows)."""
    path = admin_key_path(settings)
    if any(k.name == GENERATED_KEY_NAME for k in settings.api_keys):
        if path.exists():
            log.warning(
                "api_keys has a key named %r: it replaces the generated key of %s, which no longer "
                "works; delete the file",
                GENERATED_KEY_NAME,
                path,
            )
        return None
    if path.exists():
        return admin_key(settings.data_dir, admin_tier(settings))
    if settings.api_keys or others:
        return None
    return admin_key(settings.data_dir, admin_tier(settings))


def key_ring(settings: Settings, stored: StoredKeys | None = None, source: Path | str = "config") -> KeyRing:
    """The ring for a config: its keys, the generated key, and the database's ``stored``;
    a file key with the name of a stored one is a `ConfigError` naming it."""
    stored = stored if stored is not None else StoredKeys()
    generated = generated_key(settings, others=bool(stored.by_digest))
    return KeyRing(
        list(settings.api_keys),
        stored,
        admins=settings.admins,
        generated=generated,
        generated_path=admin_key_path(settings),
        source=source,
    )


def admin_key(data_dir: Path | str, tier: str) -> ApiKey:
    """The generated admin key: made once, kept 0600 under data_dir."""
    path = Path(data_dir) / "admin_key"
    if path.exists():
        try:
            return ApiKey(key=SecretStr(path.read_text().strip()), name=GENERATED_KEY_NAME, tier=tier)
        except (OSError, ValueError):
            raise ConfigError(
                path, "the stored admin key is unreadable or too short; delete the file to generate a new one"
            ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_secret()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    # Shown once, on the terminal only; never logged.
    print(
        f"chatgate: no API key configured yet; generated an admin API key named 'admin' "
        f"(kept in {path}, mode 0600):\n"
        f"    {key}\n"
        f"Use it as: Authorization: Bearer {key}\n"
        f"It stays valid while that file exists, also after you add api_keys; "
        f"delete the file to revoke it.",
        file=sys.stderr,
        flush=True,
    )
    return ApiKey(key=SecretStr(key), name=GENERATED_KEY_NAME, tier=tier)


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


# -- managing database keys (the CLI and the admin API share these) ------------------------


@dataclass(frozen=True)
class NewKey:
    """What ``keys create`` asks for."""

    name: str
    tier: str
    admin: bool = False
    read_only: bool = False
    workflows: list[str] | None = None
    expires_at: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)


def _check_new(spec: NewKey, settings: Settings, taken: set[str]) -> None:
    try:
        check_key_name(spec.name)
    except ValueError as e:
        raise problem(["body", "name"], f"name: {e}") from None
    if spec.tier not in settings.rate_limits:
        raise problem(
            ["body", "tier"],
            f"tier: unknown tier {spec.tier!r} (rate_limits has {sorted(settings.rate_limits)})",
        )
    if spec.expires_at is not None and as_utc(spec.expires_at) <= utcnow():
        raise problem(["body", "expires_at"], "expires_at: the expiry is in the past")
    if spec.workflows is not None and not spec.workflows:
        raise problem(["body", "workflows"], "workflows: name at least one workflow, or leave it out for any")
    if spec.name in taken:
        raise Conflict(
            f"the config file already has a key named '{spec.name}'; a name belongs to one key",
            {"field": "name", "name": spec.name},
        )


async def create_key(storage: Storage, settings: Settings, spec: NewKey) -> str:
    """Store a new key (its digest) and return the key itself, which is never shown again."""
    taken = {k.name for k in settings.api_keys}
    if admin_key_path(settings).exists() and GENERATED_KEY_NAME not in taken:
        taken.add(GENERATED_KEY_NAME)  # the generated key still holds the name
    _check_new(spec, settings, taken)
    secret = new_secret()
    row = {
        "name": spec.name,
        "digest": digest(secret).hex(),
        "tier": spec.tier,
        "admin": spec.admin,
        "read_only": spec.read_only,
        "workflows": spec.workflows,
        "expires_at": as_utc(spec.expires_at) if spec.expires_at is not None else None,
        "created_at": spec.created_at,
    }
    if not await add_api_key(storage, row):
        raise Conflict(f"a key named '{spec.name}' exists already", {"field": "name", "name": spec.name})
    return secret


async def revoke_key(storage: Storage, settings: Settings, name: str) -> Source:
    """Revoke a database key, or the generated one (its file is deleted). A database key
    goes even when the file has one of that name too (that clash is what it resolves)."""
    if await remove_api_key(storage, name):
        return "database"
    if any(k.name == name for k in settings.api_keys):
        raise Conflict(
            f"key '{name}' is configured in the config file; remove it from api_keys there",
            {"name": name, "source": "file"},
        )
    path = admin_key_path(settings)
    if name == GENERATED_KEY_NAME and path.exists():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return "generated"
    raise NotFound(f"no key named '{name}'", {"name": name})


async def reassign_workflows(storage: Storage, old: str, new: str) -> dict[str, int]:
    """Move what key name ``old`` owns (workflows, executions, API sessions) to ``new``."""
    try:
        check_key_name(new)
    except ValueError as e:
        raise problem(["body", "to"], f"to: {e}") from None
    if old == new:
        raise problem(["body", "to"], "from and to are the same name")
    return await reassign_owner(storage, old, new)


async def refresh_forever(storage: Storage, ring: Callable[[], KeyRing]) -> None:
    """Re-read the database keys every `REFRESH_S`; ``ring()`` gives the current ring
    (a reload replaces it). A failed read keeps the last good view."""
    failing = False
    while True:
        await asyncio.sleep(REFRESH_S)
        current = ring()
        current.drop_generated_if_deleted()
        try:
            await current.stored.refresh(storage, current.file_names())
        except Exception as e:
            if not failing:  # once per outage, not every REFRESH_S
                log.warning(
                    "could not re-read the API keys from the database (%s); keeping the last view",
                    type(e).__name__,
                )
            failing = True
        else:
            if failing:
                log.info("the API keys are read from the database again")
            failing = False
