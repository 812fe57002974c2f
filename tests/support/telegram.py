"""What the Telegram stories are built from: the test bot's token and settings entry, reading
what a chat shows on the Bot API emulator, and the shared chatgate's handle (``Shared``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bots.telegram.polling import BACKOFF_S, LONG_POLL_S, REQUEST_MARGIN_S
from tests.emulators.openai_server import OpenAIEmulator
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.chatgate import ChatgateProcess

TOKEN = "424242:AAH-tg-test-SECRET-token-0123456789"
OTHER_TOKEN = "515151:AAH-tg-other-SECRET-token-987654"
BOT = "tg"
USERNAME = "chatgate_bot"
MODEL = "gpt-4o-mini"


def telegram_bot(emu: TelegramEmulator, **changes: Any) -> dict[str, Any]:
    """A bots[] entry pointing at the emulator; ``changes`` override any key."""
    bot: dict[str, Any] = {
        "name": BOT,
        "platform": "telegram",
        "token": TOKEN,
        "api_base": emu.base_url,
        "workflow": "support_bot",
        "tier": "paid",
        "greeting": "Hello from the test bot!",
        "max_in_flight": 8,
    }
    bot.update(changes)
    return bot


StartTelegram = Callable[..., Awaitable[ChatgateProcess]]


async def wait_polling_started(emu: TelegramEmulator, token: str = TOKEN, *, since: int = 0) -> None:
    """Until the bot has made a getUpdates call (after the first ``since`` ones)."""
    await emu.wait_for(lambda: len(emu.calls_to("getUpdates", token)) > since, timeout=15)


def texts(emu: TelegramEmulator, chat_id: int, token: str = TOKEN) -> list[str]:
    """The bot's messages in a chat, as the user sees them (after edits), oldest first."""
    return [m["text"] for m in emu.chat_messages(token, chat_id)]


async def wait_texts(
    emu: TelegramEmulator, chat_id: int, count: int, *, within: float = 10, token: str = TOKEN
) -> list[str]:
    await emu.wait_for(lambda: len(texts(emu, chat_id, token)) >= count, timeout=within)
    return texts(emu, chat_id, token)


async def health(gw: ChatgateProcess) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{gw.base_url}/healthz") as r:
        body: dict[str, Any] = await r.json()
        return body


async def wait_until(probe: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Poll an async condition (e.g. one reading /healthz) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await probe():
        assert loop.time() < deadline, f"{probe.__name__} did not hold within {within}s"
        await asyncio.sleep(0.05)


def model_config(base_url: str, *, max_retries: int = 0) -> Callable[[dict[str, Any]], None]:
    """A ``configure`` callback: a real (emulated) OpenAI model instead of the offline echo."""

    def configure(config: dict[str, Any]) -> None:
        config["llm"].update(
            base_url=base_url,
            api_key="sk-test-llm-key-0123456789",
            default_model="gpt-4o-mini",
            max_retries=max_retries,
            timeout_s=10,
        )

    return configure


def chat_workflow(name: str = "chat") -> dict[str, Any]:
    """start(user_input) -> response on the (emulated) real model, with history."""
    start = {"input_params": [{"name": "user_input", "type": "string"}]}
    response = {"model": MODEL, "system_prompt": "Be brief."}
    return {
        "name": name,
        "description": "chat on the emulated model",
        "nodes": [
            {"id": "start_node", "type": "start", "config": start},
            {"id": "response_node", "type": "response", "config": response},
        ],
        "connections": [{"from": "start_node", "to": "response_node"}],
    }


@dataclass
class Shared:
    """A running chatgate with four bots on one emulator (see `shared_gateway`)."""

    gw: ChatgateProcess
    tg: TelegramEmulator
    llm: OpenAIEmulator
    echo: str  # token of bot "tg": offline echo model, chat sessions
    model: str  # bot "tgm": the emulated real model, chat sessions
    per_user: str  # bot "tgu": the emulated model, session_scope user
    limited: str  # bot "tgl": echo, tier "tiny" (2 messages a minute)
    _next_chat: int = 10_000

    def chat(self, *, group: bool = False) -> int:
        """A chat id no other story uses (groups: a supergroup id)."""
        self._next_chat += 1
        return -1_000_000_000_000 - self._next_chat if group else self._next_chat

    def texts(self, token: str, chat_id: int) -> list[str]:
        return [m["text"] for m in self.tg.chat_messages(token, chat_id)]

    async def wait_texts(self, token: str, chat_id: int, count: int, within: float = 10) -> list[str]:
        await self.tg.wait_for(lambda: len(self.texts(token, chat_id)) >= count, timeout=within)
        return self.texts(token, chat_id)


SHARED_TOKENS = {
    "tg": TOKEN,
    "tgm": "600001:AAH-shared-model-SECRET-0123456789",
    "tgu": "600002:AAH-shared-peruser-SECRET-0123456",
    "tgl": "600003:AAH-shared-limited-SECRET-012345",
}


# The shared emulators serve on the session's event loop, which stands still while a test of
# another loop runs on this worker: a long poll then times out in chatgate, which backs off as
# it would with Telegram. Recovering takes at most a request timeout plus the longest backoff
# plus one idle long poll; each story starts once every bot polls again.
RECOVERY_S = LONG_POLL_S + REQUEST_MARGIN_S + BACKOFF_S[1] + LONG_POLL_S


async def wait_all_polling(shared: Shared) -> None:
    async def every_bot_polling() -> bool:
        bots = (await health(shared.gw))["bots"]
        return all(bots[name]["state"] == "polling" for name in SHARED_TOKENS)

    await wait_until(every_bot_polling, within=RECOVERY_S)


# -- questions with buttons ------------------------------------------------------------


def asked(emu: TelegramEmulator, chat_id: int, token: str = TOKEN) -> dict[str, Any]:
    """The bot's last message in the chat that shows buttons (the question being asked)."""
    with_buttons = [m for m in emu.chat_messages(token, chat_id) if m.get("reply_markup")]
    assert with_buttons, f"no message with buttons in chat {chat_id}: {texts(emu, chat_id, token)}"
    return with_buttons[-1]


def buttons(emu: TelegramEmulator, chat_id: int, message_id: int, token: str = TOKEN) -> dict[str, str]:
    """The buttons a message shows now: label -> the data a press sends back."""
    return {b["text"]: b["callback_data"] for row in emu.keyboard(token, chat_id, message_id) for b in row}


def press(
    emu: TelegramEmulator,
    chat_id: int,
    question: dict[str, Any],
    label: str,
    *,
    user_id: int = 1001,
    first_name: str = "Alice",
    token: str = TOKEN,
) -> dict[str, Any]:
    """A user presses the button ``label`` under ``question`` (a message as `asked` returns it,
    whose buttons may be gone since: a stale press from a client that still shows them)."""
    [data] = [
        b["callback_data"]
        for row in question["reply_markup"]["inline_keyboard"]
        for b in row
        if b["text"] == label
    ]
    return emu.push_callback_query(
        token, chat_id, user_id, question["message_id"], data, first_name=first_name
    )


def coffee(*, timeout_s: float | None = None) -> dict[str, Any]:
    """Greets, asks "Which size?" with the buttons Small cup / Large cup, answers from a
    template with the first message's text (``timeout_s``: the question's; "Too late." then)."""
    sizes = [{"id": "small", "label": "Small cup"}, {"id": "large", "label": "Large cup"}]
    ask: dict[str, Any] = {"question": "Which size?", "options": sizes}
    if timeout_s is not None:
        ask["timeout_s"] = timeout_s
    doc: dict[str, Any] = {
        "name": "coffee",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
            {"id": "hello", "type": "message", "config": {"content": "Hi {{inputs.user_input}}!"}},
            {"id": "ask", "type": "question", "config": ask},
            {"id": "small", "type": "template", "config": {"template": "Small for {{inputs.user_input}}."}},
            {"id": "large", "type": "template", "config": {"template": "Large for {{inputs.user_input}}."}},
        ],
        "connections": [
            {"from": "start", "to": "hello"},
            {"from": "hello", "to": "ask"},
            {"from": "ask", "port": "small", "to": "small"},
            {"from": "ask", "port": "large", "to": "large"},
        ],
    }  # fmt: skip
    if timeout_s is not None:
        doc["nodes"].append({"id": "late", "type": "template", "config": {"template": "Too late."}})
        doc["connections"].append({"from": "ask", "port": "timeout", "to": "late"})
    return doc
