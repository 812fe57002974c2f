"""The language-model client: OpenAI-compatible servers, plus the offline ``echo`` model.

One `AsyncOpenAI` on openai's aiohttp transport is built lazily and reused: it
is measurably faster than the default transport and keeps connections warm.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Mapping
from typing import Any

import openai
from openai import AsyncOpenAI, DefaultAioHttpClient

from config.schema import LLMSettings
from engine.errors import ExecutionFailed, ExecutionTimeout

log = logging.getLogger("chatgate.llm")

OFFLINE_MODEL = "echo"


def echo_reply(messages: list[dict[str, str]]) -> str:
    """The offline model's whole answer: the last user message, labelled."""
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    return f"(echo) {last}"


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
                http_client=DefaultAioHttpClient(),
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def stream(
        self,
        model: str | None,
        messages: list[dict[str, str]],
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[str]:
        """Yield the answer's text chunks as the model produces them."""
        name = self.resolve(model)
        if name == OFFLINE_MODEL:
            async for chunk in _echo_stream(messages):
                yield chunk
            return
        if not self.configured:
            raise ExecutionFailed(
                f"model '{name}' needs an LLM server, and none is configured",
                "set llm.base_url (and llm.api_key if the server needs one) in the config file, "
                "or OPENAI_BASE_URL / OPENAI_API_KEY in the environment; "
                f"or use the offline model '{OFFLINE_MODEL}'",
            )
        extra: dict[str, Any] = {}
        if temperature is not None:
            extra["temperature"] = temperature
        if max_tokens is not None:
            extra["max_tokens"] = max_tokens
        try:
            stream = await self._openai().chat.completions.create(
                model=name, messages=messages, stream=True, **extra  # type: ignore[arg-type]
            )
            async for chunk in stream:
                if chunk.choices:
                    text = chunk.choices[0].delta.content
                    if text:
                        yield text
        except openai.APITimeoutError:
            raise ExecutionTimeout(
                f"model '{name}' did not answer within {self.settings.timeout_s:g}s",
                {"model": name, "timeout_s": self.settings.timeout_s},
            ) from None
        except openai.APIStatusError as e:
            raise ExecutionFailed(
                f"model '{name}' failed: the LLM server answered HTTP {e.status_code}",
                {"model": name, "status": e.status_code, "retries": self.settings.max_retries},
            ) from None
        except openai.APIConnectionError:
            raise ExecutionFailed(
                f"model '{name}' failed: cannot reach the LLM server",
                {"model": name, "base_url": self.base_url, "retries": self.settings.max_retries},
            ) from None


async def _echo_stream(messages: list[dict[str, str]]) -> AsyncIterator[str]:
    # A few chunks, so the offline path exercises streaming like a real model.
    text = echo_reply(messages)
    step = max(16, len(text) // 4)
    for i in range(0, len(text), step):
        yield text[i : i + step]
