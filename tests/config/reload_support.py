"""Helpers for the live-reload stories: edit a running chatgate's files the way admins do,
and watch /healthz and /metrics for the verdict."""

from __future__ import annotations

import asyncio
import copy
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import aiohttp
import yaml

from tests.support.chatgate import ChatgateProcess

CHATGATE = Path(sys.executable).parent / "chatgate"  # the installed console script
Save = Literal["rename", "in_place"]


def fast_reload(config: dict[str, Any], **reload: Any) -> None:
    """A ``configure`` callback: a short settle time so stories run quickly."""
    config["reload"] = {"settle_ms": 100, **reload}


def write_text(path: Path, text: str, how: Save = "rename") -> None:
    """``rename``: as editors save (a temporary file renamed over the old one);
    ``in_place``: truncate and write, as ``cat >`` or a plain ``open("w")`` does."""
    if how == "rename":
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    else:
        path.write_text(text)


def save(gw: ChatgateProcess, config: dict[str, Any], how: Save = "rename") -> None:
    gw.config = config
    write_text(gw.config_path, yaml.safe_dump(config, sort_keys=False), how)


def edit(gw: ChatgateProcess, change: Callable[[dict[str, Any]], None], how: Save = "rename") -> None:
    config = copy.deepcopy(gw.config)
    change(config)
    save(gw, config, how)


async def health(gw: ChatgateProcess) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{gw.base_url}/healthz") as r:
        body: dict[str, Any] = await r.json()
        return body


async def wait_config(
    gw: ChatgateProcess, holds: Callable[[dict[str, Any]], bool], within: float = 10.0
) -> dict[str, Any]:
    """/healthz's ``config`` once ``holds`` is true of it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        state: dict[str, Any] = (await health(gw))["config"]
        if holds(state):
            return state
        assert loop.time() < deadline, f"config never reached the expected state; last: {state}\n{gw.logs()}"
        await asyncio.sleep(0.05)


async def wait_version(gw: ChatgateProcess, version: int) -> dict[str, Any]:
    return await wait_config(gw, lambda c: c["version"] >= version)


async def wait_rejected(gw: ChatgateProcess) -> dict[str, Any]:
    state = await wait_config(gw, lambda c: c["last_error"] is not None)
    error: dict[str, Any] = state["last_error"]
    return error


async def metrics(gw: ChatgateProcess) -> dict[str, float]:
    """``name{labels}`` -> value, from /metrics."""
    async with aiohttp.ClientSession() as http, http.get(f"{gw.base_url}/metrics") as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain")
        text = await r.text()
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


async def status_of(gw: ChatgateProcess, key: str | None) -> int:
    async with gw.client(key) as http, http.get("/api/v1/workflows") as r:
        return r.status


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CHATGATE_", "OPENAI_"))}
    return subprocess.run(
        [str(CHATGATE), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**clean, **(env or {})},
        timeout=60,
        check=False,
    )
