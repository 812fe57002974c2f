"""Self-tests for the OpenAI emulator, driven by the real ``openai`` client."""

from __future__ import annotations

import asyncio
import base64
import re
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import openai
import pytest
import pytest_asyncio
from openai.types.chat import ChatCompletion

from tests.emulators.openai_server import DEFAULT_TRANSCRIPT, OpenAIEmulator, image_reply
from tests.support import media

REPO_ROOT = Path(__file__).resolve().parents[2]
USER_MSG: list[Any] = [{"role": "user", "content": "hello there"}]


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[OpenAIEmulator]:
    async with OpenAIEmulator() as emulator:
        yield emulator


def make_client(emu: OpenAIEmulator, **kwargs: Any) -> openai.AsyncOpenAI:
    kwargs.setdefault("timeout", 10.0)
    return openai.AsyncOpenAI(base_url=emu.base_url, api_key="test", **kwargs)


@pytest_asyncio.fixture
async def client(emu: OpenAIEmulator) -> AsyncIterator[openai.AsyncOpenAI]:
    async with make_client(emu) as c:
        yield c


@pytest.mark.asyncio
async def test_plain_completion_echoes_the_last_user_message(
    emu: OpenAIEmulator, client: openai.AsyncOpenAI
) -> None:
    resp = await client.chat.completions.create(
        model="gpt-test",
        messages=[
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "echo: first"},
            {"role": "user", "content": "second question"},
        ],
    )
    assert resp.choices[0].message.content == "echo: second question"
    assert resp.choices[0].message.role == "assistant"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "gpt-test"
    assert resp.usage is not None
    assert resp.usage.completion_tokens > 0
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + resp.usage.completion_tokens
    [req] = emu.requests
    assert req.stream is False
    assert req.retry_count == 0
    assert req.body["model"] == "gpt-test"
    assert req.headers["authorization"] == "Bearer test"


@pytest.mark.asyncio
async def test_streamed_words_reassemble_to_the_answer(
    emu: OpenAIEmulator, client: openai.AsyncOpenAI
) -> None:
    emu.reply = lambda body: "the quick  brown fox"
    stream = await client.chat.completions.create(model="gpt-test", messages=USER_MSG, stream=True)
    chunks = [chunk async for chunk in stream]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(c.object == "chat.completion.chunk" and c.model == "gpt-test" and c.id for c in chunks)
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert pieces == ["the ", "quick  ", "brown ", "fox"]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].usage is None
    assert emu.requests[0].stream is True


@pytest.mark.asyncio
async def test_stream_with_fixed_chunk_size_and_usage(
    emu: OpenAIEmulator, client: openai.AsyncOpenAI
) -> None:
    emu.chunk_size = 4
    stream = await client.chat.completions.create(
        model="gpt-test", messages=USER_MSG, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == "echo: hello there"
    assert all(len(p) == 4 for p in pieces[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens > 0


@pytest.mark.asyncio
async def test_custom_reply_sees_the_request_body(emu: OpenAIEmulator, client: openai.AsyncOpenAI) -> None:
    emu.reply = lambda body: f"{body['model']} got {len(body['messages'])} message(s)"
    resp = await client.chat.completions.create(model="m1", messages=USER_MSG)
    assert resp.choices[0].message.content == "m1 got 1 message(s)"


@pytest.mark.asyncio
async def test_server_error_is_retried_then_succeeds(emu: OpenAIEmulator, client: openai.AsyncOpenAI) -> None:
    emu.fail_next(500, times=1, retry_after=0.01)
    resp = await client.chat.completions.create(model="gpt-test", messages=USER_MSG)
    assert resp.choices[0].message.content == "echo: hello there"
    assert [r.retry_count for r in emu.requests] == [0, 1]


@pytest.mark.asyncio
async def test_persistent_rate_limit_exhausts_retries(emu: OpenAIEmulator) -> None:
    emu.fail_next(429, times=5, retry_after=0.01, message="slow down")
    async with make_client(emu, max_retries=1) as c:
        with pytest.raises(openai.RateLimitError) as info:
            await c.chat.completions.create(model="gpt-test", messages=USER_MSG)
    assert "slow down" in str(info.value)
    assert len(emu.requests) == 2


@pytest.mark.asyncio
async def test_injected_error_has_openai_shape_and_retry_headers(emu: OpenAIEmulator) -> None:
    emu.fail_next(503, retry_after=0.25)
    url = f"{emu.base_url}/chat/completions"
    async with aiohttp.ClientSession() as http, http.post(url, json={"model": "m", "messages": []}) as r:
        assert r.status == 503
        assert r.headers["Content-Type"] == "application/json"
        assert r.headers["retry-after-ms"] == "250"
        assert float(r.headers["retry-after"]) == 0.25
        body = await r.json()
    assert body == {
        "error": {"message": "injected failure", "type": "server_error", "param": None, "code": None}
    }


@pytest.mark.asyncio
async def test_hung_request_times_out_and_the_next_one_answers(emu: OpenAIEmulator) -> None:
    emu.hang_next()
    async with make_client(emu, timeout=0.5, max_retries=0) as c:
        with pytest.raises(openai.APITimeoutError):
            await c.chat.completions.create(model="gpt-test", messages=USER_MSG)
        resp = await c.chat.completions.create(model="gpt-test", messages=USER_MSG)
    assert resp.choices[0].message.content == "echo: hello there"


@pytest.mark.asyncio
async def test_stop_does_not_wait_for_hung_requests() -> None:
    emu = OpenAIEmulator()
    await emu.start()
    emu.hang_next(times=3)
    async with make_client(emu, timeout=30.0, max_retries=0) as c:
        calls = [
            asyncio.create_task(c.chat.completions.create(model="m", messages=USER_MSG)) for _ in range(3)
        ]
        for _ in range(500):
            if len(emu.requests) == 3:
                break
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await emu.stop()
        assert time.monotonic() - started < 2.0
        results = await asyncio.gather(*calls, return_exceptions=True)
    assert all(isinstance(r, openai.APIError) for r in results)


@pytest.mark.asyncio
async def test_delay_is_honoured(emu: OpenAIEmulator, client: openai.AsyncOpenAI) -> None:
    emu.delay_s = 0.3
    started = time.monotonic()
    await client.chat.completions.create(model="gpt-test", messages=USER_MSG)
    assert time.monotonic() - started >= 0.3


@pytest.mark.asyncio
async def test_missing_messages_is_a_bad_request(emu: OpenAIEmulator, client: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await client.post("/chat/completions", body={"model": "gpt-test"}, cast_to=ChatCompletion)
    assert info.value.param == "messages"
    with pytest.raises(openai.BadRequestError):
        await client.post("/chat/completions", body={"messages": USER_MSG}, cast_to=ChatCompletion)
    assert len(emu.requests) == 2  # 4xx is not retried


@pytest.mark.asyncio
async def test_models_lists_defaults_and_models_asked_for(
    emu: OpenAIEmulator, client: openai.AsyncOpenAI
) -> None:
    await client.chat.completions.create(model="my-custom-model", messages=USER_MSG)
    ids = [m.id async for m in client.models.list()]
    assert "my-custom-model" in ids
    assert len(ids) > 1


@pytest.mark.asyncio
async def test_reset_restores_defaults(emu: OpenAIEmulator, client: openai.AsyncOpenAI) -> None:
    emu.reply = lambda body: "custom"
    emu.delay_s = 5.0
    emu.fail_next(500, times=10)
    emu.reset()
    resp = await client.chat.completions.create(model="gpt-test", messages=USER_MSG)
    assert resp.choices[0].message.content == "echo: hello there"
    assert len(emu.requests) == 1


@pytest.mark.asyncio
async def test_standalone_mode_serves_until_terminated() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.emulators.openai_server",
        "--port",
        "0",
        "--delay",
        "0.05",
        cwd=REPO_ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+/v1)\n", line)
        assert match, line
        async with openai.AsyncOpenAI(base_url=match[1], api_key="test", timeout=10.0) as c:
            resp = await c.chat.completions.create(model="gpt-test", messages=USER_MSG)
        assert resp.choices[0].message.content == "echo: hello there"
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _image_part(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def _said(role: str, *parts: dict[str, Any]) -> list[Any]:
    """One message of content parts, as the messages list."""
    return [{"role": role, "content": list(parts)}]


def _data_url(mime_type: str, data: bytes) -> str:
    return f"data:{mime_type};base64," + base64.b64encode(data).decode()


@pytest.mark.asyncio
async def test_image_parts_are_recorded_and_can_be_described(
    emu: OpenAIEmulator, client: openai.AsyncOpenAI
) -> None:
    picture = media.png(2, 2)
    emu.reply = image_reply
    resp = await client.chat.completions.create(
        model="gpt-4o",
        messages=_said(
            "user", {"type": "text", "text": "what is this?"}, _image_part(_data_url("image/png", picture))
        ),
    )
    assert resp.choices[0].message.content == f"I see a image/png image of {len(picture)} bytes"
    [req] = emu.requests
    [image] = req.images
    assert (image.mime_type, image.data) == ("image/png", picture)


@pytest.mark.asyncio
async def test_text_parts_without_images_are_answered_as_text(
    emu: OpenAIEmulator, client: openai.AsyncOpenAI
) -> None:
    emu.reply = image_reply
    resp = await client.chat.completions.create(
        model="gpt-4o", messages=_said("user", {"type": "text", "text": "just words"})
    )
    assert resp.choices[0].message.content == "echo: just words"
    assert emu.requests[0].images == []


@pytest.mark.parametrize(
    "url",
    [
        "data:image/png;base64,%%%not-base64%%%",  # not base64
        "data:image/png;base64," + base64.b64encode(b"GIF89a not a png").decode(),  # says png, is not
        "data:image/tiff;base64," + base64.b64encode(b"II*\x00").decode(),  # a format OpenAI refuses
        "data:image/png,rawbytes",  # not base64-encoded
        "file:///etc/passwd",
    ],
)
@pytest.mark.asyncio
async def test_a_bad_image_is_refused_like_openai_does(
    emu: OpenAIEmulator, client: openai.AsyncOpenAI, url: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        await client.chat.completions.create(model="gpt-4o", messages=_said("user", _image_part(url)))
    assert str(info.value.param).startswith("messages.[0].content.[0]")
    assert len(emu.requests) == 1  # a 400 is not retried


@pytest.mark.asyncio
async def test_an_image_outside_a_user_message_is_refused(
    emu: OpenAIEmulator, client: openai.AsyncOpenAI
) -> None:
    url = _data_url("image/png", media.png())
    with pytest.raises(openai.BadRequestError, match="only allowed in user messages"):
        await client.chat.completions.create(model="gpt-4o", messages=_said("system", _image_part(url)))


@pytest.mark.asyncio
async def test_transcription_answers_from_the_transcript_table(
    emu: OpenAIEmulator, client: openai.AsyncOpenAI
) -> None:
    note = media.voice_note(1)
    emu.transcripts[note] = "please book a table for two"
    result = await client.audio.transcriptions.create(
        file=("voice.ogg", note, "audio/ogg"), model="whisper-1", language="en", prompt="restaurant"
    )
    assert result.text == "please book a table for two"
    [seen] = emu.transcriptions
    assert (seen.file_name, seen.content_type, seen.data) == ("voice.ogg", "audio/ogg", note)
    assert (seen.model, seen.language, seen.prompt) == ("whisper-1", "en", "restaurant")


@pytest.mark.asyncio
async def test_unknown_audio_gets_the_default_transcript_in_each_format(
    emu: OpenAIEmulator, client: openai.AsyncOpenAI
) -> None:
    note = ("voice.ogg", media.voice_note(2), "audio/ogg")
    plain = await client.audio.transcriptions.create(file=note, model="whisper-1")
    assert plain.text == DEFAULT_TRANSCRIPT
    text = await client.audio.transcriptions.create(file=note, model="whisper-1", response_format="text")
    assert text.strip() == DEFAULT_TRANSCRIPT
    verbose = await client.audio.transcriptions.create(
        file=note, model="whisper-1", response_format="verbose_json"
    )
    assert verbose.text == DEFAULT_TRANSCRIPT


@pytest.mark.asyncio
async def test_a_transcription_without_a_file_is_a_bad_request(emu: OpenAIEmulator) -> None:
    form = aiohttp.FormData(default_to_multipart=True)
    form.add_field("model", "whisper-1")
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{emu.base_url}/audio/transcriptions", data=form) as r,
    ):
        assert r.status == 400
        body = await r.json()
    assert body["error"]["param"] == "file"
    assert emu.transcriptions == []


@pytest.mark.asyncio
async def test_injected_failures_reach_transcriptions_too(emu: OpenAIEmulator) -> None:
    emu.fail_next(503, times=5)
    async with make_client(emu, max_retries=1) as c:
        with pytest.raises(openai.InternalServerError):
            await c.audio.transcriptions.create(
                file=("v.ogg", media.voice_note(), "audio/ogg"), model="whisper-1"
            )
    assert emu.transcriptions == []
