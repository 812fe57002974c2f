"""How a file's path is shown to whoever may not know the host's layout."""

from __future__ import annotations

from pathlib import Path


def shown_path(path: str | Path) -> str:
    """Relative to the working directory when the file is under it, else the file's name alone:
    answers anyone may read (``/healthz``, a 403 to a non-admin key) never say where on the
    host chatgate's files live. Logs and admin answers keep the full path."""
    p = Path(path)
    if not p.is_absolute():
        return str(p)
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return p.name
