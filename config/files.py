"""Settings of the files workflows take in and send out (``files:`` in chatgate.yaml)."""

from __future__ import annotations

from pydantic import Field

from config.section import Section

MIB = 1024 * 1024


class FilesSettings(Section):
    # One file's bytes at most (an upload, a fetched URL, an attachment a node made).
    max_bytes: int = Field(20 * MIB, ge=1, le=1024 * MIB)
    # Every stored file together, of everyone: a put past it is refused until files expire.
    quota_bytes: int = Field(1024 * MIB, ge=1)
    # Files are deleted with their session, or this long after they were stored.
    retention_days: float = Field(30.0, gt=0, le=36500)
    # How long a file's signed URL works.
    url_ttl_s: int = Field(3600, ge=1, le=7 * 24 * 3600)
    # How often every process deletes the files past retention_days.
    sweep_s: float = Field(600.0, gt=0, le=86400)
    # Fetching a file's URL (a REST input, an attachment) may take this long.
    fetch_timeout_s: float = Field(30.0, gt=0, le=600)
