"""Files a caller sends as a workflow's inputs: ``{"name", "mime_type", "data": "<base64>"}``
or ``{"url": "https://…"}``. Read in two steps, so nothing is stored for a request that is
refused: `read_inputs` checks every file value (shape, base64, size) without storing
anything; `store_inputs` then fetches the URLs (through the SSRF guard) and stores them all."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import (
    DestinationNotAllowed,
    ExecutionFailed,
    FileTooLarge,
    InputDestinationNotAllowed,
    problem,
)
from engine.files import MAX_FILES, Downloader, FileRef, size_text
from engine.files.store import FileStore, too_large

MAX_URL_CHARS = 2048
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)?(?:;[\w=.+-]+)*;base64,", re.ASCII)
_SHAPE = 'a file: {"name", "mime_type", "data": "<base64>"} or {"url": "https://…"}'


@dataclass(frozen=True, slots=True)
class Incoming:
    """One file value as sent, checked: its bytes, or the URL to fetch them from."""

    loc: tuple[str | int, ...]  # where in the request: ("body", "inputs", "photo"[, 0])
    name: str | None
    mime_type: str | None
    data: bytes | None
    url: str | None


# The inputs' file values, by input name: one file, or a list of them (``files``).
Read = dict[str, Incoming | list[Incoming]]

#: What `placeholders` puts where a file will be, so the other inputs can be checked first.
_PLACEHOLDER: FileRef = {
    "id": "file_pending",
    "name": "file",
    "mime_type": "application/octet-stream",
    "size": 0,
    "url": "",
}


def read_inputs(file_inputs: Sequence[tuple[str, bool]], raw: Mapping[str, Any], max_bytes: int) -> Read:
    """Every file value of ``raw`` checked (400 ``invalid_request`` naming the place, 413 for
    one over ``max_bytes``); nothing stored. Values of other inputs are left to the start node."""
    out: Read = {}
    for name, is_list in file_inputs:
        value = raw.get(name)
        if value is None:
            continue
        loc: tuple[str | int, ...] = ("body", "inputs", name)
        if is_list:
            if not isinstance(value, list):
                raise _bad(loc, f"must be a list of files ({_SHAPE})")
            if len(value) > MAX_FILES:
                raise _bad(loc, f"at most {MAX_FILES} files")
            out[name] = [_one((*loc, i), v, max_bytes) for i, v in enumerate(value)]
        else:
            out[name] = _one(loc, value, max_bytes)
    return out


def placeholders(read: Read) -> dict[str, Any]:
    return {k: [_PLACEHOLDER] * len(v) if isinstance(v, list) else _PLACEHOLDER for k, v in read.items()}


async def store_inputs(
    read: Read,
    store: FileStore,
    downloader: Downloader,
    *,
    owner: str,
    session_id: str | None,
) -> dict[str, Any]:
    """The files stored (URLs fetched first), as the pool holds them, by input name."""
    out: dict[str, Any] = {}
    for name, value in read.items():
        if isinstance(value, list):
            out[name] = [await _stored(v, store, downloader, owner, session_id) for v in value]
        else:
            out[name] = await _stored(value, store, downloader, owner, session_id)
    return out


def _bad(loc: tuple[str | int, ...], msg: str) -> Exception:
    where = ".".join(str(p) for p in loc[1:])
    return problem(list(loc), f"{where}: {msg}", msg)


def _one(loc: tuple[str | int, ...], value: Any, max_bytes: int) -> Incoming:
    if not isinstance(value, dict):
        raise _bad(loc, f"must be {_SHAPE}")
    unknown = sorted(set(value) - {"name", "mime_type", "data", "url"})
    if unknown:
        raise _bad((*loc, unknown[0]), f"unknown field (a file is {_SHAPE})")
    name, mime, data, url = (value.get(k) for k in ("name", "mime_type", "data", "url"))
    for field, text in (("name", name), ("mime_type", mime)):
        if text is not None and not isinstance(text, str):
            raise _bad((*loc, field), "must be a string")
        if isinstance(text, str) and len(text) > 1000:
            raise _bad((*loc, field), "at most 1000 characters")
    if (data is None) == (url is None):
        raise _bad(loc, "send exactly one of 'data' (base64) and 'url'")
    if url is not None:
        if (
            not isinstance(url, str)
            or not url.startswith(("http://", "https://"))
            or len(url) > MAX_URL_CHARS
        ):
            raise _bad((*loc, "url"), f"must be an http or https URL of at most {MAX_URL_CHARS} characters")
        return Incoming(loc, name, mime, None, url)
    if not isinstance(data, str):
        raise _bad((*loc, "data"), "must be a string (base64)")
    if not name:
        raise _bad((*loc, "name"), "is required with 'data' (the file's name, e.g. \"scan.pdf\")")
    found = _DATA_URL.match(data)
    if found is not None:  # data:image/png;base64,… as browsers make it
        mime = mime or found.group(1)
        data = data[found.end() :]
    return Incoming(loc, name, mime, _decoded((*loc, "data"), data, max_bytes), None)


def _decoded(loc: tuple[str | int, ...], text: str, max_bytes: int) -> bytes:
    # Judged on the text's length first: an oversized file is refused before it is decoded.
    if len(text) > 4 * (max_bytes // 3 + 1) + 1024:
        raise too_large(max_bytes)
    compact = "".join(text.split())  # line-wrapped base64 (76 characters a line) is base64 too
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise _bad(loc, "is not valid base64") from None
    if len(data) > max_bytes:
        raise too_large(max_bytes, len(data))
    return data


async def _stored(
    incoming: Incoming, store: FileStore, downloader: Downloader, owner: str, session_id: str | None
) -> FileRef:
    data, name, mime = incoming.data, incoming.name, incoming.mime_type
    if incoming.url is not None:
        limits = store.settings
        where = ".".join(str(p) for p in incoming.loc[1:])
        try:
            got = await downloader.download(
                incoming.url, max_bytes=limits.max_bytes, timeout_s=limits.fetch_timeout_s
            )
        except DestinationNotAllowed as e:
            raise InputDestinationNotAllowed(
                f"{where}.url: {e.message}", {**e.details, "input": where}
            ) from None
        except FileTooLarge:
            raise FileTooLarge(
                f"{where}.url: files may be at most {size_text(limits.max_bytes)}",
                {"max_bytes": limits.max_bytes},
            ) from None
        except ExecutionFailed as e:
            raise _bad((*incoming.loc, "url"), f"could not be fetched: {e.message}") from None
        data, name, mime = got.body, name or got.name, mime or got.mime_type
    assert data is not None
    return await store.put(data, name=name or "file", mime_type=mime, session_id=session_id, owner=owner)
