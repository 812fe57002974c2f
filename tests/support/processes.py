"""What the kernel says about a process's children (Linux /proc)."""

from __future__ import annotations

from pathlib import Path


def child_pids(pid: int | str = "self") -> list[int]:
    """The children of every thread of ``pid``, as they are now."""
    tasks = Path(f"/proc/{pid}/task").iterdir()
    return [int(child) for task in tasks for child in (task / "children").read_text().split()]
