"""A user asks a bot something its model answers with a tool: the bot shows "typing" while
the tool runs (here an MCP server's slow tool, started over stdio by chatgate), and the user
gets the final answer only, on Telegram and on Discord."""

from __future__ import annotations

from typing import Any

from tests.emulators.discord.server import DiscordEmulator
from tests.emulators.openai_server import EmulatedCall, EmulatedReply, OpenAIEmulator
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.discord import CHANNEL, StartDiscordBot, use_model
from tests.support.mcp import STDIO_COMMAND
from tests.support.telegram import TOKEN, StartTelegram, model_config, wait_texts

DESK = {
    "name": "desk",
    "nodes": [
        {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
        {
            "id": "answer",
            "type": "response",
            "config": {"model": "gpt-4o-mini", "tools": [{"mcp": "clock", "tools": ["sleep"]}]},
        },
    ],
    "connections": [{"from": "start", "to": "answer"}],
}


def with_tools(model: Any) -> Any:
    def configure(config: dict[str, Any]) -> None:
        model(config)
        config["mcp_servers"] = {"clock": {"command": STDIO_COMMAND}}

    return configure


def waits_then_answers(body: dict[str, Any]) -> str | EmulatedReply:
    """Asks for the slow tool (a wait the user notices), then answers with what it said."""
    answers = [m["content"] for m in body["messages"] if m["role"] == "tool"]
    if not answers:
        return EmulatedReply("let me check", (EmulatedCall("sleep", {"seconds": 1.5}),))
    return f"Done: {answers[0]}"


async def test_a_telegram_user_sees_typing_while_the_tool_runs_then_the_answer(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.reply = waits_then_answers
    await start_telegram(
        configure=with_tools(model_config(openai_emu.base_url)),
        workflows={"desk.json": DESK},
        workflow="desk",
    )
    tg_emu.push_message(TOKEN, chat_id=4242, text="wait a bit for me")
    texts = await wait_texts(tg_emu, 4242, 1, within=20)
    assert texts == ["Done: slept 1.5"]  # not "let me check": only the final answer is sent
    assert any(a["action"] == "typing" for a in tg_emu.chat_actions(TOKEN, 4242))
    assert len(openai_emu.requests) == 2


async def test_a_discord_user_sees_typing_while_the_tool_runs_then_the_answer(
    discord_bot: StartDiscordBot, discord_emu: DiscordEmulator, openai_emu: OpenAIEmulator
) -> None:
    openai_emu.reply = waits_then_answers
    bot = await discord_bot(
        configure=with_tools(use_model(openai_emu)), workflows={"desk.json": DESK}, workflow="desk"
    )
    asked = bot.say(CHANNEL, "wait a bit for me")
    await bot.emu.wait_for(lambda: bool(bot.replies_to(CHANNEL, asked)), 20.0)
    [answer] = bot.bot_messages(CHANNEL)
    assert answer["content"] == "Done: slept 1.5"
    assert discord_emu.typing_calls(CHANNEL) >= 1
