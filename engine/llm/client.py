"""The language-model client: OpenAI-compatible servers, plus the offline ``echo`` model.

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

log = logging.getLogger("chatgate.llm")

OFFLINE_MODEL = "echo"


def echo_reply(messages: list[dict[str, str]]) -> str:
    """The offline model's whole answer: the user's message (always the last one), labelled."""
    return "(echo) " + (messages[-1]["content"] if messages else "")


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
            return _echo(messages, on_delta)
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
        parts: list[str] = []
        try:
            client = self._openai()
            if on_delta is None:
                # Nobody watches the answer grow: one plain response is cheaper than a stream.
                answer = await client.post("/chat/completions", body=body, cast_to=ChatCompletion)
                parts.append((answer.choices[0].message.content or "") if answer.choices else "")
            else:
                stream = await client.post(
                    "/chat/completions",
                    body={**body, "stream": True},
                    cast_to=ChatCompletion,
                    stream=True,
                    stream_cls=AsyncStream[ChatCompletionChunk],
                )
                async for chunk in stream:
                    if chunk.choices:
                        text = chunk.choices[0].delta.content
                        if text:
                            parts.append(text)
                            on_delta(text)
        except openai.APITimeoutError as e:
            if _refused(e):
                raise self._unreachable(name) from None
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
            raise self._unreachable(name) from None
        return "".join(parts)

    def _unreachable(self, name: str) -> ExecutionFailed:
        return ExecutionFailed(
            f"model '{name}' failed: cannot reach the LLM server",
            {"model": name, "base_url": self.base_url, "retries": self.settings.max_retries},
        )


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


def _echo(messages: list[dict[str, str]], on_delta: Callable[[str], None] | None) -> str:
    # A few chunks, so the offline path exercises streaming like a real model.
    text = echo_reply(messages)
    if on_delta is None:
        return text
    step = max(16, len(text) // 4)
    for i in range(0, len(text), step):
        on_delta(text[i : i + step])
    return text
