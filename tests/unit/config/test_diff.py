"""The server's connection limits are bound when it starts listening: a reload reports them
as needing a restart and keeps the running values."""

from __future__ import annotations

import pytest

from config.diff import keep_running_values, restart_needed
from config.schema import Settings


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("header_timeout_s", 3.0),
        ("body_timeout_s", 5.0),
        ("keepalive_timeout_s", 9.0),
        ("max_connections", 50),
    ],
)
def test_a_changed_connection_limit_needs_a_restart(key: str, value: float) -> None:
    running = Settings()
    new = running.model_copy(update={"server": running.server.model_copy(update={key: value})})
    assert restart_needed(running, new) == [f"server.{key}"]
    assert getattr(keep_running_values(running, new).server, key) == getattr(running.server, key)


def test_the_stream_ping_interval_applies_without_a_restart() -> None:
    running = Settings()
    new = running.model_copy(update={"server": running.server.model_copy(update={"stream_ping_s": 1.0})})
    assert restart_needed(running, new) == []
    assert keep_running_values(running, new).server.stream_ping_s == 1.0
