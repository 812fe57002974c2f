"""The storage layer opened on each engine the tests run against (``storage_url``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from engine.store.writer import Storage


@pytest.fixture
async def storage(storage_url: str) -> AsyncIterator[Storage]:
    s = Storage(storage_url)
    await s.open()
    try:
        yield s
    finally:
        await s.close()
