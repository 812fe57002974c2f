"""The in-process limiter: a moving window per caller, cheap however busy the caller is."""

from __future__ import annotations

import asyncio
import time

from engine.ratelimit import RateLimiter


async def test_a_window_slides_hits_leave_it_one_period_after_they_were_made() -> None:
    limiter = RateLimiter({"tight": "4/second"})
    first = time.time()
    assert [(await limiter.hit("u", "tight")).allowed for _ in range(2)] == [True, True]
    await asyncio.sleep(0.5)
    later = [await limiter.hit("u", "tight") for _ in range(3)]
    assert [q.allowed for q in later] == [True, True, False]
    assert [q.remaining for q in later] == [1, 0, 0]
    # The window resets when its oldest hit, one of the first two, is a second old.
    assert first <= later[-1].reset_time - 1 <= first + 0.1

    await asyncio.sleep(max(0.0, first + 1.05 - time.time()))
    # Only the first two hits have left the window: room for exactly two more.
    again = [await limiter.hit("u", "tight") for _ in range(3)]
    assert [q.allowed for q in again] == [True, True, False]


async def test_a_refused_hit_is_not_counted_against_the_caller() -> None:
    limiter = RateLimiter({"tight": "2/second"})
    first = time.time()
    await limiter.hit("u", "tight")
    await limiter.hit("u", "tight")
    await asyncio.sleep(0.5)
    refused = [await limiter.hit("u", "tight") for _ in range(8)]
    assert not any(q.allowed for q in refused)
    await asyncio.sleep(max(0.0, first + 1.05 - time.time()))
    # The two admitted hits have left the window; the refused ones, later, never entered it.
    assert [(await limiter.hit("u", "tight")).allowed for _ in range(3)] == [True, True, False]


async def test_callers_who_went_quiet_are_forgotten_so_memory_stays_bounded() -> None:
    limiter = RateLimiter({"chat": "5/second"})
    for user in range(1000):
        await limiter.hit(f"telegram:{user}", "chat")
    storage = limiter.memory
    assert storage is not None
    assert len(storage.windows) == 1000
    await asyncio.sleep(1.1)
    await limiter.hit("telegram:active", "chat")  # any hit lets the sweep run
    assert list(storage.windows) == ["chatgate/chat/telegram:active"]
