"""A throwaway PostgreSQL cluster for the API's storage stories (see the ``postgres`` fixture)."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from pathlib import Path


def postgres_bin() -> Path | None:
    for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (d / "initdb").exists():
            return d
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class Postgres:
    """A throwaway PostgreSQL cluster; each story gets a database of its own."""

    def __init__(self, bin_dir: Path, port: int, as_user: list[str]) -> None:
        self.bin_dir = bin_dir
        self.port = port
        self.as_user = as_user
        self._names = (f"chatgate_{i}" for i in itertools.count())

    def new_database(self) -> str:
        name = next(self._names)
        subprocess.run(
            [
                *self.as_user,
                str(self.bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "chatgate",
                name,
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return f"postgresql+asyncpg://chatgate@127.0.0.1:{self.port}/{name}"
