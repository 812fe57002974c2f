"""The SSRF guard: which addresses a request a workflow caused may reach, checked on the
addresses the connection will actually use.

A workflow author is anyone holding an API key, so a URL in a workflow is hostile: it may
name the machine itself, the private network, or the cloud's metadata service, directly
or through a name that resolves there (and may resolve elsewhere a moment later). The
guard therefore judges *resolved* addresses, once, and hands exactly those to the
connector (`GuardedResolver`): there is no second lookup a rebinding DNS server could
answer differently.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from dataclasses import dataclass

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from config.outbound import HttpSettings
from engine.errors import DestinationNotAllowed

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata services hand out credentials: refused by name, even where the address
# would otherwise pass (Azure's WireServer is a public address).
METADATA: frozenset[Address] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack, ...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.170.23",  # AWS EKS pod identity
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (legacy)
        "168.63.129.16",  # Azure WireServer
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
        "fd20:ce::254",  # GCP metadata over IPv6
    )
)

# Each class the guard refuses, by the label its error shows; the first match names it.
_CLASSES: tuple[tuple[str, tuple[Network, ...]], ...] = tuple(
    (label, tuple(ipaddress.ip_network(n) for n in nets))
    for label, nets in (
        ("unspecified", ("0.0.0.0/8", "::/128")),
        ("loopback", ("127.0.0.0/8", "::1/128")),
        ("link-local", ("169.254.0.0/16", "fe80::/10")),
        ("CGNAT", ("100.64.0.0/10",)),
        ("private", ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "fec0::/10")),
        ("multicast", ("224.0.0.0/4", "ff00::/8")),
        ("broadcast", ("255.255.255.255/32",)),
    )
)

# IPv6 prefixes that carry an IPv4 address in their last 32 bits and reach it: NAT64
# (well-known and local-use) and the IPv4-compatible and -translated forms.
_EMBEDDING_LAST_32 = tuple(
    ipaddress.IPv6Network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96")
)


@dataclass(frozen=True)
class Policy:
    """What the admin opted in beyond the public internet (``http.allow_networks`` and
    ``http.allow_hosts``)."""

    allow_networks: tuple[Network, ...] = ()
    allow_hosts: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: HttpSettings) -> Policy:
        return cls(
            tuple(ipaddress.ip_network(n) for n in settings.allow_networks),
            frozenset(host_key(h) for h in settings.allow_hosts),
        )

    def allows_host(self, host: str) -> bool:
        return host_key(host) in self.allow_hosts


def host_key(host: str) -> str:
    """A host name as ``allow_hosts`` holds it: lower case, no trailing dot."""
    return host.strip().rstrip(".").lower()


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, NAT64...), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in (ipaddress.IPv6Address("::"), ipaddress.IPv6Address("::1")):
        return None  # unspecified and loopback in their own right
    if any(address in net for net in _EMBEDDING_LAST_32):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: Address, policy: Policy) -> str | None:
    """None when ``address`` may be reached, else the class that refuses it ("loopback",
    "private", "link-local", "CGNAT", "multicast", "reserved", "unspecified", "metadata",
    "broadcast"). An IPv6 address carrying an IPv4 one is judged by that IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        address = ipaddress.IPv6Address(address.compressed.split("%")[0])
    inner = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    if any(a in net for a in (address, inner) if a is not None for net in policy.allow_networks):
        return None
    judged: Address = inner if inner is not None else address
    if judged in METADATA or address in METADATA:
        return "metadata"
    for label, nets in _CLASSES:
        if any(judged in net for net in nets if net.version == judged.version):
            return label
    if not judged.is_global:  # documentation, benchmarking, Teredo, 240/4 and the rest
        return "reserved"
    return None


def parse_host_address(host: str) -> Address | None:
    """The address a URL's host means when it is one, in any spelling the system's resolver
    takes (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``, ``[::1]``); None for a name."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if not text or not all(c.isalnum() or c == "." for c in text):
        return None
    try:
        # inet_aton is how the C library reads a numeric IPv4 host (getaddrinfo uses it).
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


def _looks_numeric(host: str) -> bool:
    """What aiohttp connects to without asking a resolver (its own test): such a host must
    be an address we could judge."""
    return ":" in host or host.replace(".", "").isdigit()


def _refused(host: str, reason: str) -> DestinationNotAllowed:
    what = "not a valid address" if reason == "invalid" else f"{reason} address"
    return DestinationNotAllowed(
        f"destination not allowed: {host!r} ({what})", {"host": host, "refused": reason}
    )


def check_literal(host: str, policy: Policy) -> Address | None:
    """For a host that is an address (in any spelling): raise `DestinationNotAllowed` if it
    is refused, else return it. None for a host name (to be resolved and judged then)."""
    address, reason = _judged_literal(host, policy)
    if reason is not None:
        raise _refused(host, reason)
    return address


@functools.lru_cache(maxsize=1024)  # pure, and on every request's every hop
def _judged_literal(host: str, policy: Policy) -> tuple[Address | None, str | None]:
    address = parse_host_address(host)
    if address is None:
        return None, ("invalid" if _looks_numeric(host) else None)
    if policy.allows_host(host):
        return address, None
    return address, refusal(address, policy)


async def resolve_checked(
    host: str,
    port: int,
    policy: Policy,
    resolver: AbstractResolver | None = None,
    *,
    family: socket.AddressFamily = socket.AF_UNSPEC,
) -> list[ResolveResult]:
    """Resolve ``host`` once and judge every address it gave: if any is refused the host is
    (a name with one private address among public ones is not safe to use), unless the host
    is in ``allow_hosts``. Returns the checked addresses, to connect to exactly those."""
    literal = check_literal(host, policy)
    if literal is not None:
        af = socket.AF_INET if literal.version == 4 else socket.AF_INET6
        return [ResolveResult(hostname=host, host=str(literal), port=port, family=af, proto=0, flags=0)]
    own = resolver is None
    active = DefaultResolver() if resolver is None else resolver
    try:
        results = await active.resolve(host, port, family=family)
    finally:
        if own:
            await active.close()
    if policy.allows_host(host):
        return results
    for result in results:
        try:
            address = ipaddress.ip_address(result["host"])
        except ValueError:
            raise _refused(host, "invalid") from None
        reason = refusal(address, policy)
        if reason is not None:
            raise _refused(host, reason)
    return results


class GuardedResolver(AbstractResolver):
    """The connector's resolver: every lookup goes through `resolve_checked`, so the
    connection is made to the addresses that were judged, and only to them."""

    def __init__(self, policy: Policy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return await resolve_checked(host, port, self.policy, self.inner, family=family)

    async def close(self) -> None:
        await self.inner.close()
