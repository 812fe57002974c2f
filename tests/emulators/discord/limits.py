"""Rate limits: Discord's rate-limit headers, per-channel send/edit windows, injected failures."""

from __future__ import annotations

import hashlib
import math
import re
import time
from dataclasses import dataclass

from tests.emulators.discord.protocol import API_PREFIX
from tests.emulators.discord.responses import GENERIC_ERRORS, ApiError


def bucket_hash(key: str) -> str:
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:32]


def ratelimit_headers(
    *, limit: int, remaining: int, reset_after: float, bucket: str, scope: str | None = None
) -> dict[str, str]:
    headers = {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(remaining, 0)),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }
    if scope is not None:
        headers["X-RateLimit-Scope"] = scope
    return headers


def rate_limited(retry_after: float, *, bucket: str, limit: int, is_global: bool, scope: str) -> ApiError:
    headers = ratelimit_headers(limit=limit, remaining=0, reset_after=retry_after, bucket=bucket, scope=scope)
    headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
    if is_global:
        body["code"] = 0
    return ApiError(429, body, headers)


@dataclass
class Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    retry_after: float
    times: int
    is_global: bool


@dataclass
class EditWindow:
    started: float
    count: int


def take_failure(failures: list[Failure], method: str, path: str) -> ApiError | None:
    for failure in failures:
        if failure.method not in ("*", method):
            continue
        if not (failure.pattern.search(path) or failure.pattern.search(API_PREFIX + path)):
            continue
        failure.times -= 1
        if failure.times <= 0:
            failures.remove(failure)
        if failure.status == 429:
            return rate_limited(
                failure.retry_after,
                bucket=bucket_hash(f"{method} {path}"),
                limit=5,
                is_global=failure.is_global,
                scope="global" if failure.is_global else "user",
            )
        body = dict(GENERIC_ERRORS.get(failure.status, {"message": f"{failure.status}", "code": 0}))
        return ApiError(failure.status, body)
    return None


def check_channel_limit(
    setting: tuple[int, float] | None,
    windows: dict[int, EditWindow],
    channel_id: int,
    route: str,
) -> dict[str, str]:
    if setting is None:
        return {}
    limit, window = setting
    now = time.monotonic()
    state = windows.get(channel_id)
    if state is None or now - state.started >= window:
        state = windows[channel_id] = EditWindow(now, 0)
    bucket = bucket_hash(route)
    reset_after = max(window - (now - state.started), 0.001)
    if state.count >= limit:
        raise rate_limited(round(reset_after, 3), bucket=bucket, limit=limit, is_global=False, scope="user")
    state.count += 1
    return ratelimit_headers(
        limit=limit, remaining=limit - state.count, reset_after=reset_after, bucket=bucket
    )
