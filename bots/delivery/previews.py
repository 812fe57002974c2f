"""The growing answer's preview, shown so that a cancel never sends a part twice.

The router cancels its preview pump the moment the execution ends. A send cut
off mid-flight may still have reached the platform without us learning its
message id, and the final answer would then send that part a second time. So
preview work runs in a shielded task, and the final answer waits for it
(`ShieldedPreview.settle`) instead.

An answer that is complete within the quiet period needs no preview at all: one
send, no edits, no "(edited)" mark, and the platform's limits are spared.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable


class ShieldedPreview:
    def __init__(self, quiet_s: float, *, since: float | None = None) -> None:
        """``since``: when the quiet period began (monotonic); None: at the first text."""
        self.quiet_s = quiet_s
        self._since = since
        self._task: asyncio.Future[None] | None = None

    async def show(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` (the preview of the text so far) unless it is too early, or the
        previous preview is still on its way (the next call brings newer text)."""
        now = time.monotonic()
        if self._since is None:
            self._since = now
        if now - self._since < self.quiet_s:
            return
        if self._task is not None and not self._task.done():
            return
        self._task = asyncio.ensure_future(work())
        await asyncio.shield(self._task)

    async def settle(self) -> None:
        """Wait for a preview still on its way; its failure does not concern the answer."""
        if self._task is not None:
            with contextlib.suppress(Exception):
                await self._task
            self._task = None
