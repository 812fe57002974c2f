"""``http``: calls an HTTP service and outputs its answer (``status``, ``headers``, ``body``,
``json``).

The request goes out through the `HTTP` service (the gateway's is `engine.net.client`),
which puts every request, redirects included, behind the SSRF guard and bounds its size
and time. Any status is an output, so a workflow may branch on it; with
``raise_for_status`` a status of 400 or more fails the node instead (its ``on_error``
applies, as for a refused destination, a timeout or a connection failure).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.errors import ExecutionFailed
from engine.workflow.nodes.base import NodeConfig, NodeContext, ServiceKey
from engine.workflow.nodes.secrets import ROOT as SECRETS_ROOT
from engine.workflow.nodes.secrets import SECRETS
from engine.workflow.templates import REFERENCE, Scope, compile_value, references, shown

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
BodyKind = Literal["json", "form", "text"]

# RFC 9110 token: what a header name may be.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,200}$")
_SCHEMES = ("http://", "https://")
# Framing and connection headers are the client's to set: one from a workflow could split
# or smuggle requests on a shared connection.
_CLIENT_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer"}
    | {"proxy-connection", "proxy-authorization", "host"}
)
MAX_HEADERS = 100
MAX_QUERY = 100


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as the node resolved it (references filled in)."""

    method: Method
    url: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    body_kind: BodyKind | None
    body: Any  # the JSON value, the form's fields or the text
    timeout_s: float
    # With secrets in the headers, query or body: the name of one that may not go to a host
    # (None: all may). The client asks for each host it sends them to, as it parsed it.
    secret_refused: Callable[[str], str | None] | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: str
    json: Any  # parsed when the response says it is JSON, else None


class HttpClient(Protocol):
    """Sends a workflow's request to where the SSRF guard allows (engine/net/client.py)."""

    async def send(self, request: HttpRequest) -> HttpResponse:
        """The final answer after redirects; `ExecutionFailed` (`DestinationNotAllowed` for
        a refused destination) when there is none to give."""
        ...


HTTP: ServiceKey[HttpClient] = ServiceKey("http")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class JsonBody(_Body):
    value: Any = Field(alias="json")


class FormBody(_Body):
    form: dict[str, str] = Field(max_length=MAX_QUERY)


class TextBody(_Body):
    text: str


def _literal_url(url: str) -> str:
    if not REFERENCE.search(url) and not url.lower().startswith(_SCHEMES):
        raise ValueError(f"'url' must be an http:// or https:// URL, got {url[:100]!r}")
    return url


class HttpConfig(NodeConfig):
    method: Method = "GET"
    url: str = Field(min_length=1, max_length=8192)
    headers: dict[str, str] = Field(default_factory=dict, max_length=MAX_HEADERS)
    query: dict[str, str] = Field(default_factory=dict, max_length=MAX_QUERY)
    body: JsonBody | FormBody | TextBody | None = None
    timeout_s: float | None = Field(10.0, gt=0)
    raise_for_status: bool = False

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        return _literal_url(v)

    @field_validator("headers")
    @classmethod
    def _header_names(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name[:100]!r} is not a header name (letters, digits and !#$%&'*+.^_`|~-)")
            if name.lower() in _CLIENT_HEADERS:
                raise ValueError(f"header {name!r} is set by the HTTP client, not by a workflow")
        return v


class HttpNode:
    type_name: ClassVar[str] = "http"
    instant: ClassVar[bool] = False
    config_model: ClassVar[type[NodeConfig]] = HttpConfig
    #: The config keys that may hold ``{{secrets.name}}`` (validation refuses it elsewhere).
    secret_fields: ClassVar[frozenset[str]] = frozenset({"headers", "query", "body"})

    def __init__(self, node_id: str, config: HttpConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s
        body = config.body
        self._body_kind: BodyKind | None = None
        raw_body: Any = None
        if isinstance(body, JsonBody):
            self._body_kind, raw_body = "json", body.value
        elif isinstance(body, FormBody):
            self._body_kind, raw_body = "form", body.form
        elif isinstance(body, TextBody):
            self._body_kind, raw_body = "text", body.text
        self._url = compile_value(config.url)
        self._headers = compile_value(config.headers)
        self._query = compile_value(config.query)
        self._body = compile_value(raw_body)
        sent = [config.headers, config.query, raw_body]
        self._secrets = sorted({r.field for r in references(sent) if r.root == SECRETS_ROOT})

    def outputs(self) -> frozenset[str]:
        return frozenset({"status", "headers", "body", "json"})

    def _scope(self, ctx: NodeContext) -> Scope:
        """What the headers, query and body read: the pool, plus the secrets they name."""
        if not self._secrets:
            return ctx.pool
        values = ctx.service(SECRETS)
        named = {name: values.get(name) for name in self._secrets}  # only those it names
        return {**ctx.pool, SECRETS_ROOT: named}  # (a shallow copy: one entry per node id)

    def _secret_check(self, ctx: NodeContext) -> Callable[[str], str | None] | None:
        if not self._secrets:
            return None
        values, names = ctx.service(SECRETS), self._secrets

        def refused(host: str) -> str | None:
            return next((name for name in names if not values.may_send(name, host)), None)

        return refused

    def _request(self, ctx: NodeContext) -> HttpRequest:
        url = shown(self._url.resolve(ctx.pool))  # (never a secret: validation keeps them out)
        scope = self._scope(ctx)
        if not url.lower().startswith(_SCHEMES):
            raise self._failed(
                "the URL must start with http:// or https://", scheme=url.partition(":")[0][:20]
            )
        headers = {k: shown(v) for k, v in self._headers.resolve(scope).items()}
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\0" in value:
                raise self._failed(f"header {name!r} may not contain line breaks", header=name)
        query = {k: shown(v) for k, v in self._query.resolve(scope).items()}
        body = self._body.resolve(scope)
        if self._body_kind == "form":
            body = {k: shown(v) for k, v in body.items()}
        elif self._body_kind == "text":
            body = shown(body)
        timeout_s = self.timeout_s or ctx.hooks.limits.node_timeout_s  # (null: the engine's, as the runner)
        return HttpRequest(
            self.config.method, url, headers, query, self._body_kind, body, timeout_s, self._secret_check(ctx)
        )

    def _failed(self, message: str, **details: Any) -> ExecutionFailed:
        return ExecutionFailed(f"node '{self.node_id}': {message}", {"node": self.node_id, **details})

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        request = self._request(ctx)
        secrets = ctx.service(SECRETS)
        # The record shows what went out, as it went, but for the secrets' values.
        ctx.sent = secrets.mask_value(
            {
                "method": request.method,
                "url": request.url,
                "headers": dict(request.headers),
                "query": dict(request.query),
                "body": request.body,
            }
        )
        try:
            response = await ctx.service(HTTP).send(request)
        except ExecutionFailed as e:  # the same class (and code), saying which node
            details = e.details if isinstance(e.details, dict) else {}
            raise type(e)(f"node '{self.node_id}': {e.message}", {**details, "node": self.node_id}) from None
        if self.config.raise_for_status and response.status >= 400:
            raise self._failed(f"the service answered HTTP {response.status}", status=response.status)
        answered = {
            "status": response.status,
            "headers": response.headers,
            "body": response.body,
            "json": response.json,
        }
        # A service may echo what it was sent: its answer holds no secret anyone could see.
        return secrets.mask_value(answered)  # type: ignore[no-any-return]
