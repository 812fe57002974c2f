"""Wiring: one `Gateway` builds and owns storage, the engine's parts, keys, limits and bots.

It knows nothing of what sits on it (the HTTP app, the reloader, the admin console): they
read its parts, and a reload hands it new settings through `Gateway.apply`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from bots.access import AccessPolicy
from bots.delivery.claims import SeenKeys
from bots.manager import BotManager
from bots.router import Services
from chatgate.config_state import ConfigState
from chatgate.keys import KeyRing, StoredKeys, key_ring, refresh_forever
from chatgate.logs import redact
from chatgate.metrics import Metrics
from config.schema import EngineSettings, Settings
from config.workflow_files import WorkflowFile, read_workflow_dir
from engine.catalog import Catalog, FileProblem
from engine.cluster.link import SharedState
from engine.cluster.ordering import RedisOrdering
from engine.errors import Forbidden, NotFound
from engine.files.store import FileStore
from engine.files.store import sweep_forever as sweep_files_forever
from engine.llm.client import LLM
from engine.mcp.pool import RETIRE_GRACE_S, McpPool
from engine.net.client import OutboundHttp
from engine.ratelimit import RateLimiter
from engine.run.executor import Executor
from engine.run.expiry import sweep_forever
from engine.sandbox import Sandbox
from engine.secrets import SecretBox
from engine.sessions import Sessions
from engine.store.api_keys import workflow_owners
from engine.store.writer import Storage
from engine.workflow.graph import CompiledWorkflow
from engine.workflow.nodes.calling import WORKFLOWS
from engine.workflow.nodes.code import SANDBOX
from engine.workflow.nodes.files import DOWNLOADS, FILES
from engine.workflow.nodes.http import HTTP
from engine.workflow.nodes.secrets import SECRETS
from engine.workflow.nodes.tools.servers import MCP_SERVERS

log = logging.getLogger("chatgate")


@dataclass
class Gateway:
    settings: Settings
    storage: Storage
    catalog: Catalog
    sessions: Sessions
    executor: Executor
    limiter: RateLimiter
    keys: KeyRing
    bots: BotManager
    started_at: float = field(default_factory=time.time)
    workflow_problems: list[FileProblem] = field(default_factory=list)
    config: ConfigState = field(default_factory=ConfigState)  # version, last reload error (reloader-written)
    metrics: Metrics = field(default_factory=Metrics)
    shared: SharedState | None = None  # with redis_url: the link to the other processes
    outbound: OutboundHttp | None = None  # the http node's client (the SSRF guard in front)
    _key_refresh: asyncio.Task[None] | None = None
    _question_sweep: asyncio.Task[None] | None = None  # resumes questions whose wait ran out
    mcp: McpPool | None = None  # the MCP servers response nodes' tools come from
    _retiring_mcp: dict[asyncio.Task[None], McpPool] = field(default_factory=dict)
    files: FileStore | None = None  # files workflows took in and sent out
    _file_sweep: asyncio.Task[None] | None = None  # deletes files past files.retention_days

    @classmethod
    async def open(cls, settings: Settings, config_file: Path | str = "config") -> Gateway:
        """``config_file``: where the settings came from, for errors that name a key of it."""
        storage = Storage(settings.storage.url)
        await storage.open()
        shared = ordering = None
        if settings.redis_url:
            shared = SharedState(settings.redis_url)
            await shared.start()
            # Tickets are owned by this process: its heartbeat vouches for them.
            ordering = RedisOrdering(settings.redis_url, shared.owner)
        sessions = Sessions(storage, max_turns=settings.engine.history_turns, turns=ordering)
        llm = LLM(settings.llm)
        catalog = Catalog(storage, limits=settings.engine)
        executor = Executor(storage, sessions, llm, settings.engine)
        executor.owner_services[WORKFLOWS.name] = catalog.workflows_for
        outbound = executor.services[HTTP.name] = OutboundHttp(settings.http)
        sandbox = executor.services[SANDBOX.name] = Sandbox(settings.code)
        await sandbox.check()  # a host without bubblewrap: a warning now, code nodes refuse to run
        mcp = executor.services[MCP_SERVERS.name] = McpPool(settings.mcp_servers, settings.http)
        files = await FileStore(storage, settings.files, settings.server.public_url).open()
        executor.owner_services[FILES.name] = files.of_owner  # a run reaches its owner's files only
        executor.services[DOWNLOADS.name] = outbound
        limiter = RateLimiter(settings.rate_limits, settings.redis_url)
        stored = StoredKeys()
        await stored.refresh(storage, set())
        keys = key_ring(settings, stored, config_file)
        gw = cls(
            settings=settings,
            storage=storage,
            catalog=catalog,
            sessions=sessions,
            executor=executor,
            limiter=limiter,
            keys=keys,
            bots=BotManager(
                Services(
                    catalog,
                    executor,
                    sessions,
                    limiter,
                    storage,
                    SeenKeys(storage, shared=shared),
                    AccessPolicy(settings),
                    shared=shared,
                    turns=ordering,
                    files=files,
                )
            ),
            shared=shared,
            outbound=outbound,
            mcp=mcp,
            files=files,
        )
        gw.metrics.watch(gw)
        gw.use_secrets(settings)
        redact(*gw.secrets(), *keys.secret_values)
        gw.load_workflow_files()
        await gw._log_ownership()
        gw._key_refresh = asyncio.create_task(refresh_forever(storage, lambda: gw.keys), name="key-refresh")
        gw._question_sweep = asyncio.create_task(
            sweep_forever(executor, gw._current_workflow, settings.engine.question_sweep_s, gw.bots.tell),
            name="question-sweep",
        )
        gw._file_sweep = asyncio.create_task(sweep_files_forever(files), name="file-sweep")
        if llm.resolve(None) == "echo":
            log.warning(
                "llm.default_model is 'echo': the built-in OFFLINE model, which repeats the user's message. "
                "Set llm.base_url / llm.api_key (or OPENAI_BASE_URL / OPENAI_API_KEY) "
                "and a real model to answer."
            )
        return gw

    async def _log_ownership(self) -> None:
        """Workflows belong to a key's name: say which names own some but have no key."""
        names = {p.name for p in self.keys.principals()}
        owners = await workflow_owners(self.storage)
        kinds = sorted({p.source for p in self.keys.principals()})
        log.info(
            "API keys: %d (%s); a key's name owns the workflows it creates", len(self.keys), ", ".join(kinds)
        )
        for owner, count in owners.items():
            if owner not in names:
                log.warning(
                    "%d workflow(s) belong to key name %r, which no key has now: give a key that name again, "
                    "or move them with `chatgate workflows reassign --from %s --to NAME`",
                    count,
                    owner,
                    owner,
                )

    def secrets(self) -> list[str]:
        s = self.settings
        values = [k.key.get_secret_value() for k in s.api_keys]
        values += [b.token.get_secret_value() for b in s.bots]
        values += [spec.value.get_secret_value() for spec in s.secrets.values()]
        for server in s.mcp_servers.values():
            values += [v.get_secret_value() for v in (*server.headers.values(), *server.env.values())]
        if s.llm.api_key:
            values.append(s.llm.api_key.get_secret_value())
        else:  # the LLM takes OPENAI_API_KEY from the environment then: just as secret
            values.append(os.environ.get("OPENAI_API_KEY", ""))
        return [v for v in values if v]

    def secret_box(self, settings: Settings) -> SecretBox:
        return SecretBox(settings.secrets, lambda: {p.name for p in self.keys.principals() if p.admin})

    def use_secrets(self, settings: Settings) -> None:
        """The ``secrets:`` section into the parts that check, send and mask them."""
        box = self.secret_box(settings)
        self.catalog.secrets = self.executor.secrets = box
        self.executor.services[SECRETS.name] = box

    def load_workflow_files(self) -> list[FileProblem]:
        self.use_workflow_files(read_workflow_dir(Path(self.settings.workflows_dir)))
        log.info(
            "loaded %d workflow file(s) from %s",
            len(self.catalog.file_workflows()),
            self.settings.workflows_dir,
        )
        return self.workflow_problems

    def use_workflow_files(self, files: list[WorkflowFile]) -> None:
        """Each file on its own: a bad one keeps its previous version (the catalog logs it)."""
        self.workflow_problems = self.catalog.load_files([(f.path, f.data, f.error) for f in files])

    def limit_workflows(self, limits: EngineSettings) -> None:
        """The bounds that workflow files and documents are held to from now on."""
        self.catalog.limits = limits

    def apply(self, new: Settings, ring: KeyRing, sections: Collection[str]) -> LLM | None:
        """New settings into the running parts, synchronously (nothing runs in between).
        ``sections``: the top-level keys that changed; ``ring``: the keys made for ``new``.
        Returns the model client replaced, to be closed once its executions are done."""
        retired = None
        if {"api_keys", "admins", "rate_limits"} & set(sections):
            # (admins say which file keys are admin; the generated key's tier depends on the tiers)
            self.keys = ring
            redact(*ring.secret_values)
        if "rate_limits" in sections:
            self.limiter.set_tiers(dict(new.rate_limits))
        if "llm" in sections:
            retired = self.executor.llm
            self.executor.llm = LLM(new.llm)
        if "secrets" in sections:
            self.use_secrets(new)
        if "engine" in sections:
            self.executor.settings = new.engine
            self.sessions.max_turns = new.engine.history_turns
        if "code" in sections:  # new runs get sandboxes of the new settings
            self.executor.services[SANDBOX.name].close()
            sandbox = self.executor.services[SANDBOX.name] = Sandbox(new.code)
            sandbox.pool.fill()
        if {"users", "admins", "access", "api_keys"} & set(sections):
            self.bots.services.policy = AccessPolicy(new)  # (a bot's own access is in its settings)
        if "http" in sections and self.outbound is not None:
            self.outbound.use(new.http)  # the old session closes once its requests are done
        if {"files", "server"} & set(sections) and self.files is not None:
            self.files.use(new.files, new.server.public_url)
        if {"mcp_servers", "http"} & set(sections):
            self._replace_mcp(McpPool(new.mcp_servers, new.http))
        self.settings = new
        return retired

    def _replace_mcp(self, pool: McpPool) -> None:
        """New executions use ``pool``; the old one stops its servers once its calls are done."""
        old, self.mcp = self.mcp, pool
        self.executor.services[MCP_SERVERS.name] = pool
        if old is not None:
            task = asyncio.create_task(old.aclose(RETIRE_GRACE_S), name="mcp-retire")
            self._retiring_mcp[task] = old
            task.add_done_callback(lambda t: self._retiring_mcp.pop(t, None))

    def start_bots(self) -> None:
        self.bots.configured(self.settings.bots)
        for bot in self.settings.bots:
            if bot.enabled:
                self.bots.start(bot)
            else:
                log.info("bot %s (%s) has no token set; not started", bot.name, bot.platform)

    async def _current_workflow(self, workflow_id: str) -> CompiledWorkflow | None:
        """A waiting execution's workflow as it stands now; None once deleted, or once its
        owner may no longer send a secret it sends (it is cancelled then, not resumed)."""
        try:
            return self.catalog.runnable(await self.catalog.get(workflow_id, None))
        except (NotFound, Forbidden):
            return None

    async def close(self) -> None:
        if self._file_sweep is not None:
            self._file_sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._file_sweep
        if self._question_sweep is not None:
            self._question_sweep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._question_sweep
        if self._key_refresh is not None:
            self._key_refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._key_refresh
        await self.bots.stop_all()
        await self.executor.services[SANDBOX.name].aclose()
        await self.executor.llm.aclose()
        if self.outbound is not None:
            await self.outbound.close()
        if self.mcp is not None:
            await self.mcp.aclose()
        for task, pool in list(self._retiring_mcp.items()):
            task.cancel()  # no more grace: the process is stopping
            await pool.aclose()
        if self.sessions.turns is not None:
            await self.sessions.turns.aclose()
        if self.shared is not None:  # after the bots: what they still held is free at once
            await self.shared.close()
        await self.storage.close()
