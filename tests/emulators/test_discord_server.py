"""Self-tests of the Discord emulator, driven by the real discord.py client."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiohttp
import discord
import discord.gateway
import discord.http
import pytest
import pytest_asyncio
import yarl
from discord import app_commands

from tests.emulators.discord.server import DiscordEmulator

TOKEN = "bot-token-123"
BOT_ID = 900
APP_ID = 950
GUILD = 10
CHANNEL = 11
DM = 500
THREAD = 12
ALICE = 1001


class Bot(discord.Client):
    """A minimal bot: records what it sees, answers "ping" and has one slash command."""

    def __init__(self, *, message_content: bool = True) -> None:
        intents = discord.Intents.default()
        intents.message_content = message_content
        # The default guild_ready_timeout delays on_ready by 2 s after the last GUILD_CREATE.
        super().__init__(intents=intents, guild_ready_timeout=0.05)
        self.tree = app_commands.CommandTree(self)
        self.ready = asyncio.Event()
        self.messages: list[discord.Message] = []
        self.edited: list[discord.Message] = []
        self.threads: list[discord.Thread] = []
        self.resumed = 0
        self.presses: list[discord.Interaction] = []  # button clicks (component interactions)
        self.on_press: Callable[[discord.Interaction], Awaitable[None]] | None = None

        @self.tree.command(name="ask", description="Ask a question")
        async def ask(interaction: discord.Interaction, question: str) -> None:
            await interaction.response.defer()
            await interaction.followup.send(f"answer: {question}")

    async def on_ready(self) -> None:
        self.ready.set()

    async def on_resumed(self) -> None:
        self.resumed += 1

    async def on_message(self, message: discord.Message) -> None:
        self.messages.append(message)
        if message.author != self.user and message.content.endswith("ping"):
            await message.channel.send(f"pong: {message.content}")

    async def on_message_edit(self, before: discord.Message, after: discord.Message) -> None:
        self.edited.append(after)

    async def on_thread_create(self, thread: discord.Thread) -> None:
        self.threads.append(thread)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.component:
            self.presses.append(interaction)
            if self.on_press is not None:
                await self.on_press(interaction)

    def received(self, content: str) -> list[discord.Message]:
        return [m for m in self.messages if m.author != self.user and m.content == content]


RunBot = Callable[..., AbstractAsyncContextManager[Bot]]


@pytest_asyncio.fixture
async def emu(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator() as emulator:
        emulator.add_bot(TOKEN, user_id=BOT_ID, application_id=APP_ID)
        emulator.add_guild(GUILD, name="Test Guild", channel_ids=[CHANNEL], members={ALICE: "alice"})
        emulator.add_thread(GUILD, CHANNEL, THREAD)
        monkeypatch.setattr(discord.http.Route, "BASE", emulator.api_base)
        monkeypatch.setattr(
            discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(emulator.gateway_url)
        )
        yield emulator


@pytest.fixture
def run_bot(emu: DiscordEmulator) -> RunBot:
    @asynccontextmanager
    async def run(**kwargs: Any) -> AsyncIterator[Bot]:
        bot = Bot(**kwargs)
        task = asyncio.create_task(bot.start(TOKEN))
        try:
            ready = asyncio.create_task(bot.ready.wait())
            done, _ = await asyncio.wait({ready, task}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                task.result()
            assert ready in done, "on_ready did not fire"
            yield bot
        finally:
            await bot.close()
            await asyncio.wait_for(task, timeout=5)

    return run


def channel_of(bot: Bot, channel_id: int) -> discord.abc.Messageable:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel | discord.Thread)
    return channel


@pytest.mark.asyncio
async def test_login_ready_and_guild_visible(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:
        assert bot.user is not None
        assert bot.user.id == BOT_ID
        assert bot.application_id == APP_ID
        guild = bot.get_guild(GUILD)
        assert guild is not None
        assert guild.name == "Test Guild"
        assert isinstance(guild.get_channel(CHANNEL), discord.TextChannel)
        assert guild.me is not None
        assert guild.me.id == BOT_ID
        assert guild.get_thread(THREAD) is not None
        startup = [(c.method, c.path) for c in emu.calls]
        assert startup[:2] == [("GET", "/users/@me"), ("GET", "/oauth2/applications/@me")]
        assert all(c.headers["Authorization"] == f"Bot {TOKEN}" for c in emu.calls)
        assert emu.identify_payloads[0]["intents"] & (1 << 15)
        assert emu.connections == 1


@pytest.mark.asyncio
async def test_dm_reaches_on_message_and_reply_is_recorded(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:
        emu.user_message(channel_id=DM, content="ping")
        await emu.wait_for(lambda: len(emu.channel_messages(DM)) == 2)
        incoming, reply = emu.channel_messages(DM)
        assert incoming["content"] == "ping"
        assert incoming["author"]["id"] == str(ALICE)
        assert reply["content"] == "pong: ping"
        assert reply["author"]["id"] == str(BOT_ID)
        assert isinstance(bot.received("ping")[0].channel, discord.DMChannel)
        # Like Discord, the bot also receives its own message over the gateway.
        await emu.wait_for(lambda: any(m.author == bot.user for m in bot.messages))


@pytest.mark.asyncio
async def test_guild_mention_arrives_with_content(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:
        emu.user_message(channel_id=CHANNEL, guild_id=GUILD, content="hello", mention_bot=True)
        await emu.wait_for(lambda: bool(bot.messages))
        message = bot.messages[0]
        assert message.content == f"<@{BOT_ID}> hello"
        assert bot.user in message.mentions
        assert message.guild is not None
        assert message.guild.id == GUILD
        assert isinstance(message.author, discord.Member)


@pytest.mark.asyncio
@pytest.mark.parametrize(("requested", "granted"), [(False, True), (True, False)])
async def test_message_content_is_withheld_without_the_intent(
    emu: DiscordEmulator, run_bot: RunBot, requested: bool, granted: bool
) -> None:
    emu.grant_message_content = granted
    async with run_bot(message_content=requested) as bot:
        emu.user_message(channel_id=CHANNEL, content="plain")
        emu.user_message(channel_id=CHANNEL, content="tagged", mention_bot=True)
        emu.user_message(channel_id=DM, content="private")
        await emu.wait_for(lambda: len(bot.messages) == 3)
        assert [m.content for m in bot.messages] == ["", f"<@{BOT_ID}> tagged", "private"]
        assert emu.channel_messages(CHANNEL)[0]["content"] == "plain"


@pytest.mark.asyncio
async def test_message_over_2000_characters_is_rejected(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:
        with pytest.raises(discord.HTTPException) as excinfo:
            await channel_of(bot, CHANNEL).send("x" * 2001)
        assert excinfo.value.status == 400
        assert excinfo.value.code == 50035
        assert emu.channel_messages(CHANNEL) == []
        await channel_of(bot, CHANNEL).send("x" * 2000)
        assert len(emu.channel_messages(CHANNEL)) == 1


@pytest.mark.asyncio
async def test_injected_429_is_retried(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:
        emu.fail_next("POST", rf"^/channels/{CHANNEL}/messages$", retry_after=0.2)
        started = time.monotonic()
        sent = await channel_of(bot, CHANNEL).send("hello")
        assert time.monotonic() - started >= 0.2
        assert [m["id"] for m in emu.channel_messages(CHANNEL)] == [str(sent.id)]
        statuses = [c.status for c in emu.calls if c.method == "POST" and c.path.endswith("/messages")]
        assert statuses == [429, 200]


@pytest.mark.asyncio
@pytest.mark.parametrize("code", [4000, 1006])
async def test_disconnect_resumes_and_delivers_outage_messages_once(
    emu: DiscordEmulator, run_bot: RunBot, code: int
) -> None:
    async with run_bot() as bot:
        emu.user_message(channel_id=CHANNEL, content="before")
        await emu.wait_for(lambda: bool(bot.received("before")))
        await emu.disconnect(code=code)
        emu.user_message(channel_id=CHANNEL, content="during outage")
        await emu.wait_for(lambda: bot.resumed == 1, timeout=10)
        await emu.wait_for(lambda: bool(bot.received("during outage")))
        await asyncio.sleep(0.1)
        assert len(bot.received("during outage")) == 1
        assert len(bot.received("before")) == 1
        (resume,) = emu.resume_payloads
        # READY, GUILD_CREATE and "before" had been received: seq 3.
        assert resume["seq"] == 3
        assert resume["token"] == TOKEN
        assert len(emu.identify_payloads) == 1
        assert emu.connections == 2


@pytest.mark.asyncio
async def test_reconnect_opcode_resumes(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:
        await emu.send_reconnect()
        await emu.wait_for(lambda: bot.resumed == 1)
        assert len(emu.resume_payloads) == 1
        assert len(emu.identify_payloads) == 1
        emu.user_message(channel_id=CHANNEL, content="after reconnect")
        await emu.wait_for(lambda: bool(bot.received("after reconnect")))


@pytest.mark.asyncio
async def test_invalid_session_makes_the_client_identify_again(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:
        started = time.monotonic()
        await emu.invalidate_session()
        # discord.py's before_identify_hook sleeps 5 s before any non-initial IDENTIFY.
        await emu.wait_for(lambda: len(emu.identify_payloads) == 2, timeout=10)
        assert time.monotonic() - started >= 5
        emu.user_message(channel_id=CHANNEL, content="after identify")
        await emu.wait_for(lambda: bool(bot.received("after identify")))


@pytest.mark.asyncio
async def test_command_tree_sync_records_commands(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:
        synced = await bot.tree.sync()
        assert [c.name for c in synced] == ["ask"]
        (command,) = emu.commands(APP_ID)
        assert command["name"] == "ask"
        assert command["id"] == str(synced[0].id)
        assert command["options"][0]["name"] == "question"
        assert command["options"][0]["type"] == 3
        bot.tree.copy_global_to(guild=discord.Object(GUILD))
        await bot.tree.sync(guild=discord.Object(GUILD))
        assert [c["name"] for c in emu.commands(APP_ID, GUILD)] == ["ask"]
        # Re-syncing keeps the command id, as Discord does.
        await bot.tree.sync()
        assert emu.commands(APP_ID)[0]["id"] == command["id"]


@pytest.mark.asyncio
async def test_slash_command_defer_and_followup(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:
        await bot.tree.sync()
        interaction = emu.slash_command(name="ask", options={"question": "why"}, channel_id=CHANNEL)
        iid = int(interaction["id"])
        await emu.wait_for(lambda: len(emu.interaction_responses(iid)) == 2)
        callback, followup = emu.interaction_responses(iid)
        assert callback["kind"] == "callback"
        assert callback["type"] == 5
        assert followup["kind"] == "followup"
        assert followup["content"] == "answer: why"
        # The first follow-up after a defer fills the "thinking" message.
        (message,) = emu.channel_messages(CHANNEL)
        assert message["content"] == "answer: why"
        assert message["id"] == followup["message_id"]
        assert message["flags"] == 0
        assert message["edits"] == 0


@pytest.mark.asyncio
async def test_ephemeral_reply_and_late_ack(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:

        @bot.tree.command(name="secret", description="Whisper")
        async def secret(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("psst", ephemeral=True)

        interaction = emu.slash_command(name="secret", channel_id=DM)
        await emu.wait_for(lambda: bool(emu.interaction_responses(int(interaction["id"]))))
        (callback,) = emu.interaction_responses(int(interaction["id"]))
        assert callback["type"] == 4
        assert callback["ephemeral"]
        assert callback["content"] == "psst"
        assert not [m for m in bot.messages if m.content == "psst"]  # ephemeral: never on the gateway

        emu.interaction_ack_timeout = 0.0
        errors: list[BaseException] = []

        @bot.tree.error
        async def record_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
            errors.append(error)

        late = emu.slash_command(name="secret", channel_id=DM)
        await emu.wait_for(lambda: bool(errors))
        assert isinstance(errors[0].__cause__, discord.NotFound)
        assert emu.interaction_responses(int(late["id"])) == []


@pytest.mark.asyncio
async def test_edit_updates_content_and_count(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:
        message = await channel_of(bot, CHANNEL).send("draft")
        await message.edit(content="final")
        (stored,) = emu.channel_messages(CHANNEL)
        assert stored["content"] == "final"
        assert stored["edits"] == 1
        await emu.wait_for(lambda: [m.content for m in bot.edited] == ["final"])
        with pytest.raises(discord.HTTPException) as excinfo:
            await message.edit(content="y" * 2001)
        assert excinfo.value.status == 400
        assert emu.channel_messages(CHANNEL)[0]["edits"] == 1


@pytest.mark.asyncio
async def test_edit_limit_paces_edits(emu: DiscordEmulator, run_bot: RunBot) -> None:
    emu.edit_limit = (2, 0.5)
    async with run_bot() as bot:
        message = await channel_of(bot, CHANNEL).send("0")
        started = time.monotonic()
        for i in range(1, 4):
            message = await message.edit(content=str(i))
        assert time.monotonic() - started >= 0.4
        assert emu.channel_messages(CHANNEL)[0]["edits"] == 3
        patches = [c for c in emu.calls if c.method == "PATCH"]
        assert {c.status for c in patches} <= {200, 429}
        assert patches[-1].status == 200


@pytest.mark.asyncio
async def test_thread_messages_and_thread_creation(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:
        emu.user_message(channel_id=THREAD, content="in a thread")
        await emu.wait_for(lambda: bool(bot.received("in a thread")))
        channel = bot.received("in a thread")[0].channel
        assert isinstance(channel, discord.Thread)
        assert channel.parent_id == CHANNEL

        starter = await channel_of(bot, CHANNEL).send("topic")
        thread = await starter.create_thread(name="discussion")
        assert thread.id == starter.id
        assert thread.parent_id == CHANNEL
        await emu.wait_for(lambda: [t.name for t in bot.threads] == ["discussion"])
        await thread.send("first reply")
        assert [m["content"] for m in emu.channel_messages(thread.id)] == ["first reply"]


@pytest.mark.asyncio
async def test_typing_history_and_reply(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:
        incoming = emu.user_message(channel_id=CHANNEL, content="question")
        await emu.wait_for(lambda: bool(bot.received("question")))
        async with channel_of(bot, CHANNEL).typing():
            reply = await bot.received("question")[0].reply("an answer")
        assert emu.typing_calls(CHANNEL) >= 1
        assert reply.reference is not None
        assert reply.reference.message_id == int(incoming["id"])
        history = [m.content async for m in channel_of(bot, CHANNEL).history(limit=10)]
        assert history == ["an answer", "question"]


@pytest.mark.asyncio
async def test_raw_rest_errors(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {TOKEN}"}) as http:
        async with http.get(f"{emu.api_base}/nope") as resp:
            assert resp.status == 404
            assert resp.headers["Content-Type"] == "application/json"
            assert await resp.json() == {"message": "404: Not Found", "code": 0}
        async with http.get(f"{emu.api_base}/users/@me", headers={"Authorization": "Bot wrong"}) as resp:
            assert resp.status == 401
        async with http.get(f"{emu.api_base}/gateway/bot") as resp:
            body = await resp.json()
            assert body["url"] == emu.gateway_url
            assert body["shards"] == 1
        async with http.post(f"{emu.api_base}/channels/{CHANNEL}/messages", json={"content": ""}) as resp:
            assert resp.status == 400
            assert (await resp.json())["code"] == 50006
    bot = Bot()
    try:
        with pytest.raises(discord.LoginFailure):
            await bot.login("wrong-token")
    finally:
        await bot.close()


def choices(*labels: str, row_size: int = 5) -> discord.ui.View:
    """A view of buttons ``pick:<label>``, ``row_size`` to a row; stopped, so discord.py keeps no
    callback for it (a press reaches only ``on_interaction``)."""
    view = discord.ui.View(timeout=None)
    for i, label in enumerate(labels):
        view.add_item(discord.ui.Button(label=label, custom_id=f"pick:{label}", row=i // row_size))
    view.stop()
    return view


@pytest.mark.asyncio
async def test_a_message_with_buttons_is_pressed_and_edited_to_drop_them(
    emu: DiscordEmulator, run_bot: RunBot
) -> None:
    async with run_bot() as bot:

        async def choose(interaction: discord.Interaction) -> None:
            await interaction.response.defer()  # 6: nothing shown, the message is edited later
            await interaction.edit_original_response(content="Size? → Large", view=None)

        bot.on_press = choose
        question = await channel_of(bot, CHANNEL).send("Size?", view=choices("Small", "Large"))
        (stored,) = emu.channel_messages(CHANNEL)
        (row,) = stored["components"]
        assert [(b["type"], b["label"], b["custom_id"]) for b in row["components"]] == [
            (2, "Small", "pick:Small"),
            (2, "Large", "pick:Large"),
        ]

        press = emu.press_button(CHANNEL, question.id, ALICE, "pick:Large")
        await emu.wait_for(lambda: len(emu.interaction_responses(int(press["id"]))) == 2)
        interaction = bot.presses[0]
        assert interaction.data == {"custom_id": "pick:Large", "component_type": 2}
        assert interaction.user.id == ALICE
        assert interaction.message is not None
        assert interaction.message.id == question.id
        callback, edit = emu.interaction_responses(int(press["id"]))
        assert (callback["kind"], callback["type"]) == ("callback", 6)
        assert (edit["kind"], edit["message_id"]) == ("edit", str(question.id))
        (stored,) = emu.channel_messages(CHANNEL)
        assert (stored["content"], stored["components"], stored["edits"]) == ("Size? → Large", [], 1)
        with pytest.raises(ValueError, match="no enabled button"):
            emu.press_button(CHANNEL, question.id, ALICE, "pick:Large")  # the buttons are gone


@pytest.mark.asyncio
async def test_a_press_answered_by_updating_its_message(emu: DiscordEmulator, run_bot: RunBot) -> None:
    async with run_bot() as bot:

        async def update(interaction: discord.Interaction) -> None:
            await interaction.response.edit_message(content="Small it is", view=None)  # 7

        bot.on_press = update
        question = await channel_of(bot, CHANNEL).send("Size?", view=choices("Small", "Large"))
        press = emu.press_button(CHANNEL, question.id, ALICE, "pick:Small")
        await emu.wait_for(lambda: bool(emu.interaction_responses(int(press["id"]))))
        assert emu.interaction_responses(int(press["id"]))[0]["type"] == 7
        (stored,) = emu.channel_messages(CHANNEL)
        assert (stored["content"], stored["components"]) == ("Small it is", [])
        await emu.wait_for(lambda: [m.content for m in bot.edited] == ["Small it is"])


@pytest.mark.asyncio
async def test_a_press_gets_one_ephemeral_answer_in_time_and_no_second(
    emu: DiscordEmulator, run_bot: RunBot
) -> None:
    async with run_bot() as bot:

        async def whisper(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("Only alice can answer this.", ephemeral=True)

        bot.on_press = whisper
        dm = await bot.create_dm(await bot.fetch_user(ALICE))
        question = await dm.send("Size?", view=choices("Small"))
        press = emu.press_button(dm.id, question.id, ALICE, "pick:Small")
        await emu.wait_for(lambda: bool(emu.interaction_responses(int(press["id"]))))
        (callback,) = emu.interaction_responses(int(press["id"]))
        assert (callback["type"], callback["ephemeral"]) == (4, True)
        whispered = [m for m in emu.channel_messages(dm.id) if m["flags"] & 64]
        assert [m["content"] for m in whispered] == ["Only alice can answer this."]
        assert whispered[0]["interaction_metadata"]["interacted_message_id"] == str(question.id)
        assert not [m for m in bot.messages if m.content.startswith("Only")]  # never on the gateway

        url = f"{emu.api_base}/interactions/{press['id']}/{press['token']}/callback"
        async with aiohttp.ClientSession() as http, http.post(url, json={"type": 6}) as resp:
            assert (resp.status, (await resp.json())["code"]) == (400, 40060)  # already acknowledged

        late: list[discord.HTTPException] = []

        async def too_late(interaction: discord.Interaction) -> None:
            try:
                await interaction.response.defer()
            except discord.HTTPException as e:
                late.append(e)

        emu.interaction_ack_timeout = 0.0
        bot.on_press = too_late
        emu.press_button(dm.id, question.id, ALICE, "pick:Small")
        await emu.wait_for(lambda: bool(late))
        assert (late[0].status, late[0].code) == (404, 10062)  # Unknown interaction


@pytest.mark.asyncio
async def test_components_over_discords_limits_are_refused_with_its_form_errors(
    emu: DiscordEmulator, run_bot: RunBot
) -> None:
    def button(custom_id: str, label: str = "ok") -> dict[str, Any]:
        return {"type": 2, "style": 1, "label": label, "custom_id": custom_id}

    def row(*children: dict[str, Any]) -> dict[str, Any]:
        return {"type": 1, "components": list(children)}

    too_long = "BASE_TYPE_MAX_LENGTH"
    cases = [
        ([row(*(button(f"b{i}") for i in range(6)))], "components.0.components", too_long),
        ([row(button(f"b{i}")) for i in range(6)], "components", too_long),
        ([row(button("b", "x" * 81))], "components.0.components.0.label", too_long),
        ([row(button("b" * 101))], "components.0.components.0.custom_id", too_long),
        (
            [row(button("b"), button("b"))],
            "components.0.components.1.custom_id",
            "COMPONENT_CUSTOM_ID_DUPLICATED",
        ),
        ([button("b")], "components.0.type", "UNION_TYPE_CHOICES"),
    ]
    url = f"{emu.api_base}/channels/{CHANNEL}/messages"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bot {TOKEN}"}) as http:
        for components, path, code in cases:
            async with http.post(url, json={"content": "Pick", "components": components}) as resp:
                body = await resp.json()
            assert (resp.status, body["code"], body["message"]) == (400, 50035, "Invalid Form Body")
            errors = body["errors"]
            for key in path.split("."):
                errors = errors[key]
            assert errors["_errors"][0]["code"] == code
        assert emu.channel_messages(CHANNEL) == []
        full = [row(*(button(f"b{r}{c}") for c in range(5))) for r in range(5)]
        async with http.post(url, json={"content": "Pick", "components": full}) as resp:
            assert resp.status == 200
            message_id = (await resp.json())["id"]
        edit = f"{url}/{message_id}"
        async with http.patch(edit, json={"content": "Pick one"}) as resp:  # components kept
            assert len((await resp.json())["components"]) == 5
        async with http.patch(edit, json={"components": [row(button("b"), button("b"))]}) as resp:
            assert resp.status == 400
        async with http.patch(edit, json={"components": [row(button("only"))]}) as resp:
            assert [b["custom_id"] for b in (await resp.json())["components"][0]["components"]] == ["only"]


@pytest.mark.asyncio
async def test_attachments_a_user_sends_are_downloaded_from_the_emulators_cdn(
    emu: DiscordEmulator, run_bot: RunBot
) -> None:
    async with run_bot() as bot:
        emu.user_message(
            channel_id=CHANNEL, content="see this", attachments=[("cat.png", b"\x89PNG-cat", "image/png")]
        )
        await emu.wait_for(lambda: bool(bot.received("see this")))
        (attachment,) = bot.received("see this")[0].attachments
        assert (attachment.filename, attachment.size, attachment.content_type) == ("cat.png", 8, "image/png")
        assert attachment.url.startswith(emu.cdn_base)  # loopback: never the real CDN
        assert await attachment.read() == b"\x89PNG-cat"
        assert emu.downloads == [attachment.id]


@pytest.mark.asyncio
async def test_files_a_bot_sends_are_kept_and_bounded_by_the_upload_limit(
    emu: DiscordEmulator, run_bot: RunBot
) -> None:
    emu.upload_limit = 1000
    async with run_bot() as bot:
        sent = await channel_of(bot, CHANNEL).send("here", file=discord.File(io.BytesIO(b"report"), "r.pdf"))
        (attachment,) = sent.attachments
        assert attachment.filename == "r.pdf"
        assert emu.attachment_bytes(attachment.id) == b"report"
        with pytest.raises(discord.HTTPException) as too_big:
            await channel_of(bot, CHANNEL).send(file=discord.File(io.BytesIO(b"x" * 1001), "big.bin"))
        assert (too_big.value.status, too_big.value.code) == (413, 40005)
        assert [m["content"] for m in emu.channel_messages(CHANNEL)] == ["here"]
