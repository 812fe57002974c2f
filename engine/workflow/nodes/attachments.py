"""``attachments`` of ``message`` and ``end`` nodes: files sent along with the text.

Each item is one of ``{"url": …}`` (fetched through the SSRF guard), ``{"data": …}`` (base64)
or ``{"file": …}`` (a file the run holds, such as ``{{start.photo}}``, or a list of them),
with an optional ``name`` and ``mime_type``; every string may hold references. Each becomes a
stored file of the run's owner, given as ``{id, name, mime_type, size, url}`` (its URL signed).
Bounded: at most `MAX_FILES` per node, each within ``files.max_bytes``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.errors import ExecutionFailed, FileTooLarge, NotFound, PayloadTooLarge
from engine.files import MAX_FILES, FileRef, is_file, size_text
from engine.workflow.nodes.base import NodeContext
from engine.workflow.nodes.files import DOWNLOADS, FILES
from engine.workflow.templates import Value, compile_value

#: How long fetching one attachment's URL may take, unless the node's ``timeout_s`` says.
FETCH_TIMEOUT_S = 30.0


class AttachmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(None, max_length=4096)
    data: str | None = None  # base64, or a reference to it
    file: str | None = Field(None, max_length=1000)  # a reference to a file (or list) the run holds
    name: str | None = Field(None, max_length=1000)
    mime_type: str | None = Field(None, max_length=1000)

    @model_validator(mode="after")
    def _one_source(self) -> AttachmentSpec:
        given = [k for k in ("url", "data", "file") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("an attachment takes exactly one of 'url', 'data' and 'file'")
        return self


Attachments = tuple[AttachmentSpec, ...]
ATTACHMENTS_FIELD = Field((), max_length=MAX_FILES, description="files sent along (url, data or file)")


class Compiled:
    """A node's attachments with their references parsed once per workflow version."""

    def __init__(self, specs: Attachments) -> None:
        self.specs = specs
        self._values: list[dict[str, Value]] = [
            {k: compile_value(v) for k, v in spec.model_dump(exclude_none=True).items()} for spec in specs
        ]

    def __bool__(self) -> bool:
        return bool(self.specs)

    async def send(self, ctx: NodeContext, timeout_s: float | None) -> list[FileRef]:
        """Every attachment stored (or a held file signed afresh), in order."""
        files = ctx.service(FILES)
        session_id = _session_of(ctx)
        out: list[FileRef] = []
        for i, values in enumerate(self._values):
            resolved = {k: v.resolve(ctx.pool) for k, v in values.items()}
            where = f"attachment {i} of node '{ctx.node_id}'"
            try:
                out += await _one(ctx, resolved, where, files.max_bytes, timeout_s, session_id)
            except PayloadTooLarge as e:  # the workflow's doing: a node error on_error can handle
                raise ExecutionFailed(
                    f"{where}: {e.message}", {"node": ctx.node_id, **_dict(e.details)}
                ) from None
            except NotFound:
                raise ExecutionFailed(
                    f"{where}: no such file of this workflow's", {"node": ctx.node_id}
                ) from None
            if len(out) > MAX_FILES:
                raise ExecutionFailed(
                    f"node '{ctx.node_id}' would send more than {MAX_FILES} attachments",
                    {"node": ctx.node_id},
                )
        return out


async def _one(
    ctx: NodeContext,
    r: Mapping[str, Any],
    where: str,
    max_bytes: int,
    timeout_s: float | None,
    session_id: str | None,
) -> list[FileRef]:
    files = ctx.service(FILES)
    name, mime = _text(r.get("name")), _text(r.get("mime_type"))
    if "file" in r:
        held = r["file"]
        if held is None:
            return []  # an optional file input nobody sent
        items = held if isinstance(held, list) else [held]
        if not all(is_file(f) for f in items):
            raise ExecutionFailed(
                f"{where}: 'file' is not a file (nor a list of files)", {"node": ctx.node_id}
            )
        return [await files.again(f) for f in items]
    if "url" in r:
        url = _text(r["url"])
        if not url:
            raise ExecutionFailed(f"{where}: the URL is empty", {"node": ctx.node_id})
        try:
            got = await ctx.service(DOWNLOADS).download(
                url, max_bytes=max_bytes, timeout_s=timeout_s or FETCH_TIMEOUT_S
            )
        except ExecutionFailed as e:
            e.details = {**_dict(e.details), "node": ctx.node_id}
            raise
        data, name, mime = got.body, name or got.name or "", mime or got.mime_type or ""
    else:
        text = _text(r.get("data"))
        if len(text) > 4 * (max_bytes // 3 + 1) + 1024:  # refused before it is decoded
            raise FileTooLarge(f"files may be at most {size_text(max_bytes)}", {"max_bytes": max_bytes})
        try:
            data = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise ExecutionFailed(f"{where}: 'data' is not valid base64", {"node": ctx.node_id}) from None
    return [await files.keep(data, name=name or "attachment", mime_type=mime or None, session_id=session_id)]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _dict(details: Any) -> dict[str, Any]:
    return dict(details) if isinstance(details, dict) else {}


def _session_of(ctx: NodeContext) -> str | None:
    """The execution's session (its files go with it)."""
    sys = ctx.pool.get("sys")
    session = sys.get("session_id") if isinstance(sys, Mapping) else None
    return session if isinstance(session, str) else None
