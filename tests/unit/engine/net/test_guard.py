"""The SSRF guard judges addresses as a pure function: every class a workflow must not reach
is refused, however it is spelled, and only the admin's allow-list opts one in. (Nothing
here connects anywhere: these are classifications.)"""

from __future__ import annotations

import ipaddress

import pytest

from config.outbound import HttpSettings
from engine.errors import DestinationNotAllowed
from engine.net.guard import Policy, check_literal, parse_host_address, refusal

OPEN = Policy()

REFUSED = [
    # (address, class)
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fec0::1", "private"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 - a value judged, not bound
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "reserved"),
    ("198.18.0.1", "reserved"),
    ("2001:db8::1", "reserved"),
    ("169.254.169.254", "metadata"),
    ("169.254.170.2", "metadata"),
    ("100.100.100.200", "metadata"),
    ("168.63.129.16", "metadata"),
    ("fd00:ec2::254", "metadata"),
    # IPv6 forms carrying an IPv4 address are judged by it
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "metadata"),
    ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
    ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ("64:ff9b::a9fe:a9fe", "metadata"),  # NAT64 of 169.254.169.254
    ("64:ff9b::c0a8:101", "private"),  # NAT64 of 192.168.1.1
    ("::ffff:0:7f00:1", "loopback"),  # IPv4-translated 127.0.0.1
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_each_address_class_a_workflow_must_not_reach_is_refused_by_name(address: str, kind: str) -> None:
    assert refusal(ipaddress.ip_address(address), OPEN) == kind


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), OPEN) is None


ODD_SPELLINGS = [
    ("2130706433", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("10.1", "10.0.0.1"),
    ("0", "0.0.0.0"),  # noqa: S104 - a value judged, not bound
    ("[::1]", "::1"),
    ("[::ffff:a9fe:a9fe]", "::ffff:169.254.169.254"),
]


@pytest.mark.parametrize(("host", "meant"), ODD_SPELLINGS)
def test_odd_spellings_of_an_address_are_read_as_the_resolver_reads_them(host: str, meant: str) -> None:
    assert parse_host_address(host) == ipaddress.ip_address(meant)
    with pytest.raises(DestinationNotAllowed) as refused:
        check_literal(host, OPEN)
    assert refused.value.code == "destination_not_allowed"
    assert repr(host) in refused.value.message


@pytest.mark.parametrize("host", ["orders.example.com", "localhost", "db.local", "0x7f.example"])
def test_host_names_are_left_to_the_resolver(host: str) -> None:
    assert parse_host_address(host) is None
    assert check_literal(host, OPEN) is None


def test_a_numeric_host_that_is_no_address_is_refused_rather_than_passed_on() -> None:
    with pytest.raises(DestinationNotAllowed, match="not a valid address"):
        check_literal("1.2.3.4.5", OPEN)


def test_the_refusal_names_the_host_and_the_class() -> None:
    with pytest.raises(DestinationNotAllowed) as refused:
        check_literal("0177.0.0.1", OPEN)
    assert refused.value.message == "destination not allowed: '0177.0.0.1' (loopback address)"
    assert refused.value.details == {"host": "0177.0.0.1", "refused": "loopback"}


def test_the_admin_opts_networks_in_and_nothing_else() -> None:
    policy = Policy.from_settings(HttpSettings(allow_networks=("10.1.0.0/16", "127.0.0.2")))
    assert refusal(ipaddress.ip_address("10.1.2.3"), policy) is None
    assert refusal(ipaddress.ip_address("::ffff:10.1.2.3"), policy) is None  # the same host
    assert refusal(ipaddress.ip_address("127.0.0.2"), policy) is None
    assert refusal(ipaddress.ip_address("10.2.0.1"), policy) == "private"
    assert refusal(ipaddress.ip_address("127.0.0.1"), policy) == "loopback"
    assert refusal(ipaddress.ip_address("169.254.169.254"), policy) == "metadata"


def test_an_allowed_host_name_passes_even_when_it_is_an_address() -> None:
    policy = Policy.from_settings(HttpSettings(allow_hosts=("Orders.Internal.",)))
    assert policy.allows_host("orders.internal")
    assert not policy.allows_host("orders.internal.evil.example")
