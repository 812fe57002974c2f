"""The language-model client: OpenAI-compatible servers, or the offline ``echo`` model.

One `AsyncOpenAI` on openai's aiohttp transport is built lazily and reused: it
is measurably faster than the default transport and keeps connections warm.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping

import httpx2
import openai
from openai import AsyncOpenAI, AsyncStream, DefaultAioHttpClient
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from config.schema import LLMSettings
from engine.errors import ExecutionFailed, ExecutionTimeout
from engine.llm.offline import OFFLINE_MODEL, echo

log = logging.getLogger("chatgate.llm")


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

    async def complete(
        self,
        model: str | None,
        messages: list[dict[str, str]],
        on_delta: Callable[[str], None] | None,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> str:
        """The whole answer; ``on_delta``, if given, sees each chunk as the model produces it.

        A callback rather than an async generator: this is the per-message hot path,
        and an async generator per call costs more than the offline model itself.
        """
        name = self.resolve(model)
        if name == OFFLINE_MODEL:
            return echo(messages, on_delta)
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
        body: dict[str, object] = {"model": name, "messages": messages}
        if temperature is not None:
            body["temperature"] = temperature
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        try:
            if on_delta is None:
                # Nobody watches the answer grow: one plain response is cheaper than a stream.
                return await self._answer(body)
            return await self._stream(body, on_delta)
        except openai.OpenAIError as e:
            raise self._failure(name, e) from None

    async def _answer(self, body: dict[str, object]) -> str:
        answer = await self._openai().post("/chat/completions", body=body, cast_to=ChatCompletion)
        return (answer.choices[0].message.content or "") if answer.choices else ""

    async def _stream(self, body: dict[str, object], on_delta: Callable[[str], None]) -> str:
        stream = await self._openai().post(
            "/chat/completions",
            body={**body, "stream": True},
            cast_to=ChatCompletion,
            stream=True,
            stream_cls=AsyncStream[ChatCompletionChunk],
        )
        parts: list[str] = []
        async for chunk in stream:
            if chunk.choices:
                text = chunk.choices[0].delta.content
                if text:
                    parts.append(text)
                    on_delta(text)
        return "".join(parts)

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
