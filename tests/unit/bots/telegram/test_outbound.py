"""Files a workflow sends reach a Telegram chat as Telegram shows them best: pictures as photos,
the rest as documents, several as albums, the text as a caption when it fits. Through the real
aiogram Bot against the Bot API emulator."""

from __future__ import annotations

from aiogram import Bot

from bots.base import Attachment
from bots.delivery.pacing import Pacer
from bots.telegram.outbound import caption_for, send_files
from bots.telegram.responder import TelegramResponder
from bots.telegram.send import Sender
from bots.telegram.target import Target
from tests.emulators.telegram.server import TelegramEmulator
from tests.support.telegram import TOKEN

CHAT = 1001
PRIVATE = Target(chat_id=CHAT, private=True)


def keep(name: str, mime_type: str, data: bytes) -> Attachment:
    return Attachment(name, mime_type, data)


def shown(emu: TelegramEmulator, chat: int = CHAT) -> list[tuple[str, str, bytes | None, str | None]]:
    return [(f["kind"], f["name"], f["data"], f["caption"]) for f in emu.sent_files(TOKEN, chat)]


async def test_a_picture_goes_as_a_photo_with_the_text_as_its_caption(
    emu: TelegramEmulator, bot: Bot
) -> None:
    chart = keep("chart.png", "image/png", b"\x89PNG chart")
    refused = await send_files(bot, Sender(Pacer()), PRIVATE, [chart], caption_for("**Sales** in Q3"))
    assert refused == []
    assert shown(emu) == [("photo", "chart.png", b"\x89PNG chart", "Sales in Q3")]
    [message] = emu.chat_messages(TOKEN, CHAT)
    assert message["caption_entities"][0]["type"] == "bold"


async def test_several_files_go_as_albums_of_one_kind(emu: TelegramEmulator, bot: Bot) -> None:
    files = [
        keep("a.jpg", "image/jpeg", b"a"),
        keep("b.jpg", "image/jpeg", b"b"),
        keep("report.pdf", "application/pdf", b"%PDF"),
        keep("data.csv", "text/csv", b"x,y"),
        keep("c.gif", "image/gif", b"GIF89a"),  # not a photo to Telegram
    ]
    await send_files(bot, Sender(Pacer()), PRIVATE, files, caption_for("Here you go"))
    sent = emu.sent_files(TOKEN, CHAT)
    assert [(f["kind"], f["name"], f["caption"]) for f in sent] == [
        ("photo", "a.jpg", "Here you go"),
        ("photo", "b.jpg", None),
        ("document", "report.pdf", None),
        ("document", "data.csv", None),
        ("document", "c.gif", None),
    ]
    albums = [f["media_group_id"] for f in sent]
    assert albums[0] is not None
    assert albums[0] == albums[1]
    assert albums[2] is not None
    assert albums[2] == albums[3] == albums[4]
    assert albums[2] != albums[0]


async def test_more_than_ten_files_make_several_albums(emu: TelegramEmulator, bot: Bot) -> None:
    files = [keep(f"{i}.jpg", "image/jpeg", bytes([i])) for i in range(12)]
    await send_files(bot, Sender(Pacer()), PRIVATE, files)
    calls = emu.calls_to("sendMediaGroup")
    assert [len(call.params["media"]) for call in calls] == [10, 2]
    assert [f["name"] for f in emu.sent_files(TOKEN, CHAT)] == [f"{i}.jpg" for i in range(12)]


async def test_a_long_text_is_no_caption_and_groups_get_the_files_as_a_reply(
    emu: TelegramEmulator, bot: Bot
) -> None:
    assert caption_for("word " * 300) is None  # over 1024: the caller sends it as a message
    question = emu.push_message(TOKEN, chat_id=-100700, chat_type="supergroup", text="@chatgate_bot chart?")
    group = Target(chat_id=-100700, private=False, reply_to=question["message"]["message_id"])
    chart = keep("chart.png", "image/png", b"\x89PNG")
    await send_files(bot, Sender(Pacer()), group, [chart])
    [message] = emu.chat_messages(TOKEN, -100700)
    assert message["reply_to_message"]["message_id"] == question["message"]["message_id"]
    assert "caption" not in message


async def test_the_responder_says_a_long_text_first_then_sends_the_files(
    emu: TelegramEmulator, bot: Bot
) -> None:
    responder = TelegramResponder(bot, Sender(Pacer()), PRIVATE)
    await responder.attach("word " * 300, [keep("chart.png", "image/png", b"\x89PNG")])
    [text, photo] = emu.chat_messages(TOKEN, CHAT)
    assert text["text"].startswith("word word")
    assert "caption" not in photo
    assert shown(emu) == [("photo", "chart.png", b"\x89PNG", None)]


async def test_the_responder_puts_a_short_text_as_the_caption(emu: TelegramEmulator, bot: Bot) -> None:
    responder = TelegramResponder(bot, Sender(Pacer()), PRIVATE)
    await responder.attach("Your report", [keep("r.pdf", "application/pdf", b"%PDF")])
    await responder.attach("", [keep("s.pdf", "application/pdf", b"%PDF2")])  # no text: no caption
    assert shown(emu) == [
        ("document", "r.pdf", b"%PDF", "Your report"),
        ("document", "s.pdf", b"%PDF2", None),
    ]
    assert len(emu.chat_messages(TOKEN, CHAT)) == 2  # no text message besides


async def test_a_file_too_large_for_telegram_is_told_not_dropped(emu: TelegramEmulator, bot: Bot) -> None:
    responder = TelegramResponder(bot, Sender(Pacer()), PRIVATE)
    await responder.attach(
        "Here", [keep("huge.iso", "application/octet-stream", b"\0" * (50 * 1024 * 1024 + 1))]
    )
    assert [m["text"] for m in emu.chat_messages(TOKEN, CHAT)] == [
        "Here",
        "I couldn't send huge.iso: Telegram takes files of at most 50 MB.",
    ]
