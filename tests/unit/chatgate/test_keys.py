"""The key ring on its own: which keys a config yields, and when a key is refused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from chatgate.keys import KeyRing, StoredKeys, digest, key_ring
from config import ConfigError, Settings
from config.schema import ApiKey
from engine.clock import utcnow
from engine.errors import Forbidden, Unauthorized


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings.model_validate({"data_dir": str(tmp_path), **values})


def stored(*rows: dict[str, object]) -> StoredKeys:
    keys = StoredKeys()
    defaults = {"tier": "free", "admin": False, "read_only": False, "workflows": None, "expires_at": None}
    keys.replace(
        [SimpleNamespace(**{**defaults, "created_at": utcnow(), **r}) for r in rows],
        set(),
    )
    return keys


def test_a_fresh_install_gets_a_generated_admin_key_once(tmp_path: Path) -> None:
    ring = key_ring(settings(tmp_path))
    key = (tmp_path / "admin_key").read_text().strip()
    assert ring.authenticate(key, ["free", "paid"]).admin
    again = key_ring(settings(tmp_path))
    assert again.find(key) is not None
    assert (tmp_path / "admin_key").read_text().strip() == key


def test_no_key_is_generated_while_the_file_or_the_database_has_keys(tmp_path: Path) -> None:
    key_ring(settings(tmp_path, api_keys=[{"key": "some-key-0123456789", "name": "ops"}]))
    key_ring(settings(tmp_path), stored({"name": "ci", "digest": digest("cg_x").hex()}))
    assert not (tmp_path / "admin_key").exists()


def test_a_file_key_named_admin_takes_the_generated_keys_place(tmp_path: Path) -> None:
    key_ring(settings(tmp_path))
    generated = (tmp_path / "admin_key").read_text().strip()
    ring = key_ring(settings(tmp_path, api_keys=[{"key": "own-admin-0123456789", "name": "admin"}]))
    assert ring.find(generated) is None
    assert ring.find("own-admin-0123456789") is not None


def test_a_file_key_with_a_database_keys_name_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        KeyRing(
            [ApiKey.model_validate({"key": "some-key-0123456789", "name": "ci"})],
            stored({"name": "ci", "digest": digest("cg_x").hex()}),
            source="chatgate.yaml",
        )
    assert caught.value.key == "api_keys.0.name"
    assert "keys revoke ci" in str(caught.value)


def test_expired_scoped_and_read_only_keys_are_refused_with_the_reason(tmp_path: Path) -> None:
    ring = KeyRing(
        [],
        stored(
            {"name": "old", "digest": digest("cg_old").hex(), "expires_at": utcnow() - timedelta(seconds=1)},
            {"name": "ro", "digest": digest("cg_ro").hex(), "read_only": True},
            {"name": "one", "digest": digest("cg_one").hex(), "workflows": ["support_bot"]},
            {"name": "gold", "digest": digest("cg_gold").hex(), "tier": "gold"},
        ),
    )
    with pytest.raises(Unauthorized, match="expired"):
        ring.authenticate("cg_old", ["free"])
    with pytest.raises(Unauthorized, match="tier 'gold'"):
        ring.authenticate("cg_gold", ["free"])
    ro = ring.authenticate("cg_ro", ["free"])
    ro.check_method("GET")
    with pytest.raises(Forbidden, match="read-only"):
        ro.check_method("POST")
    one = ring.authenticate("cg_one", ["free"])
    one.check_run("wf_123", "support_bot")
    with pytest.raises(Forbidden, match="may not run"):
        one.check_run("wf_456", "other")
    with pytest.raises(Unauthorized):
        ring.authenticate("cg_nobody", ["free"])
