"""What the kernel says about a process's children (Linux /proc)."""

from __future__ import annotations

from pathlib import Path


def child_pids(pid: int | str = "self") -> list[int]:
    """The children of every thread of ``pid``, as they are now."""
    return [child for task in Path(f"/proc/{pid}/task").iterdir() for child in _children(task)]


def _children(task: Path) -> list[int]:
    # A thread may end between listing the tasks and reading its children.
    try:
        return [int(child) for child in (task / "children").read_text().split()]
    except FileNotFoundError:
        return []
