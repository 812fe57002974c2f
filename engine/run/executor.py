"""Executions: inputs in, a durable record out, history kept per session."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import orjson

from config.schema import EngineSettings
from engine.clock import iso, new_id, utcnow
from engine.errors import (
    AskedSomeoneElse,
    ChatgateError,
    Conflict,
    ExecutionCrashed,
    ExecutionFailed,
    NotFound,
)
from engine.llm.client import LLM
from engine.record import ExecutionRecord
from engine.run.deadlines import Deadlines
from engine.run.runner import Caller, Position, Run, RunEnv, Sink
from engine.secrets import SecretBox
from engine.sessions import Sessions
from engine.store.executions import Executions
from engine.store.waiting import Waiting, WaitingExecutions
from engine.store.writer import Storage, TableRows
from engine.workflow.events import QuestionAsked
from engine.workflow.graph import CompiledWorkflow
from engine.workflow.nodes.question import QuestionNode
from engine.workflow.nodes.secrets import SECRETS

log = logging.getLogger("chatgate.executor")
#: The answer `Executor.expire` gives: not text anyone could send (it is compared by identity).
_TIMED_OUT = "\x00timeout"


class Executor:
    def __init__(self, storage: Storage, sessions: Sessions, llm: LLM, settings: EngineSettings) -> None:
        self.storage = storage
        self.records = Executions(storage)
        self.waitings = WaitingExecutions(storage)
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
        self.services[SECRETS.name] = self.secrets

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
        """Run to the end (or to a question: the record is then ``waiting``). Bad inputs
        raise before anything starts; a failure is recorded and raised as `ExecutionFailed`
        carrying the execution id. On a session whose execution of this workflow waits for
        an answer, the start node's text input is that answer: it resumes that execution."""
        inputs = workflow.coerce_inputs(raw_inputs)
        if session_id is not None and workflow.waits:
            async with self.sessions.exclusive(session_id):
                waiting = await self.waitings.of_session(session_id)
                if waiting is not None and waiting.workflow_id == workflow_id and waiting.owner == owner:
                    _check_asked(waiting, caller)
                    return await self._resume(waiting, workflow, _user_text(workflow, inputs), None, sink)
                return await self._start(workflow_id, workflow, inputs, owner, session_id, sink, caller, True)
        return await self._start(workflow_id, workflow, inputs, owner, session_id, sink, caller, False)

    async def _start(
        self,
        workflow_id: str,
        workflow: CompiledWorkflow,
        inputs: dict[str, Any],
        owner: str,
        session_id: str | None,
        sink: Sink | None,
        caller: Caller | None,
        held: bool,
    ) -> ExecutionRecord:
        caller = caller or Caller()
        record = ExecutionRecord(new_id("exec"), workflow_id, owner, session_id, inputs, utcnow())
        env = self._env(record, sink, caller)
        run = Run(workflow, env, record.inputs)
        return await self._go(workflow, record, env, run, run.run, _user_text(workflow, inputs), caller, held)

    async def resume(
        self,
        execution_id: str,
        workflow: CompiledWorkflow | None,
        *,
        answer: str | None = None,
        option: str | None = None,
        owner: str | None = None,
        sink: Sink | None = None,
        timed_out: bool = False,
    ) -> ExecutionRecord:
        """Answer a waiting execution (``workflow``: its workflow as it stands now) and go on
        from where it stopped: completed, failed, or waiting again. Once only: an execution
        that is not waiting (answered already, by this or another process) is a `Conflict`;
        one that is not ``owner``'s is `NotFound`."""
        waiting = await self.waitings.get(execution_id)
        if waiting is None or (owner is not None and waiting.owner != owner):
            record = await self.get(execution_id)
            if record is None or (owner is not None and record.owner != owner):
                raise NotFound(f"execution '{execution_id}' not found", {"execution_id": execution_id})
            raise Conflict(
                f"execution '{execution_id}' is {record.status}, not waiting for an answer",
                {"status": record.status},
            )
        if waiting.session_id is None:
            return await self._resume(waiting, workflow, answer, option, sink, timed_out)
        async with self.sessions.exclusive(waiting.session_id):
            return await self._resume(waiting, workflow, answer, option, sink, timed_out)

    async def cancel_waiting(self, session_id: str) -> int:
        """Cancel the session's waiting executions (a reset): they are ``cancelled`` and the
        session's next message starts afresh. How many there were."""
        cancelled = 0
        while (waiting := await self.waitings.of_session(session_id)) is not None:
            if not await self.waitings.claim(waiting, self._lease_s):
                continue  # answered meanwhile: look again
            record = await self.records.get(waiting.execution_id)
            if record is not None:
                record.status, record.end_time = "cancelled", utcnow()
                await self._persist(record, [], None, replace=True)
                self.finished["cancelled"] += 1
                cancelled += 1
        return cancelled

    @property
    def _lease_s(self) -> float:
        """How long a resume holds its claim: well past the end of the longest run."""
        return 2 * self.settings.execution_timeout_s + 1.0

    async def expire(self, execution_id: str, workflow: CompiledWorkflow | None) -> ExecutionRecord:
        """Resume a waiting execution whose wait ran out on its question's ``timeout`` port."""
        return await self.resume(execution_id, workflow, timed_out=True)

    async def _resume(
        self,
        waiting: Waiting,
        workflow: CompiledWorkflow | None,
        answer: str | None,
        option: str | None,
        sink: Sink | None,
        timed_out: bool = False,
    ) -> ExecutionRecord:
        """Claim ``waiting`` (the session held, when it has one) and go on from it."""
        node = workflow.nodes.get(waiting.node_id) if workflow is not None else None
        if isinstance(node, QuestionNode) and answer is not None and option is None and not timed_out:
            # Before the claim: a slow model must not hold the execution from other answers.
            option = await node.interpret(self.llm, waiting.question, answer)
        if not await self.waitings.claim(waiting, self._lease_s):
            raise Conflict(f"execution '{waiting.execution_id}' was answered already", {"status": "answered"})
        record = await self.records.get(waiting.execution_id)
        if record is None:  # deleted meanwhile: nothing to resume
            await self.waitings.drop(waiting.execution_id)
            raise NotFound(
                f"execution '{waiting.execution_id}' not found", {"execution_id": waiting.execution_id}
            )
        state = waiting.state
        if workflow is None or version_of(workflow) != waiting.version or not isinstance(node, QuestionNode):
            # A stale graph must not go on from a position it no longer has.
            record.status, record.end_time = "cancelled", utcnow()
            record.error = {
                "code": "workflow_changed",
                "message": "the workflow changed while the question waited; the execution was cancelled",
                "details": {},
            }
            await self._persist(record, [], None, replace=True)
            self.finished["cancelled"] += 1
            raise Conflict(
                f"execution '{record.execution_id}' was cancelled: its workflow changed while the "
                "question waited",
                {"status": "cancelled"},
            )
        caller = Caller(**state["caller"])
        env = self._env(record, sink, caller)
        env.sys = _System(state["sys"])
        env.sys.started = record.start_time
        run = Run(workflow, env, record.inputs)
        position = Position.load(state["position"])
        choice = (
            node.timed_out()
            if timed_out
            else node.choose(waiting.question, answer, option, waiting.attempts + 1)
        )
        user_text = answer if answer is not None else (option or "")
        if choice is None:  # it matched nothing: asked again, one attempt fewer left
            again = replace(waiting, attempts=waiting.attempts + 1)
            record.result = _asked(waiting.question, [])
            turn: TableRows = []
            if record.session_id is not None:
                turn = self.sessions.append(record.session_id, user_text, waiting.question["text"])
            await self._persist(record, turn, again, replace=True)
            if sink:
                sink(QuestionAsked(waiting.node_id, waiting.question))
            return record
        record.status, record.result, record.error = "running", None, None

        def go() -> Awaitable[dict[str, Any]]:
            assert choice is not None
            return run.resume(position, waiting.node_id, choice.outputs(), choice.port)

        return await self._go(workflow, record, env, run, go, user_text, caller, True, replace=True)

    async def _go(
        self,
        workflow: CompiledWorkflow,
        record: ExecutionRecord,
        env: RunEnv,
        run: Run,
        start: Callable[[], Awaitable[dict[str, Any]]],
        user_text: str,
        caller: Caller,
        held: bool,
        replace: bool = False,
    ) -> ExecutionRecord:
        """Run (``start``: from the beginning or from a position), record how it went, and
        keep the session's turn; ``held``: the caller holds the session already."""
        session_id = record.session_id
        self.running[record.execution_id] = record
        attempted = saved = False
        failure: ChatgateError | None = None
        try:
            if session_id is None:
                failure = await self._run(record, env, run, start)
                attempted = True
                await self._persist(record, [], self._waiting(workflow, record, env, run, caller), replace)
                saved = True
            else:
                async with contextlib.nullcontext() if held else self.sessions.exclusive(session_id):
                    env.history = await self.sessions.history(session_id)
                    # Filled in place: the run's pool holds this very dict as ``session``.
                    env.session.update(await self.sessions.variables(session_id))
                    failure = await self._run(record, env, run, start)
                    kept = record.status in ("completed", "waiting")
                    turn: TableRows = []
                    if kept:
                        assert record.result is not None
                        turn = self.sessions.append(session_id, user_text, _answer_text(record.result))
                        if env.session_changes:
                            turn = [*turn, *self.sessions.set_variables(session_id, env.session_changes)]
                    # Durable before the session's next message (perhaps in another process)
                    # reads the history.
                    attempted = True
                    waiting = self._waiting(workflow, record, env, run, caller)
                    await self._persist(record, turn, waiting, replace)
                    saved = True
                    if env.session_changes and kept:
                        self.sessions.variables_saved(session_id, env.session)
        finally:
            try:
                if not attempted:
                    await self._persist(record, [], None, replace)
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

    def _waiting(
        self, workflow: CompiledWorkflow, record: ExecutionRecord, env: RunEnv, run: Run, caller: Caller
    ) -> Waiting | None:
        """What resuming needs, when the run stopped at a question."""
        if record.status != "waiting" or run.waiting is None or run.position is None:
            return None
        node_id, question = run.waiting
        node = workflow.nodes[node_id]
        assert isinstance(node, QuestionNode)
        now = utcnow()
        return Waiting(
            execution_id=record.execution_id,
            workflow_id=record.workflow_id,
            version=version_of(workflow),
            owner=record.owner,
            session_id=record.session_id,
            node_id=node_id,
            question=question,
            attempts=0,
            state={
                "position": run.position.stored(),
                "sys": {k: v for k, v in env.sys.items() if k != "now"},
                "caller": caller._asdict(),
            },
            expires_at=now + timedelta(seconds=node.wait_s),
            created_at=now,
        )

    def _persist(
        self, record: ExecutionRecord, rows: TableRows, waiting: Waiting | None = None, replace: bool = False
    ) -> asyncio.Future[None]:
        """The record and any other rows land in one commit; the answer goes out only
        once all of it is durable (await the future). An execution that waits, or that
        waited (``replace``: its record is stored already), is written as one that may."""
        row = record.row(self.settings.max_record_bytes)
        if waiting is not None or replace:
            return self.waitings.save(row, waiting, rows)
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
        self, record: ExecutionRecord, env: RunEnv, run: Run, start: Callable[[], Awaitable[dict[str, Any]]]
    ) -> ChatgateError | None:
        """Run and fill in the record; a failure is recorded and returned, not raised."""
        try:
            result = await start()
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
            if run.waiting is not None:
                too_big = self._too_big_to_wait(run)
                if too_big is not None:
                    record.status, record.error = "failed", too_big.envelope()["error"]
                    return too_big
                record.status = "waiting"
                result = _asked(run.waiting[1], env.messages)
            else:
                record.status = "completed"
            record.result = self.secrets.mask_value(result)
            return None
        finally:  # however it ended, what ran is kept
            record.outputs = self.secrets.mask_value(run.outputs)
            record.nodes = self.secrets.mask_value({k: t.shown() for k, t in run.traces.items()})
            record.end_time = utcnow()

    def _too_big_to_wait(self, run: Run) -> ExecutionFailed | None:
        """A waiting run is kept whole (uncut: it must go on exactly): bounded like a record."""
        assert run.position is not None
        size = len(orjson.dumps(run.position.stored(), default=str))
        limit = self.settings.max_record_bytes
        if size <= limit:
            return None
        return ExecutionFailed(
            f"the execution would keep {size} bytes while its question waits; at most {limit} "
            "(engine.max_record_bytes)",
            {"bytes": size, "max_bytes": limit},
        )

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
            "transcribed": caller.transcribed,
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


def _check_asked(waiting: Waiting, caller: Caller | None) -> None:
    """In a chat shared by several people, only the one asked answers the question."""
    asked = Caller(**waiting.state["caller"])
    if caller is not None and None not in (caller.user_id, asked.user_id) and caller.user_id != asked.user_id:
        raise AskedSomeoneElse(
            f"execution '{waiting.execution_id}' waits for another user's answer",
            {"status": "waiting"},
            asked=asked.user_name,
        )


def version_of(workflow: CompiledWorkflow) -> str:
    """The workflow document's digest: a waiting execution resumes only the graph that asked."""
    document = workflow.spec.model_dump(mode="json", by_alias=True)
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _asked(question: dict[str, Any], messages: list[str]) -> dict[str, Any]:
    """A waiting execution's result: the question is its content (what a chat is sent)."""
    result: dict[str, Any] = {"content": question["text"], "question": question}
    if messages:
        result["messages"] = list(messages)
    return result


def _answer_text(result: dict[str, Any]) -> str:
    """The answer as the session's history keeps it: what message nodes said, then the content."""
    parts = [*result.get("messages", ()), result.get("content")]
    return "\n\n".join(p for p in parts if isinstance(p, str) and p)


def _user_text(workflow: CompiledWorkflow, inputs: dict[str, Any]) -> str:
    name = workflow.start.text_input()
    if name and isinstance(inputs.get(name), str):
        return str(inputs[name])
    return json.dumps(inputs, ensure_ascii=False)
