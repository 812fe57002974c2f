"""A few sandboxes started ahead of need: a run takes a warm one (the interpreter is up), and
a fresh one starts behind it. Each serves one run and is killed, so nothing one run leaves
(files in /tmp, modules, globals) is visible to the next."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from engine.sandbox.process import SandboxProcess, StartFailed

log = logging.getLogger("chatgate.sandbox")


class WarmPool:
    def __init__(self, start: Callable[[], Awaitable[SandboxProcess]], size: int) -> None:
        self._start = start
        self.size = size
        self._ready: deque[SandboxProcess] = deque()
        self._starting: set[asyncio.Task[None]] = set()
        self._closed = False
        self.failing = False  # the last start failed: no more warming until a run succeeds

    def fill(self) -> None:
        """Start sandboxes in the background until ``size`` are ready or on their way."""
        while not self._closed and not self.failing and len(self._ready) + len(self._starting) < self.size:
            task = asyncio.get_running_loop().create_task(self._warm(), name="sandbox-warm")
            self._starting.add(task)
            task.add_done_callback(self._starting.discard)

    async def take(self) -> SandboxProcess:
        """A warm sandbox if one is ready, else one started now (`StartFailed` if it cannot)."""
        while self._ready:
            sandbox = self._ready.popleft()
            if sandbox.alive:
                self.fill()
                return sandbox
        try:
            sandbox = await self._start()
        except StartFailed:
            self.failing = True
            raise
        self.failing = False
        self.fill()
        return sandbox

    def add(self, sandbox: SandboxProcess) -> None:
        if self._closed:
            sandbox.kill()
        else:
            self._ready.append(sandbox)

    async def _warm(self) -> None:
        try:
            sandbox = await self._start()
        except StartFailed as e:
            self.failing = True
            log.warning("a code sandbox could not be started: %s", e)
            return
        self.add(sandbox)

    def close(self) -> None:
        """Kill the warm ones and stop warming (a reload replaced the pool, or shutdown)."""
        self._closed = True
        for task in self._starting:
            task.cancel()
        while self._ready:
            self._ready.popleft().kill()

    async def aclose(self) -> None:
        starting = list(self._starting)
        self.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*starting, return_exceptions=True)
