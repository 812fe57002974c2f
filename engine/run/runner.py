"""Running a compiled workflow: each node once its inputs have settled, branches concurrently.

A node may run once every connection into it has *settled*: its source finished (and took
one port) or was skipped. It runs if at least one of those connections is live (its
source took that connection's port); otherwise it is skipped, and so are the nodes only
it leads to. Instant nodes run inline; a node that awaits I/O runs inline too when
nothing else could run meanwhile, and in a task of its own otherwise.

Every node's outputs go into a pool keyed by node id, beside ``inputs``, ``session`` and
``sys``. Timeouts cancel the node itself (`engine.run.deadlines`, asyncio's semantics on
one shared timer): each node runs under its own limit or what is left of the
execution's, whichever ends first.

All of a run's position is plain data (what is pending, which connections are live, the
pool, the traces): that is what a node that waits for the user will save and resume.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple, TypeVar

from config.schema import EngineSettings
from engine.errors import ChatgateError, ExecutionCrashed, ExecutionFailed, ExecutionTimeout
from engine.run.deadlines import Deadlines
from engine.workflow.events import Event, MessageSent, NodeFinished, NodeSkipped, NodeStarted, QuestionAsked
from engine.workflow.graph import CompiledWorkflow
from engine.workflow.nodes import NodeContext
from engine.workflow.nodes.base import DEFAULT_PORT, ERROR_PORT, ChatModel, Message, Outcome, ServiceKey
from engine.workflow.storable import storable_problem
from engine.workflow.templates import compile_value

Sink = Callable[[Event], None]
#: Messages one execution may deliver (``message`` nodes, sub-workflows' included): a chat
#: platform throttles a bot far below what an ``iterate`` over messages could send.
MAX_MESSAGES = 50
#: What `Run._node` returns for a node that asked and is waiting (no port taken yet).
_WAITING = ""
T = TypeVar("T")


@dataclass(slots=True)
class NodeTrace:
    """How one node's part of a run went, as the execution record shows it."""

    type: str
    status: str  # completed | skipped | failed | continued (failed; on_error let the run go on)
    attempts: int = 0
    duration_ms: float = 0.0
    port: str | None = None  # the output it took
    error: dict[str, Any] | None = None
    logs: str | None = None  # what a code node's code printed
    sent: dict[str, Any] | None = None  # what an http node sent (secrets masked)

    def shown(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "status": self.status}
        if self.status != "skipped":
            body["attempts"] = self.attempts
            body["duration_ms"] = round(self.duration_ms, 3)
            body["port"] = self.port
        if self.error is not None:
            body["error"] = self.error
        if self.logs is not None:
            body["logs"] = self.logs
        if self.sent is not None:
            body["sent"] = self.sent
        return body


class Caller(NamedTuple):
    """Who asked for the execution, as ``{{sys.…}}`` shows it."""

    platform: str = "api"  # api | telegram | discord
    user_id: str | None = None
    user_name: str | None = None
    chat_id: str | None = None
    transcribed: bool = False  # the text input is a voice message's transcript


@dataclass(slots=True)
class RunEnv:
    """What every run of one execution shares, a sub-workflow's included."""

    execution_id: str
    history: Sequence[Message]
    llm: ChatModel
    sink: Sink | None
    limits: EngineSettings
    deadlines: Deadlines
    sys: dict[str, Any] = field(default_factory=dict)
    session: dict[str, Any] = field(default_factory=dict)  # the session's variables as they stand
    session_changes: dict[str, Any] = field(default_factory=dict)  # what this execution set
    services: Mapping[str, Any] = field(default_factory=dict)  # by ServiceKey name
    # Services made for the execution's owner (what it may see), when a node first asks.
    owner: str = ""
    owner_services: Mapping[str, Callable[[str], Any]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)  # what message nodes delivered, in order
    attachments: list[dict[str, Any]] = field(default_factory=list)  # files sent out, in order
    sub_runs: int = 0  # sub-workflow runs so far, at every depth (``workflow``, ``iterate``)
    deadline: float = 0.0  # loop time by which the whole execution must be done


class Run:
    """One run of one workflow (an execution's, or a sub-workflow's inside it)."""

    def __init__(
        self, workflow: CompiledWorkflow, env: RunEnv, inputs: dict[str, Any], depth: int = 0
    ) -> None:
        self.workflow = workflow
        self.env = env
        self.inputs = inputs
        self.depth = depth
        # Nodes see every declared input, an optional one nobody sent as None.
        self.node_inputs = workflow.start.with_absent(inputs)
        self.pool: dict[str, Any] = {"inputs": self.node_inputs, "session": env.session, "sys": env.sys}
        self.outputs: dict[str, dict[str, Any]] = {}
        self.traces: dict[str, NodeTrace] = {}
        self.delivered: set[str] = set()  # nodes whose text went out as a message of its own
        self.waiting: tuple[str, dict[str, Any]] | None = None  # (question node, what it asks)
        self.position: Position | None = None  # where the run stopped to wait, once it did

    # -- the schedule ----------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        """Run every node that is reached; return the result (``content`` and an ``end``
        node's outputs, plus ``messages`` when message nodes ran). When a ``question`` node
        asks, the run stops there: ``waiting`` and ``position`` say where, to `resume` from."""
        wf = self.workflow
        if self.depth == 0:
            self.env.deadline = asyncio.get_running_loop().time() + self.env.limits.execution_timeout_s
        if wf.linear:
            for node_id in wf.order:
                await self._node(node_id)
            return self._result()
        await self._schedule(dict(wf.incoming), set(), deque([wf.start.node_id]))
        return self._result()

    async def resume(
        self, position: Position, node_id: str, out: dict[str, Any], port: str
    ) -> dict[str, Any]:
        """Go on from a stored ``position`` whose question (``node_id``) was answered: it
        finishes with ``out`` on ``port``, and the run continues as `run` would have."""
        self.env.deadline = asyncio.get_running_loop().time() + self.env.limits.execution_timeout_s
        for done_id, done_out in position.outputs.items():
            self.pool[done_id] = self.outputs[done_id] = done_out
        self.traces = {k: NodeTrace(**t) for k, t in position.traces.items()}
        self.delivered = set(position.delivered)
        trace = self.traces.setdefault(node_id, NodeTrace(self.workflow.types[node_id], "completed"))
        trace.status, trace.port = "completed", port
        self.pool[node_id] = self.outputs[node_id] = out
        if self.env.sink:
            self.env.sink(NodeFinished(node_id, trace.type, trace.status, trace.duration_ms, trace.attempts))
        pending, live, ready = dict(position.pending), set(position.live), deque(position.ready)
        self._settle(node_id, port, pending, live, ready)
        await self._schedule(pending, live, ready)
        return self._result()

    async def _schedule(self, pending: dict[str, int], live: set[str], ready: deque[str]) -> None:
        wf = self.workflow
        running: dict[asyncio.Task[str], str] = {}
        try:
            # Once a question asks, nothing new starts; what is already running finishes.
            while running or (ready and self.waiting is None):
                while ready and self.waiting is None:
                    node_id = ready.popleft()
                    if wf.nodes[node_id].instant or not (ready or running):
                        port = await self._node(node_id)
                        if port is not _WAITING:
                            self._settle(node_id, port, pending, live, ready)
                    else:
                        running[asyncio.create_task(self._node(node_id))] = node_id
                if running:
                    done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        self._settle(running.pop(task), task.result(), pending, live, ready)
        finally:
            if running:  # a failure (or a cancellation) stops the other branches
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)
        if self.waiting is not None:
            self.position = Position(
                pending=pending,
                live=sorted(live),
                ready=list(ready),
                outputs=dict(self.outputs),
                traces={k: asdict(t) for k, t in self.traces.items()},
                delivered=sorted(self.delivered),
            )

    def _settle(
        self, node_id: str, port: str | None, pending: dict[str, int], live: set[str], ready: deque[str]
    ) -> None:
        """``node_id`` finished on ``port`` (None: skipped): release what waited on it."""
        edges = self.workflow.edges
        dead: list[str] | None = None  # skipped in turn: a loop, so a long dead chain needs no stack
        source, taken = node_id, port
        while True:
            for edge_port, target in edges[source]:
                if edge_port == taken:
                    live.add(target)
                left = pending[target] = pending[target] - 1
                if left == 0:
                    if target in live:
                        ready.append(target)
                    else:
                        self._skip(target)
                        if dead is None:
                            dead = []
                        dead.append(target)
            if not dead:
                return
            source, taken = dead.pop(), None

    def _skip(self, node_id: str) -> None:
        node_type = self.workflow.types[node_id]
        self.traces[node_id] = NodeTrace(node_type, "skipped")
        if self.env.sink:
            self.env.sink(NodeSkipped(node_id, node_type))

    def _result(self) -> dict[str, Any]:
        wf = self.workflow
        if wf.final is not None and wf.final in self.outputs:
            result = dict(self.outputs[wf.final])
        else:
            # A node's text; a called workflow's (``workflow`` node) is its content.
            texts = [
                self.outputs[t].get("text", self.outputs[t].get("content"))
                for t in wf.terminals
                if t in self.outputs and t not in self.delivered
            ]
            result = {"content": "\n\n".join(t for t in texts if isinstance(t, str) and t)}
        if self.depth == 0 and self.env.messages:
            result["messages"] = list(self.env.messages)
        if self.depth == 0 and self.env.attachments:  # every file sent, a message's and the end's
            result["attachments"] = list(self.env.attachments)
        return result

    # -- one node ----------------------------------------------------------------

    async def _node(self, node_id: str) -> str:
        """Run one node, with its retries and ``on_error``; the port it took."""
        wf, env = self.workflow, self.env
        node_type = wf.types[node_id]
        if env.sink:
            env.sink(NodeStarted(node_id, node_type))
        began = time.perf_counter()
        trace = self.traces[node_id] = NodeTrace(node_type, "running")
        config = wf.configs[node_id]
        try:
            if config.retry is None and config.on_error == "fail":  # most nodes: one attempt, one layer less
                trace.attempts = 1
                try:
                    out, port = await self._attempt(node_id)
                except ChatgateError as e:
                    trace.status, trace.error = "failed", _error(e)
                    raise
                trace.status = "completed"
            else:
                out, port = await self._attempts(node_id, trace)
        finally:
            trace.duration_ms = (time.perf_counter() - began) * 1000
        if self.waiting is not None and self.waiting[0] == node_id:
            trace.status = "waiting"
            return _WAITING
        trace.port = port
        self.pool[node_id] = out
        self.outputs[node_id] = out
        if env.sink:
            env.sink(NodeFinished(node_id, node_type, trace.status, trace.duration_ms, trace.attempts))
        return port

    async def _attempts(self, node_id: str, trace: NodeTrace) -> tuple[dict[str, Any], str]:
        """Attempt the node as its ``retry`` allows; on failure, what its ``on_error`` says."""
        config = self.workflow.configs[node_id]
        retry = config.retry
        while True:
            trace.attempts += 1
            try:
                out, port = await self._attempt(node_id)
                trace.status = "completed"
                return out, port
            except ExecutionFailed as e:
                if isinstance(e, _OutOfTime):  # the whole execution's time: nothing to retry or continue
                    trace.status, trace.error = "failed", _error(e)
                    raise
                if retry is not None and trace.attempts < retry.max_attempts:
                    pause = retry.backoff_s * 2 ** (trace.attempts - 1)
                    if asyncio.get_running_loop().time() + pause < self.env.deadline:
                        await asyncio.sleep(pause)
                        continue
                trace.error = _error(e)
                if config.on_error == "fail":
                    trace.status = "failed"
                    raise
                trace.status = "continued"
                if config.on_error == "continue":  # its references filled as any config's
                    return dict(compile_value(config.default).resolve(self.pool)), DEFAULT_PORT
                return {"error": trace.error}, ERROR_PORT
            except ChatgateError as e:
                trace.status, trace.error = "failed", _error(e)
                raise

    async def _attempt(self, node_id: str) -> tuple[dict[str, Any], str]:
        wf, env = self.workflow, self.env
        node = wf.nodes[node_id]
        ctx = NodeContext(
            execution_id=env.execution_id,
            node_id=node_id,
            inputs=self.node_inputs,
            pool=self.pool,
            predecessors=wf.predecessors[node_id],
            history=env.history,
            llm=env.llm,
            sink=env.sink,
            hooks=self,
        )
        try:
            if node.instant:  # never waits on anything, so there is nothing a timer could cut short
                out = await node.run(ctx)
            else:
                limit = node.timeout_s or env.limits.node_timeout_s
                # One limit per waiting node carries both: the node's own and what is left of
                # the execution's (a second one around the whole run would cost every request).
                node_deadline = asyncio.get_running_loop().time() + limit
                try:
                    async with env.deadlines.at(min(node_deadline, env.deadline)):
                        out = await node.run(ctx)
                except TimeoutError:
                    raise self._timed_out(node_id, limit, node_deadline) from None
        except ChatgateError:
            raise
        except Exception as e:  # a node bug must fail this execution, not the server
            raise ExecutionCrashed(f"node '{node_id}' stopped on an internal error", {"node": node_id}) from e
        finally:
            if ctx.logs is not None:
                self.traces[node_id].logs = ctx.logs
            if ctx.sent is not None:
                self.traces[node_id].sent = ctx.sent
        problem = storable_problem(out)
        if problem is not None:  # a node bug too: caught here, the failure is still recorded
            raise ExecutionCrashed(
                f"node '{node_id}' returned an output that cannot be stored", {"node": node_id}
            ) from ValueError(f"node '{node_id}' output: {problem}")
        return out, ctx.port

    def _timed_out(self, node_id: str, limit: float, node_deadline: float) -> ExecutionTimeout:
        env = self.env
        if env.deadline < node_deadline:
            timeout_s = env.limits.execution_timeout_s
            return _OutOfTime(
                f"the execution timed out after {timeout_s:g}s", {"timeout_s": timeout_s, "node": node_id}
            )
        return ExecutionTimeout(
            f"node '{node_id}' timed out after {limit:g}s", {"node": node_id, "timeout_s": limit}
        )

    # -- what nodes reach through their context (RunHooks) ----------------------

    @property
    def limits(self) -> EngineSettings:
        return self.env.limits

    def service(self, key: ServiceKey[T]) -> T:
        env = self.env
        found = env.services.get(key.name)
        if found is None:
            make = env.owner_services.get(key.name)
            if make is None:
                raise ExecutionFailed(
                    f"this gateway offers no {key.name} to workflows", {"service": key.name}
                )
            found = make(env.owner)
            env.services = {**env.services, key.name: found}  # made once per execution
        return found  # type: ignore[no-any-return]

    def set_session(self, name: str, value: Any) -> None:
        self.env.session[name] = value
        self.env.session_changes[name] = value

    def deliver(self, node_id: str, text: str, attachments: Sequence[dict[str, Any]] = ()) -> None:
        if len(self.env.messages) >= MAX_MESSAGES:  # iterate × message must not flood a chat
            raise ExecutionFailed(
                f"the execution would send more than {MAX_MESSAGES} messages", {"node": node_id}
            )
        self.delivered.add(node_id)
        self.env.messages.append(text)
        self.env.attachments.extend(attachments)  # (a sub-workflow's messages are the execution's)
        if self.env.sink:
            self.env.sink(MessageSent(node_id, text, tuple(attachments)))

    def attach(self, files: Sequence[dict[str, Any]]) -> None:
        if self.depth == 0:  # a sub-workflow's end answers its node, not the user
            self.env.attachments.extend(files)

    def ask(self, node_id: str, question: dict[str, Any]) -> None:
        if self.depth > 0:  # a waiting run is stored whole; a sub-workflow's is part of its node's
            raise ExecutionFailed(
                f"question node '{node_id}' cannot wait inside a sub-workflow or iterate", {"node": node_id}
            )
        self.waiting = (node_id, question)
        if self.env.sink:
            self.env.sink(QuestionAsked(node_id, question))

    async def run_workflow(self, workflow: Any, inputs: dict[str, Any]) -> Outcome:
        """Run another workflow inside this execution, one level deeper."""
        assert isinstance(workflow, CompiledWorkflow)
        max_depth = self.env.limits.max_depth
        if self.depth + 1 > max_depth:
            name, depth = workflow.spec.name, self.depth + 1
            raise ExecutionFailed(
                f"workflow '{name}' would be nested {depth} deep, over engine.max_depth ({max_depth})",
                {"workflow": name, "max_depth": max_depth},
            )
        # Enough for one iterate of engine.max_items items whose runs each nest as deep as
        # allowed; iterates nested in iterates would otherwise multiply without bound.
        budget = self.env.limits.max_items * max_depth
        self.env.sub_runs += 1
        if self.env.sub_runs > budget:
            raise ExecutionFailed(
                f"the execution ran more than {budget} sub-workflows (engine.max_items × engine.max_depth)",
                {"max_sub_runs": budget},
            )
        child = Run(workflow, self.env, workflow.coerce_inputs(inputs), self.depth + 1)
        return Outcome(await child.run())


@dataclass(slots=True)
class Position:
    """Where a run stopped to wait: plain data, stored as JSON and resumed from."""

    pending: dict[str, int]  # connections not yet settled, per node
    live: list[str]  # nodes with a live connection into them
    ready: list[str]  # nodes that could run, held back while the question waits
    outputs: dict[str, dict[str, Any]]
    traces: dict[str, dict[str, Any]]
    delivered: list[str]

    def stored(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def load(cls, data: dict[str, Any]) -> Position:
        return cls(**data)


class _OutOfTime(ExecutionTimeout):
    """The execution's own time limit passed (not one node's)."""


def _error(e: ChatgateError) -> dict[str, Any]:
    return {"code": e.code, "message": e.message}
