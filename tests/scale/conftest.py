"""Fixtures the multi-process stories share with the single-process bot stories."""

from tests.bots.conftest import tg_emu

__all__ = ["tg_emu"]  # the Telegram emulator with the test bot, as in tests/bots
