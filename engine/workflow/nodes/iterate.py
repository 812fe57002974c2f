"""``iterate``: runs a workflow once per item of a list, several at a time.

The runs go side by side, at most ``concurrency`` at once, and ``results`` keeps the
items' order whichever finishes first. The list may hold at most ``engine.max_items``
items; a longer one fails the node before anything runs.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar, Literal

from pydantic import Field

from engine.errors import ExecutionFailed
from engine.workflow.nodes.base import NodeConfig, NodeContext
from engine.workflow.nodes.calling import check_ref, find, run_called
from engine.workflow.templates import compile_value, parse

#: However many an author asks for: each concurrent run is a task of its own.
MAX_CONCURRENCY = 32


class IterateConfig(NodeConfig):
    items: Any  # a list, or exactly one reference to one: "{{http.json.items}}"
    workflow: str = Field(min_length=1, max_length=200)  # a name or an id
    item_input: str = Field("item", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    concurrency: int = Field(4, ge=1, le=MAX_CONCURRENCY)
    # "fail": the first failing item fails the node (the others are cancelled);
    # "skip": a failed item's result is null and the rest go on.
    on_item_error: Literal["fail", "skip"] = "fail"


class IterateNode:
    type_name: ClassVar[str] = "iterate"
    instant: ClassVar[bool] = False
    config_model: ClassVar[type[NodeConfig]] = IterateConfig

    def __init__(self, node_id: str, config: IterateConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s
        self.calls = check_ref(config.workflow)
        # Text around a reference renders to a string, never a list.
        whole = isinstance(config.items, str) and parse(config.items).whole is not None
        if not (whole or isinstance(config.items, list)):
            raise ValueError("'items' must be a list or exactly one reference like {{node.field}}")
        self._items = compile_value(config.items)

    def outputs(self) -> frozenset[str]:
        return frozenset({"results", "count"})

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        items = ctx.resolve(self._items)
        if not isinstance(items, list):
            shown = "null" if items is None else type(items).__name__
            raise ExecutionFailed(
                f"node '{ctx.node_id}': items is {shown}, not a list", {"node": ctx.node_id, "items": shown}
            )
        max_items = ctx.hooks.limits.max_items
        if len(items) > max_items:
            raise ExecutionFailed(
                f"node '{ctx.node_id}' has {len(items)} items, over engine.max_items ({max_items})",
                {"node": ctx.node_id, "count": len(items), "max_items": max_items},
            )
        results: list[Any] = [None] * len(items)
        if items:
            called = await find(ctx, self.calls)
            await self._run_all(ctx, called, items, results)
        return {"results": results, "count": len(items)}

    async def _run_all(self, ctx: NodeContext, called: Any, items: list[Any], results: list[Any]) -> None:
        """A fixed set of workers, each taking the next item: ``concurrency`` runs at a time."""
        config = self.config
        todo = iter(range(len(items)))  # shared: each index is taken by exactly one worker

        async def worker() -> None:
            for i in todo:
                try:
                    outcome = await run_called(ctx, called, self.calls, {config.item_input: items[i]})
                except ExecutionFailed as e:
                    if config.on_item_error == "skip":
                        continue
                    # The same kind (a timeout stays one), saying which item.
                    raise type(e)(
                        f"node '{ctx.node_id}' item {i}: {e.message}",
                        {"node": ctx.node_id, "item": i, "error": e.details},
                    ) from e
                results[i] = outcome.result

        workers = [asyncio.create_task(worker()) for _ in range(min(config.concurrency, len(items)))]
        try:
            await asyncio.gather(*workers)
        finally:  # one item failed (or the node was cancelled): the other runs stop too
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
