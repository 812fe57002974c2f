"""The model client asks for tools and structured output, and hears the calls the model asks
for, streamed or not: the real openai client against the emulator."""

from __future__ import annotations

import json

import pytest

from config.schema import LLMSettings
from engine.llm.client import LLM
from engine.workflow.nodes.model import Reply, ToolCall, ToolSpec
from tests.emulators.openai_server import EmulatedCall, EmulatedReply, OpenAIEmulator

LOOKUP = ToolSpec(
    "lookup_order",
    "Look an order up by its number",
    {"type": "object", "properties": {"order": {"type": "string"}}, "required": ["order"]},
)


@pytest.mark.parametrize("streamed", [False, True])
async def test_the_model_asks_for_a_tool_and_the_client_hears_its_name_and_arguments(
    openai_emu: OpenAIEmulator, streamed: bool
) -> None:
    openai_emu.reply = lambda body: EmulatedReply(
        "let me look", (EmulatedCall("lookup_order", {"order": "A-1234567"}),)
    )
    llm = LLM(LLMSettings(base_url=openai_emu.base_url, api_key="sk-test", max_retries=0), env={})
    seen: list[str] = []
    try:
        reply = await llm.chat(
            "gpt-4o-mini",
            [{"role": "user", "content": "where is A-1234567?"}],
            seen.append if streamed else None,
            tools=[LOOKUP],
        )
    finally:
        await llm.aclose()
    assert reply.text == "let me look"
    assert [(c.name, json.loads(c.arguments)) for c in reply.tool_calls] == [
        ("lookup_order", {"order": "A-1234567"})
    ]
    assert reply.tool_calls[0].id.startswith("call_")
    sent = openai_emu.requests[-1].body
    assert sent["tools"] == [LOOKUP.wire()]
    assert "".join(seen) == ("let me look" if streamed else "")


async def test_the_tools_answers_go_back_as_tool_turns_and_structured_output_is_asked_for(
    openai_emu: OpenAIEmulator,
) -> None:
    openai_emu.reply = lambda body: '{"intent": "billing"}'
    llm = LLM(LLMSettings(base_url=openai_emu.base_url, api_key="sk-test", max_retries=0), env={})
    asked = Reply("", (ToolCall("call_1", "lookup_order", '{"order": "A-1"}'),))
    schema = {"type": "json_schema", "json_schema": {"name": "intent", "schema": {"type": "object"}}}
    try:
        reply = await llm.chat(
            "gpt-4o-mini",
            [
                {"role": "user", "content": "hi"},
                asked.as_message(),
                {"role": "tool", "tool_call_id": "call_1", "content": "shipped"},
            ],
            None,
            response_format=schema,
        )
    finally:
        await llm.aclose()
    assert reply == Reply('{"intent": "billing"}')
    sent = openai_emu.requests[-1].body
    assert sent["response_format"] == schema
    assert sent["messages"][1]["tool_calls"][0]["function"]["name"] == "lookup_order"
    assert sent["messages"][2] == {"role": "tool", "tool_call_id": "call_1", "content": "shipped"}


async def test_the_offline_model_never_calls_a_tool() -> None:
    llm = LLM(LLMSettings(), env={})
    reply = await llm.chat("echo", [{"role": "user", "content": "lookup_order A-1"}], None, tools=[LOOKUP])
    assert llm.offline(None)
    assert not llm.offline("gpt-4o")
    assert reply == Reply("(echo) lookup_order A-1")
