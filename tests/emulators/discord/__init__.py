"""Discord REST + gateway emulator; the object tests use is ``server.DiscordEmulator``."""
