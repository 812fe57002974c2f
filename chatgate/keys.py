"""API keys: lookup in constant time, and the generated admin key for a fresh install."""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from config.loader import ConfigError
from config.schema import ApiKey


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's name (owner of its workflows) and its tier."""

    name: str
    tier: str


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyRing:
    """Keys are held only as SHA-256 digests: a lookup leaks no timing about the key itself."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self._by_digest = {_digest(k.key.get_secret_value()): Principal(k.name, k.tier) for k in keys}

    def __len__(self) -> int:
        return len(self._by_digest)

    def find(self, presented: str) -> Principal | None:
        # Comparing SHA-256 digests instead of keys: how far a wrong guess matches
        # says nothing about the real key, which is what a constant-time compare is for.
        return self._by_digest.get(_digest(presented))


def admin_key(data_dir: Path | str, tier: str) -> ApiKey:
    """The key used when the config lists none: generated once, kept 0600 under data_dir."""
    path = Path(data_dir) / "admin_key"
    if path.exists():
        try:
            return ApiKey(key=SecretStr(path.read_text().strip()), name="admin", tier=tier)
        except (OSError, ValueError):
            raise ConfigError(
                path, "the stored admin key is unreadable or too short; delete the file to generate a new one"
            ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = "cg_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    # Shown once, on the terminal only; never logged.
    print(
        f"chatgate: no api_keys configured; generated an admin API key (kept in {path}, mode 0600):\n"
        f"    {key}\n"
        f"Use it as: Authorization: Bearer {key}",
        file=sys.stderr,
        flush=True,
    )
    return ApiKey(key=SecretStr(key), name="admin", tier=tier)
