"""What the running config is, and how the last reload went: shown in /healthz,
/metrics, the admin API and the admin's /status."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from config.loader import ConfigError
from config.paths import shown_path
from engine.catalog import FileProblem

Result = Literal["applied", "unchanged", "rejected", "busy"]


def iso(t: float | None) -> str | None:
    if t is None:
        return None
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def checksum(text: str) -> str:
    """Names a version of the file (never its content: the file may hold secrets)."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class RejectedEdit:
    error: ConfigError
    at: float
    checksum: str

    def to_api(self) -> dict[str, Any]:
        """For /healthz, which anyone may read: the file as `shown_path` shows it."""
        e = self.error
        return {
            # The one-line reason: file:line: key: what is wrong.
            "message": str(e).replace(e.path, shown_path(e.path), 1),
            "file": shown_path(e.path),
            "line": e.line,
            "key": e.key,
            "at": iso(self.at),
        }


@dataclass
class ConfigState:
    path: str | None = None
    version: int = 1  # +1 for every reload that changed something
    loaded_at: float = field(default_factory=time.time)
    checksum: str = ""  # of the config file text running now
    last_error: RejectedEdit | None = None  # until a good edit arrives
    restart_needed: list[str] = field(default_factory=list)  # keys that changed but need a restart
    watching: bool = False
    last_reload_at: float | None = None
    last_result: Result | None = None
    last_trigger: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "path": None if self.path is None else shown_path(self.path),
            "version": self.version,
            "loaded_at": iso(self.loaded_at),
            "checksum": self.checksum,
            "last_error": self.last_error.to_api() if self.last_error else None,
            "restart_needed": list(self.restart_needed),
            "watching": self.watching,
            "last_reload": None
            if self.last_reload_at is None
            else {"at": iso(self.last_reload_at), "result": self.last_result, "trigger": self.last_trigger},
        }


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

    def to_api(self) -> dict[str, Any]:
        return {
            "result": self.result,
            "peers_notified": self.peers,
            "version": self.version,
            "changes": self.changes,
            "error": None
            if self.error is None
            else {
                "message": str(self.error),
                "file": self.error.path,
                "line": self.error.line,
                "key": self.error.key,
            },
            "restart_needed": self.restart_needed,
            "workflow_problems": [
                {"path": p.path, "message": p.message, "details": p.details} for p in self.workflow_problems
            ],
            "warnings": self.warnings,
            "summary": self.text(),
        }

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
