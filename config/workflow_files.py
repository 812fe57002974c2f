"""Reading the workflow files an admin keeps in ``workflows_dir``.

This module only reads and parses files; validating the graph is the engine's job.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SUFFIXES = (".json", ".yaml", ".yml")

log = logging.getLogger("chatgate.config")


@dataclass(frozen=True)
class WorkflowFile:
    path: Path
    data: dict[str, Any] | None  # None when the file could not be parsed
    error: str | None = None


def read_workflow_file(path: Path) -> WorkflowFile:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        return WorkflowFile(path, None, f"cannot parse: {e}")
    if not isinstance(data, dict):
        return WorkflowFile(
            path, None, "a workflow file must hold one mapping with name, nodes and connections"
        )
    return WorkflowFile(path, data)


def read_workflow_dir(directory: Path | str) -> list[WorkflowFile]:
    """Every workflow file of the directory, sorted by name; a missing directory is empty."""
    d = Path(directory)
    if not d.is_dir():
        # Relative to where chatgate runs, not to the config file: say so, or a start from
        # another directory silently serves no workflow at all.
        where = "" if d.is_absolute() else f" in {Path.cwd()} (it is relative to the current directory)"
        log.warning("workflows_dir %s does not exist%s: no workflow files loaded", d, where)
        return []
    return [read_workflow_file(p) for p in sorted(d.iterdir()) if p.suffix in SUFFIXES and p.is_file()]
