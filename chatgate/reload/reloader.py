"""Live reload: the admin's edits to chatgate.yaml and the workflow files take effect
without a restart, and a bad edit never replaces a good config.

A reload (file watcher, SIGHUP, ``POST /api/v1/admin/reload``, an admin's /reload
in chat) runs one at a time:

1. read and validate, off the event loop: the whole config file, and the workflow
   files of the directory the (new, if valid) config names;
2. apply, in one synchronous step (no ``await``, so no request or message runs in
   between and none sees half of it): workflow files (each bad file keeps its
   previous version), then the new settings: API keys, rate-limit tiers, the
   model client, engine limits, access rules, and bots that only need
   reconfiguring;
3. afterwards, in the background: bots removed or whose connection changed stop
   (finishing their in-flight answers) and start again.

With Redis (``redis_url``), a reload that did not come from another process is then
announced to the other processes, which reload their own files (chatgate.reload.fanout).

An invalid config changes nothing of the settings: the error is logged once, kept
in ``/healthz`` (``config.last_error``) and in /metrics until a good edit arrives.
Keys bound at start (``server.host/port``, ``storage.url``, ...) keep their running
values and are listed as needing a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from chatgate.config_state import RejectedEdit, Result
from chatgate.gateway import Gateway
from chatgate.keys import KeyRing, key_ring
from chatgate.logs import redact
from chatgate.reload.fanout import ReloadFanout
from chatgate.reload.state import ReloadReport, checksum
from config.diff import api_key_changes, bot_change, changed_sections, keep_running_values, restart_needed
from config.loader import ConfigError, parse_settings, read_config_text
from config.platforms.registry import unrouted_webhooks, webhook_patterns
from config.schema import BotCommon, Settings
from config.watch import FileWatcher
from config.workflow_files import WorkflowFile, check_bot_workflows, read_workflow_dir
from engine.catalog import Catalog
from engine.errors import NotFound
from engine.llm.client import LLM

log = logging.getLogger("chatgate.config")

WATCH_RETRY_S = 2.0


def known_workflows(catalog: Catalog, stored: set[str]) -> set[str]:
    """What a bot may name: the file workflows (by name and id) and the stored ids found."""
    files = catalog.file_workflows()
    return {w.name for w in files} | {w.workflow_id for w in files} | stored


async def stored_workflow_ids(catalog: Catalog, settings: Settings | ConfigError) -> set[str]:
    """The bots' ``wf_`` ids that the catalog (files, the database) has."""
    found: set[str] = set()
    if isinstance(settings, ConfigError):
        return found
    for ref in {b.workflow for b in settings.bots if b.workflow.startswith("wf_")}:
        try:
            await catalog.get(ref, owner=None)
        except NotFound:
            continue
        except Exception as e:  # the database is away: not the config's fault
            log.warning("config: could not check workflow %s in the database (%s)", ref, type(e).__name__)
        found.add(ref)
    return found


async def check_bots_at_start(gateway: Gateway, path: Path, text: str) -> None:
    """The start-up half of the reload check: a bot naming a missing workflow is a ConfigError."""
    settings = gateway.settings
    known = known_workflows(gateway.catalog, await stored_workflow_ids(gateway.catalog, settings))
    check_bot_workflows(settings, path, text, known, ids_checked=True)


#: How the change log names a section that changed (the rest need no more than their name).
_SAID = {
    "llm": "LLM settings changed (new executions use them)",
    "engine": "engine limits changed",
    "http": "http settings changed (new outbound requests use them)",
    "code": "code node sandbox settings changed (new runs use them)",
    **{
        s: f"{s} changed"
        for s in ("users", "admins", "access", "server", "workflows_dir", "reload", "secrets", "mcp_servers")
    },
}


class Reloader:
    """Reloads the gateway's settings: hands them to `Gateway.apply`, and keeps the
    gateway's `ConfigState` (the running version, the last reload) up to date."""

    def __init__(self, gateway: Gateway, path: Path, text: str) -> None:
        self.gw = gateway
        self.state = gateway.config  # written here only
        self.path = path
        self.boot = gateway.settings  # what the process started with: the restart-bound keys
        self._lock = asyncio.Lock()
        self._bots_work: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._retired: list[LLM] = []
        self._watch_task: asyncio.Task[None] | None = None
        self._rewatch = asyncio.Event()
        self._settled = asyncio.Event()  # the first watch is in place (or off, or failed)
        self.fanout: ReloadFanout | None = None  # set by start() when processes share a Redis
        # aiohttp's routes are fixed once serving: webhook paths outside these need a restart.
        self._webhook_patterns = webhook_patterns(self.boot.bots)
        self.state.path = str(path)
        self.state.checksum = checksum(text)

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Start watching (if ``reload.watch``); returns once the watch is in place."""
        if self.gw.shared is not None:  # several processes on one Redis: reloads reach them all
            self.fanout = ReloadFanout(self.gw.shared, self.reload)
            await self.fanout.start()
        self._watch_task = asyncio.create_task(self._watch_loop(), name="config-reload")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), 5)

    async def stop(self) -> None:
        if self.fanout is not None:
            await self.fanout.stop()
        if self._watch_task is not None:
            self._watch_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch_task
        if self._bots_work is not None:
            await self._bots_work
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for llm in self._retired:
            await llm.aclose()

    def request(self, trigger: str) -> None:
        """Reload soon (a signal handler cannot await)."""
        self._spawn(self.reload(trigger))

    # -- reloading -----------------------------------------------------------

    async def reload(self, trigger: str, *, wait: bool = True) -> ReloadReport:
        """Validate and apply the files as they are now. ``wait=False`` (a chat command
        answered by a bot that may itself be restarting) returns "busy" instead of queueing."""
        if not wait and self._bots_busy():
            return ReloadReport("busy", self.state.version)
        async with self._lock:
            if self._bots_busy():
                if not wait:  # the bots being stopped may include the one asking
                    return ReloadReport("busy", self.state.version)
                assert self._bots_work is not None
                await self._bots_work  # the previous reload's bots have settled
            text, parsed, files = await asyncio.to_thread(self._read)
            stored = await stored_workflow_ids(self.gw.catalog, parsed)
            watch_before = self._watch_key()
            report = self._apply(text, parsed, files, trigger, stored)
        if self._watch_key() != watch_before:
            self._rewatch.set()
        if self.fanout is not None and not self.fanout.caused_by_peer(trigger):
            report.peers = await self.fanout.announce(trigger)
        return report

    def _read(self) -> tuple[str | None, Settings | ConfigError, list[WorkflowFile]]:
        """Everything from disk, parsed and validated (runs in a thread)."""
        text: str | None = None
        try:
            text = read_config_text(self.path)
        except ConfigError as e:  # unreadable, or not UTF-8: a rejected edit like any other
            parsed: Settings | ConfigError = e
        if text is not None:
            try:
                parsed = parse_settings(text, self.path, os.environ)
            except ConfigError as e:
                parsed = e
        # A valid config may name another workflows_dir; a rejected one changes nothing.
        directory = parsed.workflows_dir if isinstance(parsed, Settings) else self.gw.settings.workflows_dir
        return text, parsed, read_workflow_dir(Path(directory))

    def _apply(
        self,
        text: str | None,
        parsed: Settings | ConfigError,
        files: list[WorkflowFile],
        trigger: str,
        stored: set[str],
    ) -> ReloadReport:
        """One synchronous step: nothing else runs until it returns. ``stored``: the bots'
        ``wf_`` ids found in the database."""
        gw, state = self.gw, self.state
        now = time.time()
        ring: KeyRing | None = None
        if isinstance(parsed, Settings):
            try:  # the one part that can still fail (an unusable stored admin key): before any change
                ring = key_ring(keep_running_values(self.boot, parsed), gw.keys.stored, self.path)
            except ConfigError as e:
                parsed = e
        if isinstance(parsed, Settings):
            gw.limit_workflows(parsed.engine)  # the files are held to the bounds of the new config
            gw.catalog.secrets = gw.secret_box(parsed)  # ... and may send its secrets
        changes = self._load_workflows(files)
        if isinstance(parsed, Settings):
            try:  # against the workflow files just loaded
                check_bot_workflows(
                    parsed, self.path, text or "", known_workflows(gw.catalog, stored), ids_checked=True
                )
            except ConfigError as e:
                parsed = e
        warnings: list[str] = []
        error = parsed if isinstance(parsed, ConfigError) else None
        if isinstance(parsed, Settings):
            assert ring is not None
            changes += self._swap(parsed, ring, warnings)
            state.checksum = checksum(text or "")
            if state.last_error is not None:
                log.info("config: the rejected edit is fixed")
            state.last_error = None
        else:
            assert error is not None
            gw.catalog.secrets = gw.executor.secrets  # the running secrets stay
            state.last_error = RejectedEdit(error, now, checksum(text) if text is not None else "")
            log.error("config rejected, still running version %d: %s", state.version, error)
        if changes:
            state.version += 1
            state.loaded_at = now
        result: Result = "rejected" if error else ("applied" if changes else "unchanged")
        state.last_reload_at, state.last_result, state.last_trigger = now, result, trigger
        gw.metrics.reloads.labels(result).inc()
        report = ReloadReport(
            result,
            state.version,
            changes,
            error,
            list(state.restart_needed),
            list(gw.workflow_problems),
            warnings,
        )
        if changes:
            log.info("config version %d applied (%s): %s", state.version, trigger, "; ".join(changes))
        elif result == "unchanged" and trigger != "watch":
            log.info("config reloaded (%s): nothing changed, still version %d", trigger, state.version)
        for w in warnings:
            log.warning("config: %s", w)
        return report

    def _load_workflows(self, files: list[WorkflowFile]) -> list[str]:
        """Each file on its own: a bad one keeps its previous version (the catalog logs it)."""
        catalog = self.gw.catalog

        def marks() -> dict[str, tuple[str | None, object]]:
            return {w.name: (w.path, w.updated_at) for w in catalog.file_workflows()}

        before = marks()
        self.gw.use_workflow_files(files)
        catalog.forget_stored()  # owners may have changed (`chatgate workflows reassign`)
        after = marks()
        out = [f"workflow {n} added" for n in sorted(after.keys() - before.keys())]
        out += [f"workflow {n} removed" for n in sorted(before.keys() - after.keys())]
        kept = sorted(before.keys() & after.keys())
        out += [f"workflow {n} changed" for n in kept if before[n] != after[n]]
        return out

    def _swap(self, new: Settings, ring: KeyRing, warnings: list[str]) -> list[str]:
        gw, state = self.gw, self.state
        old = gw.settings
        restart = restart_needed(self.boot, new) + unrouted_webhooks(new.bots, self._webhook_patterns)
        if restart != state.restart_needed and restart:
            log.warning(
                "config: %s changed; restart chatgate to apply (the running values stay until then)",
                ", ".join(restart),
            )
        state.restart_needed = restart
        new = keep_running_values(self.boot, new)
        sections = changed_sections(old, new)
        retired = gw.apply(new, ring, sections)
        if retired is not None:
            self._retire(retired)
        changes: list[str] = []
        if "api_keys" in sections:
            changes += api_key_changes(old, new) or ["API keys changed"]
        if "rate_limits" in sections:
            for tier in sorted(old.rate_limits.keys() | new.rate_limits.keys()):
                a, b = old.rate_limits.get(tier), new.rate_limits.get(tier)
                if a != b:
                    changes.append(f"rate limit {tier}: {a or '(none)'} -> {b or '(removed)'}")
        changes += [said for section, said in _SAID.items() if section in sections]
        changes += self._bots(new, warnings)
        redact(*gw.secrets())
        return changes

    # -- bots ----------------------------------------------------------------

    def _bots(self, new: Settings, warnings: list[str]) -> list[str]:
        """Reconfigure in place what allows it; stop and (re)start the rest afterwards."""
        manager = self.gw.bots
        running = dict(manager.bots)
        wanted = {b.name: b for b in new.bots if b.enabled}
        idle_before = dict(manager.unstarted)
        manager.configured(new.bots)
        changes = [
            f"bot {name} configured without a token (not started)"
            for name, b in manager.unstarted.items()
            if idle_before.get(name) != b
        ]
        stops: list[str] = []
        starts: list[BotCommon] = []
        for name in running:
            if name not in wanted:
                stops.append(name)
                changes.append(f"bot {name} stopping")
        for name, bot in wanted.items():
            if name not in running:
                starts.append(bot)
                changes.append(f"bot {name} starting")
                continue
            kind = bot_change(running[name].settings, bot)
            if kind == "reconfigure":
                manager.reconfigure(bot)
                changes.append(f"bot {name} updated without reconnecting")
            elif kind == "restart":
                stops.append(name)
                starts.append(bot)
                changes.append(f"bot {name} reconnecting")
        if stops or starts:
            self._bots_work = asyncio.create_task(self._restart_bots(stops, starts), name="bots-reload")
        return changes

    async def _restart_bots(self, stops: list[str], starts: list[BotCommon]) -> None:
        """Stopping bots finish their in-flight answers first; a bot whose token changed
        must be gone before its successor polls (Telegram allows one poller per token)."""
        manager = self.gw.bots
        results = await asyncio.gather(*(manager.stop(n) for n in stops), return_exceptions=True)
        for name, result in zip(stops, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("bot %s did not stop cleanly: %s", name, result)
        for bot in starts:
            try:
                manager.start(bot)
            except Exception:
                log.exception("bot %s could not be started", bot.name)

    def _bots_busy(self) -> bool:
        return self._bots_work is not None and not self._bots_work.done()

    # -- the model client ------------------------------------------------------

    def _retire(self, llm: LLM) -> None:
        """The old client serves the executions that started on it, then closes."""
        self._retired.append(llm)
        self._spawn(self._close_when_idle(llm, set(self.gw.executor.running)))

    async def _close_when_idle(self, llm: LLM, started: set[str]) -> None:
        while started & self.gw.executor.running.keys():  # noqa: ASYNC110 - the executor has no event
            await asyncio.sleep(0.5)
        self._retired.remove(llm)
        await llm.aclose()

    # -- watching --------------------------------------------------------------

    def _watch_key(self) -> tuple[object, ...]:
        s = self.gw.settings
        return (Path(s.workflows_dir).absolute(), s.reload)

    async def _watch_loop(self) -> None:
        """Watch with the current settings; start over when workflows_dir or reload change."""
        state = self.state
        while True:
            self._rewatch.clear()
            r = self.gw.settings.reload
            if not r.watch:
                state.watching = False
                self._settled.set()
                await self._rewatch.wait()
                continue
            watcher = FileWatcher(
                self.path,
                Path(self.gw.settings.workflows_dir),
                settle_s=r.settle_ms / 1000,
                force_polling=r.force_polling,
                poll_interval_ms=r.poll_interval_ms,
            )
            run = asyncio.create_task(watcher.run(self._on_change))
            rewatch = asyncio.create_task(self._rewatch.wait())
            ready = asyncio.create_task(watcher.ready.wait())
            try:
                await asyncio.wait({run, ready}, return_when=asyncio.FIRST_COMPLETED)
                state.watching = watcher.ready.is_set()
                self._settled.set()
                if state.watching:
                    log.info(
                        "watching %s for changes%s",
                        ", ".join(str(p) for p in watcher.roots),
                        " (polling)" if r.force_polling else "",
                    )
                await asyncio.wait({run, rewatch}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                state.watching = False
                for task in (run, rewatch, ready):
                    task.cancel()
                await asyncio.gather(run, rewatch, ready, return_exceptions=True)
            self._settled.set()
            if run.done() and not run.cancelled() and run.exception() is not None:
                log.warning(
                    "config watch failed (%s); retrying in %.0fs. SIGHUP and `chatgate reload` still "
                    "work; on filesystems without change events set reload.force_polling: true",
                    run.exception(),
                    WATCH_RETRY_S,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._rewatch.wait(), WATCH_RETRY_S)

    async def _on_change(self, paths: set[Path]) -> None:
        log.debug("changed: %s", ", ".join(sorted(str(p) for p in paths)))
        # Shielded: when this reload makes the watcher start over, the reload still finishes.
        await asyncio.shield(self.reload("watch"))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
