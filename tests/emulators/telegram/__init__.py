"""Telegram Bot API emulator; the object tests use is ``server.TelegramEmulator``."""
