"""Adding a chat platform is its module plus one line in the registry: the config's ``bots``
accept it, its users and chats can be named in users, admins and access, and its own keys
say which edits apply without reconnecting. Each check runs for every registered platform,
from what its module declares."""

from __future__ import annotations

import dataclasses

import pytest

from config import ConfigError, parse_settings
from config.diff import bot_change
from config.platforms import registry
from config.platforms.common import LIVE_KEYS, BotCommon, Platform

NAMES = [p.name for p in registry.PLATFORMS]


def one_bot(platform: Platform) -> BotCommon:
    """A bot of the platform as an admin writes it (no token: configured, not started)."""
    text = f"bots:\n  - {{name: b, platform: {platform.name}, token: '', workflow: w}}\n"
    (bot,) = parse_settings(text, "chatgate.yaml", {}).bots
    return bot


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, "chatgate.yaml", {})
    return caught.value


@pytest.mark.parametrize("platform", registry.PLATFORMS, ids=NAMES)
def test_a_bot_of_a_registered_platform_gets_that_platforms_settings(platform: Platform) -> None:
    bot = one_bot(platform)
    assert type(bot) is platform.settings
    assert bot.platform == platform.name


def test_a_platform_not_in_the_registry_is_refused_naming_the_registered_ones() -> None:
    error = refused("bots:\n  - {name: b, platform: irc, token: '', workflow: w}\n")
    assert error.key == "bots.0.platform"
    assert error.reason == "'irc' is not one of " + ", ".join(repr(n) for n in NAMES)


@pytest.mark.parametrize("platform", registry.PLATFORMS, ids=NAMES)
def test_a_platforms_users_and_chats_are_named_by_its_own_grammar(platform: Platform) -> None:
    user, place = platform.ids.user_example, platform.ids.place_example
    settings = parse_settings(
        f"users: [{{id: '{user}'}}]\nadmins: ['{user}']\naccess: {{allow: ['{user}', '{place}']}}\n",
        "chatgate.yaml",
        {},
    )
    assert (settings.users[0].id, settings.admins, settings.access.allow) == (user, [user], [user, place])
    # A chat is not a user: the message suggests every registered platform's users.
    error = refused(f"users: [{{id: '{place}'}}]\n")
    examples = " or ".join(p.ids.user_example for p in registry.PLATFORMS)
    assert (error.key, error.reason) == ("users.0.id", f"{place!r} is not a user id such as {examples}")


@pytest.mark.parametrize("platform", registry.PLATFORMS, ids=NAMES)
def test_a_platforms_live_keys_apply_without_reconnecting_and_its_other_keys_reconnect(
    platform: Platform,
) -> None:
    assert platform.live_keys <= set(platform.settings.model_fields), "a live key that is no key"
    bot = one_bot(platform)
    for key in platform.settings.model_fields:
        # (model_copy does not validate: any new value is a change)
        changed = bot.model_copy(update={key: object()})
        expected = "reconfigure" if key in LIVE_KEYS | platform.live_keys else "restart"
        assert bot_change(bot, changed) == expected, key


@pytest.mark.parametrize("platform", [p for p in registry.PLATFORMS if p.live_keys], ids=lambda p: p.name)
def test_the_diff_reads_a_platforms_live_keys_from_the_registry(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = one_bot(platform)
    key = sorted(platform.live_keys)[0]
    changed = bot.model_copy(update={key: object()})
    assert bot_change(bot, changed) == "reconfigure"
    without = dataclasses.replace(platform, live_keys=frozenset())
    others = tuple(without if p is platform else p for p in registry.PLATFORMS)
    monkeypatch.setattr(registry, "PLATFORMS", others)
    assert bot_change(bot, changed) == "restart"


@pytest.mark.parametrize("platform", [p for p in registry.PLATFORMS if p.webhooks], ids=lambda p: p.name)
def test_a_platforms_default_webhook_path_is_always_routed(platform: Platform) -> None:
    assert platform.webhooks is not None
    assert platform.webhooks.default_path in registry.webhook_patterns([])
    # a bot of it that does not use webhooks adds nothing and is never unrouted
    assert registry.webhook_patterns([one_bot(platform)]) == registry.webhook_patterns([])
    assert registry.unrouted_webhooks([one_bot(platform)], set()) == []
