"""Configuration: the schema, loading the admin's YAML file, workflow files."""

from config.loader import ConfigError, load_settings, parse_settings
from config.schema import ApiKey, BotSettings, EngineSettings, LLMSettings, Settings, parse_rate

__all__ = [
    "ApiKey",
    "BotSettings",
    "ConfigError",
    "EngineSettings",
    "LLMSettings",
    "Settings",
    "load_settings",
    "parse_rate",
    "parse_settings",
]
