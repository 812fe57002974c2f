"""The configured secrets: who may use them, where they may go, and masking their values."""

from __future__ import annotations

from config.secrets import SecretSpec
from engine.secrets import SecretBox

TOKEN = "orders-token-5f3a9c"
SHARED = "shared-secret-77e1d0"


def box(admins: frozenset[str] = frozenset({"root"})) -> SecretBox:
    return SecretBox(
        {
            "orders_token": SecretSpec(value=TOKEN, hosts=("orders.example.com", "*.internal.example")),
            "team_token": SecretSpec(value=SHARED, keys=("team-a",)),
            "everyone": SecretSpec(value="public-ish-secret", keys=("*",)),
        },
        lambda: admins,
    )


def test_workflow_files_and_admin_keys_may_use_every_secret() -> None:
    assert box().names_for(None) == {"orders_token", "team_token", "everyone"}
    assert box().names_for("root") == {"orders_token", "team_token", "everyone"}


def test_a_key_may_use_only_the_secrets_granted_to_it_or_to_every_key() -> None:
    assert box().names_for("team-a") == {"team_token", "everyone"}
    assert box().names_for("free-user") == {"everyone"}


def test_a_secret_with_hosts_goes_only_to_them() -> None:
    b = box()
    assert b.may_send("orders_token", "orders.example.com")
    assert b.may_send("orders_token", "ORDERS.example.com.")
    assert b.may_send("orders_token", "api.internal.example")
    assert not b.may_send("orders_token", "internal.example.evil.com")
    assert not b.may_send("orders_token", "orders.example.com.evil.com")
    assert b.may_send("team_token", "anywhere.example")  # no hosts: wherever the guard allows
    assert not b.may_send("missing", "orders.example.com")


def test_values_are_masked_by_name_wherever_they_appear() -> None:
    b = box()
    assert (
        b.mask(f"Bearer {TOKEN}, again {TOKEN}")
        == "Bearer [secret:orders_token], again [secret:orders_token]"
    )
    record = {"http": {"body": f'{{"echo": "{SHARED}"}}', "status": 200, "headers": {TOKEN: "x"}}}
    assert b.mask_value(record) == {
        "http": {
            "body": '{"echo": "[secret:team_token]"}',
            "status": 200,
            "headers": {"[secret:orders_token]": "x"},
        }
    }
    assert b.mask_value([1, None, True]) == [1, None, True]


def test_without_secrets_nothing_is_walked() -> None:
    empty = SecretBox({}, frozenset)
    value = {"a": ["b"]}
    assert not empty
    assert empty.mask_value(value) is value
