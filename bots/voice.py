"""Voice messages as text: the step a chat adapter takes before it executes a voice note.

A bot with ``voice: {transcribe: true}`` turns what a user said into the start node's text
input (the file still fills its file input); the router marks the run ``transcribed``
so a workflow can tell (``{{sys.transcribed}}``). Failures are `TranscriptionFailed`, which
bots/messages.py tells the user in one short sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config.platforms.common import VoiceSettings
from engine.errors import TranscriptionFailed
from engine.llm.client import LLM

#: A transcript is a chat message: bounded like one (about ten minutes of speech).
MAX_TRANSCRIPT_CHARS = 8000
#: What transcription servers take besides ``audio/*``: a video note's sound track.
_VIDEO_WITH_SPEECH = frozenset({"video/mp4", "video/mpeg", "video/webm"})


def is_voice(file: Mapping[str, Any]) -> bool:
    """Whether a stored file (its dict, as the pool holds it) is something said aloud."""
    mime_type = str(file.get("mime_type") or "").split(";")[0].strip().lower()
    return mime_type.startswith("audio/") or mime_type in _VIDEO_WITH_SPEECH


async def transcript(voice: VoiceSettings, llm: LLM, file: Mapping[str, Any], data: bytes) -> str | None:
    """What was said in ``file`` (its ``data``), or None when the bot does not transcribe or
    the file is not a voice message. At most `MAX_TRANSCRIPT_CHARS`; `TranscriptionFailed`
    when it cannot be had or nothing was heard."""
    if not voice.transcribe or not is_voice(file):
        return None
    name = str(file.get("name") or "voice.ogg")
    mime_type = str(file.get("mime_type") or "audio/ogg")
    text = await llm.transcribe(data, name, mime_type, voice.model, language=voice.language)
    text = text.strip()
    if not text:
        raise TranscriptionFailed("no words were heard in the voice message", {"model": voice.model})
    return text[:MAX_TRANSCRIPT_CHARS]
