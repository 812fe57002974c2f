"""A tiny MCP server for the tests, on the official SDK: over stdio (started by chatgate as
an ``mcp_servers`` command) or streamable HTTP on a loopback port.

    python -m tests.emulators.mcp_server                      # stdio
    python -m tests.emulators.mcp_server --http --port 8765   # http://127.0.0.1:8765/mcp

Tools: ``add``, ``shout``, ``environment`` (the names of the variables it sees), ``fail``
(a tool error), ``crash`` (the process dies), ``sleep``, ``pid``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("chatgate-test-tools")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


@server.tool()
def shout(text: str) -> str:
    """The text in capitals, with an exclamation mark."""
    return text.upper() + "!"


@server.tool()
def environment() -> str:
    """The names of the environment variables this server sees, sorted."""
    return ",".join(sorted(os.environ))


@server.tool()
def fail(why: str) -> str:
    """Always fails, saying why."""
    raise ToolError(f"failed on purpose: {why}")


@server.tool()
def crash() -> str:
    """Ends this server's process at once."""
    os._exit(3)


@server.tool()
async def sleep(seconds: float) -> str:
    """Waits, then says so."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    print("chatgate-test-tools: up", file=sys.stderr, flush=True)
    if args.http:
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
