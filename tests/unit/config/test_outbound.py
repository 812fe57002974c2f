"""An admin's ``http:`` section: a network or host that could not mean what was written is
an error that says so (with the likely intent where there is one)."""

from __future__ import annotations

import pytest

from config.outbound import HttpSettings


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("10.1.0.1/16", "did you mean 10.1.0.0/16"),
        ("not-a-net", "not a network"),
        ("10.0.0.0/33", "not a network"),
    ],
)
def test_a_bad_network_in_the_config_is_a_clear_error(value: str, hint: str) -> None:
    with pytest.raises(ValueError, match=hint):
        HttpSettings(allow_networks=(value,))


@pytest.mark.parametrize("value", ["https://orders.internal", "orders.internal:8080", "a/b", ""])
def test_a_bad_host_in_the_config_is_a_clear_error(value: str) -> None:
    with pytest.raises(ValueError, match="not a host name"):
        HttpSettings(allow_hosts=(value,))


def test_a_bare_address_is_one_host_and_hosts_are_kept_as_compared() -> None:
    settings = HttpSettings(allow_networks=(" 127.0.0.1 ", "::1"), allow_hosts=("Orders.Internal.",))
    assert settings.allow_networks == ("127.0.0.1", "::1")
    assert settings.allow_hosts == ("orders.internal",)
