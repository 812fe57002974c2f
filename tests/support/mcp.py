"""The test MCP server (tests/emulators/mcp_server.py) as chatgate's config names it: a
stdio command, or a streamable HTTP server started on a loopback port."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support.net import free_port

SERVER_SCRIPT = str(Path(__file__).resolve().parents[1] / "emulators" / "mcp_server.py")
STDIO_COMMAND = [sys.executable, SERVER_SCRIPT]


@asynccontextmanager
async def http_mcp_server() -> AsyncIterator[str]:
    """The server on 127.0.0.1 over streamable HTTP: yields its endpoint URL."""
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *STDIO_COMMAND,
        "--http",
        "--port",
        str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                await asyncio.sleep(0.05)
        else:
            raise RuntimeError("the MCP test server did not start listening")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        await proc.wait()
