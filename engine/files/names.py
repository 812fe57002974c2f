"""What a file's name and type may be: anything a caller sent is hostile, so it is made
harmless before it is stored (no paths, no control characters, a bounded length, a media
type of the ``type/subtype`` grammar)."""

from __future__ import annotations

import mimetypes
import re
import unicodedata

MAX_NAME_CHARS = 255
DEFAULT_TYPE = "application/octet-stream"
_TYPE_PART = r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}"
_MEDIA_TYPE = re.compile(rf"{_TYPE_PART}/{_TYPE_PART}")


def clean_name(name: str | None, fallback: str = "file") -> str:
    """The last path segment, without control or format characters, at most 255 characters."""
    text = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(" " if unicodedata.category(c)[0] in "CZ" and c != " " else c for c in text)
    text = " ".join(text.split()).strip(". ")
    return text[:MAX_NAME_CHARS] or fallback


def clean_type(mime_type: str | None, name: str) -> str:
    """``type/subtype`` in lower case, parameters dropped; guessed from the name when absent
    or malformed."""
    if mime_type:
        bare = mime_type.split(";", 1)[0].strip().lower()
        if _MEDIA_TYPE.fullmatch(bare):
            return bare
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed if guessed and _MEDIA_TYPE.fullmatch(guessed) else DEFAULT_TYPE
