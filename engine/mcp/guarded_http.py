"""The HTTP client the MCP SDK is given for ``url`` servers: its connections go only to
addresses the SSRF guard checked, the ones it resolved (no second lookup)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import httpcore2
import httpx2

from engine.errors import DestinationNotAllowed
from engine.net.guard import Policy, resolve_checked

#: Time for connecting and writing; a read may wait long, on the server's event stream.
TIMEOUT = httpx2.Timeout(30.0, read=300.0)


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """httpcore's network layer, connecting to the guard's checked addresses of a host; TLS
    still names the host (httpcore starts it with the URL's host name)."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._inner = httpcore2.AnyIOBackend()
        self.refused: DestinationNotAllowed | None = None  # the last refusal, to report it as such

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            checked = await resolve_checked(host, port, self.policy)
        except DestinationNotAllowed as e:
            self.refused = e
            raise httpcore2.ConnectError(e.message) from e
        except OSError as e:
            raise httpcore2.ConnectError(f"cannot resolve {host!r}: {e.strerror or e}") from e
        failure: Exception = httpcore2.ConnectError(f"{host!r} resolved to no address")
        for address in checked:
            try:
                return await self._inner.connect_tcp(
                    address["host"], port, timeout, local_address, socket_options
                )
            except httpcore2.ConnectError as e:
                failure = e
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("unix sockets are not MCP destinations")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx2.AsyncHTTPTransport):
    def __init__(self, backend: GuardedBackend) -> None:
        # trust_env=False: a proxy from the environment would connect for us, unchecked.
        super().__init__(trust_env=False)
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx2.create_ssl_context(trust_env=False), network_backend=backend
        )


def guarded_client(backend: GuardedBackend, headers: Mapping[str, str]) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(
        transport=GuardedTransport(backend), trust_env=False, headers=dict(headers), timeout=TIMEOUT
    )
