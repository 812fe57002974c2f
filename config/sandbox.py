"""Settings of the ``code`` node's sandbox (``code:`` in chatgate.yaml)."""

from __future__ import annotations

from pydantic import Field

from config.section import Section


class CodeSettings(Section):
    # The programs the sandbox is made of: bubblewrap (a name looked up in PATH, or a path) and
    # the Python that runs the author's code inside it (bound read-only with its stdlib).
    bwrap: str = "bwrap"
    python: str = "/usr/bin/python3"
    # What one run may use: CPU seconds (and as much wall-clock time), address space, processes
    # (threads count), open files, and bytes written to its private /tmp.
    timeout_s: float = Field(5.0, gt=0, le=300)
    memory_mb: int = Field(256, ge=32, le=65536)
    max_processes: int = Field(16, ge=1, le=1024)
    max_open_files: int = Field(64, ge=16, le=4096)
    tmp_bytes: int = Field(16 * 1024 * 1024, ge=0, le=1024 * 1024 * 1024)
    # What crosses the boundary: the inputs sent in, the outputs ``main`` returns, what it prints.
    max_input_bytes: int = Field(1024 * 1024, ge=1024)
    max_output_bytes: int = Field(256 * 1024, ge=1024)
    max_log_bytes: int = Field(16 * 1024, ge=0)
    # Sandboxes started ahead of need (each serves one run), and how many run at once.
    pool_size: int = Field(2, ge=0, le=64)
    max_concurrent: int = Field(8, ge=1, le=1024)
    # When chatgate runs as root, each sandbox runs as its own unprivileged uid from
    # [uid_base, uid_base + 65536): the process limit is per uid, and root is exempt from it.
    uid_base: int = Field(2_000_000, ge=1000, le=4_000_000_000)
