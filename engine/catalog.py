"""Where workflows live: created through the API (database) or loaded from files.

A key sees the workflows it created plus every file-loaded one. Compiled
graphs are cached, so executing a workflow does not re-read or re-validate it.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from config.paths import shown_path
from config.schema import EngineSettings
from engine.clock import new_id, utcnow
from engine.errors import ChatgateError, ExecutionFailed, Forbidden, NotFound
from engine.secrets import SecretBox
from engine.store.workflows import Workflows
from engine.store.writer import Storage
from engine.workflow.calls import calls, check_result_references, find_loop, loop_error
from engine.workflow.graph import CompiledWorkflow, compile_workflow, document_size, parse_spec

log = logging.getLogger("chatgate.catalog")

# Documents with more nodes and connections than this are validated in a thread, so the
# event loop keeps serving meanwhile; smaller ones cost less than the hop there.
OFFLOAD_AT = 64
# Validation follows the calls of a new version through at most this many other workflows
# (each a lookup, perhaps a database read); a loop past it still fails at run time, at
# engine.max_depth.
MAX_CALL_LOOKUPS = 256


@dataclass(frozen=True, slots=True)
class StoredWorkflow:
    workflow_id: str
    owner: str | None  # None: loaded from a file, visible to every key
    compiled: CompiledWorkflow
    created_at: datetime
    updated_at: datetime
    status: str = "active"
    path: str | None = None

    @property
    def name(self) -> str:
        return self.compiled.spec.name


@dataclass(frozen=True, slots=True)
class FileProblem:
    path: str
    message: str
    details: Any


def file_workflow_id(name: str) -> str:
    """File workflows get an id derived from their name, stable across restarts."""
    return "wf_" + hashlib.sha256(name.encode()).hexdigest()[:16]


class Catalog:
    def __init__(
        self, storage: Storage, *, limits: EngineSettings | None = None, cache_size: int = 10_000
    ) -> None:
        self.storage = storage
        self.rows = Workflows(storage)
        self.limits = limits or EngineSettings()  # replaced on config reload
        self.cache_size = cache_size
        self._files: dict[str, StoredWorkflow] = {}  # by id
        self._file_names: dict[str, str] = {}  # name -> id
        self._cache: OrderedDict[str, StoredWorkflow] = OrderedDict()
        self._bad_paths: set[str] = set()  # files skipped at the last load, to say when they are fixed
        self.secrets = SecretBox({}, frozenset)  # who may use which secret; replaced on config reload

    # -- file workflows ------------------------------------------------------

    def load_files(self, files: list[tuple[Path, dict[str, Any] | None, str | None]]) -> list[FileProblem]:
        """Replace the file workflows. A file that fails keeps its previous version, if any."""
        previous_by_path = {w.path: w for w in self._files.values()}
        loaded: dict[str, StoredWorkflow] = {}
        problems: list[FileProblem] = []
        now = utcnow()
        for path, data, parse_error in files:
            try:
                if parse_error is not None:
                    raise ChatgateError(parse_error)
                compiled = compile_workflow(
                    parse_spec(data, self.limits), self.limits, self.secrets.names_for(None)
                )
                wid = file_workflow_id(compiled.spec.name)
                if wid in loaded:
                    raise ChatgateError(f"another file already defines workflow '{compiled.spec.name}'")
                old = self._files.get(wid)
                same = old is not None and old.compiled.spec == compiled.spec
                loaded[wid] = StoredWorkflow(
                    wid,
                    None,
                    old.compiled if same and old else compiled,
                    old.created_at if old else now,
                    old.updated_at if same and old else now,
                    path=str(path),
                )
            except ChatgateError as e:
                _skip_file(str(path), e, loaded, previous_by_path, problems)
        while (refusal := self._file_call_problem(loaded)) is not None:
            wid, error = refusal
            refused = loaded.pop(wid)
            assert refused.path is not None
            _skip_file(refused.path, error, loaded, previous_by_path, problems, refused)
        self._files = loaded
        self._file_names = {w.name: wid for wid, w in loaded.items()}
        bad = {p.path for p in problems}
        for w in loaded.values():
            if w.path in self._bad_paths and w.path not in bad:
                log.info("workflow file %s is fixed: workflow %s loaded from it", w.path, w.name)
        self._bad_paths = bad
        return problems

    def _file_call_problem(self, loaded: dict[str, StoredWorkflow]) -> tuple[str, ChatgateError] | None:
        """The first file workflow whose calls (to other files, by name or id) read a field
        the called one does not give, or loop; with the error to refuse it with."""
        by_name = {w.name: wid for wid, w in loaded.items()}

        def target(ref: str) -> str | None:
            wid = by_name.get(ref, ref)
            return wid if wid in loaded else None

        def callees(wid: str) -> list[str]:
            return [t for ref in calls(loaded[wid].compiled).values() if (t := target(ref)) is not None]

        for wid, w in loaded.items():
            called = {ref: loaded[t].compiled for ref in calls(w.compiled).values() if (t := target(ref))}
            try:
                check_result_references(w.compiled, called)
            except ChatgateError as e:
                return wid, e
        path = find_loop(list(loaded), callees)
        if path is None:
            return None
        members = path[path.index(path[-1]) : -1]
        # Refuse a file that changed in this load: the others ran fine together before.
        changed = [
            m
            for m in members
            if (old := self._files.get(m)) is None or old.compiled is not loaded[m].compiled
        ]
        pick = members.index((changed or members)[0])
        loop = [*members[pick:], *members[:pick], members[pick]]
        node = next(n for n, ref in calls(loaded[loop[0]].compiled).items() if target(ref) == loop[1])
        return loop[0], loop_error(loop, {wid: w.name for wid, w in loaded.items()}, node)

    def file_workflows(self) -> list[StoredWorkflow]:
        return list(self._files.values())

    # -- lookups ---------------------------------------------------------------

    async def get(self, ref: str, owner: str | None) -> StoredWorkflow:
        """By id, or a file workflow by name; ``owner=None`` (a bot) sees everything."""
        wid = self._file_names.get(ref, ref)
        found = self._files.get(wid)
        if found is None:
            found = await self._load(wid)
        if found is not None and owner is not None and found.owner not in (None, owner):
            # the cached owner may be stale (``chatgate workflows reassign``): ask the database
            self._cache.pop(wid, None)
            found = await self._load(wid)
        if found is None or (owner is not None and found.owner not in (None, owner)):
            raise NotFound(f"workflow '{ref}' not found", {"workflow_id": ref})
        return found

    async def _load(self, wid: str) -> StoredWorkflow | None:
        cached = self._cache.get(wid)
        if cached is not None:
            self._cache.move_to_end(wid)
            return cached
        if not wid.startswith("wf_"):
            return None
        row = await self.rows.get(wid)
        if row is None:
            return None
        doc = {"name": row.name, "description": row.description, **row.document}
        stored = StoredWorkflow(
            row.id,
            row.owner,
            await _compiled(doc, None, None),  # it passed the limits of its day when it was stored
            row.created_at,
            row.updated_at,
            row.status,
        )
        self._remember(stored)
        return stored

    def _remember(self, wf: StoredWorkflow) -> None:
        self._cache[wf.workflow_id] = wf
        self._cache.move_to_end(wf.workflow_id)
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def runnable(self, wf: StoredWorkflow) -> CompiledWorkflow:
        """The workflow to run, if its author may still use the secrets it sends (an admin
        may have taken one away, or removed it, since it was stored)."""
        compiled = wf.compiled
        if compiled.secrets:
            gone = sorted(compiled.secrets - self.secrets.names_for(wf.owner))
            if gone:
                raise Forbidden(
                    f"workflow '{wf.name}' sends secret '{gone[0]}', which is not configured for its "
                    "owner (ask an admin, or update the workflow)",
                    {"workflow_id": wf.workflow_id, "secrets": gone},
                )
        return compiled

    def workflows_for(self, owner: str) -> CatalogWorkflows:
        """What an execution's ``workflow`` and ``iterate`` nodes find: what its owner
        sees. A bot's executions (owner ``bot:<name>``; no key name holds a ':') see
        every workflow, as the bot's own lookup does."""
        return CatalogWorkflows(self, None if ":" in owner else owner)

    async def _check_calls(self, compiled: CompiledWorkflow, wid: str, owner: str) -> None:
        """Refuse a version whose calls loop (through the workflows ``owner`` sees) or
        read a field the called workflow does not give. Names that do not resolve pass:
        they may exist when it runs."""
        direct = calls(compiled)
        if not direct:
            return
        names = {wid: compiled.spec.name}
        callees: dict[str, list[str]] = {wid: []}
        first_call: dict[str, str] = {}  # called workflow id -> the node of this version calling it
        called: dict[str, CompiledWorkflow] = {}  # by the name this version's nodes use
        frontier = [(wid, compiled)]
        looked_up: dict[str, StoredWorkflow | None] = {}  # by name or id: each asked once
        # A run nests at most engine.max_depth deep: a longer loop fails there anyway.
        for _depth in range(self.limits.max_depth + 1):
            reached: list[tuple[str, CompiledWorkflow]] = []
            for caller, wf in frontier:
                for node_id, ref in calls(wf).items():
                    if ref not in looked_up:
                        if len(looked_up) == MAX_CALL_LOOKUPS:
                            break
                        try:
                            looked_up[ref] = await self.get(ref, owner)
                        except NotFound:
                            looked_up[ref] = None
                    found = looked_up[ref]
                    if found is None:
                        continue
                    target = found.workflow_id
                    callees[caller].append(target)
                    if caller == wid:
                        called[ref] = found.compiled
                        first_call.setdefault(target, node_id)
                    if target not in callees:  # this version stands for itself, not the stored one
                        callees[target] = []
                        names[target] = found.name
                        reached.append((target, found.compiled))
            frontier = reached
        check_result_references(compiled, called)
        path = find_loop([wid], lambda w: callees.get(w, ()))
        if path is not None:
            raise loop_error(path, names, first_call[path[1]])

    def forget_stored(self) -> None:
        """Drop the cached stored workflows (their owners changed); files stay."""
        self._cache.clear()

    # -- changes -------------------------------------------------------------

    async def create(self, data: Any, owner: str) -> StoredWorkflow:
        compiled = await _compiled(data, self.limits, self.secrets.names_for(owner))
        wid = new_id("wf")
        await self._check_calls(compiled, wid, owner)
        now = utcnow()
        wf = StoredWorkflow(wid, owner, compiled, now, now)
        await self.rows.add(self._row(wf))
        self._remember(wf)
        return wf

    async def update(self, ref: str, data: Any, owner: str) -> StoredWorkflow:
        current = await self._editable(ref, owner)
        compiled = await _compiled(data, self.limits, self.secrets.names_for(owner))
        await self._check_calls(compiled, current.workflow_id, owner)
        updated = replace(current, compiled=compiled, updated_at=max(utcnow(), current.updated_at))
        await self.rows.replace(updated.workflow_id, self._row(updated))
        self._remember(updated)
        return updated

    async def delete(self, ref: str, owner: str) -> None:
        current = await self._editable(ref, owner)
        await self.rows.remove(current.workflow_id)
        self._cache.pop(current.workflow_id, None)

    async def _editable(self, ref: str, owner: str) -> StoredWorkflow:
        current = await self.get(ref, owner)
        if current.owner is None:
            # Any key may ask: the file as shown_path shows it, not where it is on the host.
            path = shown_path(current.path or current.name)
            raise Forbidden(
                f"workflow '{current.name}' is loaded from a file; edit {path} instead",
                {"workflow_id": current.workflow_id, "path": path},
            )
        return current

    async def list(self, owner: str, *, page: int, page_size: int) -> tuple[list[StoredWorkflow], int]:
        """File workflows first (by name), then the key's own, oldest first."""
        files = sorted(self._files.values(), key=lambda w: w.name)
        own_total = await self.rows.count_owned(owner)
        start = (page - 1) * page_size
        items = files[start : start + page_size]
        need = page_size - len(items)
        if need > 0:
            offset = max(0, start - len(files))
            for wid in await self.rows.owned_ids(owner, offset=offset, limit=need):
                wf = await self._load(wid)
                if wf is not None:
                    items.append(wf)
        return items, len(files) + own_total

    @staticmethod
    def _row(wf: StoredWorkflow) -> dict[str, Any]:
        doc = wf.compiled.spec.document()
        return {
            "id": wf.workflow_id,
            "owner": wf.owner,
            "name": doc["name"],
            "description": doc["description"],
            "document": {"nodes": doc["nodes"], "connections": doc["connections"]},
            "status": wf.status,
            "created_at": wf.created_at,
            "updated_at": wf.updated_at,
        }


class CatalogWorkflows:
    """The ``workflows`` service (`engine.workflow.nodes.calling.WORKFLOWS`) of one
    execution: finds a workflow by name or id as its owner may see it."""

    def __init__(self, catalog: Catalog, owner: str | None) -> None:
        self.catalog = catalog
        self.owner = owner

    async def find(self, ref: str) -> CompiledWorkflow:
        try:
            return self.catalog.runnable(await self.catalog.get(ref, self.owner))
        except NotFound:
            raise ExecutionFailed(f"workflow '{ref}' not found", {"workflow": ref}) from None
        except Forbidden as e:
            raise ExecutionFailed(e.message, e.details) from None


def _skip_file(
    path: str,
    e: ChatgateError,
    loaded: dict[str, StoredWorkflow],
    previous_by_path: dict[str | None, StoredWorkflow],
    problems: list[FileProblem],
    refused: StoredWorkflow | None = None,
) -> None:
    """A file that fails: noted, logged, and its previous version (if any, and not the
    one refused) stays."""
    problems.append(FileProblem(path, e.message, e.details))
    extra = f" ({e.details})" if e.details else ""
    kept = previous_by_path.get(path)
    if kept is not None and (kept.workflow_id in loaded or kept is refused):
        kept = None
    still = f"; its last good version of {kept.name} stays" if kept else ""
    log.error("workflow file %s skipped: %s%s%s", path, e.message, extra, still)
    if kept is not None:
        loaded[kept.workflow_id] = kept


async def _compiled(
    data: Any, limits: EngineSettings | None, secrets: frozenset[str] | None
) -> CompiledWorkflow:
    """Parse and validate a document; a large one off the event loop."""
    if document_size(data) > OFFLOAD_AT:
        return await asyncio.to_thread(_compile, data, limits, secrets)
    return _compile(data, limits, secrets)


def _compile(data: Any, limits: EngineSettings | None, secrets: frozenset[str] | None) -> CompiledWorkflow:
    return compile_workflow(parse_spec(data, limits), limits, secrets)
