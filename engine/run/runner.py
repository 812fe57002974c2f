"""Running a compiled workflow: nodes in dependency order, branches concurrently.

Every node's outputs go into a pool keyed by node id. Timeouts cancel the node
itself (`engine.run.deadlines`, asyncio's semantics on one shared timer), not a check
after it finished: each node runs under its own limit or what is left of the
execution's, whichever ends first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from engine.errors import ChatgateError, ExecutionCrashed, ExecutionTimeout
from engine.run.deadlines import Deadlines
from engine.workflow.events import Event, NodeFinished, NodeStarted
from engine.workflow.graph import CompiledWorkflow
from engine.workflow.nodes import NodeContext
from engine.workflow.nodes.base import ChatModel, Message
from engine.workflow.storable import storable_problem

Sink = Callable[[Event], None]


class Run:
    """One execution of one workflow; ``outputs`` holds every node's results."""

    def __init__(
        self,
        workflow: CompiledWorkflow,
        execution_id: str,
        inputs: dict[str, Any],
        history: Sequence[Message],
        llm: ChatModel,
        sink: Sink | None,
        node_timeout_s: float,
        execution_timeout_s: float,
        deadlines: Deadlines,
    ) -> None:
        self.workflow = workflow
        self.execution_id = execution_id
        self.inputs = inputs
        self.history = history
        self.llm = llm
        self.sink = sink
        self.node_timeout_s = node_timeout_s
        self.execution_timeout_s = execution_timeout_s
        self.deadlines = deadlines
        self.deadline = 0.0  # loop time by which the whole execution must be done
        # Nodes see every declared input, an optional one nobody sent as None.
        self.node_inputs = workflow.start.with_absent(inputs)
        self.pool: dict[str, dict[str, Any]] = {"inputs": self.node_inputs}
        self.outputs: dict[str, dict[str, Any]] = {}

    async def run(self) -> str:
        """Run every node; return the result text (the terminal nodes' text)."""
        wf = self.workflow
        self.deadline = asyncio.get_running_loop().time() + self.execution_timeout_s
        if wf.linear:
            for node_id in wf.order:
                await self._run_node(node_id)
        else:
            tasks: dict[str, asyncio.Task[None]] = {}
            try:
                async with asyncio.TaskGroup() as group:
                    for node_id in wf.order:  # predecessors' tasks always exist first
                        waits = [tasks[p] for p in wf.predecessors[node_id]]
                        tasks[node_id] = group.create_task(self._after(waits, node_id))
            except BaseExceptionGroup as group_error:
                # The first failing branch is the story; the others were cancelled by it.
                raise group_error.exceptions[0] from None
        texts = [self.outputs[t].get("text") for t in wf.terminals]
        return "\n\n".join(t for t in texts if isinstance(t, str) and t)

    async def _after(self, waits: list[asyncio.Task[None]], node_id: str) -> None:
        for w in waits:
            await w
        await self._run_node(node_id)

    async def _run_node(self, node_id: str) -> None:
        wf = self.workflow
        node = wf.nodes[node_id]
        node_type = wf.types[node_id]
        if self.sink:
            self.sink(NodeStarted(node_id, node_type))
        ctx = NodeContext(
            execution_id=self.execution_id,
            node_id=node_id,
            inputs=self.node_inputs,
            pool=self.pool,
            predecessors=wf.predecessors[node_id],
            history=self.history,
            llm=self.llm,
            sink=self.sink,
        )
        limit = node.timeout_s or self.node_timeout_s
        # One limit per waiting node carries both: the node's own and what is left of
        # the execution's (a second one around the whole run would cost every request).
        node_deadline = asyncio.get_running_loop().time() + limit
        try:
            if node.instant:  # never waits on anything, so there is nothing a timer could cut short
                out = await node.run(ctx)
            else:
                async with self.deadlines.at(min(node_deadline, self.deadline)):
                    out = await node.run(ctx)
        except TimeoutError:
            if self.deadline < node_deadline:
                raise ExecutionTimeout(
                    f"the execution timed out after {self.execution_timeout_s:g}s",
                    {"timeout_s": self.execution_timeout_s, "node": node_id},
                ) from None
            raise ExecutionTimeout(
                f"node '{node_id}' timed out after {limit:g}s", {"node": node_id, "timeout_s": limit}
            ) from None
        except ChatgateError:
            raise
        except Exception as e:  # a node bug must fail this execution, not the server
            raise ExecutionCrashed(f"node '{node_id}' stopped on an internal error", {"node": node_id}) from e
        problem = storable_problem(out)
        if problem is not None:  # a node bug too: caught here, the failure is still recorded
            raise ExecutionCrashed(
                f"node '{node_id}' returned an output that cannot be stored", {"node": node_id}
            ) from ValueError(f"node '{node_id}' output: {problem}")
        self.pool[node_id] = out
        self.outputs[node_id] = out
        if self.sink:
            self.sink(NodeFinished(node_id, node_type))
