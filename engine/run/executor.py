"""Executions: inputs in, a durable record out, history kept per session."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from config.schema import EngineSettings
from engine.clock import iso, new_id, utcnow
from engine.errors import ChatgateError, ExecutionCrashed, ExecutionFailed
from engine.llm.client import LLM
from engine.record import ExecutionRecord
from engine.run.deadlines import Deadlines
from engine.run.runner import Caller, Run, RunEnv, Sink
from engine.secrets import SecretBox
from engine.sessions import Sessions
from engine.store.executions import Executions
from engine.store.writer import Storage, TableRows
from engine.workflow.graph import CompiledWorkflow

log = logging.getLogger("chatgate.executor")


class Executor:
    def __init__(self, storage: Storage, sessions: Sessions, llm: LLM, settings: EngineSettings) -> None:
        self.storage = storage
        self.records = Executions(storage)
        self.sessions = sessions
        self.llm = llm  # replaced on config reload; a running execution keeps its own
        self.settings = settings
        self.running: dict[str, ExecutionRecord] = {}
        self.finished: Counter[str] = Counter()  # executions by final status, for /metrics
        self.deadlines = Deadlines()  # every running node's time limit, on one timer
        # What nodes may ask their context for (``ctx.service``), by ServiceKey name.
        self.services: dict[str, Any] = {}
        # Services made for each execution from its owner (what it may see), by ServiceKey
        # name: the catalog's workflows for ``workflow`` and ``iterate`` nodes.
        self.owner_services: dict[str, Callable[[str], Any]] = {}
        # Masked out of what a run leaves behind; replaced on config reload.
        self.secrets = SecretBox({}, frozenset)

    async def execute(
        self,
        workflow_id: str,
        workflow: CompiledWorkflow,
        raw_inputs: dict[str, Any],
        *,
        owner: str,
        session_id: str | None = None,
        sink: Sink | None = None,
        caller: Caller | None = None,
    ) -> ExecutionRecord:
        """Run to the end. Bad inputs raise before anything starts; a failure is
        recorded and raised as `ExecutionFailed` carrying the execution id."""
        inputs = workflow.coerce_inputs(raw_inputs)
        record = ExecutionRecord(new_id("exec"), workflow_id, owner, session_id, inputs, utcnow())
        self.running[record.execution_id] = record
        env = self._env(record, sink, caller or Caller())
        attempted = saved = False
        failure: ChatgateError | None = None
        try:
            if session_id is None:
                failure = await self._run(workflow, record, env)
            else:
                async with self.sessions.exclusive(session_id):
                    env.history = await self.sessions.history(session_id)
                    env.session = dict(await self.sessions.variables(session_id))
                    failure = await self._run(workflow, record, env)
                    turn: TableRows = []
                    if record.status == "completed":
                        assert record.result is not None
                        turn = self.sessions.append(
                            session_id, _user_text(workflow, inputs), _answer_text(record.result)
                        )
                        if env.session_changes:
                            turn = [*turn, *self.sessions.set_variables(session_id, env.session_changes)]
                    # Durable before the session's next message (perhaps in another process)
                    # reads the history.
                    attempted = True
                    await self._persist(record, turn)
                    saved = True
                    if env.session_changes and record.status == "completed":
                        self.sessions.variables_saved(session_id, env.session)
        finally:
            try:
                if not attempted:
                    await self._persist(record, [])
                    saved = True
            finally:
                self.running.pop(record.execution_id, None)
                # A run whose record could not be saved did not complete, whatever it computed.
                self.finished[record.status if saved else "failed"] += 1
        if failure is not None:
            # Raised carrying the id; a timeout stays a timeout (504), a bug stays a bug (500),
            # a node's own kind of failure keeps its code (destination_not_allowed...).
            kind: type[ExecutionFailed | ExecutionCrashed] = ExecutionFailed
            if isinstance(failure, (ExecutionFailed, ExecutionCrashed)):
                kind = type(failure)
            raise kind(failure.message, failure.details, execution_id=record.execution_id)
        return record

    def _persist(self, record: ExecutionRecord, rows: TableRows) -> asyncio.Future[None]:
        """The record and any other rows land in one commit; the answer goes out only
        once all of it is durable (await the future)."""
        row = record.row(self.settings.max_record_bytes)
        return self.records.save(row, rows)

    def _env(self, record: ExecutionRecord, sink: Sink | None, caller: Caller) -> RunEnv:
        return RunEnv(
            execution_id=record.execution_id,
            history=(),
            llm=self.llm,
            sink=sink,
            limits=self.settings,
            deadlines=self.deadlines,
            sys=_system(record, caller),
            services=self.services,
            owner=record.owner,
            owner_services=self.owner_services,
        )

    async def _run(
        self, workflow: CompiledWorkflow, record: ExecutionRecord, env: RunEnv
    ) -> ChatgateError | None:
        """Run and fill in the record; a failure is recorded and returned, not raised."""
        run = Run(workflow, env, record.inputs)
        try:
            result = await run.run()
        except Exception as e:
            failure = e if isinstance(e, ChatgateError) else None
            if failure is None or isinstance(failure, ExecutionCrashed):
                # A bug, ours: its traceback goes to the log, once, and never to the caller.
                bug = e.__cause__ if failure is not None and e.__cause__ is not None else e
                failure = failure or ExecutionCrashed("the execution stopped on an internal error")
                log.error("execution %s: %s", record.execution_id, failure.message, exc_info=bug)
            else:
                log.warning("execution %s failed: %s", record.execution_id, failure.message)
            record.status = "failed"
            if self.secrets:  # an error may quote what a service answered
                failure = _masked_failure(failure, self.secrets)
            record.error = failure.envelope()["error"]
            return failure
        except asyncio.CancelledError:
            record.status = "cancelled"
            raise
        else:
            record.status = "completed"
            record.result = self.secrets.mask_value(result)
            return None
        finally:  # however it ended, what ran is kept
            record.outputs = self.secrets.mask_value(run.outputs)
            record.nodes = self.secrets.mask_value({k: t.shown() for k, t in run.traces.items()})
            record.end_time = utcnow()

    async def get(self, execution_id: str) -> ExecutionRecord | None:
        live = self.running.get(execution_id)
        if live is not None:
            return live
        stored = await self.records.get(execution_id)
        return stored


def _masked_failure(failure: ChatgateError, secrets: SecretBox) -> ChatgateError:
    failure.message = secrets.mask(failure.message)
    failure.details = secrets.mask_value(failure.details)
    failure.args = (failure.message,)
    return failure


def _system(record: ExecutionRecord, caller: Caller) -> _System:
    fields = _System(
        {
            "session_id": record.session_id,
            "execution_id": record.execution_id,
            "user_id": caller.user_id,
            "user_name": caller.user_name,
            "platform": caller.platform,
            "chat_id": caller.chat_id,
        }
    )
    fields.started = record.start_time
    return fields


class _System(dict[str, Any]):
    """``{{sys.…}}``: ``now`` is written out only if something reads it (few do; every
    execution would pay for the formatting)."""

    __slots__ = ("started",)
    started: datetime

    def __missing__(self, key: str) -> Any:
        if key != "now":
            raise KeyError(key)
        self["now"] = now = iso(self.started)
        return now

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


def _answer_text(result: dict[str, Any]) -> str:
    """The answer as the session's history keeps it: what message nodes said, then the content."""
    parts = [*result.get("messages", ()), result.get("content")]
    return "\n\n".join(p for p in parts if isinstance(p, str) and p)


def _user_text(workflow: CompiledWorkflow, inputs: dict[str, Any]) -> str:
    name = workflow.start.text_input()
    if name and isinstance(inputs.get(name), str):
        return str(inputs[name])
    return json.dumps(inputs, ensure_ascii=False)
