"""Who may talk to a bot: blocked users, closed bots, silent refusals, per-user tiers, and
the admins' /status and /reload in a private chat. Against the Telegram Bot API emulator,
one chatgate for the whole module (its config is edited only by the /reload story)."""

from __future__ import annotations

import copy
import json
import shutil
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.emulators.openai_server import OpenAIEmulator
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.chatgate import SEED_WORKFLOW, ChatgateProcess, base_config
from tests.support.net import free_port
from tests.support.telegram import chat_workflow, model_config, telegram_bot, wait_polling_started

pytestmark = pytest.mark.asyncio(loop_scope="module")

OPEN = "700001:AAH-access-open-SECRET-0123456789"  # everyone may talk; tier "tiny"
CLUB = "700002:AAH-access-club-SECRET-0123456789"  # members only
QUIET = "700003:AAH-access-quiet-SECRET-012345678"  # members only, refuses silently
USERNAMES = {OPEN: "open_bot", CLUB: "club_bot", QUIET: "quiet_bot"}
BLOCKED, ROOMY, MEMBER, ADMIN = 500, 501, 600, 900
MEMBERS_CHAT = -100777
REFUSAL = "Sorry, you can't use this bot."


@dataclass
class Access:
    gw: ChatgateProcess
    tg: TelegramEmulator
    llm: OpenAIEmulator
    good_config: dict[str, Any]
    _next_chat: int = 20_000

    def chat(self, *, group: bool = False) -> int:
        self._next_chat += 1
        return -1_000_000_000_000 - self._next_chat if group else self._next_chat

    def say(self, token: str, chat: int, user: int, text: str) -> None:
        group = chat < 0
        if group:
            text = f"@{USERNAMES[token]} {text}"
        self.tg.push_message(
            token, chat_id=chat, user_id=user, text=text, chat_type="supergroup" if group else "private"
        )

    def texts(self, token: str, chat: int) -> list[str]:
        return [m["text"] for m in self.tg.chat_messages(token, chat)]

    async def wait_texts(self, token: str, chat: int, count: int) -> list[str]:
        await self.tg.wait_for(lambda: len(self.texts(token, chat)) >= count, timeout=10)
        return self.texts(token, chat)

    def asked(self, text: str) -> bool:
        """Whether any model request carried ``text``."""
        return any(text in str(r.body["messages"]) for r in self.llm.requests)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def access(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Access]:
    async with TelegramEmulator() as tg, OpenAIEmulator() as llm:
        for token, username in USERNAMES.items():
            tg.add_bot(token, username=username)
        workdir = tmp_path_factory.mktemp("access")
        (workdir / "workflows").mkdir()
        shutil.copy(SEED_WORKFLOW, workdir / "workflows" / "support_bot.json")
        (workdir / "workflows" / "chat.json").write_text(json.dumps(chat_workflow()))
        config = base_config(free_port(), workdir)
        model_config(llm.base_url)(config)
        config["rate_limits"].update(tiny="2/minute", roomy="100/minute")
        config["reload"] = {"watch": False}  # only /reload applies edits here
        config["users"] = [
            {"id": f"telegram:{BLOCKED}", "blocked": True},
            {"id": f"telegram:{ROOMY}", "tier": "roomy"},
        ]
        config["admins"] = [f"telegram:{ADMIN}"]
        members = {"default": "deny", "allow": [f"telegram:{MEMBER}", f"telegram:chat:{MEMBERS_CHAT}"]}
        config["bots"] = [
            telegram_bot(tg, name="open", token=OPEN, workflow="chat", tier="tiny"),
            telegram_bot(
                tg, name="club", token=CLUB, workflow="chat", access={**members, "refusal": "Members only."}
            ),
            telegram_bot(
                tg, name="quiet", token=QUIET, workflow="chat", access={"default": "deny", "refusal": ""}
            ),
            telegram_bot(tg, name="later", token="", workflow="chat"),  # no token yet
        ]
        gw = ChatgateProcess(Path(workdir), config, {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""})
        try:
            await gw.start()
            for token in USERNAMES:
                await wait_polling_started(tg, token)
            yield Access(gw, tg, llm, copy.deepcopy(config))
        finally:
            await gw.stop(signal.SIGKILL)


async def test_a_blocked_user_is_told_once_and_never_reaches_the_model(access: Access) -> None:
    group = access.chat(group=True)
    access.say(OPEN, group, BLOCKED, "blocked one")
    access.say(OPEN, group, BLOCKED, "blocked two")
    access.say(OPEN, group, 701, "hello from a friend")  # answered after them: same session
    assert await access.wait_texts(OPEN, group, 2) == [REFUSAL, "echo: hello from a friend"]
    assert not access.asked("blocked")

    private = access.chat()
    access.say(OPEN, private, BLOCKED, "/start")  # commands are refused too (told once already)
    access.say(CLUB, private, BLOCKED, "let me in")  # every bot refuses them, each says so once
    assert await access.wait_texts(CLUB, private, 1) == ["Members only."]
    assert access.texts(OPEN, private) == []


async def test_a_members_only_bot_answers_listed_users_and_chats(access: Access) -> None:
    group = access.chat(group=True)  # not an allowed chat
    access.say(CLUB, group, 702, "am I in?")
    access.say(CLUB, group, 702, "please?")
    access.say(CLUB, group, MEMBER, "I am a member")  # allowed by user id, in any chat
    assert await access.wait_texts(CLUB, group, 2) == ["Members only.", "echo: I am a member"]
    assert not access.asked("am I in")
    assert not access.asked("please?")

    access.say(CLUB, MEMBERS_CHAT, 703, "hi from the members' chat")  # allowed by chat
    assert await access.wait_texts(CLUB, MEMBERS_CHAT, 1) == ["echo: hi from the members' chat"]


async def test_a_silent_refusal_says_nothing(access: Access) -> None:
    group = access.chat(group=True)
    access.say(QUIET, group, 704, "anyone there?")
    access.say(QUIET, group, ADMIN, "admins may always talk")
    assert await access.wait_texts(QUIET, group, 1) == ["echo: admins may always talk"]
    assert not access.asked("anyone there")


async def test_a_users_own_tier_beats_the_bots(access: Access) -> None:
    roomy, regular = access.chat(), access.chat()
    for n in range(3):
        access.say(OPEN, roomy, ROOMY, f"roomy {n}")
        access.say(OPEN, regular, 705, f"regular {n}")
    assert await access.wait_texts(OPEN, roomy, 3) == ["echo: roomy 0", "echo: roomy 1", "echo: roomy 2"]
    answers = await access.wait_texts(OPEN, regular, 3)
    assert answers[:2] == ["echo: regular 0", "echo: regular 1"]
    assert answers[2].startswith("You're sending messages too fast")  # the bot's tier: 2 a minute


async def test_admins_get_status_in_a_private_chat_others_just_chat(access: Access) -> None:
    mine, theirs, group = access.chat(), access.chat(), access.chat(group=True)
    access.say(OPEN, mine, ADMIN, "/status")
    [status] = await access.wait_texts(OPEN, mine, 1)
    assert "Config version 1" in status
    assert "Last reload error: none" in status
    assert "Executions in flight:" in status
    assert "- open: telegram, polling" in status
    assert "- club: telegram" in status
    assert "Bots (4 configured, 3 running):" in status
    assert "- later: telegram, no token set (not started)" in status
    assert not access.asked("/status")

    access.say(OPEN, theirs, 706, "/status")  # not an admin: an ordinary question
    assert await access.wait_texts(OPEN, theirs, 1) == ["echo: /status"]
    access.say(CLUB, group, ADMIN, "/status")  # in a group: not an admin command
    access.say(CLUB, group, ADMIN, "and this?")
    assert (await access.wait_texts(CLUB, group, 2))[1] == "echo: and this?"
    assert "Config version" not in access.texts(CLUB, group)[0]


async def test_an_admin_reloads_the_config_from_a_private_chat(access: Access) -> None:
    gw, chat = access.gw, access.chat()
    config = copy.deepcopy(access.good_config)
    config["bots"][1]["greeting"] = "Hello again!"
    gw.write_config(config)
    access.say(OPEN, chat, ADMIN, "/reload")
    [verdict] = await access.wait_texts(OPEN, chat, 1)
    assert verdict.startswith("Applied: now running version 2.")
    assert "bot club updated without reconnecting" in verdict
    club_chat = access.chat()
    access.say(CLUB, club_chat, ADMIN, "/start")
    assert await access.wait_texts(CLUB, club_chat, 1) == ["Hello again!"]

    broken = copy.deepcopy(config)
    broken["users"].append({"id": "telegram:@someone"})
    gw.write_config(broken)
    access.say(OPEN, chat, ADMIN, "/reload")
    rejected = (await access.wait_texts(OPEN, chat, 2))[1]
    assert rejected.startswith("Rejected, still running version 2:")
    assert "users.2.id" in rejected
    assert "telegram:@someone" in rejected

    gw.write_config(config)  # put right again
    access.say(OPEN, chat, ADMIN, "/reload")
    assert (await access.wait_texts(OPEN, chat, 3))[2] == "Nothing changed; running version 2."
    access.say(OPEN, chat, ADMIN, "/status")
    assert "Last reload error: none" in (await access.wait_texts(OPEN, chat, 4))[3]
