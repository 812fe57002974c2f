"""How one reload went (its report), and the checksum that names a version of the file."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from chatgate.config_state import Result
from config.loader import ConfigError
from engine.catalog import FileProblem


def checksum(text: str) -> str:
    """Names a version of the file (never its content: the file may hold secrets)."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class ReloadReport:
    result: Result
    version: int
    changes: list[str] = field(default_factory=list)
    error: ConfigError | None = None
    restart_needed: list[str] = field(default_factory=list)
    workflow_problems: list[FileProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    peers: int | None = None  # other processes asked to reload too (None: no Redis, or unreachable)

    def text(self) -> str:
        """For a terminal or a chat: the verdict first, then what changed."""
        if self.result == "busy":
            head = "A reload is still being applied (bots restarting); try again in a moment."
        elif self.result == "rejected":
            head = f"Rejected, still running version {self.version}: {self.error}"
        elif self.result == "unchanged":
            head = f"Nothing changed; running version {self.version}."
        else:
            head = f"Applied: now running version {self.version}."
        lines = [head]
        lines += [f"- {c}" for c in self.changes]
        if self.restart_needed:
            lines.append("Needs a restart to apply: " + ", ".join(self.restart_needed))
        for p in self.workflow_problems:
            details = f" ({p.details})" if p.details else ""
            lines.append(f"Workflow file {p.path} not loaded (last good version stays): {p.message}{details}")
        lines += [f"Warning: {w}" for w in self.warnings]
        if self.peers:
            lines.append(f"Asked {self.peers} other chatgate process(es) to reload their config too.")
        return "\n".join(lines)
