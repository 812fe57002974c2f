"""Helpers for the several-processes stories: the shared config, /healthz, waiting."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp

from tests.support.chatgate import ChatgateProcess


def shared(redis_url: str, storage_url: str, **extra: Any) -> Callable[[dict[str, Any]], None]:
    """A ``configure`` callback: this process shares Redis and the database with the others."""

    def configure(config: dict[str, Any]) -> None:
        config["redis_url"] = redis_url
        config["storage"]["url"] = storage_url
        config.update(extra)

    return configure


async def health(gw: ChatgateProcess) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{gw.base_url}/healthz") as r:
        body: dict[str, Any] = await r.json()
        return body


async def eventually(probe: Callable[[], Awaitable[bool]], within: float = 10.0, what: str = "") -> None:
    """Poll an async condition until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await probe():
        assert loop.time() < deadline, f"{what or probe.__name__} did not hold within {within}s"
        await asyncio.sleep(0.05)


@contextlib.contextmanager
def logs_on_failure(*processes: ChatgateProcess) -> Iterator[None]:
    """A failing story prints the end of each process's log: several processes make
    a failure hard to explain from the emulators' side alone."""
    try:
        yield
    except BaseException:
        for i, p in enumerate(processes):
            print(f"---- chatgate #{i} ({p.base_url}) ----\n" + "\n".join(p.logs().splitlines()[-60:]))
        raise
