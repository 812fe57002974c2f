"""An admin configures MCP servers in ``mcp_servers``: a url or a command, never both, with
secret headers and environment, and names workflows can write."""

from __future__ import annotations

import textwrap

import pytest

from config import ConfigError, Settings, parse_settings


def parse(text: str, env: dict[str, str] | None = None) -> Settings:
    return parse_settings(textwrap.dedent(text), "chatgate.yaml", env or {})


def test_a_url_server_and_a_command_server_with_secrets_from_the_environment() -> None:
    settings = parse(
        """
        mcp_servers:
          orders:
            url: https://tools.example.com/mcp
            headers: {Authorization: "Bearer ${ORDERS_TOKEN}"}
          files:
            command: [npx, "@modelcontextprotocol/server-filesystem", /srv/docs]
            env: {API_KEY: "${FILES_KEY}"}
        """,
        {"ORDERS_TOKEN": "tok-123", "FILES_KEY": "key-456"},
    )
    orders, files = settings.mcp_servers["orders"], settings.mcp_servers["files"]
    assert orders.url == "https://tools.example.com/mcp"
    assert orders.headers["Authorization"].get_secret_value() == "Bearer tok-123"
    assert files.command == ("npx", "@modelcontextprotocol/server-filesystem", "/srv/docs")
    assert "key-456" not in repr(settings)  # secrets print as stars
    assert "tok-123" not in repr(settings)


@pytest.mark.parametrize(
    ("server", "told"),
    [
        ("{}", "either 'url'"),
        ("{url: https://a.example/mcp, command: [x]}", "either 'url'"),
        ("{url: ftp://a.example/mcp}", "http:// or https://"),
        ("{command: []}", "command"),
        ("{command: [x], headers: {A: b}}", "'headers' are for a 'url' server"),
        ("{url: https://a.example/mcp, env: {A: b}}", "'env' and 'cwd' are for a 'command' server"),
        ("{url: https://a.example/mcp, timeout: 3}", "timeout"),
    ],
)
def test_a_server_that_cannot_work_is_refused_naming_the_problem(server: str, told: str) -> None:
    with pytest.raises(ConfigError, match=told):
        parse(f"mcp_servers:\n  tools: {server}\n")


def test_a_server_name_a_workflow_could_not_write_is_refused() -> None:
    with pytest.raises(ConfigError, match="mcp_servers"):
        parse("mcp_servers:\n  'my tools': {url: https://a.example/mcp}\n")
