"""``message``: says something at once, before the workflow ends (its own chat message,
an SSE ``message`` event, one entry of the REST ``result.messages``)."""

from __future__ import annotations

from typing import Any, ClassVar

from engine.errors import ExecutionFailed
from engine.workflow.nodes.attachments import ATTACHMENTS_FIELD, Attachments, Compiled
from engine.workflow.nodes.base import NodeConfig, NodeContext
from engine.workflow.templates import parse

# A message goes to the chat as it is: a template that repeats a long value many times must
# not turn into hundreds of chat messages (about 5 on Telegram, 10 on Discord, at most).
MAX_MESSAGE_CHARS = 20_000


class MessageConfig(NodeConfig):
    content: str  # a template: {{node.field}} references, rendered when the node runs
    attachments: Attachments = ATTACHMENTS_FIELD


class MessageNode:
    type_name: ClassVar[str] = "message"
    instant: ClassVar[bool] = True
    config_model: ClassVar[type[NodeConfig]] = MessageConfig

    def __init__(self, node_id: str, config: MessageConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s
        self._content = parse(config.content)  # once per workflow version, not per run
        self._attachments = Compiled(config.attachments)

    def outputs(self) -> frozenset[str]:
        return frozenset({"text", "attachments"} if self._attachments else {"text"})

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        text = self._content.render(ctx.pool)
        if len(text) > MAX_MESSAGE_CHARS:
            raise ExecutionFailed(
                f"message node '{ctx.node_id}' made {len(text)} characters; at most {MAX_MESSAGE_CHARS} "
                "go out as one message",
                {"node": ctx.node_id},
            )
        if not self._attachments:
            ctx.hooks.deliver(ctx.node_id, text)
            return {"text": text}
        files = await self._attachments.send(ctx, self.timeout_s)
        ctx.hooks.deliver(ctx.node_id, text, files)
        return {"text": text, "attachments": files}
