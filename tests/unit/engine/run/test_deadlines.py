"""Node time limits on one shared timer: asyncio.timeout's behaviour, at a fraction of the cost."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.run.deadlines import Deadlines


def _now() -> float:
    return asyncio.get_running_loop().time()


async def test_a_block_past_its_limit_is_cancelled_where_it_waits_and_raises_timeout() -> None:
    deadlines = Deadlines()
    started = time.monotonic()
    reached_the_end = False
    with pytest.raises(TimeoutError):  # noqa: PT012 - the block is what the deadline cuts short
        async with deadlines.at(_now() + 0.05):
            await asyncio.sleep(10)
            reached_the_end = True
    assert not reached_the_end
    assert time.monotonic() - started < 1.0  # cut short, not waited out


async def test_a_block_that_finishes_in_time_is_left_alone() -> None:
    deadlines = Deadlines()
    async with deadlines.at(_now() + 0.2):
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)  # its time passes after it ended: nothing happens to this task
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    deadlines = Deadlines()

    async def waits() -> None:
        async with deadlines.at(_now() + 10):
            await asyncio.sleep(10)

    task = asyncio.create_task(waits())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_each_of_many_blocks_ends_at_its_own_limit_whatever_the_order_they_began() -> None:
    deadlines = Deadlines()
    started = _now()
    ended: dict[int, float] = {}

    async def block(n: int, limit_s: float) -> None:
        try:
            async with deadlines.at(started + limit_s):
                await asyncio.sleep(10)
        except TimeoutError:
            ended[n] = _now() - started

    # A long limit first: the shared timer must still wake for the shorter ones after it.
    await asyncio.gather(block(3, 0.60), block(1, 0.05), block(2, 0.30))
    assert list(ended) == [1, 2, 3]
    assert ended[1] < 0.25
    assert 0.30 <= ended[2] < 0.55
    assert ended[3] >= 0.60


async def test_finished_blocks_do_not_pile_up_while_a_long_one_is_still_running() -> None:
    deadlines = Deadlines()

    async def long_one() -> None:
        async with deadlines.at(_now() + 60):
            await asyncio.sleep(0.5)

    running = asyncio.create_task(long_one())
    for _ in range(10 * Deadlines.COMPACT_ABOVE):
        async with deadlines.at(_now() + 60):
            pass
    assert len(deadlines._heap) <= Deadlines.COMPACT_ABOVE + 1
    await running
