"""What every chat platform shares: the keys every bot has, and the description of
itself that each platform module gives the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, get_args

from pydantic import Field, SecretStr

from config.access import AccessSettings
from config.ids import IdGrammar
from config.section import Section


class VoiceSettings(Section):
    """What a bot does with voice messages: transcribed, they become the text input."""

    transcribe: bool = False  # through the LLM server's /audio/transcriptions
    model: str = Field("whisper-1", min_length=1, max_length=200)
    language: str | None = Field(None, pattern=r"^[a-z]{2,3}$")  # ISO-639-1 hint, e.g. "en"; null: detected


class BotCommon(Section):
    """Keys every chat bot has; each platform's module adds its own."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    token: SecretStr  # empty: the bot is configured but not started
    api_base: str | None = None
    workflow: str  # a workflow name (from workflows_dir) or a wf_ id
    tier: str = "free"
    greeting: str = "Hi! Ask me anything."
    max_in_flight: int = Field(64, ge=1, le=10_000)  # executions at once for this bot; more wait in order
    session_scope: Literal["chat", "user"] = "chat"  # in group chats: one conversation per chat, or per user
    access: AccessSettings | None = None  # who may talk to this bot (null: the global access)
    voice: VoiceSettings = VoiceSettings()  # voice messages transcribed to text (off by default)
    # Which platform's bot: each platform narrows it to its name, the union's tag (last, so
    # the platform's own keys follow it as they did).
    platform: str

    @property
    def enabled(self) -> bool:
        return bool(self.token.get_secret_value())


# Keys of every bot that an adapter takes without reconnecting (read per message).
LIVE_KEYS = frozenset({"workflow", "tier", "greeting", "session_scope", "access", "voice"})


@dataclass(frozen=True)
class Webhooks:
    """A platform whose updates chatgate's own HTTP server receives."""

    default_path: str  # always routed, so a bot switched to webhooks by a reload is served
    path_key: str  # the bot's key of its path pattern, named when a new pattern needs a restart
    path: Callable[[BotCommon], str | None]  # a bot's path pattern ({bot}: its name); None: no webhooks


@dataclass(frozen=True)
class Platform:
    """One chat platform, as its module describes it to the registry."""

    settings: type[BotCommon]  # its bots' keys; ``platform: Literal[<name>]`` says which
    ids: IdGrammar  # how its users and chats are written in users, admins and access
    # Its own keys an adapter takes without reconnecting (besides LIVE_KEYS); a change to
    # any other key restarts that bot, so a key added without thought is safe.
    live_keys: frozenset[str] = frozenset()
    webhooks: Webhooks | None = None

    @property
    def name(self) -> str:
        """What ``platform:`` says: the one value its settings' ``platform`` allows."""
        (name,) = get_args(self.settings.model_fields["platform"].annotation)
        return str(name)


def no_whitespace(token: str) -> None:
    """Shared by the platforms' token rules: a pasted token often brings a line break along."""
    if any(c.isspace() for c in token):
        raise ValueError("the token contains whitespace (a line break or a 'Bot ' prefix pasted with it?)")
