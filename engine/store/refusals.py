"""What a caller is told, and the log says, when the database refuses a write."""

from __future__ import annotations

import errno
import logging
import sqlite3

from engine.errors import Unavailable

log = logging.getLogger("chatgate.storage")


def out_of_space(error: BaseException) -> bool:
    """The database, or the disk under it, is full: SQLite's SQLITE_FULL, PostgreSQL's class 53
    (disk_full, out of memory), or ENOSPC, however deep SQLAlchemy or the drivers wrapped it."""
    seen: BaseException | None = error
    for _ in range(8):  # wrappers wrap a few levels deep at most
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno == errno.ENOSPC:
            return True
        if isinstance(seen, sqlite3.Error) and getattr(seen, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        if str(getattr(seen, "sqlstate", None) or "").startswith("53"):
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False


def refusal(error: Exception) -> Exception:
    """What a caller sees of a failed write: a full database is a 503 to retry later (nothing
    of the write was stored); anything else as it was."""
    if out_of_space(error):
        return Unavailable(
            "the database has no space left, so nothing was stored; retry once space is freed",
            {"service": "database", "error": "out_of_space"},
        )
    return error


def log_refused(error: Exception, refused: int, batch: int) -> None:
    """A full database, once per batch (its callers answer 503 and log nothing). Other failures
    are logged by whoever handles them, with the traceback."""
    if out_of_space(error):
        # The driver's one-line reason only: SQLAlchemy's text adds the statement.
        inner = getattr(error, "orig", None) or error
        reason = f"{type(inner).__name__}: {str(inner).strip().splitlines()[0][:200]}"
        log.error(
            "database full: %d of %d writes refused, nothing of them stored (%s)", refused, batch, reason
        )
