"""What the running config is, and how the last reload went: kept by the gateway, written
by the reloader, shown in /healthz, /metrics, the admin API and the admin's /status."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from config.loader import ConfigError

Result = Literal["applied", "unchanged", "rejected", "busy"]


@dataclass(frozen=True)
class RejectedEdit:
    error: ConfigError
    at: float
    checksum: str


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
