"""An execution's record: what ran, with what, and how it ended; stored capped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.record_cap import cap_record


@dataclass(slots=True)
class ExecutionRecord:
    execution_id: str
    workflow_id: str
    owner: str
    session_id: str | None
    inputs: dict[str, Any]
    start_time: datetime
    status: str = "running"
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    end_time: datetime | None = None
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)  # how each node went (NodeTrace.shown)
    truncated: bool = False  # the stored outputs/result were cut to engine.max_record_bytes

    def row(self, max_record_bytes: int) -> dict[str, Any]:
        """The record as stored: outputs and result cut to ``max_record_bytes``, each cut
        noted (``truncated`` says whether there was one)."""
        outputs, result, self.truncated = cap_record(self.outputs, self.result, max_record_bytes)
        return {
            "id": self.execution_id,
            "workflow_id": self.workflow_id,
            "owner": self.owner,
            "session_id": self.session_id,
            "status": self.status,
            "inputs": self.inputs,
            "outputs": outputs,
            "result": result,
            "error": self.error,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "nodes": self.nodes,
        }
