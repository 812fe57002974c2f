"""Signed file URLs: an HMAC-SHA256 over the file's id and when the URL expires."""

from __future__ import annotations

import hashlib
import hmac
import time

from engine.errors import Forbidden

PATH = "/api/v1/files/{file_id}"


class UrlSigner:
    def __init__(self, key: bytes, ttl_s: int, public_url: str | None = None) -> None:
        self._key = key  # never logged, never shown
        self.ttl_s = ttl_s
        self.public_url = public_url

    def __repr__(self) -> str:
        return f"UrlSigner(ttl_s={self.ttl_s})"

    def signature(self, file_id: str, expires: int) -> str:
        return hmac.new(self._key, f"{file_id}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def url(self, file_id: str, now: float | None = None) -> str:
        expires = int(now if now is not None else time.time()) + self.ttl_s
        path = PATH.format(file_id=file_id)
        query = f"?expires={expires}&signature={self.signature(file_id, expires)}"
        return f"{self.public_url or ''}{path}{query}"

    def check(self, file_id: str, expires: int, signature: str, now: float | None = None) -> None:
        """`Forbidden` unless ``signature`` is this id's and ``expires`` is still ahead."""
        good = hmac.compare_digest(
            self.signature(file_id, expires).encode(), signature.encode("utf-8", "replace")
        )
        if not good:
            raise Forbidden("the file's link is not valid", {"hint": "ask for a new link"})
        if expires < (now if now is not None else time.time()):
            raise Forbidden("the file's link has expired", {"hint": "ask for a new link"})
