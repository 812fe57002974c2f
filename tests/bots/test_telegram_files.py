"""People send a Telegram bot photos, documents and voice notes: the workflow gets the file
(the largest photo size within the limit) with the caption as the text; a file over the
limit, or one for a bot that reads only text, gets a short reply saying why. Files a
workflow sends arrive as photos and documents, the text as their caption."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp

from bots.messages import NON_TEXT
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.chatgate import ChatgateProcess
from tests.support.telegram import TOKEN, StartTelegram, wait_texts

PNG = b"\x89PNG\r\n\x1a\n-a-cat"


def look() -> dict[str, Any]:
    """Says what file it got and the text that came with it; then the file's signed URL."""
    inputs = [
        {"name": "user_input", "required": False},
        {"name": "upload", "type": "file", "required": False},
    ]
    said = (
        "{{inputs.upload.name}} ({{inputs.upload.mime_type}}, {{inputs.upload.size}} bytes) "
        "[{{inputs.user_input}}]\n{{inputs.upload.url}}"
    )
    return {
        "name": "look",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": inputs}},
            {"id": "say", "type": "template", "config": {"template": said}},
        ],
        "connections": [{"from": "start", "to": "say"}],
    }


def sends_a_cat() -> dict[str, Any]:
    cat = {"data": base64.b64encode(PNG).decode(), "name": "cat.png", "mime_type": "image/png"}
    return {
        "name": "sends_a_cat",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
            {"id": "end", "type": "end", "config": {
                "content": "A cat for {{inputs.user_input}}.", "attachments": [cat],
            }},
        ],
        "connections": [{"from": "start", "to": "end"}],
    }  # fmt: skip


def small_files(config: dict[str, Any]) -> None:
    config["files"] = {"max_bytes": 1000}


async def start_look(start_telegram: StartTelegram) -> ChatgateProcess:
    return await start_telegram(workflow="look", workflows={"look.json": look()}, configure=small_files)


async def test_a_photo_reaches_the_workflow_with_its_caption(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    gw = await start_look(start_telegram)
    chat = 801
    # Telegram offers three sizes; the largest within files.max_bytes (1000) is taken.
    tg_emu.push_file_message(
        TOKEN, chat_id=chat, photo=[b"s" * 10, b"m" * 900, b"l" * 5000], caption="my cat"
    )
    [said] = await wait_texts(tg_emu, chat, 1)
    what, url = said.split("\n")
    assert what == f"photo-{chat}-1.jpg (image/jpeg, 900 bytes) [my cat]"
    # The file is kept, and chatgate serves it to whoever holds its signed URL.
    async with aiohttp.ClientSession() as http, http.get(f"{gw.base_url}{url}") as r:
        assert r.status == 200
        assert await r.read() == b"m" * 900


async def test_documents_and_voice_notes_are_files_too(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_look(start_telegram)
    chat = 802
    tg_emu.push_file_message(TOKEN, chat_id=chat, document=("notes.txt", "text/plain", b"buy milk"))
    assert (await wait_texts(tg_emu, chat, 1))[0].startswith("notes.txt (text/plain, 8 bytes) []\n")
    voice = tg_emu.push_file_message(TOKEN, chat_id=chat, voice=b"OggS" + b"v" * 96)["message"]
    said = (await wait_texts(tg_emu, chat, 2))[1]
    assert said.startswith(f"voice-{chat}-{voice['message_id']}.ogg (audio/ogg, 100 bytes) []\n")


async def test_a_file_over_the_limit_is_refused_without_downloading_it(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_look(start_telegram)
    chat = 803
    tg_emu.push_file_message(TOKEN, chat_id=chat, document=("big.pdf", "application/pdf", b"%" * 4096))
    assert await wait_texts(tg_emu, chat, 1) == ["That file is too big: I can read files up to 1000 bytes."]
    assert tg_emu.calls_to("getFile") == []  # refused by its announced size, never downloaded


async def test_a_bot_that_reads_only_text_says_so(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_telegram()  # the seed workflow: text only
    chat = 804
    tg_emu.push_file_message(TOKEN, chat_id=chat, document=("notes.txt", "text/plain", b"buy milk"))
    assert await wait_texts(tg_emu, chat, 1) == [NON_TEXT]
    assert tg_emu.calls_to("getFile") == []


async def test_a_workflows_file_arrives_as_a_photo_with_the_answer_as_its_caption(
    start_telegram: StartTelegram, tg_emu: TelegramEmulator
) -> None:
    await start_telegram(workflow="sends_a_cat", workflows={"sends_a_cat.json": sends_a_cat()})
    chat = 805
    tg_emu.push_message(TOKEN, chat_id=chat, text="Ann")
    await tg_emu.wait_for(lambda: tg_emu.sent_files(TOKEN, chat) != [], timeout=10)
    [cat] = tg_emu.sent_files(TOKEN, chat)
    assert (cat["kind"], cat["name"], cat["data"], cat["caption"]) == (
        "photo",
        "cat.png",
        PNG,
        "A cat for Ann.",
    )
    assert len(tg_emu.chat_messages(TOKEN, chat)) == 1  # no text copy, no "…"
