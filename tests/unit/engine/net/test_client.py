"""The outbound client under attack, end to end on loopback: a DNS server that answers
differently the second time, redirects to refused places, endless redirects, huge and slow
answers. Every connection the process tries is recorded (and any outside 127.0.0.0/8 is
stopped, so a broken guard still reaches nothing)."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from config.outbound import HttpSettings
from engine.errors import DestinationNotAllowed, ExecutionFailed
from engine.net.client import OutboundHttp
from engine.workflow.nodes.http import HttpRequest
from tests.support.http_service import HttpService
from tests.support.net import free_port


@pytest.fixture
async def connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The address of every TCP connection attempt (aiohttp connects through the loop's
    ``sock_connect``); those outside loopback are refused here, never sent."""
    loop = asyncio.get_running_loop()
    real = loop.sock_connect
    tried: list[str] = []

    async def sock_connect(sock: socket.socket, address: Any) -> None:
        tried.append(address[0])
        if not ipaddress.ip_address(address[0]).is_loopback:
            raise OSError(errno.ENETUNREACH, "the test stops connections outside loopback")
        await real(sock, address)

    monkeypatch.setattr(loop, "sock_connect", sock_connect)
    return tried


class ScriptedDNS(AbstractResolver):
    """A DNS server an attacker runs: each lookup of any name gets the next answer."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        address = self.answers[min(len(self.lookups), len(self.answers)) - 1]
        return [
            ResolveResult(hostname=host, host=address, port=port, family=socket.AF_INET, proto=0, flags=0)
        ]

    async def close(self) -> None:
        pass


def get(url: str, *, timeout_s: float = 5.0, **changes: Any) -> HttpRequest:
    fields: dict[str, Any] = {
        "method": "GET",
        "url": url,
        "headers": {},
        "query": {},
        "body_kind": None,
        "body": None,
        "timeout_s": timeout_s,
    }
    return HttpRequest(**{**fields, **changes})


def client(*networks: str, dns: AbstractResolver | None = None, **settings: Any) -> OutboundHttp:
    return OutboundHttp(
        HttpSettings(allow_networks=networks, **settings), resolver=(lambda: dns) if dns is not None else None
    )


@pytest.fixture
async def two_hosts() -> AsyncIterator[tuple[HttpService, HttpService]]:
    """The same port on 127.0.0.1 and on 127.0.0.2: which one answered says where we went."""
    port = free_port()
    async with HttpService("127.0.0.1", port) as one, HttpService("127.0.0.2", port) as two:
        yield one, two


@pytest.mark.parametrize("answers", [("127.0.0.2", "127.0.0.1"), ("127.0.0.1", "127.0.0.2")])
async def test_a_rebinding_dns_answer_cannot_move_the_connection_after_the_check(
    two_hosts: tuple[HttpService, HttpService], connects: list[str], answers: tuple[str, str]
) -> None:
    one, two = two_hosts
    dns = ScriptedDNS(*answers)
    http = client("127.0.0.2/32", dns=dns)
    try:
        url = f"http://rebind.test:{two.port}/whoami"
        if answers[0] == "127.0.0.2":  # checked and allowed: the connection goes exactly there
            answer = await http.send(get(url))
            assert answer.json == {"host": "127.0.0.2"}
            assert connects == ["127.0.0.2"]
        else:  # the first answer is refused: nothing is tried, however the next would answer
            with pytest.raises(DestinationNotAllowed) as refused:
                await http.send(get(url))
            assert refused.value.message == "destination not allowed: 'rebind.test' (loopback address)"
            assert "127.0.0" not in refused.value.message
            assert connects == []
        assert dns.lookups == ["rebind.test"]  # one lookup: no second answer to rebind with
        assert one.seen == []
    finally:
        await http.close()


async def test_a_name_with_one_refused_address_among_allowed_ones_is_refused(connects: list[str]) -> None:
    class Mixed(ScriptedDNS):
        async def resolve(
            self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
        ) -> list[ResolveResult]:
            return [
                ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET, proto=0, flags=0)
                for a in ("127.0.0.2", "10.0.0.1")
            ]

    http = client("127.0.0.2/32", dns=Mixed())
    try:
        with pytest.raises(DestinationNotAllowed, match=r"'orders\.test' \(private address\)"):
            await http.send(get("http://orders.test:9/"))
    finally:
        await http.close()
    assert connects == []


async def test_an_allowed_host_may_redirect_only_where_the_guard_allows(connects: list[str]) -> None:
    port = free_port()
    async with HttpService("127.0.0.2", port) as allowed, HttpService("127.0.0.3", port) as other:
        http = client("127.0.0.2/32")
        try:
            answer = await http.send(get(allowed.url("/redirect?to=/whoami")))  # same host: followed
            assert (answer.status, answer.json) == (200, {"host": "127.0.0.2"})
            with pytest.raises(DestinationNotAllowed, match=r"'127\.0\.0\.3' \(loopback address\)"):
                await http.send(get(allowed.url(f"/redirect?to={other.url('/whoami')}")))
            for metadata in ("http://169.254.169.254/latest/meta-data/", "http://[::ffff:a9fe:a9fe]/"):
                with pytest.raises(DestinationNotAllowed, match="metadata address"):
                    await http.send(get(allowed.url(f"/redirect?status=307&to={metadata}")))
            with pytest.raises(ExecutionFailed, match="only http and https"):
                await http.send(get(allowed.url("/redirect?to=file:///etc/passwd")))
        finally:
            await http.close()
        assert other.seen == []
    assert set(connects) == {"127.0.0.2"}  # never even a try at the refused hops


async def test_redirects_are_followed_at_most_five_times(connects: list[str]) -> None:
    async with HttpService("127.0.0.2") as service:
        http = client("127.0.0.2/32")
        try:
            assert (await http.send(get(service.url("/chain/5")))).json == {"arrived": True}
            with pytest.raises(ExecutionFailed, match=r"more than 5 redirects") as failed:
                await http.send(get(service.url("/chain/6")))
            assert failed.value.code == "execution_failed"
        finally:
            await http.close()
        assert service.paths().count("/chain/0") == 1  # the second chain stopped before its end


@pytest.mark.parametrize("how", ["length", "chunked", "gzip"])
async def test_a_body_over_the_cap_fails_however_it_is_sent(connects: list[str], how: str) -> None:
    async with HttpService("127.0.0.2") as service:
        http = client("127.0.0.2/32", max_response_bytes=10_000)
        flag = "" if how == "length" else f"&{how}=1"
        try:
            fits = await http.send(get(service.url(f"/big?bytes=10000{flag}")))
            assert len(fits.body) == 10_000
            with pytest.raises(
                ExecutionFailed, match=r"larger than http\.max_response_bytes \(10000 bytes\)"
            ):
                await http.send(get(service.url(f"/big?bytes=10001{flag}")))
        finally:
            await http.close()


async def test_a_hanging_service_fails_the_request_in_its_time(connects: list[str]) -> None:
    async with HttpService("127.0.0.2") as service:
        http = client("127.0.0.2/32")
        try:
            started = asyncio.get_running_loop().time()
            with pytest.raises(ExecutionFailed, match=r"'127\.0\.0\.2' did not answer within 0\.3s"):
                await http.send(get(service.url("/hang"), timeout_s=0.3))
            assert asyncio.get_running_loop().time() - started < 2
        finally:
            await http.close()


async def test_a_refused_connection_is_a_node_error_not_a_crash(connects: list[str]) -> None:
    http = client("127.0.0.2/32")
    try:
        with pytest.raises(
            ExecutionFailed, match=r"could not connect to '127\.0\.0\.2' \(connection refused\)"
        ):
            await http.send(get(f"http://127.0.0.2:{free_port()}/"))
    finally:
        await http.close()


async def test_what_was_sent_to_one_site_is_not_forwarded_to_another(connects: list[str]) -> None:
    port = free_port()
    async with HttpService("127.0.0.2", port) as first, HttpService("127.0.0.3", port) as second:
        http = client("127.0.0.2/32", "127.0.0.3/32")
        token = {"Authorization": "Bearer for-the-first-only", "X-Api-Key": "k1"}
        try:
            await http.send(get(first.url(f"/redirect?to={second.url('/echo')}"), headers=token))
            same_site = await http.send(get(first.url("/redirect?to=/echo"), headers=token))
            with pytest.raises(ExecutionFailed, match="with its body to another site"):
                await http.send(
                    get(
                        first.url(f"/redirect?status=307&to={second.url('/echo')}"),
                        method="POST",
                        body_kind="text",
                        body="secret order",
                    )
                )
        finally:
            await http.close()
        assert first.seen[0].headers["authorization"] == "Bearer for-the-first-only"
        assert "authorization" not in second.seen[0].headers
        assert "x-api-key" not in second.seen[0].headers
        assert same_site.json["headers"]["x-api-key"] == "k1"
        assert [s.body for s in second.seen] == [""]


async def test_cookies_a_service_sets_are_not_sent_back_later(connects: list[str]) -> None:
    async with HttpService("127.0.0.2") as service:
        http = client("127.0.0.2/32")
        try:
            first = await http.send(get(service.url("/cookie")))
            second = await http.send(get(service.url("/cookie")))
        finally:
            await http.close()
    assert "session=from-the-service" in first.headers["set-cookie"]
    assert second.json == {"cookie": None}


async def test_new_settings_apply_to_the_next_request(connects: list[str]) -> None:
    async with HttpService("127.0.0.2") as service:
        http = client()
        try:
            with pytest.raises(DestinationNotAllowed):
                await http.send(get(service.url("/whoami")))
            http.use(HttpSettings(allow_networks=("127.0.0.2/32",)))
            assert (await http.send(get(service.url("/whoami")))).status == 200
            http.use(HttpSettings())
            with pytest.raises(DestinationNotAllowed):
                await http.send(get(service.url("/whoami")))
        finally:
            await http.close()


async def test_a_name_the_system_resolves_to_loopback_is_refused_before_connecting(
    connects: list[str],
) -> None:
    http = client()
    try:
        with pytest.raises(DestinationNotAllowed, match=r"'localhost' \(loopback address\)"):
            await http.send(get(f"http://localhost:{free_port()}/"))
        with pytest.raises(DestinationNotAllowed, match=r"'0x7f\.1' \(loopback address\)"):
            await http.send(get(f"http://0x7f.1:{free_port()}/"))
    finally:
        await http.close()
    assert connects == []


async def test_ipv6_loopback_is_refused_unless_opted_in(connects: list[str]) -> None:
    async with HttpService("::1") as service:
        refusing, allowing = client(), client("::1/128")
        try:
            with pytest.raises(DestinationNotAllowed, match=r"'::1' \(loopback address\)"):
                await refusing.send(get(service.url("/whoami")))
            assert (await allowing.send(get(service.url("/whoami")))).json == {"host": "::1"}
        finally:
            await refusing.close()
            await allowing.close()
    assert connects == ["::1"]
