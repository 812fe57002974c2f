"""``mcp_servers``: the MCP servers whose tools a ``response`` node may offer its model, by
name. A server is reached over streamable HTTP (``url``, behind the SSRF guard like every
request a workflow causes) or started by chatgate and spoken to over stdio (``command``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr, StringConstraints, model_validator

from config.section import Section

#: A server's name as workflows write it (``{"mcp": "orders"}``).
McpServerName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class McpServerSettings(Section):
    # Streamable HTTP: the endpoint, e.g. https://tools.example.com/mcp; headers sent with
    # every request (an Authorization token, say), kept secret.
    url: str | None = None
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    # stdio: the program and its arguments; it sees PATH, the SDK's few safe variables
    # (HOME, USER, ...) and ``env``, nothing else of chatgate's environment.
    command: tuple[str, ...] | None = Field(None, min_length=1, max_length=100)
    env: dict[str, SecretStr] = Field(default_factory=dict)
    cwd: str | None = None
    # Connecting and listing the tools, each time the server is (re)started.
    connect_timeout_s: float = Field(20.0, gt=0, le=600)
    # A crashed or unreachable server is tried again after this, doubled up to max_backoff_s.
    backoff_s: float = Field(0.5, gt=0, le=60)
    max_backoff_s: float = Field(30.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _one_way(self) -> McpServerSettings:
        if (self.url is None) == (self.command is None):
            raise ValueError("give an MCP server either 'url' (streamable HTTP) or 'command' (stdio)")
        if self.url is not None and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url {self.url!r}: an http:// or https:// address of the MCP endpoint")
        if self.command is not None and (self.headers):
            raise ValueError("'headers' are for a 'url' server")
        if self.url is not None and (self.env or self.cwd):
            raise ValueError("'env' and 'cwd' are for a 'command' server")
        return self
