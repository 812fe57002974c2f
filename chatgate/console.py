"""Answers to the admin chat commands (bots.admin): /status and /reload, as plain text."""

from __future__ import annotations

import time
from typing import Any

from chatgate.gateway import Gateway
from chatgate.reload.reloader import Reloader

MAX_CHARS = 3500  # well inside one Telegram (4096) and two Discord messages


class GatewayConsole:
    """``reloader``: for /reload (None: no live reload in this process)."""

    def __init__(self, gateway: Gateway, reloader: Reloader | None = None) -> None:
        self.gw = gateway
        self.reloader = reloader

    def status(self) -> str:
        gw, state = self.gw, self.gw.config
        age = int(time.time() - state.loaded_at)
        lines = [
            f"Config version {state.version}, loaded {age} s ago"
            + (", watching the files" if state.watching else ""),
            "Last reload error: " + (str(state.last_error.error) if state.last_error else "none"),
        ]
        if state.restart_needed:
            lines.append("Needs a restart: " + ", ".join(state.restart_needed))
        lines.append(f"Executions in flight: {len(gw.executor.running)}")
        bots = gw.bots.health()
        running = len(gw.bots.bots)
        lines.append(
            f"Bots ({len(bots)} configured, {running} running):" if bots else "Bots: none configured"
        )
        lines += [f"- {name}: {_bot_line(info)}" for name, info in sorted(bots.items())]
        files = gw.catalog.file_workflows()
        lines.append(f"Workflow files: {len(files)} loaded, {len(gw.workflow_problems)} with problems")
        lines += [f"- {p.path}: {p.message}" for p in gw.workflow_problems]
        text = "\n".join(lines)
        return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"

    async def reload(self, requested_by: str) -> str:
        reloader = self.reloader
        if reloader is None:
            return "Live reload is not available in this process."
        report = await reloader.reload(f"chat ({requested_by})", wait=False)
        text = report.text()
        return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"


def _bot_line(info: dict[str, Any]) -> str:
    """Platform, connection state and load, from whatever the adapter reports."""
    state = info.get("state") or ("connected" if info.get("connected") else "not connected")
    if state == "no_token":
        return f"{info.get('platform', '?')}, no token set (not started)"
    parts = [str(info.get("platform", "?")), str(state)]
    if info.get("in_flight"):
        parts.append(f"{info['in_flight']} answering")
    if info.get("restarts"):
        parts.append(f"{info['restarts']} restarts")
    error = info.get("reason") or info.get("last_error") or info.get("last_crash")
    if error:
        parts.append(f"last error: {error}")
    return ", ".join(parts)
