"""The model client sends a user's images inside the request, as OpenAI-compatible image
parts, and transcribes audio: the real openai client against the emulator."""

from __future__ import annotations

import pytest

from config.schema import LLMSettings
from engine.errors import TranscriptionFailed
from engine.llm.client import LLM
from engine.workflow.nodes.model import Image
from tests.emulators.openai_server import OpenAIEmulator, image_reply
from tests.support import media


def llm_for(emu: OpenAIEmulator) -> LLM:
    return LLM(LLMSettings(base_url=emu.base_url, api_key="sk-test", max_retries=0), env={})


@pytest.mark.parametrize("streamed", [False, True])
async def test_images_go_as_data_url_parts_after_the_users_text(
    openai_emu: OpenAIEmulator, streamed: bool
) -> None:
    openai_emu.reply = image_reply
    red, blue = media.png(rgb=(255, 0, 0)), media.png(3, 3, rgb=(0, 0, 255))
    llm = llm_for(openai_emu)
    seen: list[str] = []
    try:
        text = await llm.complete(
            "gpt-4o",
            [
                {"role": "system", "content": "describe pictures"},
                {"role": "user", "content": "earlier"},
                {"role": "assistant", "content": "noted"},
                {"role": "user", "content": "which is bigger?"},
            ],
            seen.append if streamed else None,
            images=[Image("red.png", "image/png", red), Image("blue.png", "image/png", blue)],
        )
    finally:
        await llm.aclose()
    assert (
        text == f"I see a image/png image of {len(red)} bytes; I see a image/png image of {len(blue)} bytes"
    )
    [request] = openai_emu.requests
    assert [i.data for i in request.images] == [red, blue]
    messages = request.body["messages"]
    assert messages[:3] == [
        {"role": "system", "content": "describe pictures"},
        {"role": "user", "content": "earlier"},  # history stays text
        {"role": "assistant", "content": "noted"},
    ]
    assert [p["type"] for p in messages[3]["content"]] == ["text", "image_url", "image_url"]
    assert messages[3]["content"][0]["text"] == "which is bigger?"
    assert "".join(seen) == (text if streamed else "")


async def test_without_images_the_users_content_stays_plain_text(openai_emu: OpenAIEmulator) -> None:
    llm = llm_for(openai_emu)
    try:
        await llm.complete("gpt-4o", [{"role": "user", "content": "hello"}], None)
    finally:
        await llm.aclose()
    assert openai_emu.requests[0].body["messages"] == [{"role": "user", "content": "hello"}]
    assert openai_emu.requests[0].images == []


async def test_audio_is_transcribed_by_the_named_model_in_the_given_language(
    openai_emu: OpenAIEmulator,
) -> None:
    note = media.voice_note(7)
    openai_emu.transcripts[note] = "where is my order"
    llm = llm_for(openai_emu)
    try:
        text = await llm.transcribe(note, "voice.ogg", "audio/ogg", "whisper-1", language="en")
    finally:
        await llm.aclose()
    assert text == "where is my order"
    [seen] = openai_emu.transcriptions
    assert (seen.file_name, seen.content_type, seen.model, seen.language) == (
        "voice.ogg",
        "audio/ogg",
        "whisper-1",
        "en",
    )
    assert seen.data == note


async def test_a_failing_transcription_server_is_a_transcription_failure(openai_emu: OpenAIEmulator) -> None:
    openai_emu.fail_next(500)
    llm = llm_for(openai_emu)
    try:
        with pytest.raises(TranscriptionFailed, match="HTTP 500") as info:
            await llm.transcribe(media.voice_note(), "voice.ogg", "audio/ogg", "whisper-1")
    finally:
        await llm.aclose()
    assert info.value.details["model"] == "whisper-1"


async def test_audio_over_the_upload_limit_is_refused_before_it_is_sent(openai_emu: OpenAIEmulator) -> None:
    llm = llm_for(openai_emu)
    try:
        with pytest.raises(TranscriptionFailed, match="at most 25 MiB"):
            await llm.transcribe(bytes(25 * 1024 * 1024 + 1), "long.ogg", "audio/ogg", "whisper-1")
    finally:
        await llm.aclose()
    assert openai_emu.transcriptions == []
