"""The process that commits `engine.store.sqlite.inserts`' batches, beside the server's own.

Why a process and not a thread of the server: a thread needs the GIL back after every SQLite
call while the event loop holds it, and each such hand-over cost the loop two context
switches and the batch a wait of a switch interval, measurably more CPU per request than
this process costs (BENCHMARKS.md, "decisions"). A process has a GIL of its own; the server
only writes a frame to a pipe and reads a reply.

    python -I process.py DATABASE [--uri]

Frames on stdin: a 4-byte little-endian length, then orjson ``[[sql, [values…]], …]``, all
committed in one transaction. One reply on stdout per frame, in order: a 4-byte length, then
the error's text (length 0: committed). End of stdin: exit; SIGINT (Ctrl-C) is ignored.
Imports nothing of chatgate, so it starts in a few tens of milliseconds.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import struct
import sys
from typing import BinaryIO

import orjson

HEADER = struct.Struct("<I")

# Every chatgate connection to a SQLite file: WAL lets readers run beside the writer, NORMAL
# still survives a process crash, and a writer waits for another's commit rather than fail.
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=5000")


def serve(database: str, uri: bool, frames: BinaryIO, replies: BinaryIO) -> None:
    db = sqlite3.connect(database, uri=uri, isolation_level=None)  # BEGIN/COMMIT are explicit
    try:
        for pragma in PRAGMAS:
            db.execute(pragma)
        while len(header := frames.read(HEADER.size)) == HEADER.size:
            error = commit(db, frames.read(HEADER.unpack(header)[0]))
            replies.write(HEADER.pack(len(error)) + error)
            replies.flush()
    finally:
        db.close()


def commit(db: sqlite3.Connection, frame: bytes) -> bytes:
    """One batch in one transaction; on any failure rolled back and its error returned."""
    try:
        db.execute("BEGIN")
        for sql, values in orjson.loads(frame):
            db.execute(sql, values)
        db.execute("COMMIT")
    except Exception as e:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        return f"{type(e).__name__}: {e}".encode()
    return b""


if __name__ == "__main__":
    # Ctrl-C reaches the whole process group, this process too: the server decides when it
    # ends (it closes our input once its last batch is committed), not the terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(sys.argv[1], "--uri" in sys.argv[2:], sys.stdin.buffer, sys.stdout.buffer)
