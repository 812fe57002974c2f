"""What chat users send besides text — photos, documents, voice notes — into the workflow.

A platform reads what arrived into `Received` (with a way to fetch the bytes, bounded);
`take` checks, before anything is downloaded where the platform says the size, that the bot's
workflow takes files (a start input of ``type: "file"`` or ``"files"``) and that each is within
``files.max_bytes``; otherwise it refuses with `FileNotTaken` / `FileTooLarge`, which
bots/messages.py tells the user in a short sentence. What is taken is stored (engine/files)
and fills the start node's first file input.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import FileNotTaken
from engine.files import MAX_FILES, FileRef
from engine.files.store import FileStore, too_large
from engine.workflow.nodes.start import StartNode


@dataclass(frozen=True, slots=True)
class Received:
    """One file a chat user sent, before its bytes are fetched."""

    kind: str  # as the platform calls it: photo, document, voice, audio, video_note, attachment…
    name: str
    mime_type: str | None
    size: int | None  # as the platform says; None: known once fetched
    # The bytes, reading at most the bound given (`FileTooLarge` past it).
    fetch: Callable[[int], Awaitable[bytes]]


@dataclass(frozen=True, slots=True)
class Taken:
    """Stored files, each with its bytes (a voice note may be transcribed from them)."""

    name: str  # the start input they fill
    files: tuple[tuple[FileRef, bytes], ...]
    many: bool  # the input takes a list

    def value(self) -> Any:
        refs = [ref for ref, _ in self.files]
        return refs if self.many else refs[0]


async def take(
    received: Sequence[Received], start: StartNode, store: FileStore, *, session_id: str, owner: str
) -> Taken:
    """Store what a user sent as the workflow's first file input takes it (a ``file`` input
    takes the first one)."""
    wanted = start.file_input()
    if wanted is None:
        kinds = sorted({r.kind for r in received})
        raise FileNotTaken(f"the workflow takes no files ({', '.join(kinds)} sent)", {"kinds": kinds})
    name, many = wanted
    param = start.param(name)
    limit = store.settings.max_bytes
    chosen = list(received[:MAX_FILES] if many else received[:1])
    for r in chosen:  # before anything is fetched (sizes: when the platform says them)
        if not param.accepts(r.mime_type):
            raise FileNotTaken(
                f"input '{name}' takes {', '.join(param.accept)}, not {r.mime_type}",
                {"accept": list(param.accept), "max_bytes": limit},
            )
        if r.size is not None and r.size > limit:
            raise too_large(limit, r.size)
    files = []
    for r in chosen:
        data = await r.fetch(limit)
        if len(data) > limit:
            raise too_large(limit, len(data))
        ref = await store.put(data, name=r.name, mime_type=r.mime_type, session_id=session_id, owner=owner)
        files.append((ref, data))
    return Taken(name, tuple(files), many)
