"""Showing "typing…" only for a wait the user would notice."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class TypingDelay:
    """The first indicator waits ``after_s``: a quick answer cancels that sleep (the
    router stops its pump when the first text arrives) and saves the call."""

    def __init__(self, after_s: float) -> None:
        self.after_s = after_s
        self._waited = False

    async def show(self, indicate: Callable[[], Awaitable[object]]) -> None:
        if not self._waited:
            self._waited = True
            await asyncio.sleep(self.after_s)
        await indicate()
