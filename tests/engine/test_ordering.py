"""The session line shared by processes on one Redis: a place taken on arrival keeps its turn
however long it waits while its process lives, and is passed by at once when it is given up
or its process is dead."""

from __future__ import annotations

import asyncio

from engine.cluster.link import ALIVE_PREFIX
from engine.cluster.ordering import RedisOrdering


async def _alive(*names: str, redis_url: str) -> list[RedisOrdering]:
    """One RedisOrdering per process name; only the ``names`` given have a heartbeat."""
    orderings = [RedisOrdering(redis_url, name) for name in names]
    for o in orderings:
        await o.redis.set(ALIVE_PREFIX + o.owner, "1")
    return orderings


async def test_places_given_up_before_their_turn_are_passed_by_when_the_turn_moves_on(
    redis_url: str,
) -> None:
    (ordering,) = await _alive("proc", redis_url=redis_url)
    try:
        first, second, third, fourth = [await ordering.arrive("s") for _ in range(4)]
        assert first.ready
        assert not second.ready
        await second.release()  # a bot stopping with the message still queued
        # One whose ticket number never came back (taking it was cut short) is found by its mark.
        assert await ordering.check("s", third.mark, 0, let_go=True) == (0, False)
        assert await ordering.check("s", fourth.mark, fourth.ticket) == (0, True)  # first still holds it

        await first.release()
        assert await ordering.check("s", fourth.mark, fourth.ticket) == (3, True)
        await fourth.wait()  # its turn: returns at once
        assert fourth.ready
    finally:
        await ordering.aclose()


async def test_a_ticket_is_passed_by_once_its_process_is_dead_not_for_being_held_long(
    redis_url: str,
) -> None:
    live, other = await _alive("live", "other", redis_url=redis_url)
    dead = RedisOrdering(redis_url, "dead")  # no heartbeat: a process that was killed
    try:
        held = await live.arrive("s")
        orphan = await dead.arrive("s")  # its process died before its turn came
        mine = await other.arrive("s")
        # A live process's ticket is never passed by, however often the others look.
        for _ in range(3):
            assert await other.check("s", mine.mark, mine.ticket) == (0, True)

        await held.release()
        assert await other.check("s", mine.mark, mine.ticket) == (orphan.ticket, True)
    finally:
        for o in (live, other, dead):
            await o.aclose()


async def test_a_task_holding_the_turn_is_not_made_to_wait_for_it_again(redis_url: str) -> None:
    (ordering,) = await _alive("proc", redis_url=redis_url)
    try:
        async with asyncio.timeout(10):
            turn = await ordering.arrive("s")  # taken on arrival, held later
            async with turn, ordering.hold("s"):  # e.g. the executor, inside a chat message's turn
                pass
            async with ordering.hold("s"):  # the line moved on: the next one takes its turn at once
                pass
    finally:
        await ordering.aclose()
