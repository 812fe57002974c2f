"""What changed between two valid configs, and what of it a running process can take.

Pure comparisons: applying them is the gateway's job (chatgate/reload/reloader.py). Nothing
here prints a value, only key names, so secrets never reach a change log.
"""

from __future__ import annotations

from typing import Any, Literal

from config.platforms.common import BotCommon
from config.platforms.registry import live_keys
from config.schema import Settings

# Bound once at start (the listening socket, the database, files, shared counters):
# a changed value is reported as needing a restart and the running one is kept.
RESTART_KEYS: tuple[tuple[str, ...], ...] = (
    ("server", "host"),
    ("server", "port"),
    ("server", "max_body_bytes"),
    ("server", "header_timeout_s"),
    ("server", "body_timeout_s"),
    ("server", "keepalive_timeout_s"),
    ("server", "max_connections"),
    ("storage", "url"),
    ("data_dir",),
    ("redis_url",),
)

BotChange = Literal["same", "reconfigure", "restart"]


def _get(settings: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        settings = getattr(settings, part, None)
    return settings


def restart_needed(running: Settings, new: Settings) -> list[str]:
    """Keys whose new value only a restart can apply (e.g. ``server.port``)."""
    return [".".join(p) for p in RESTART_KEYS if _get(running, p) != _get(new, p)]


def keep_running_values(running: Settings, new: Settings) -> Settings:
    """``new`` with the restart-bound keys of ``running``, so the process never
    claims a port or database it does not use."""
    server = new.server.model_copy(
        update={p[1]: getattr(running.server, p[1]) for p in RESTART_KEYS if p[0] == "server"}
    )
    return new.model_copy(
        update={
            "server": server,
            "storage": running.storage,
            "data_dir": running.data_dir,
            "redis_url": running.redis_url,
        }
    )


def changed_sections(old: Settings, new: Settings) -> list[str]:
    """Top-level keys whose value differs, in schema order."""
    return [name for name in type(new).model_fields if getattr(old, name) != getattr(new, name)]


def bot_change(old: BotCommon, new: BotCommon) -> BotChange:
    if old == new:
        return "same"
    if type(old) is not type(new):
        return "restart"  # another platform
    # Keys an adapter takes without reconnecting (its platform says which); any other change
    # (token, api_base, mode, max_in_flight, ...) restarts that bot alone.
    fixed = set(type(new).model_fields) - live_keys(new)
    same_fixed = all(getattr(old, k) == getattr(new, k) for k in fixed)
    return "reconfigure" if same_fixed else "restart"


def api_key_changes(old: Settings, new: Settings) -> list[str]:
    """Human summary by key name (never the key): added, removed, re-tiered, replaced."""
    before = {k.name: k for k in old.api_keys}
    after = {k.name: k for k in new.api_keys}
    out = [f"API key {n} added" for n in after.keys() - before.keys()]
    out += [f"API key {n} removed" for n in before.keys() - after.keys()]
    for n in before.keys() & after.keys():
        if before[n].key != after[n].key:
            out.append(f"API key {n} replaced")
        if before[n].tier != after[n].tier:
            out.append(f"API key {n} now tier {after[n].tier}")
    return sorted(out)
