"""Without any server the offline model still shows what a vision or voice workflow got:
it names the images it was sent, and says plainly that it cannot transcribe."""

from __future__ import annotations

import pytest

from config.schema import LLMSettings
from engine.errors import ExecutionFailed, TranscriptionFailed
from engine.llm.client import LLM
from engine.workflow.nodes.model import MAX_IMAGE_BYTES, MAX_IMAGES, Image, image_type
from tests.support import media


def offline() -> LLM:
    return LLM(LLMSettings(), env={})


async def test_echo_names_the_images_it_was_sent() -> None:
    picture = media.png()
    text = await offline().complete(
        None,
        [{"role": "user", "content": "what is this?"}],
        None,
        images=[Image("cat.png", "image/png", picture)],
    )
    assert text == f"(echo) what is this? [1 image: cat.png (image/png, {len(picture)} bytes)]"


async def test_echo_of_a_photo_without_a_caption_still_names_it() -> None:
    streamed: list[str] = []
    images = [Image("a.png", "image/png", b"x" * 3), Image("b.jpg", "image/jpeg", b"y" * 5)]
    text = await offline().complete(None, [{"role": "user", "content": ""}], streamed.append, images=images)
    assert text == "(echo) [2 images: a.png (image/png, 3 bytes), b.jpg (image/jpeg, 5 bytes)]"
    assert "".join(streamed) == text


async def test_too_many_images_are_refused_with_the_limit_named() -> None:
    images = [Image(f"{i}.png", "image/png", b"x") for i in range(MAX_IMAGES + 1)]
    with pytest.raises(ExecutionFailed, match=f"at most {MAX_IMAGES} images"):
        await offline().complete(None, [{"role": "user", "content": "hi"}], None, images=images)


async def test_images_too_big_in_all_are_refused_with_the_limit_named() -> None:
    half = MAX_IMAGE_BYTES // 2 + 1
    images = [Image("a.png", "image/png", bytes(half)), Image("b.png", "image/png", bytes(half))]
    with pytest.raises(ExecutionFailed, match="at most 20 MiB in all"):
        await offline().complete(None, [{"role": "user", "content": "hi"}], None, images=images)


async def test_the_offline_model_says_it_cannot_transcribe() -> None:
    with pytest.raises(TranscriptionFailed, match="offline model 'echo' cannot transcribe"):
        await offline().transcribe(media.voice_note(), "voice.ogg", "audio/ogg", "echo")


async def test_a_transcription_model_without_a_server_says_what_to_set() -> None:
    with pytest.raises(TranscriptionFailed, match="needs an LLM server") as info:
        await offline().transcribe(media.voice_note(), "voice.ogg", "audio/ogg", "whisper-1")
    assert "llm.base_url" in info.value.details["hint"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (media.png(), "image/png"),
        (b"\xff\xd8\xff\xe0rest-of-a-jpeg", "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),  # audio, not an image
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"%PDF-1.7", None),
        (b"", None),
    ],
)
def test_an_image_is_known_by_its_bytes_not_its_claimed_type(data: bytes, expected: str | None) -> None:
    assert image_type(data) == expected
