"""A bot that transcribes voice messages turns what the user said into the workflow's text
input, through the real openai client against the emulator's ``/audio/transcriptions``; a
workflow can tell (``{{sys.transcribed}}``); and when it cannot be heard the user is told in
one short sentence, never left without an answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.files import Received, take
from bots.messages import UNHEARD, chat_message
from bots.voice import MAX_TRANSCRIPT_CHARS, is_voice, transcript
from config import ConfigError, parse_settings
from config.diff import bot_change
from config.files import FilesSettings
from config.platforms.common import VoiceSettings
from config.schema import EngineSettings, LLMSettings
from engine.errors import TranscriptionFailed
from engine.files.store import FileStore
from engine.llm.client import LLM
from engine.run.executor import Executor
from engine.run.runner import Caller
from engine.sessions import Sessions
from engine.store.writer import Storage
from engine.workflow.graph import compile_workflow, parse_spec
from tests.emulators.openai_server import OpenAIEmulator
from tests.support import media

ON = VoiceSettings(transcribe=True)
VOICE_NOTE = {"id": "file_1", "name": "voice.ogg", "mime_type": "audio/ogg", "size": 100, "url": "/x"}


@pytest.fixture
async def llm(openai_emu: OpenAIEmulator) -> AsyncIterator[LLM]:
    model = LLM(LLMSettings(base_url=openai_emu.base_url, api_key="sk-test", max_retries=0), env={})
    yield model
    await model.aclose()


async def test_a_voice_note_becomes_the_text_the_user_said(openai_emu: OpenAIEmulator, llm: LLM) -> None:
    note = media.voice_note(3)
    openai_emu.transcripts[note] = "  Where is my order A-1234?\n"
    voice = VoiceSettings(transcribe=True, model="whisper-large", language="en")
    assert await transcript(voice, llm, VOICE_NOTE, note) == "Where is my order A-1234?"
    [seen] = openai_emu.transcriptions
    assert (seen.model, seen.language, seen.file_name, seen.data) == (
        "whisper-large",
        "en",
        "voice.ogg",
        note,
    )


async def test_a_bot_that_does_not_transcribe_leaves_voice_alone(
    openai_emu: OpenAIEmulator, llm: LLM
) -> None:
    assert await transcript(VoiceSettings(), llm, VOICE_NOTE, media.voice_note()) is None
    assert openai_emu.transcriptions == []


async def test_files_that_are_not_voice_are_not_transcribed(openai_emu: OpenAIEmulator, llm: LLM) -> None:
    photo = {**VOICE_NOTE, "name": "cat.png", "mime_type": "image/png"}
    assert await transcript(ON, llm, photo, media.png()) is None
    assert openai_emu.transcriptions == []


@pytest.mark.parametrize(
    ("mime_type", "voice"),
    [
        ("audio/ogg", True),
        ("audio/mpeg", True),
        ("AUDIO/OGG; codecs=opus", True),
        ("video/mp4", True),  # a Telegram video note: its sound is speech
        ("application/pdf", False),
        ("image/jpeg", False),
        ("", False),
    ],
)
def test_what_counts_as_a_voice_message(mime_type: str, voice: bool) -> None:
    assert is_voice({"mime_type": mime_type}) is voice


async def test_a_long_transcript_is_cut_to_a_chat_messages_size(openai_emu: OpenAIEmulator, llm: LLM) -> None:
    openai_emu.default_transcript = "word " * MAX_TRANSCRIPT_CHARS
    text = await transcript(ON, llm, VOICE_NOTE, media.voice_note())
    assert text is not None
    assert len(text) == MAX_TRANSCRIPT_CHARS


async def test_silence_is_not_sent_on_as_an_empty_message(openai_emu: OpenAIEmulator, llm: LLM) -> None:
    openai_emu.default_transcript = "   "
    with pytest.raises(TranscriptionFailed) as caught:
        await transcript(ON, llm, VOICE_NOTE, media.voice_note())
    assert chat_message(caught.value) == UNHEARD


async def test_a_failing_transcription_server_gets_the_user_a_short_answer(
    openai_emu: OpenAIEmulator, llm: LLM
) -> None:
    openai_emu.fail_next(503)
    with pytest.raises(TranscriptionFailed) as caught:
        await transcript(ON, llm, VOICE_NOTE, media.voice_note())
    assert (
        chat_message(caught.value)
        == "Sorry, I couldn't make out that voice message. Please type your question instead."
    )


@pytest.mark.parametrize("model", ["whisper-1", "echo"])
async def test_without_a_server_voice_is_refused_with_the_short_answer(model: str) -> None:
    offline = LLM(LLMSettings(), env={})
    with pytest.raises(TranscriptionFailed) as caught:
        await transcript(VoiceSettings(transcribe=True, model=model), offline, VOICE_NOTE, media.voice_note())
    assert chat_message(caught.value) == UNHEARD


def test_a_bots_voice_setting_is_read_from_the_config_and_changes_without_reconnecting() -> None:
    text = (
        "bots:\n  - {name: b, platform: telegram, token: '', workflow: w, "
        "voice: {transcribe: true, model: gpt-4o-mini-transcribe, language: de}}\n"
    )
    (bot,) = parse_settings(text, "chatgate.yaml", {}).bots
    assert bot.voice == VoiceSettings(transcribe=True, model="gpt-4o-mini-transcribe", language="de")
    (plain,) = parse_settings(
        text.replace("voice: {transcribe: true, model: gpt-4o-mini-transcribe, language: de}", "voice: {}"),
        "chatgate.yaml",
        {},
    ).bots
    assert plain.voice == VoiceSettings(transcribe=False, model="whisper-1", language=None)
    assert bot_change(plain, bot) == "reconfigure"


@pytest.mark.parametrize(
    ("voice", "key"),
    [
        ("{transcribe: yes please}", "bots.0.voice.transcribe"),
        ("{language: English}", "bots.0.voice.language"),
        ("{transcibe: true}", "bots.0.voice.transcibe"),
    ],
)
def test_a_bad_voice_setting_is_refused_naming_the_key(voice: str, key: str) -> None:
    text = f"bots:\n  - {{name: b, platform: telegram, token: '', workflow: w, voice: {voice}}}\n"
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, "chatgate.yaml", {})
    assert caught.value.key == key


@pytest.mark.parametrize("transcribed", [True, False])
async def test_a_workflow_can_tell_its_text_came_from_a_voice_message(
    tmp_path: Path, transcribed: bool
) -> None:
    doc = {
        "name": "heard",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
            {
                "id": "end",
                "type": "end",
                "config": {"content": "{{inputs.user_input}} (spoken: {{sys.transcribed}})"},
            },
        ],
        "connections": [{"from": "start", "to": "end"}],
    }
    storage = Storage(f"sqlite:///{tmp_path / 'voice.db'}")
    await storage.open()
    try:
        ex = Executor(storage, Sessions(storage, max_turns=5), LLM(LLMSettings(), env={}), EngineSettings())
        caller = Caller("telegram", "42", "Ann", "42", transcribed=transcribed)
        record = await ex.execute(
            "wf", compile_workflow(parse_spec(doc)), {"user_input": "hello"}, owner="telegram", caller=caller
        )
    finally:
        await storage.close()
    assert record.result is not None
    assert record.result["content"] == f"hello (spoken: {str(transcribed).lower()})"


async def test_a_voice_note_a_chat_user_sent_is_transcribed_from_its_stored_bytes(
    tmp_path: Path, openai_emu: OpenAIEmulator, llm: LLM
) -> None:
    note = media.voice_note(9)
    openai_emu.transcripts[note] = "cancel my subscription"

    async def fetch(at_most: int) -> bytes:
        return note[: at_most + 1]

    params = [{"name": "user_input"}, {"name": "audio", "type": "file"}]
    doc = {"name": "t", "nodes": [{"id": "start", "type": "start", "config": {"input_params": params}}]}
    start = compile_workflow(parse_spec({**doc, "connections": []})).start
    storage = Storage(f"sqlite:///{tmp_path / 'voice.db'}")
    await storage.open()
    try:
        store = await FileStore(storage, FilesSettings()).open()
        sent = Received("voice", "voice.ogg", "audio/ogg", len(note), fetch)
        taken = await take([sent], start, store, session_id="tg:1", owner="bot:tg")
        [(ref, data)] = taken.files
        assert await transcript(ON, llm, ref, data) == "cancel my subscription"
    finally:
        await storage.close()
    assert openai_emu.transcriptions[0].content_type == "audio/ogg"
