"""Files sent as a REST execution's inputs: the body may be larger when the workflow takes
files (their base64 counts), and each file is checked, then stored, before the run starts."""

from __future__ import annotations

from typing import Any

from chatgate.gateway import Gateway
from engine.errors import Unavailable
from engine.files.intake import placeholders, read_inputs, store_inputs
from engine.workflow.graph import CompiledWorkflow


def body_limit(gw: Gateway, workflow: CompiledWorkflow) -> int | None:
    """The body limit of an execute request for ``workflow``: the server's, plus one largest
    file in base64 when it takes files (None: the server's own)."""
    if not workflow.start.file_inputs():
        return None
    return gw.settings.server.max_body_bytes + 4 * (gw.settings.files.max_bytes // 3 + 1) + 1024


async def with_stored_files(
    gw: Gateway, workflow: CompiledWorkflow, inputs: dict[str, Any], owner: str, session_id: str | None
) -> dict[str, Any]:
    """``inputs`` with each file value stored and replaced by the file as the pool holds it.
    Every input is checked first (400/413), so nothing is stored for a refused request."""
    file_inputs = workflow.start.file_inputs()
    if not file_inputs or not any(inputs.get(name) is not None for name, _ in file_inputs):
        return inputs
    if gw.files is None or gw.outbound is None:
        raise Unavailable("files are not available", {"service": "files"})
    read = read_inputs(file_inputs, inputs, gw.settings.files.max_bytes)
    workflow.coerce_inputs({**inputs, **placeholders(read)})  # the other inputs' 400 before storing
    stored = await store_inputs(read, gw.files, gw.outbound, owner=owner, session_id=session_id)
    return {**inputs, **stored}
