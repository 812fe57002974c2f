"""Settings for requests that workflows send out (the ``http`` node, MCP URLs): what the
SSRF guard lets through beyond the public internet, and how much of an answer is read."""

from __future__ import annotations

import contextlib
import ipaddress
from typing import Annotated

from pydantic import AfterValidator, Field

from config.section import Section


def _network(value: str) -> str:
    try:
        ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as e:
        hint = ""
        with contextlib.suppress(ValueError):
            hint = f"; did you mean {ipaddress.ip_network(value.strip(), strict=False)}?"
        raise ValueError(
            f"{value!r} is not a network such as '10.1.0.0/16' or '127.0.0.1' ({e}){hint}"
        ) from None
    return value.strip()


def _host(value: str) -> str:
    host = value.strip().rstrip(".").lower()
    if not host or "/" in host or ":" in host or " " in host:
        raise ValueError(f"{value!r} is not a host name such as 'orders.internal' (no scheme, port or path)")
    return host


class HttpSettings(Section):
    # Destinations opted in although the guard would refuse them: networks in CIDR form
    # ("10.1.0.0/16"; a bare address is one host), and host names whose addresses are all
    # allowed, whatever they resolve to.
    allow_networks: tuple[Annotated[str, AfterValidator(_network)], ...] = ()
    allow_hosts: tuple[Annotated[str, AfterValidator(_host)], ...] = ()
    # What one response body may be (decoded); a longer one fails the node.
    max_response_bytes: int = Field(1024 * 1024, ge=1, le=256 * 1024 * 1024)
    # Redirects followed per request, each hop checked like the first.
    max_redirects: int = Field(5, ge=0, le=10)
