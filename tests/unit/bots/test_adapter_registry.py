"""Every platform the config accepts has an adapter that runs its bots, and no adapter
waits for a platform the config cannot name."""

from __future__ import annotations

from bots.platforms import ADAPTERS
from config.platforms.registry import PLATFORMS


def test_every_config_platform_has_an_adapter() -> None:
    assert sorted(ADAPTERS) == sorted(p.name for p in PLATFORMS)
