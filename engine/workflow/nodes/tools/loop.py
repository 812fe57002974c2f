"""The function-calling loop: ask the model with the tools, run the calls it asks for
(concurrently, each bounded in time and output), give it their answers, and again, up to
``max_tool_rounds``; then it must answer without them.

Only the final answer reaches ``on_delta``: rounds that may call tools are asked without
streaming (what a model says before calling a tool is not the answer), and their text is
passed on in one piece when it turns out to be the answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import ChatgateError
from engine.workflow.events import ToolAnswered, ToolCalled
from engine.workflow.nodes.base import NodeContext
from engine.workflow.nodes.model import ChatMessage, Reply, ToolCall
from engine.workflow.nodes.tools.parameters import BadArguments, parse_arguments
from engine.workflow.nodes.tools.toolbox import Tool

#: Calls one round may ask for; the rest are answered with an error, not run.
MAX_CALLS_PER_ROUND = 10
#: What the model is given of one tool's answer, and what the record keeps of each call.
MAX_ANSWER_CHARS = 16_000
MAX_RECORDED_CHARS = 2_000

#: One model turn: messages, whether to stream, and the tool_choice.
Ask = Callable[[Sequence[ChatMessage], Callable[[str], None] | None, str | None], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Answered:
    text: str
    calls: list[dict[str, Any]]  # for the record: each call with its arguments and answer


async def answer_with_tools(
    ctx: NodeContext,
    ask: Ask,
    messages: list[ChatMessage],
    tools: Mapping[str, Tool],
    *,
    max_rounds: int,
    tool_timeout_s: float,
) -> Answered:
    recorded: list[dict[str, Any]] = []
    for round_no in range(1, max_rounds + 1):
        reply = await ask(messages, None, None)
        if not reply.tool_calls:
            if reply.text:
                ctx.emit_delta(reply.text)
            return Answered(reply.text, recorded)
        messages.append(reply.as_message())
        answers = await asyncio.gather(
            *(
                _answer(ctx, tools, call, tool_timeout_s, i < MAX_CALLS_PER_ROUND)
                for i, call in enumerate(reply.tool_calls)
            )
        )
        for call, (result, error) in zip(reply.tool_calls, answers, strict=True):
            content = result if error is None else f"error: {error}"
            messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
            entry: dict[str, Any] = {
                "round": round_no,
                "call_id": call.id,
                "name": call.name,
                "arguments": _cut(call.arguments, MAX_RECORDED_CHARS),
            }
            entry.update({"result": _cut(result, MAX_RECORDED_CHARS)} if error is None else {"error": error})
            recorded.append(entry)
    # Out of rounds: the model answers with what it has learnt.
    on_delta = ctx.emit_delta if ctx.sink is not None else None
    final = await ask(messages, on_delta, "none")
    return Answered(final.text, recorded)


async def _answer(
    ctx: NodeContext, tools: Mapping[str, Tool], call: ToolCall, timeout_s: float, allowed: bool
) -> tuple[str, str | None]:
    """The call's (result, None), or ("", error) with the error the model is told."""
    sink = ctx.sink
    if sink is not None:
        sink(ToolCalled(ctx.node_id, call.id, call.name, _cut(call.arguments, MAX_RECORDED_CHARS)))
    result, error = "", None
    tool = tools.get(call.name)
    if not allowed:
        error = f"too many tool calls in one turn (at most {MAX_CALLS_PER_ROUND}); this one was not run"
    elif tool is None:
        error = f"there is no tool '{_cut(call.name, 100)}'; the tools are: {', '.join(sorted(tools))}"
    else:
        try:
            arguments = parse_arguments(call.arguments)
            async with asyncio.timeout(timeout_s):
                result = _cut(await tool.answer(arguments), MAX_ANSWER_CHARS)
        except BadArguments as e:
            error = str(e)
        except TimeoutError:
            error = f"the tool did not answer within {timeout_s:g}s"
        except ChatgateError as e:
            error = e.message
    if sink is not None:
        shown = _cut(result, MAX_RECORDED_CHARS) if error is None else None
        sink(ToolAnswered(ctx.node_id, call.id, call.name, shown, error))
    return result, error


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit} more characters cut)"
