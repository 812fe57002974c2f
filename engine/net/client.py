"""The outbound HTTP client of workflows (the `HTTP` service of the ``http`` node).

One aiohttp session per settings version, its connector resolving through the guard
(`GuardedResolver`); hosts that are addresses never reach a resolver in aiohttp, so each
hop's host is also judged here (`check_literal`) before anything connects. Redirects
are followed here, not by aiohttp, so every hop is judged the same way and counted.
No cookies outlive a request (a `DummyCookieJar`), and nothing of ours (proxy settings,
.netrc, our own keys) goes out: the session takes nothing from the environment.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver
from multidict import CIMultiDict
from yarl import URL

from config.outbound import HttpSettings
from engine.errors import ExecutionFailed, FileTooLarge
from engine.files import Downloaded, size_text
from engine.net.guard import GuardedResolver, Policy, check_literal
from engine.workflow.nodes.http import HttpRequest, HttpResponse

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
USER_AGENT = "chatgate"


@dataclass
class _Version:
    """The session made for one version of the settings, closed once it is replaced and
    the requests it carries are done."""

    settings: HttpSettings
    policy: Policy
    session: aiohttp.ClientSession | None = None
    in_use: int = 0
    retired: bool = False


class OutboundHttp:
    """``resolver``: makes the resolver the guard wraps (the system's by default; tests
    give one that answers as a DNS attacker would)."""

    def __init__(
        self, settings: HttpSettings, *, resolver: Callable[[], AbstractResolver] | None = None
    ) -> None:
        self._resolver = resolver
        self._current = _Version(settings, Policy.from_settings(settings))
        self._retired: list[_Version] = []
        self._closing: set[asyncio.Task[None]] = set()  # (held: the loop keeps only weak references)

    @property
    def settings(self) -> HttpSettings:
        return self._current.settings

    def use(self, settings: HttpSettings) -> None:
        """New settings for the requests that start from now on (synchronous, for a reload)."""
        old = self._current
        self._current = _Version(settings, Policy.from_settings(settings))
        old.retired = True
        self._retired.append(old)
        self._collect()

    def _collect(self) -> None:
        for version in [v for v in self._retired if v.in_use == 0]:
            self._retired.remove(version)
            if version.session is not None:
                task = asyncio.get_running_loop().create_task(version.session.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    def _session(self, version: _Version) -> aiohttp.ClientSession:
        if version.session is None:
            inner = self._resolver() if self._resolver is not None else None
            connector = aiohttp.TCPConnector(resolver=GuardedResolver(version.policy, inner))
            version.session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                headers={"User-Agent": USER_AGENT},
            )
        return version.session

    async def send(self, request: HttpRequest) -> HttpResponse:
        version = self._current
        version.in_use += 1
        try:
            return await _Exchange(self._session(version), version, request).run()
        finally:
            version.in_use -= 1
            if version.retired:
                self._collect()

    async def download(self, url: str, *, max_bytes: int, timeout_s: float) -> Downloaded:
        """A file's bytes from ``url`` (GET, redirects re-checked as for any request), reading
        at most ``max_bytes + 1`` of them: `FileTooLarge` past ``max_bytes``; an answer other
        than 2xx is an `ExecutionFailed` naming its status (engine.files.Downloader)."""
        request = HttpRequest("GET", url, {}, {}, None, None, timeout_s)
        version = self._current
        version.in_use += 1
        try:
            return await _Download(self._session(version), version, request, max_bytes).fetch()
        finally:
            version.in_use -= 1
            if version.retired:
                self._collect()

    async def close(self) -> None:
        for version in [*self._retired, self._current]:
            if version.session is not None:
                await version.session.close()
                version.session = None
        self._retired.clear()
        if self._closing:
            await asyncio.gather(*self._closing)


class _Exchange:
    """One request and the redirects it is sent on to."""

    def __init__(self, session: aiohttp.ClientSession, version: _Version, request: HttpRequest) -> None:
        self.session = session
        self.settings = version.settings
        self.policy = version.policy
        self.request = request
        self.deadline = asyncio.get_running_loop().time() + request.timeout_s

    def _failed(self, message: str, **details: Any) -> ExecutionFailed:
        return ExecutionFailed(message, details)

    async def run(self) -> HttpResponse:
        req = self.request
        try:
            url = URL(req.url)
        except (ValueError, TypeError):
            raise self._failed("the URL is not a valid URL") from None
        if req.query:
            url = url.extend_query(dict(req.query))
        self.method: str = req.method
        self.headers = CIMultiDict(req.headers)
        self.data, content_type = _encoded(req)
        if content_type is not None and "Content-Type" not in self.headers:
            self.headers["Content-Type"] = content_type
        self.origin = _origin(url)
        self.carrying = True  # the author's headers and body (secrets, maybe) still go along
        hops = 0
        while True:
            host = self._checked(url)
            answer, target, status = await self._hop(url, host)
            if answer is not None:
                return answer
            hops += 1
            if hops > self.settings.max_redirects:
                limit = self.settings.max_redirects
                raise self._failed(f"more than {limit} redirects (http.max_redirects)", max_redirects=limit)
            self._redirect(status, target, host)
            url = target

    async def _hop(self, url: URL, host: str) -> tuple[HttpResponse | None, URL, int]:
        """The answer, or where it redirects to (and with which status)."""
        try:
            async with self.session.request(
                self.method,
                url,
                headers=self.headers,
                data=self.data,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self._remaining(host)),
            ) as resp:
                location = resp.headers.get("Location") if resp.status in _REDIRECTS else None
                if location is None:
                    return await self._answer(resp, host), url, resp.status
                return None, resp.url.join(URL(location)), resp.status
        except ExecutionFailed:  # (a refusal from the resolver, an over-size body)
            raise
        except TimeoutError:
            timeout = self.request.timeout_s
            raise self._failed(
                f"{host!r} did not answer within {timeout:g}s", host=host, timeout_s=timeout
            ) from None
        except aiohttp.ClientConnectorError as e:
            # (the OS's words for the errno: its message would show the address)
            code = e.os_error.errno
            reason = os.strerror(code).lower() if code else "connection failed"
            raise self._failed(f"could not connect to {host!r} ({reason})", host=host) from None
        except (aiohttp.ClientError, ValueError) as e:
            raise self._failed(f"the request to {host!r} failed ({type(e).__name__})", host=host) from None

    def _redirect(self, status: int, target: URL, host: str) -> None:
        if status == 303 or (status in (301, 302) and self.method == "POST"):
            self.method, self.data = "GET", None  # as browsers do
            for name in ("Content-Type", "Content-Length"):
                self.headers.popall(name, None)
        if _origin(target) != self.origin:
            # What the author sent one service (a token, say) is not for another.
            if self.data is not None:
                raise self._failed(
                    f"{host!r} redirected the request with its body to another site; not re-sent", host=host
                )
            self.headers = CIMultiDict()
            self.origin = _origin(target)
            self.carrying = False

    def _checked(self, url: URL) -> str:
        if url.scheme not in ("http", "https"):
            raise self._failed(f"only http and https URLs may be requested, not {url.scheme[:20]!r}")
        host = url.raw_host
        if not host:
            raise self._failed("the URL names no host")
        check_literal(host, self.policy)  # (names are judged by the connector's resolver)
        check = self.request.secret_refused
        if self.carrying and check is not None:
            secret = check(host)
            if secret is not None:
                raise self._failed(f"secret '{secret}' may not be sent to {host!r}", host=host, secret=secret)
        return host

    def _remaining(self, host: str) -> float:
        left = self.deadline - asyncio.get_running_loop().time()
        if left <= 0:
            timeout = self.request.timeout_s
            raise self._failed(f"{host!r} did not answer within {timeout:g}s", host=host, timeout_s=timeout)
        return left

    async def _answer(self, resp: aiohttp.ClientResponse, host: str) -> HttpResponse:
        cap = self.settings.max_response_bytes
        too_big = self._failed(
            f"the response from {host!r} is larger than http.max_response_bytes ({cap} bytes)",
            host=host,
            max_response_bytes=cap,
        )
        raw = await _capped_body(resp, cap, too_big)
        headers: dict[str, str] = {}
        for name, value in resp.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return HttpResponse(resp.status, headers, _text(bytes(raw), resp.charset), _json(bytes(raw), resp))


async def _capped_body(resp: aiohttp.ClientResponse, cap: int, too_big: Exception) -> bytes:
    """The body, never reading more than ``cap + 1`` bytes of it (``too_big`` past ``cap``)."""
    if resp.content_length is not None and resp.content_length > cap:
        raise too_big
    if resp.content_length is not None and "Content-Encoding" not in resp.headers:
        return await resp.read()  # exactly the length said, within the cap
    raw = bytearray()
    while chunk := await resp.content.read(
        min(_CHUNK, cap + 1 - len(raw))
    ):  # decoded: a gzip bomb counts in full
        raw += chunk
        if len(raw) > cap:
            raise too_big
    return bytes(raw)


class _Download(_Exchange):
    """A GET whose answer is a file's bytes: capped at ``max_bytes``, a 2xx status only."""

    def __init__(
        self, session: aiohttp.ClientSession, version: _Version, request: HttpRequest, max_bytes: int
    ) -> None:
        super().__init__(session, version, request)
        self.max_bytes = max_bytes
        self.downloaded: Downloaded | None = None

    async def fetch(self) -> Downloaded:
        await self.run()
        assert self.downloaded is not None
        return self.downloaded

    async def _answer(self, resp: aiohttp.ClientResponse, host: str) -> HttpResponse:
        if not 200 <= resp.status < 300:
            raise self._failed(
                f"{host!r} answered HTTP {resp.status} for the file", host=host, status=resp.status
            )
        too_big = FileTooLarge(
            f"files may be at most {size_text(self.max_bytes)}", {"max_bytes": self.max_bytes}
        )
        body = await _capped_body(resp, self.max_bytes, too_big)
        mime = resp.content_type if "Content-Type" in resp.headers else None
        disposition = resp.content_disposition
        name = disposition.filename if disposition is not None else None
        self.downloaded = Downloaded(body, mime, name or resp.url.name or None)
        return HttpResponse(resp.status, {}, "", None)


def _encoded(req: HttpRequest) -> tuple[Any, str | None]:
    if req.body_kind == "json":
        return orjson.dumps(req.body), "application/json"
    if req.body_kind == "form":
        return urlencode(dict(req.body)).encode(), "application/x-www-form-urlencoded"
    if req.body_kind == "text":
        return str(req.body).encode(), "text/plain; charset=utf-8"
    return None, None


def _origin(url: URL) -> tuple[str, str | None, int | None]:
    return url.scheme, url.raw_host, url.port


def _text(raw: bytes, charset: str | None) -> str:
    encoding = "utf-8"
    if charset:
        with contextlib.suppress(LookupError):
            encoding = codecs.lookup(charset).name
    return raw.decode(encoding, errors="replace")


def _json(raw: bytes, resp: aiohttp.ClientResponse) -> Any:
    kind = resp.content_type.lower()
    if kind != "application/json" and not kind.endswith("+json"):
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
