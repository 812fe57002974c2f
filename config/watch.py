"""Noticing that the admin saved the config file or a workflow file.

Directories are watched, not files: editors save by writing a temporary file
and renaming it over the old one, which a watch on the old file never sees.
Only direct children count (no recursion): the config file itself, workflow
files in ``workflows_dir``, and Kubernetes-style ``..data`` symlink swaps next
to the config file. A burst of writes (an editor's rename dance, a copy in two
steps) is reported once, after the files have been quiet for ``settle_s``, so a
half-written file is never read in the middle of its writing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import watchfiles

from config.workflow_files import SUFFIXES

# watchfiles logs every batch at INFO, including files we ignore; our reload logs what matters.
logging.getLogger("watchfiles").setLevel(logging.WARNING)

OnChange = Callable[[set[Path]], Awaitable[None]]


class Relevant:
    """The watchfiles filter: which changed paths can change the running config."""

    def __init__(self, config_path: Path, workflows_dir: Path) -> None:
        self.config_path = config_path
        self.workflows_dir = workflows_dir

    def __call__(self, change: watchfiles.Change, path: str) -> bool:
        p = Path(path)
        if p == self.config_path or p == self.workflows_dir:
            return True
        if p.parent == self.config_path.parent and p.name.startswith(".."):
            return True  # a ConfigMap's ..data symlink swapped: the file behind the name changed
        return p.parent == self.workflows_dir and p.suffix in SUFFIXES


def watch_roots(config_path: Path, workflows_dir: Path) -> list[Path]:
    """The directories to watch, not recursively. A workflows_dir that does not exist yet
    is watched through its parent, so creating it is noticed too."""
    roots: list[Path] = []
    for d in (config_path.parent, workflows_dir if workflows_dir.is_dir() else workflows_dir.parent):
        if d.is_dir() and d not in roots:
            roots.append(d)
    return roots


Snapshot = dict[Path, tuple[int, int, int]]


def snapshot(config_path: Path, workflows_dir: Path) -> Snapshot:
    """(inode, mtime in ns, size) of every file that matters, for the polling watch."""
    relevant = Relevant(config_path, workflows_dir)
    paths = [config_path]
    if workflows_dir.is_dir():
        paths += [p for p in workflows_dir.iterdir() if relevant(watchfiles.Change.modified, str(p))]
    found: Snapshot = {}
    for path in paths:
        try:
            st = path.stat()
        except OSError:
            continue
        found[path] = (st.st_ino, st.st_mtime_ns, st.st_size)
    return found


class FileWatcher:
    def __init__(
        self,
        config_path: Path,
        workflows_dir: Path,
        *,
        settle_s: float,
        force_polling: bool = False,
        poll_interval_ms: int = 500,
    ) -> None:
        self.config_path = config_path.absolute()
        self.workflows_dir = workflows_dir.absolute()
        self.roots = watch_roots(self.config_path, self.workflows_dir)
        self.settle_s = settle_s
        self.force_polling = force_polling
        self.poll_interval_ms = poll_interval_ms
        self.ready = asyncio.Event()  # set once the watch is in place

    async def run(self, on_change: OnChange) -> None:
        """Call ``on_change`` with the changed paths of each settled burst, until cancelled.
        Changes that arrive while ``on_change`` runs are reported in the next call."""
        batches: asyncio.Queue[set[Path]] = asyncio.Queue()
        stop = asyncio.Event()
        if self.force_polling:
            before = await asyncio.to_thread(snapshot, self.config_path, self.workflows_dir)
            pump = asyncio.create_task(self._poll(batches, before), name="config-poll")
        else:
            pump = asyncio.create_task(self._pump(batches, stop), name="config-watch")
            # The pump's first step creates the OS watch before its first real wait; after
            # this yield it exists, so a save from now on is seen.
            await asyncio.sleep(0)
        self.ready.set()
        try:
            while True:
                changed = await self._next(batches, pump)
                await on_change(changed)
        finally:
            self.ready.clear()
            # The watch thread checks this flag between waits; cancelling alone would
            # wait for its next timeout.
            stop.set()
            if self.force_polling:
                pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(pump, 2.0)

    async def _next(self, batches: asyncio.Queue[set[Path]], pump: asyncio.Task[None]) -> set[Path]:
        """The next burst: the first batch, plus everything until ``settle_s`` of quiet."""
        changed = await self._get(batches, pump, None)
        assert changed is not None
        while True:
            more = await self._get(batches, pump, self.settle_s)
            if more is None:
                return changed
            changed |= more

    @staticmethod
    async def _get(
        batches: asyncio.Queue[set[Path]], pump: asyncio.Task[None], wait_s: float | None
    ) -> set[Path] | None:
        getter = asyncio.ensure_future(batches.get())
        try:
            done, _ = await asyncio.wait({getter, pump}, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not getter.done():
                getter.cancel()
        if getter in done:
            return getter.result()
        if pump in done:
            pump.result()  # the watcher died: raise its error to our caller
            raise RuntimeError("the file watcher stopped")
        return None

    async def _pump(self, batches: asyncio.Queue[set[Path]], stop: asyncio.Event) -> None:
        async for changes in watchfiles.awatch(
            *self.roots,
            watch_filter=Relevant(self.config_path, self.workflows_dir),
            # watchfiles' own grouping only needs to be short: settling is ours, on relevant files.
            debounce=1_600,
            step=50,
            stop_event=stop,
            recursive=False,
        ):
            batches.put_nowait({Path(p) for _, p in changes})

    async def _poll(self, batches: asyncio.Queue[set[Path]], before: Snapshot) -> None:
        """For filesystems without change events (NFS, some container mounts). Our own loop,
        not watchfiles' polling: that one compares whole-second times, so a same-size edit
        within a second of the last poll went unseen, and it skips a non-recursive root's files."""
        while True:
            await asyncio.sleep(self.poll_interval_ms / 1000)
            now = await asyncio.to_thread(snapshot, self.config_path, self.workflows_dir)
            changed = {p for p in before.keys() | now.keys() if before.get(p) != now.get(p)}
            before = now
            if changed:
                batches.put_nowait(changed)
