"""Checking real responses against the server's own OpenAPI document (with `jsonschema`).

`ResponseRecorder` notes every JSON response a story's aiohttp clients read from a chatgate
server; `Document.problems` says what in one of them the document does not allow."""

from __future__ import annotations

import json
import re
import urllib.request
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import jsonschema
import pytest
from yarl import URL

OUR_PATHS = ("/api/v1/", "/healthz", "/docs", "/metrics", "/telegram/")


@dataclass(frozen=True)
class Seen:
    method: str
    url: str
    status: int
    content_type: str
    body: bytes


class Document:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc
        self._paths = [
            (re.compile("^" + re.sub(r"\\{\w+\\}", "[^/]+", re.escape(p)) + "$"), p) for p in doc["paths"]
        ]

    @classmethod
    def of(cls, origin: str) -> Document:
        with urllib.request.urlopen(f"{origin}/api/v1/openapi.json", timeout=5) as r:
            return cls(json.load(r))

    def template(self, path: str) -> str | None:
        # A literal path wins over a template (none overlap today, but be exact).
        matches = [t for rx, t in self._paths if rx.match(path)]
        return min(matches, key=lambda t: t.count("{")) if matches else None

    def problems(self, seen: Seen) -> list[str]:
        path = URL(seen.url).path
        where = f"{seen.method} {path} -> {seen.status}"
        template = self.template(path)
        if template is None:
            return []  # not an endpoint of ours (aiohttp's 404 for unknown paths is checked elsewhere)
        op = self.doc["paths"][template].get(seen.method.lower())
        if seen.method == "OPTIONS":
            return []  # CORS preflights: the CORS protocol on every path, not an operation
        if op is None:
            return [] if seen.status == 405 else [f"{where}: method not in the document"]
        response = op["responses"].get(str(seen.status))
        if response is None:
            return [f"{where}: status {seen.status} not documented (documented: {sorted(op['responses'])})"]
        media = seen.content_type.split(";")[0].strip()
        content = response.get("content", {})
        if not content:
            return [] if not seen.body else [f"{where}: documented without a body, got {seen.body[:200]!r}"]
        if media not in content:
            return [f"{where}: content type {media} not documented ({sorted(content)})"]
        schema = content[media].get("schema")
        if media != "application/json" or schema is None:
            return []
        body = json.loads(seen.body)
        root = {**schema, "components": self.doc["components"]}
        validator = jsonschema.Draft202012Validator(root)
        return [f"{where}: {e.json_path}: {e.message}" for e in validator.iter_errors(body)]


@dataclass
class ResponseRecorder:
    """Every body read through aiohttp's client while installed (responses of our server:
    those whose path the server's document knows)."""

    seen: list[tuple[Seen, Document | None]] = field(default_factory=list)
    documents: dict[str, Document | None] = field(default_factory=dict)

    def document(self, url: URL) -> Document | None:
        """The server's document, fetched at its first response (later the story may have
        stopped it). Only for our paths: an in-process emulator must not be asked while
        its event loop waits on this call."""
        if not url.path.startswith(OUR_PATHS):
            return None
        origin = str(url.origin())
        if origin not in self.documents:
            try:
                self.documents[origin] = Document.of(origin)
            except OSError:
                self.documents[origin] = None
        return self.documents[origin]

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = aiohttp.ClientResponse.read
        recorder = self

        async def read(response: aiohttp.ClientResponse) -> bytes:
            body = await original(response)
            recorder.seen.append(
                (
                    Seen(
                        response.method,
                        str(response.url),
                        response.status,
                        response.headers.get("Content-Type", ""),
                        body,
                    ),
                    recorder.document(response.url),
                )
            )
            return body

        monkeypatch.setattr(aiohttp.ClientResponse, "read", read)

    def problems(self) -> list[str]:
        found: list[str] = []
        for seen, document in self.seen:
            if document is not None and seen.content_type.startswith("application/json"):
                found += document.problems(seen)
            elif document is not None and seen.status >= 400:
                found.append(f"{seen.method} {seen.url} -> {seen.status}: not JSON ({seen.content_type})")
        return found
