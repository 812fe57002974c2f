"""Telling a Discord message this process has never seen from one it may have answered
before (`bots.discord_recent`): only the first may skip the storage lookup."""

from __future__ import annotations

import time

from bots.discord_recent import DISCORD_EPOCH_S, RecentIds, created_at


def snowflake(at: float, n: int = 0) -> int:
    return (int((at - DISCORD_EPOCH_S) * 1000) << 22) + n


def test_a_snowflake_tells_when_it_was_made() -> None:
    assert abs(created_at(snowflake(1_700_000_000.0)) - 1_700_000_000.0) < 0.001


def test_a_message_newer_than_the_process_is_new_once_then_seen() -> None:
    recent = RecentIds(slack_s=0.0)
    message = snowflake(time.time() + 1)
    assert recent.take(message) is True
    assert recent.take(message) is False  # the same message delivered again


def test_messages_from_before_the_start_or_long_ago_need_the_storage_lookup() -> None:
    recent = RecentIds(slack_s=5.0, window_s=120.0)
    assert recent.take(snowflake(time.time() - 1)) is None  # maybe answered by the last process
    assert recent.take(snowflake(time.time() + 1)) is None  # within the clock slack
    later = RecentIds(slack_s=-1000.0, window_s=120.0)
    assert later.take(snowflake(time.time() - 600)) is None  # older than what memory keeps


def test_memory_forgets_ids_older_than_its_window() -> None:
    recent = RecentIds(slack_s=-1000.0, window_s=0.05)
    first = snowflake(time.time())
    assert recent.take(first) is True
    time.sleep(0.1)
    assert recent.take(snowflake(time.time(), 1)) is True
    assert recent.take(first) is None  # too old now: storage decides, memory stays small
    assert len(recent._ids) == 1
