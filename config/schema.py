"""The settings schema: every key an admin may write in chatgate.yaml.

Unknown keys are errors everywhere (``extra="forbid"``) so that a typo never
passes silently. Secrets are ``SecretStr`` so they print as ``**********``.
"""

from __future__ import annotations

import re
from typing import Annotated, Union

from limits import RateLimitItem, parse
from pydantic import AfterValidator, Field, GetPydanticSchema, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.access import AccessSettings, ReloadSettings, UserSettings, check_people
from config.files import FilesSettings
from config.ids import AdminId
from config.mcp import McpServerName, McpServerSettings
from config.outbound import HttpSettings
from config.platforms.common import BotCommon as BotCommon  # (re-exported, for code holding any bot)
from config.platforms.registry import PLATFORMS
from config.sandbox import CodeSettings
from config.secrets import Secrets
from config.section import Section


def _origin(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if scheme not in ("http", "https") or not sep or not rest or "/" in rest or value != value.strip():
        raise ValueError(f"'{value}' is not an origin like https://app.example.com (no path, no slash)")
    return value


def _public_url(value: str) -> str:
    scheme, sep, rest = value.partition("://")
    if scheme not in ("http", "https") or not sep or not rest.split("/")[0] or value != value.strip():
        raise ValueError(f"'{value}' is not a URL like https://bots.example.com (http or https)")
    return value.rstrip("/")


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    max_body_bytes: int = Field(1024 * 1024, gt=0)
    # A comment line this often on a quiet event stream, so proxies neither buffer nor cut it.
    stream_ping_s: float = Field(15.0, gt=0)
    # A request's headers must arrive within this of its first byte (or of connecting), and its
    # body within body_timeout_s of its headers; else the connection is closed (slow clients
    # would otherwise hold it forever). An idle keep-alive connection is closed after
    # keepalive_timeout_s.
    header_timeout_s: float = Field(10.0, gt=0)
    body_timeout_s: float = Field(60.0, gt=0)
    keepalive_timeout_s: float = Field(75.0, gt=0)
    # Connections at once; more are answered 503 and closed. null: derived from the process's
    # open-files limit, leaving room for the model client's and the database's connections.
    max_connections: int | None = Field(None, ge=1)
    # Browser origins allowed to call the API (exact "scheme://host[:port]"); empty: none.
    cors_origins: tuple[Annotated[str, AfterValidator(_origin)], ...] = ()
    # Where clients reach this server ("https://bots.example.com"): signed file URLs are made
    # absolute with it; null: they are paths ("/api/v1/files/…").
    public_url: Annotated[str, AfterValidator(_public_url)] | None = None


class StorageSettings(Section):
    url: str = "sqlite:///data/chatgate.db"


class LLMSettings(Section):
    base_url: str | None = None  # null: OPENAI_BASE_URL
    api_key: SecretStr | None = None  # null: OPENAI_API_KEY
    default_model: str = "echo"
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)
    # Connections to the model server at once; more concurrent calls wait for one.
    max_connections: int = Field(1000, ge=1, le=100_000)


# A key's name owns its workflows, executions and sessions (stored as ``api:<name>:<session>``):
# no ``:`` keeps that mapping one-to-one. Otherwise as free as before (spaces inside are
# fine), so existing configs keep their names; 200 is the stored owner's width.
KEY_NAME_PATTERN = r"^(?=.{1,200}$)[^:\s](?:[^:\x00-\x1f\x7f]*[^:\s])?$"
KEY_NAME_RULE = "1-200 characters without ':' or control characters, not starting or ending with a space"
GENERATED_KEY_NAME = "admin"  # the generated key of data/admin_key


def check_key_name(name: str) -> str:
    if not re.fullmatch(KEY_NAME_PATTERN, name):
        raise ValueError(f"{name!r} is not a key name: {KEY_NAME_RULE}")
    return name


class ApiKey(Section):
    key: SecretStr
    name: Annotated[str, AfterValidator(check_key_name)]
    tier: str = "free"

    @field_validator("key")
    @classmethod
    def _long_enough(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < 8:
            raise ValueError("an API key must be at least 8 characters long")
        return v


class EngineSettings(Section):
    history_turns: int = Field(20, ge=0, le=1000)
    node_timeout_s: float = Field(120.0, gt=0)
    execution_timeout_s: float = Field(300.0, gt=0)
    # Bounds on one workflow document (API and files), so validating it stays cheap.
    max_nodes: int = Field(500, ge=1, le=100_000)
    max_connections: int = Field(2000, ge=0, le=1_000_000)
    max_node_config_bytes: int = Field(64 * 1024, ge=1024)
    # What one execution record may store of the run's outputs and result (JSON bytes);
    # past it the longest texts are cut and the record says so.
    max_record_bytes: int = Field(1024 * 1024, ge=4096)
    # How deep workflows may call workflows (``workflow``, ``iterate``), and how many items
    # one ``iterate`` node takes.
    max_depth: int = Field(5, ge=1, le=50)
    max_items: int = Field(100, ge=1, le=100_000)
    # How often each process looks for questions whose wait ran out (and resumes them on
    # their ``timeout`` port; one process each, once).
    question_sweep_s: float = Field(5.0, gt=0, le=3600)


# To the type checker any platform's bot; validated as the registered platforms' union, told
# apart by ``platform``.
BotSettings = Annotated[
    BotCommon,
    GetPydanticSchema(
        lambda _type, handler: handler(
            Annotated[Union[tuple(p.settings for p in PLATFORMS)], Field(discriminator="platform")]  # noqa: UP007
        )
    ),
]


def parse_rate(value: str) -> RateLimitItem:
    """Parse "10/minute"-style limits with the `limits` library's own grammar."""
    try:
        return parse(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a rate such as '10/minute' or '600 per hour'") from None


def _check_rate(value: str) -> str:
    parse_rate(value)
    return value


RateText = Annotated[str, AfterValidator(_check_rate)]


class Settings(BaseSettings):
    """The whole config file. Environment variables CHATGATE_<SECTION>__<KEY> override it."""

    model_config = SettingsConfigDict(
        extra="forbid", frozen=True, env_prefix="CHATGATE_", env_nested_delimiter="__"
    )

    server: ServerSettings = ServerSettings()
    storage: StorageSettings = StorageSettings()
    llm: LLMSettings = LLMSettings()
    engine: EngineSettings = EngineSettings()
    api_keys: list[ApiKey] = []
    rate_limits: dict[str, RateText] = {"free": "10/minute", "paid": "600/minute"}
    workflows_dir: str = "config/workflows"
    data_dir: str = "data"
    # redis://host:port/db: shared state for several chatgate processes (rate limits, ...)
    redis_url: str | None = None
    bots: list[BotSettings] = []
    users: list[UserSettings] = []  # per-user overrides, keyed platform:user_id
    admins: list[AdminId] = []  # may use admin chat commands (and, as key:<name>, the admin API)
    access: AccessSettings = AccessSettings()
    reload: ReloadSettings = ReloadSettings()
    secrets: Secrets = {}
    http: HttpSettings = HttpSettings()
    code: CodeSettings = CodeSettings()
    mcp_servers: dict[McpServerName, McpServerSettings] = {}
    files: FilesSettings = FilesSettings()

    @model_validator(mode="after")
    def _tiers_exist(self) -> Settings:
        tiers = sorted(self.rate_limits)
        for i, key in enumerate(self.api_keys):
            if key.tier not in self.rate_limits:
                raise ValueError(f"api_keys.{i}.tier: unknown tier {key.tier!r} (rate_limits has {tiers})")
        for i, bot in enumerate(self.bots):
            if bot.tier not in self.rate_limits:
                raise ValueError(f"bots.{i}.tier: unknown tier {bot.tier!r} (rate_limits has {tiers})")
        seen: dict[str, int] = {}
        for i, key in enumerate(self.api_keys):
            if key.name in seen:
                raise ValueError(
                    f"api_keys.{i}.name: {key.name!r} is already the name of api_keys.{seen[key.name]}; "
                    "a name owns its workflows, so every key needs its own"
                )
            seen[key.name] = i
        names = [b.name for b in self.bots]
        if len(names) != len(set(names)):
            raise ValueError("bots: every bot needs a unique name")
        check_people(
            self.users, self.admins, self.rate_limits, {k.name for k in self.api_keys} | {GENERATED_KEY_NAME}
        )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file, so containers can override one key without editing it.
        return env_settings, init_settings
