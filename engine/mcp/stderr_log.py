"""A stdio server's stderr, line by line into our log (the SDK hands the child a file)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import IO, TextIO

#: One logged line at most this long: a server cannot flood the log with one line.
MAX_LINE = 2000


class StderrLog:
    """``file`` is the write end for the child; our copy is closed once it is started
    (`started`), so the reader sees the end when the child's copy goes."""

    def __init__(self, log: logging.Logger, server: str) -> None:
        self.log, self.server = log, server
        read_fd, write_fd = os.pipe()
        self.file: TextIO = os.fdopen(write_fd, "w")
        self._reader = asyncio.create_task(self._forward(os.fdopen(read_fd, "rb")))

    def started(self) -> None:
        with contextlib.suppress(OSError):
            self.file.close()

    async def _forward(self, pipe: IO[bytes]) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=MAX_LINE * 4)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
        try:
            while True:
                try:
                    line = await reader.readline()
                except ValueError:  # over the reader's limit: the reader dropped it
                    self.log.info("mcp %s: (a line too long to log)", self.server)
                    continue
                if not line:
                    return
                text = line.decode(errors="replace").rstrip()
                if text:
                    self.log.info("mcp %s: %s", self.server, text[:MAX_LINE])
        finally:
            transport.close()

    async def aclose(self) -> None:
        self.started()
        try:
            await asyncio.wait_for(asyncio.shield(self._reader), 2)
        except (TimeoutError, asyncio.CancelledError):
            self._reader.cancel()
