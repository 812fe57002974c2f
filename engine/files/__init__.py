"""Files in workflows: what the pool holds of one, and what nodes may do with files.

A file in a run's variable pool (a start input of ``type: "file"``, each item of a ``files``
input, an attachment a node sent) is a plain dict, `FileRef`:
``{"id": "file_…", "name", "mime_type", "size", "url"}``, ``url`` a short-lived signed
chatgate URL. The bytes live in the database (`engine.files.store.FileStore`); nodes reach
them only through the protocols here, so the workflow core depends on no store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

#: Files one ``files`` input may hold, and attachments one node may send, at most.
MAX_FILES = 10

#: The keys of a file in the pool.
FILE_KEYS = frozenset({"id", "name", "mime_type", "size", "url"})

FileRef = dict[str, Any]


class FileReader(Protocol):
    async def read(self, file_id: str) -> bytes:
        """The file's bytes; `NotFound` when it is gone (or not the run's owner's)."""
        ...


class RunFiles(FileReader, Protocol):
    """What a run's nodes may do with files: their owner's, and no one else's."""

    @property
    def max_bytes(self) -> int: ...

    async def keep(self, data: bytes, *, name: str, mime_type: str | None, session_id: str | None) -> FileRef:
        """Store bytes as a file of the run's owner (`FileTooLarge`, `FileQuotaExceeded`)."""
        ...

    async def again(self, file: Mapping[str, Any]) -> FileRef:
        """A file the run holds, with a fresh URL; `NotFound` unless it is the owner's."""
        ...


@dataclass(frozen=True, slots=True)
class Downloaded:
    body: bytes
    mime_type: str | None  # what the server said, without parameters
    name: str | None  # from Content-Disposition, else the URL's last path segment


class Downloader(Protocol):
    """Fetches a URL through the SSRF guard (engine/net/client.py), reading at most
    ``max_bytes + 1`` bytes: `FileTooLarge` past ``max_bytes``, `DestinationNotAllowed` for a
    refused address, `ExecutionFailed` for anything else that went wrong."""

    async def download(self, url: str, *, max_bytes: int, timeout_s: float) -> Downloaded: ...


def is_file(value: Any) -> bool:
    """Whether ``value`` has a file's shape (as the pool holds one)."""
    return isinstance(value, dict) and value.keys() >= FILE_KEYS and isinstance(value.get("id"), str)


def size_text(n: int) -> str:
    """A byte count as people read it: ``20 MiB``, ``512 KiB``, ``100 bytes``."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= factor:
            value = n / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{n} bytes"
