"""The images of a run that a ``response`` node with ``vision: true`` shows its model.

They are the run's file inputs (a ``file`` input, each item of a ``files`` one) that are
images; their bytes are read through the run's files service (its owner's files only) and
known by those bytes, not by the type the sender claimed. What is left out, and why, goes
into the node's record.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import ExecutionFailed, NotFound
from engine.files import FileRef, is_file
from engine.workflow.nodes.base import NodeContext
from engine.workflow.nodes.files import FILES
from engine.workflow.nodes.model import VISION_FORMATS, Image, image_type, images_problem


@dataclass(slots=True)
class Seen:
    """The images found, and the files left out with the reason."""

    images: list[Image] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        """What the node's record says of them (never the bytes)."""
        sent: dict[str, Any] = {
            "images": [{"name": i.name, "mime_type": i.mime_type, "size": len(i.data)} for i in self.images]
        }
        if self.skipped:
            sent["skipped"] = self.skipped
        return sent


async def run_images(ctx: NodeContext) -> Seen:
    """The run's image inputs, read; `ExecutionFailed` if more, or more bytes, than a model takes."""
    seen = Seen()
    files = list(_files(ctx.inputs))
    candidates: list[FileRef] = []
    for f in files:
        if str(f.get("mime_type", "")).startswith("image/"):
            candidates.append(f)
        else:
            seen.skipped.append(_left_out(f, "not an image"))
    if not candidates:
        return seen
    _refuse_too_many(ctx, len(candidates), sum(_declared_size(f) for f in candidates))
    reader = ctx.service(FILES)
    total = 0
    for f in candidates:
        try:
            data = await reader.read(f["id"])
        except NotFound:  # deleted with its session meanwhile, or not this owner's
            seen.skipped.append(_left_out(f, "no longer stored"))
            continue
        kind = image_type(data)
        if kind is None:
            seen.skipped.append(_left_out(f, f"not a {VISION_FORMATS} image"))
            continue
        total += len(data)
        _refuse_too_many(ctx, len(seen.images) + 1, total)
        seen.images.append(Image(str(f.get("name") or f["id"]), kind, data))
    return seen


def _files(inputs: Mapping[str, Any]) -> Iterator[FileRef]:
    for value in inputs.values():
        for item in value if isinstance(value, list) else (value,):
            if is_file(item):
                yield item


def _declared_size(f: FileRef) -> int:
    size = f.get("size")
    return size if isinstance(size, int) and size > 0 else 0


def _refuse_too_many(ctx: NodeContext, count: int, size: int) -> None:
    problem = images_problem(count, size)
    if problem is not None:
        raise ExecutionFailed(f"node '{ctx.node_id}': {problem}", {"node": ctx.node_id, "images": count})


def _left_out(f: FileRef, reason: str) -> dict[str, Any]:
    return {"name": f.get("name"), "mime_type": f.get("mime_type"), "reason": reason}
