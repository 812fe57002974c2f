"""Injected failures (``fail_next``) and the per-chat flood limit, answered as Telegram does."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from tests.emulators.telegram.responses import ApiError, too_many_requests


@dataclass(slots=True)
class Fault:
    error: ApiError
    remaining: int
    token: str | None


@dataclass(slots=True)
class Bucket:
    rate: float
    tokens: float
    stamp: float


def take_fault(faults: dict[str, list[Fault]], method: str, token: str) -> ApiError | None:
    queue = faults.get(method.lower())
    if not queue:
        return None
    for fault in queue:
        if fault.token is None or fault.token == token:
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.remove(fault)
            error = fault.error
            return ApiError(error.code, error.description, error.parameters)
    return None


def check_flood(
    buckets: dict[tuple[str, int], Bucket], limit: float | None, token: str, chat_id: int
) -> None:
    if not limit:
        return
    now = time.monotonic()
    burst = max(limit, 1.0)
    bucket = buckets.get((token, chat_id))
    if bucket is None or bucket.rate != limit:
        bucket = Bucket(limit, burst, now)
        buckets[(token, chat_id)] = bucket
    else:
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.stamp) * limit)
        bucket.stamp = now
    if bucket.tokens < 1.0:
        raise too_many_requests(max(1, math.ceil((1.0 - bucket.tokens) / limit)))
    bucket.tokens -= 1.0
