"""Helpers the API stories share: workflow builders, SSE reading, waiting on state."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson

from tests.emulators.openai_server import OpenAIEmulator

ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
LLM_SECRET = "sk-llm-secret-4f1d2a9c7e"
MODEL = "gpt-4o-mini"


def use_emulator(
    emu: OpenAIEmulator, *, max_retries: int = 2, timeout_s: float = 10, default_model: str = "echo"
) -> Callable[[dict[str, Any]], None]:
    """A ``configure`` callback pointing chatgate's LLM at the emulator."""

    def configure(config: dict[str, Any]) -> None:
        config["llm"].update(
            base_url=emu.base_url,
            api_key=LLM_SECRET,
            max_retries=max_retries,
            timeout_s=timeout_s,
            default_model=default_model,
        )

    return configure


def chat_workflow(name: str = "chat", **response_config: Any) -> dict[str, Any]:
    """start(user_input) -> response, the response node configured as given."""
    config: dict[str, Any] = {"model": MODEL, "system_prompt": "Be brief."}
    config.update(response_config)
    config = {k: v for k, v in config.items() if v is not None}
    return {
        "name": name,
        "description": f"{name} for tests",
        "nodes": [
            {
                "id": "start_node",
                "type": "start",
                "config": {"input_params": [{"name": "user_input", "type": "string"}]},
            },
            {"id": "response_node", "type": "response", "config": config},
        ],
        "connections": [{"from": "start_node", "to": "response_node"}],
    }


async def create_workflow(http: aiohttp.ClientSession, doc: dict[str, Any]) -> str:
    async with http.post("/api/v1/workflows", json=doc) as r:
        body = await r.json()
        assert r.status == 201, body
    workflow_id: str = body["workflow_id"]
    return workflow_id


async def execute(
    http: aiohttp.ClientSession,
    workflow: str,
    text: str,
    *,
    session_id: str | None = None,
    within_s: float | None = None,
) -> tuple[int, dict[str, Any]]:
    """Run ``workflow`` on ``text``; ``within_s``: the client gives up after that long."""
    payload: dict[str, Any] = {"inputs": {"user_input": text}}
    if session_id is not None:
        payload["session_id"] = session_id
    limit = aiohttp.ClientTimeout(total=within_s) if within_s is not None else None
    async with http.post(f"/api/v1/workflows/{workflow}/execute", json=payload, timeout=limit) as r:
        return r.status, await r.json()


def assert_error(body: Any, code: str) -> dict[str, Any]:
    """The envelope ``{"error": {code, message, details}}``; returns the inner error."""
    assert isinstance(body, dict), body
    assert "error" in body, body
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str), error
    assert error["message"], error
    return error


async def wait_until(predicate: Callable[[], bool | Awaitable[bool]], within_s: float = 5.0) -> None:
    """Poll a condition (sync or async) until it holds; fail after ``within_s`` seconds."""

    async def poll() -> None:
        while True:
            value = predicate()
            if not isinstance(value, bool):
                value = await value
            if value:
                return
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), within_s)


async def in_flight(http: aiohttp.ClientSession) -> int:
    async with http.get("/healthz") as r:
        count: int = (await r.json())["executions_in_flight"]
        return count


class SSE:
    """Reads a ``text/event-stream`` response event by event, keeping comment lines too."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments: list[str] = []

    async def next(self) -> tuple[str, Any] | None:
        name, data = "message", []
        while True:
            raw = await self.response.content.readline()
            if not raw:
                return None
            line = raw.decode().rstrip("\r\n")
            if not line:
                if data:
                    return name, orjson.loads("\n".join(data))
                continue
            if line.startswith(":"):
                self.comments.append(line)
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())

    async def all(self) -> list[tuple[str, Any]]:
        events = []
        while (event := await self.next()) is not None:
            events.append(event)
        return events


def configured(
    *steps: Callable[[dict[str, Any]], None], storage_url: str | None = None
) -> Callable[[dict[str, Any]], None]:
    """Several ``configure`` steps as one, optionally on another database than the default SQLite file."""

    def configure(config: dict[str, Any]) -> None:
        for step in steps:
            step(config)
        if storage_url is not None:
            config["storage"]["url"] = storage_url

    return configure


class RawResponse:
    """An HTTP response read off a raw socket: status, headers (lower-case names), body."""

    def __init__(self, raw: bytes) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split(" ")[1]) if lines[0].startswith("HTTP/") else 0
        fields = (line.partition(":") for line in lines[1:])
        self.headers = {name.strip().lower(): value.strip() for name, _, value in fields}

    def json(self) -> Any:
        assert self.headers.get("content-type", "").startswith("application/json"), (self.headers, self.body)
        return orjson.loads(self.body)


async def raw_request(port: int, data: bytes, *, within_s: float = 5.0) -> RawResponse:
    """Send bytes as they are (no client library tidying them up) and read until the server closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return RawResponse(await asyncio.wait_for(reader.read(), within_s))
    finally:
        writer.close()
