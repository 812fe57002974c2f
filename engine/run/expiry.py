"""Questions whose wait ran out: every process sweeps for them now and then and resumes each
on its ``timeout`` port; the claim in the database lets exactly one resume it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from engine.clock import utcnow
from engine.errors import ChatgateError, Conflict
from engine.record import ExecutionRecord
from engine.run.executor import Executor
from engine.store.waiting import Waiting
from engine.workflow.graph import CompiledWorkflow

log = logging.getLogger("chatgate.questions")

#: Expired questions one sweep takes; the rest wait for the next sweep.
SWEEP_BATCH = 100

# The workflow a waiting execution belongs to, as it stands now (None: deleted).
FindWorkflow = Callable[[str], Awaitable[CompiledWorkflow | None]]
# Who asked is told what the timeout led to (a chat bot says it in the chat).
Tell = Callable[[ExecutionRecord, Waiting], Awaitable[None]]


async def sweep(
    executor: Executor, find: FindWorkflow, limit: int = SWEEP_BATCH, tell: Tell | None = None
) -> int:
    """Resume every expired question (up to ``limit``) on its ``timeout`` port; how many this
    process resumed (another process may have taken some: not an error)."""
    resumed = 0
    for execution_id in await executor.waitings.expired(utcnow(), limit):
        waiting = await executor.waitings.get(execution_id)
        if waiting is None:
            continue  # taken meanwhile
        try:
            record = await executor.expire(execution_id, await find(waiting.workflow_id))
        except Conflict:
            continue  # answered or expired by another process first, or cancelled (logged there)
        except ChatgateError as e:  # the run after the timeout failed: recorded with the execution
            log.info("execution %s failed after its question timed out: %s", execution_id, e.message)
        else:
            if tell is not None:
                try:
                    await tell(record, waiting)
                except Exception as e:  # the chat away: the record keeps what it said
                    log.warning("could not tell %s what its timeout led to: %s", execution_id, e)
        resumed += 1
    return resumed


async def sweep_forever(
    executor: Executor, find: FindWorkflow, every_s: float, tell: Tell | None = None
) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await sweep(executor, find, tell=tell)
        except Exception:  # the database away for a moment: the next sweep tries again
            log.warning("could not sweep expired questions", exc_info=True)
