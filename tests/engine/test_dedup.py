"""A redelivered chat update is never answered twice, and a fresh one costs no database read."""

from __future__ import annotations

import time
from pathlib import Path

from bots.delivery.claims import Claim, SeenKeys
from engine.store.writer import Storage


async def test_an_update_answered_before_a_restart_is_recognised_from_the_database(tmp_path: Path) -> None:
    storage = Storage(f"sqlite:///{tmp_path / 'seen.db'}")
    await storage.open()
    try:
        before = SeenKeys(storage)
        sent = time.time() - 60  # sent before the "restart" below
        assert (await before.claim("telegram:bot", "41", sent)).ours
        await before.mark("telegram:bot", "41")

        after = SeenKeys(storage)  # a new process: empty memory
        assert await after.claim("telegram:bot", "41", sent) is Claim.DONE
        assert (await after.claim("telegram:bot", "42", sent)).ours
    finally:
        await storage.close()


async def test_an_update_sent_after_start_is_decided_from_memory_alone(tmp_path: Path) -> None:
    storage = Storage(f"sqlite:///{tmp_path / 'seen.db'}")
    await storage.open()
    seen = SeenKeys(storage)
    await storage.close()  # any database read from here on would fail
    seen.fresh_after = time.time() - 1  # as if the process had started a while ago

    assert await seen.claim("discord:bot", "9001", time.time()) is Claim.MINE
    # The same message delivered again (a gateway replay) is a repeat.
    assert await seen.claim("discord:bot", "9001", time.time()) is Claim.DONE
