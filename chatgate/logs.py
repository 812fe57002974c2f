"""Logging setup, with every configured secret masked before a record is written."""

from __future__ import annotations

import logging
import sys

_secrets: set[str] = set()


def redact(*values: str) -> None:
    """Register secrets (keys, tokens) that must never appear in any log line."""
    _secrets.update(v for v in values if len(v) >= 6)


def mask(text: str) -> str:
    for s in _secrets:
        if s in text:
            text = text.replace(s, "***")
    return text


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp's access log is one line per request: too much at gateway rates.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # The model client logs every HTTP call at INFO: noise at gateway rates.
    for name in ("httpx", "httpx2", "openai"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Alembic announces each of its plugins at INFO on every start; the migrations it runs
    # (alembic.runtime.migration) stay visible.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
