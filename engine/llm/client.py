"""The language-model client: OpenAI-compatible servers, or the offline ``echo`` model.

One `AsyncOpenAI` on openai's aiohttp transport is built lazily and reused: it
is measurably faster than the default transport and keeps connections warm.
"""

from __future__ import annotations

import base64
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2
import openai
from openai import AsyncOpenAI, AsyncStream, DefaultAioHttpClient, omit
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from config.schema import LLMSettings
from engine.errors import ExecutionFailed, ExecutionTimeout, TranscriptionFailed
from engine.llm.offline import OFFLINE_MODEL, echo
from engine.workflow.nodes.model import ChatMessage, Image, Reply, ToolCall, ToolSpec, images_problem

log = logging.getLogger("chatgate.llm")

#: What one transcription may upload: OpenAI's own limit (25 MB).
MAX_AUDIO_BYTES = 25 * 1024 * 1024


class LLM:
    def __init__(self, settings: LLMSettings, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.settings = settings
        self.base_url = settings.base_url or env.get("OPENAI_BASE_URL") or None
        key = settings.api_key.get_secret_value() if settings.api_key else env.get("OPENAI_API_KEY")
        self._api_key = key or None
        self._client: AsyncOpenAI | None = None

    @property
    def configured(self) -> bool:
        return bool(self.base_url or self._api_key)

    def resolve(self, model: str | None) -> str:
        return model or self.settings.default_model

    def _openai(self) -> AsyncOpenAI:
        if self._client is None:
            self._client = AsyncOpenAI(
                base_url=self.base_url,
                # Local servers (Ollama, vLLM, llama.cpp) accept any key.
                api_key=self._api_key or "not-needed",
                timeout=self.settings.timeout_s,
                max_retries=self.settings.max_retries,
                http_client=DefaultAioHttpClient(
                    limits=httpx2.Limits(
                        max_connections=self.settings.max_connections,
                        max_keepalive_connections=min(self.settings.max_connections, 1000),
                    )
                ),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def offline(self, model: str | None) -> bool:
        return self.resolve(model) == OFFLINE_MODEL

    async def complete(
        self,
        model: str | None,
        messages: list[dict[str, str]],
        on_delta: Callable[[str], None] | None,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        images: Sequence[Image] = (),
    ) -> str:
        """The whole answer; ``on_delta``, if given, sees each chunk as the model produces it.

        A callback rather than an async generator: this is the per-message hot path,
        and an async generator per call costs more than the offline model itself.
        """
        reply = await self.chat(
            model, messages, on_delta, temperature=temperature, max_tokens=max_tokens, images=images
        )
        return reply.text

    async def chat(
        self,
        model: str | None,
        messages: Sequence[ChatMessage],
        on_delta: Callable[[str], None] | None,
        *,
        tools: Sequence[ToolSpec] = (),
        tool_choice: str | dict[str, Any] | None = None,
        response_format: dict[str, Any] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        images: Sequence[Image] = (),
    ) -> Reply:
        """One model turn: its text and any tool calls it asks for. ``images`` go as image
        parts of the last user message."""
        name = self.resolve(model)
        if images:
            problem = images_problem(len(images), sum(len(i.data) for i in images))
            if problem is not None:
                raise ExecutionFailed(problem, {"model": name, "images": len(images)})
        if name == OFFLINE_MODEL:
            return Reply(echo(messages, on_delta, images))
        if not self.configured:
            raise ExecutionFailed(
                f"model '{name}' needs an LLM server, and none is configured",
                {
                    "model": name,
                    "hint": "set llm.base_url (and llm.api_key if the server needs one) in the config file, "
                    "or OPENAI_BASE_URL / OPENAI_API_KEY in the environment; "
                    f"or use the offline model '{OFFLINE_MODEL}'",
                },
            )
        # The body is already plain JSON: posting it directly skips the client's per-call
        # TypedDict transformation of every message, which costs more than our whole
        # request path. Retries, timeouts and errors are still the client's.
        body: dict[str, object] = {
            "model": name,
            "messages": _with_images(messages, images) if images else messages,
        }
        if temperature is not None:
            body["temperature"] = temperature
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        if tools:
            body["tools"] = [t.wire() for t in tools]
            if tool_choice is not None:
                body["tool_choice"] = tool_choice
        if response_format is not None:
            body["response_format"] = response_format
        try:
            if on_delta is None:
                # Nobody watches the answer grow: one plain response is cheaper than a stream.
                return await self._answer(body)
            return await self._stream(body, on_delta)
        except openai.OpenAIError as e:
            raise self._failure(name, e) from None

    async def _answer(self, body: dict[str, object]) -> Reply:
        answer = await self._openai().post("/chat/completions", body=body, cast_to=ChatCompletion)
        if not answer.choices:
            return Reply("")
        message = answer.choices[0].message
        calls = tuple(
            ToolCall(c.id, c.function.name, c.function.arguments or "")
            for c in message.tool_calls or ()
            if c.type == "function"
        )
        return Reply(message.content or "", calls)

    async def _stream(self, body: dict[str, object], on_delta: Callable[[str], None]) -> Reply:
        stream = await self._openai().post(
            "/chat/completions",
            body={**body, "stream": True},
            cast_to=ChatCompletion,
            stream=True,
            stream_cls=AsyncStream[ChatCompletionChunk],
        )
        parts: list[str] = []
        calls: dict[int, _CallParts] = {}
        async for chunk in stream:
            if chunk.choices:
                delta = chunk.choices[0].delta
                text = delta.content
                if text:
                    parts.append(text)
                    on_delta(text)
                for piece in delta.tool_calls or ():
                    # A call arrives in pieces by index: its id and name first, its arguments in parts.
                    call = calls.setdefault(piece.index, _CallParts())
                    call.id = piece.id or call.id
                    if piece.function is not None:
                        call.name += piece.function.name or ""
                        call.arguments.append(piece.function.arguments or "")
        tool_calls = tuple(
            ToolCall(c.id or f"call_{i}", c.name, "".join(c.arguments)) for i, c in sorted(calls.items())
        )
        return Reply("".join(parts), tool_calls)

    async def transcribe(
        self, data: bytes, name: str, mime_type: str, model: str, *, language: str | None = None
    ) -> str:
        """The text spoken in an audio file, through the server's ``/audio/transcriptions``.
        `TranscriptionFailed` when it cannot be had: the offline model, no server, a file
        too big, or the server failing."""
        if model == OFFLINE_MODEL:
            raise TranscriptionFailed(
                f"the offline model '{OFFLINE_MODEL}' cannot transcribe voice messages",
                {"model": model, "hint": "set voice.model to a transcription model, e.g. whisper-1"},
            )
        if not self.configured:
            raise TranscriptionFailed(
                f"transcribing with '{model}' needs an LLM server, and none is configured",
                {"model": model, "hint": "set llm.base_url (or OPENAI_BASE_URL / OPENAI_API_KEY)"},
            )
        if len(data) > MAX_AUDIO_BYTES:
            raise TranscriptionFailed(
                f"audio to transcribe may be at most {MAX_AUDIO_BYTES // 2**20} MiB; this is "
                f"{len(data) / 2**20:.1f} MiB",
                {"model": model, "bytes": len(data), "max_bytes": MAX_AUDIO_BYTES},
            )
        try:
            result = await self._openai().audio.transcriptions.create(
                file=(name, data, mime_type),
                model=model,
                response_format="json",
                language=language or omit,
            )
        except openai.OpenAIError as e:
            failure = self._failure(model, e)
            said = failure.message if isinstance(failure, ExecutionFailed) else str(failure)
            details = failure.details if isinstance(failure, ExecutionFailed) else {"model": model}
            raise TranscriptionFailed(f"cannot transcribe: {said}", details) from None
        return result if isinstance(result, str) else result.text

    def _failure(self, name: str, error: openai.OpenAIError) -> Exception:
        """The client's error as the user should hear it."""
        if isinstance(error, openai.APITimeoutError) and not _refused(error):
            return ExecutionTimeout(
                f"model '{name}' did not answer within {self.settings.timeout_s:g}s",
                {"model": name, "timeout_s": self.settings.timeout_s},
            )
        if isinstance(error, openai.APIStatusError):
            return ExecutionFailed(
                f"model '{name}' failed: the LLM server answered HTTP {error.status_code}",
                {"model": name, "status": error.status_code, "retries": self.settings.max_retries},
            )
        if isinstance(error, openai.APIConnectionError):  # a refused "timeout" is one too
            return ExecutionFailed(
                f"model '{name}' failed: cannot reach the LLM server",
                {"model": name, "base_url": self.base_url, "retries": self.settings.max_retries},
            )
        return error


def _with_images(messages: Sequence[ChatMessage], images: Sequence[Image]) -> list[ChatMessage]:
    """``messages`` with ``images`` as base64 data-URL parts of the last user message (after
    its text): the model server gets the bytes, it need not reach chatgate."""
    sent = list(messages)
    last = max((i for i, m in enumerate(sent) if m.get("role") == "user"), default=None)
    if last is None:  # no user turn to carry them: one of their own
        sent.append({"role": "user", "content": ""})
        last = len(sent) - 1
    text = sent[last].get("content")
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}] if isinstance(text, str) and text else []
    for image in images:
        url = f"data:{image.mime_type};base64,{base64.b64encode(image.data).decode('ascii')}"
        parts.append({"type": "image_url", "image_url": {"url": url}})
    sent[last] = {**sent[last], "content": parts}
    return sent


@dataclass(slots=True)
class _CallParts:
    """A streamed tool call as its pieces arrive."""

    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


def _refused(error: BaseException) -> bool:
    """Whether a "timeout" was really a refused or failed connection.

    openai's aiohttp transport reports every connect failure as a timeout; a
    refused port must not be told to the user as a slow model.
    """
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and not isinstance(seen, TimeoutError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
