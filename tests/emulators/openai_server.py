"""OpenAI-compatible chat-completions server emulator for tests and benchmarks.

A real aiohttp server on 127.0.0.1 (the openai client ships its own httpx fork,
so transport mocks cannot intercept it). Answers ``POST /v1/chat/completions``
(plain and SSE streaming; messages may carry image parts, checked as OpenAI checks
them), ``POST /v1/audio/transcriptions`` (from a table of transcripts keyed by the
audio's bytes) and ``GET /v1/models``, records every request, and can inject delays,
errors and hangs.

Standalone (benchmarks)::

    python -m tests.emulators.openai_server --host 127.0.0.1 --port 8001 --delay 2.0
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import itertools
import re
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import orjson
from aiohttp import BodyPartReader, web

__all__ = [
    "EmulatedCall",
    "EmulatedReply",
    "OpenAIEmulator",
    "RecordedImage",
    "RecordedRequest",
    "RecordedTranscription",
    "default_reply",
    "image_reply",
]

DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini")

# Whole words with their trailing whitespace; a leading run of whitespace is
# its own piece so the pieces always join back to the exact text.
_WORD_RE = re.compile(r"\S+\s*|\s+")

# Short, so stop() never waits long on in-flight delayed or streaming handlers.
_SHUTDOWN_TIMEOUT_S = 0.1

_JSON = "application/json"

# What OpenAI takes as image parts, by MIME type, and how each format's bytes begin.
_IMAGE_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),  # then 4 bytes of size and b"WEBP"
}
_DATA_URL_RE = re.compile(r"data:([\w.+-]+/[\w.+-]+);base64,(.*)", re.DOTALL)
_UNSUPPORTED_IMAGE = (
    "You uploaded an unsupported image. Please make sure your image is below 20 MB in size and "
    "is of one the following formats: ['png', 'jpeg', 'gif', 'webp']."
)
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_AUDIO_BYTES = 25 * 1024 * 1024  # OpenAI's limit for one transcription
DEFAULT_TRANSCRIPT = "this is an emulated transcript"


@dataclass(frozen=True)
class RecordedImage:
    """An image part of a chat request: a data URL's type and bytes, or a plain URL."""

    url: str  # as sent (a data URL is kept whole: tests may compare it)
    mime_type: str  # "" for a plain URL
    data: bytes  # b"" for a plain URL
    detail: str | None = None


@dataclass
class RecordedRequest:
    """One ``POST /v1/chat/completions`` as the emulator received it."""

    body: dict[str, Any]
    headers: dict[str, str]  # keys lower-cased
    stream: bool
    retry_count: int
    images: list[RecordedImage] = field(default_factory=list)  # every message's, in order


@dataclass(frozen=True)
class RecordedTranscription:
    """One ``POST /v1/audio/transcriptions``: the uploaded file and the form's fields."""

    file_name: str
    content_type: str
    data: bytes
    model: str
    language: str | None
    prompt: str | None
    response_format: str | None


@dataclass(frozen=True)
class EmulatedCall:
    """A function call the emulated model asks for; ``arguments`` is sent as JSON text
    (a string is sent as it is, so a test can send malformed arguments)."""

    name: str
    arguments: dict[str, Any] | str


@dataclass(frozen=True)
class EmulatedReply:
    """What ``reply`` may return instead of plain text: text and/or tool calls."""

    content: str = ""
    tool_calls: tuple[EmulatedCall, ...] = ()


@dataclass
class _Fault:
    status: int | None  # None = hang
    remaining: int
    retry_after: float | None = None
    message: str = ""


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal parts: keep the text ones
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def default_reply(body: Mapping[str, Any]) -> str:
    """``"echo: "`` + the content of the last user message."""
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                return "echo: " + _content_text(message.get("content"))
    return "echo: "


def _checked_chat(raw: Any, body: dict[str, Any]) -> web.Response | tuple[str, list[RecordedImage]]:
    """The request's model and image parts, or the 400 OpenAI would answer."""
    if raw is None:
        return _error_response(400, "We could not parse the JSON body of your request.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _error_response(400, "you must provide a model parameter", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list):
        return _error_response(400, "Missing required parameter: 'messages'.", param="messages")
    try:
        return model, _images(messages)
    except _BadImage as bad:
        return _error_response(400, str(bad), param=bad.param)


class _BadImage(ValueError):
    """An image part OpenAI would refuse: its message and the parameter it names."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def _image(part: dict[str, Any], param: str) -> RecordedImage:
    image_url = part.get("image_url")
    url = image_url.get("url") if isinstance(image_url, dict) else None
    if not isinstance(url, str) or not url:
        raise _BadImage("Missing required parameter: 'image_url.url'.", f"{param}.image_url")
    detail = image_url.get("detail") if isinstance(image_url, dict) else None
    if detail is not None and detail not in ("auto", "low", "high"):
        raise _BadImage(f"Invalid value: '{detail}'. Supported values are: 'auto', 'low', and 'high'.", param)
    if url.startswith(("http://", "https://")):
        return RecordedImage(url, "", b"", detail)  # never fetched: no network in tests
    match = _DATA_URL_RE.fullmatch(url)
    if match is None:
        raise _BadImage(
            "Invalid image URL: expected a base64-encoded data URL with an image MIME type "
            "(e.g. 'data:image/png;base64,...'), got a value that doesn't match this format.",
            f"{param}.image_url",
        )
    mime_type, encoded = match[1].lower(), match[2]
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise _BadImage("Invalid base64 image_url.", f"{param}.image_url") from None
    magic = _IMAGE_MAGIC.get(mime_type)
    if magic is None or len(data) > MAX_IMAGE_BYTES or not data.startswith(magic):
        raise _BadImage(_UNSUPPORTED_IMAGE, f"{param}.image_url")
    if mime_type == "image/webp" and data[8:12] != b"WEBP":
        raise _BadImage(_UNSUPPORTED_IMAGE, f"{param}.image_url")
    return RecordedImage(url, mime_type, data, detail)


def _images(messages: list[Any]) -> list[RecordedImage]:
    """Every image part of ``messages``, checked as OpenAI checks them (`_BadImage` if not)."""
    found: list[RecordedImage] = []
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            param = f"messages.[{i}].content.[{j}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                if not isinstance(part.get("text"), str):
                    raise _BadImage("Missing required parameter: 'text'.", f"{param}.text")
            elif kind == "image_url":
                if message.get("role") != "user":
                    raise _BadImage("Image parts are only allowed in user messages.", param)
                found.append(_image(part, param))
            else:
                raise _BadImage(
                    f"Invalid value: '{kind}'. Supported values are: 'text', 'image_url'.", f"{param}.type"
                )
    return found


def image_reply(body: Mapping[str, Any]) -> str:
    """A canned vision answer: ``"I see a image/png image of 68 bytes"`` for each image of
    the last user message (joined by "; "), or `default_reply` when it has none."""
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                seen = _images([message])
                if seen:
                    return "; ".join(
                        f"I see a {m.mime_type} image of {len(m.data)} bytes"
                        if m.mime_type
                        else f"I see {m.url}"
                        for m in seen
                    )
                break
    return default_reply(body)


@dataclass(frozen=True)
class _Upload:
    name: str
    content_type: str
    data: bytes


async def _form(request: web.Request) -> tuple[dict[str, str], _Upload | None]:
    """A multipart form's text fields, and its ``file`` part."""
    fields: dict[str, str] = {}
    upload: _Upload | None = None
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.name == "file":
            data = bytes(await part.read(decode=False))
            upload = _Upload(part.filename or "", part.headers.get("Content-Type", ""), data)
        else:
            fields[part.name] = (await part.read(decode=True)).decode("utf-8", "replace")
    return fields, upload


def _transcription_problem(fields: dict[str, str], upload: _Upload | None) -> web.Response | None:
    """The error OpenAI would answer for this form, if any."""
    if upload is None:
        return _error_response(400, "Missing required parameter: 'file'.", param="file")
    if not fields.get("model"):
        return _error_response(400, "Missing required parameter: 'model'.", param="model")
    if len(upload.data) > MAX_AUDIO_BYTES:
        return _error_response(
            413, f"Maximum content size limit ({MAX_AUDIO_BYTES}) exceeded ({len(upload.data)} bytes read)"
        )
    if not upload.data:
        return _error_response(400, "Audio file is empty.", param="file")
    response_format = fields.get("response_format")
    if response_format not in (None, "json", "text", "verbose_json"):
        return _error_response(
            400, f"Unsupported response_format '{response_format}'.", param="response_format"
        )
    return None


def _transcript(text: str, fields: dict[str, str]) -> web.Response:
    """``text`` in the form's ``response_format``."""
    response_format = fields.get("response_format")
    if response_format == "text":
        return web.Response(text=text + "\n", content_type="text/plain")
    body: dict[str, Any] = {"text": text}
    if response_format == "verbose_json":
        language = fields.get("language") or "english"
        body |= {"task": "transcribe", "language": language, "duration": 1.0, "segments": []}
    return web.Response(body=_dumps(body), content_type=_JSON)


def _rough_tokens(text: str) -> int:
    return (len(text) + 3) // 4


def _prompt_tokens(body: Mapping[str, Any]) -> int:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(4 + _rough_tokens(_content_text(m.get("content"))) for m in messages if isinstance(m, dict))


def _dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def _error_type(status: int) -> str:
    if status == 429:
        return "requests"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


def _error_response(
    status: int,
    message: str,
    *,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error": {"message": message, "type": _error_type(status), "param": param, "code": None}}
    return web.Response(status=status, body=_dumps(body), content_type=_JSON, headers=headers)


def _retry_after_headers(retry_after: float) -> dict[str, str]:
    if float(retry_after).is_integer():
        return {"retry-after": str(int(retry_after))}
    return {"retry-after": f"{retry_after:g}", "retry-after-ms": str(round(retry_after * 1000))}


def _retry_count(headers: Mapping[str, str]) -> int:
    try:
        return int(headers.get("x-stainless-retry-count", "0"))
    except ValueError:
        return 0


class OpenAIEmulator:
    """An OpenAI-compatible HTTP server; use as ``async with OpenAIEmulator() as emu``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        # Off in standalone mode: nobody reads them there and they would grow forever.
        self.record_requests = True
        # Plain text, or an EmulatedReply that asks for tool calls.
        self.reply: Callable[[dict[str, Any]], str | EmulatedReply] = default_reply
        self.transcriptions: list[RecordedTranscription] = []
        # What /audio/transcriptions answers for a file of exactly these bytes; others get the default.
        self.transcripts: dict[bytes, str] = {}
        self.default_transcript = DEFAULT_TRANSCRIPT
        self.delay_s = 0.0
        self.chunk_delay_s = 0.0
        self.chunk_size = 0
        self._faults: deque[_Fault] = deque()
        self._models_seen: dict[str, None] = {}
        self._ids = itertools.count(1)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        app.router.add_post("/v1/audio/transcriptions", self._transcriptions)
        app.router.add_get("/v1/models", self._list_models)
        app.router.add_get("/v1/models/{model}", self._get_model)
        runner = web.AppRunner(
            app,
            access_log=None,
            # A client that gave up (timeout) cancels its delayed/hung handler.
            handler_cancellation=True,
            shutdown_timeout=_SHUTDOWN_TIMEOUT_S,
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, backlog=4096, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._closing = asyncio.Event()
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing.set()  # releases hung handlers
        await runner.cleanup()

    async def __aenter__(self) -> OpenAIEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._runner is None and self.port == 0:
            raise RuntimeError("emulator not started")
        return f"http://{self.host}:{self.port}/v1"

    # -- test controls ---------------------------------------------------------

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        message: str = "injected failure",
    ) -> None:
        """The next ``times`` requests (chat or transcription) answer ``status`` with an
        OpenAI error body."""
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error code, got {status}")
        if times > 0:
            self._faults.append(_Fault(status, times, retry_after, message))

    def hang_next(self, *, times: int = 1) -> None:
        """The next ``times`` requests never answer (until the client leaves or stop())."""
        if times > 0:
            self._faults.append(_Fault(None, times))

    def reset(self) -> None:
        self.requests.clear()
        self.transcriptions.clear()
        self.transcripts.clear()
        self.default_transcript = DEFAULT_TRANSCRIPT
        self._faults.clear()
        self._models_seen.clear()
        self.reply = default_reply
        self.delay_s = 0.0
        self.chunk_delay_s = 0.0
        self.chunk_size = 0

    def _take_fault(self) -> _Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            self._faults.popleft()
        return fault

    # -- handlers --------------------------------------------------------------

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        raw: Any
        try:
            raw = await request.json(loads=orjson.loads)
        except ValueError:
            raw = None
        body: dict[str, Any] = raw if isinstance(raw, dict) else {}
        stream = body.get("stream") is True
        recorded: RecordedRequest | None = None
        if self.record_requests:
            headers = {k.lower(): v for k, v in request.headers.items()}
            recorded = RecordedRequest(body, headers, stream, _retry_count(headers))
            self.requests.append(recorded)

        faulted = await self._fault()
        if faulted is not None:
            return faulted

        checked = _checked_chat(raw, body)
        if isinstance(checked, web.Response):
            return checked
        model, images = checked
        if recorded is not None:
            recorded.images = images
        self._models_seen[model] = None

        try:
            answer = self._answer(body)
        except Exception as exc:  # a broken test reply should surface as a clear 500
            return _error_response(500, f"reply() raised {exc!r}")
        text = answer.content
        calls = self._calls(answer)

        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)

        completion_id = f"chatcmpl-emu{next(self._ids)}"
        created = int(time.time())
        prompt_tokens = _prompt_tokens(body)
        completion_tokens = _rough_tokens(text)
        usage: dict[str, int] | None = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        if not stream:
            return self._completion(completion_id, created, model, text, usage, calls)

        stream_options = body.get("stream_options")
        if not (isinstance(stream_options, dict) and stream_options.get("include_usage") is True):
            usage = None
        return await self._stream(request, completion_id, created, model, text, usage, calls)

    async def _fault(self) -> web.Response | None:
        """The injected failure this request meets, if any (a hang waits for stop())."""
        fault = self._take_fault()
        if fault is None:
            return None
        if fault.status is None:
            await self._closing.wait()
            return _error_response(503, "emulator shutting down")
        extra = None if fault.retry_after is None else _retry_after_headers(fault.retry_after)
        return _error_response(fault.status, fault.message, headers=extra)

    async def _transcriptions(self, request: web.Request) -> web.Response:
        """``POST /v1/audio/transcriptions``: multipart ``file`` and ``model``, optional
        ``language``, ``prompt`` and ``response_format`` (json, text or verbose_json)."""
        try:
            fields, upload = await _form(request)
        except (AssertionError, ValueError, KeyError):  # not multipart, or a broken body
            return _error_response(400, "Could not parse multipart form")
        faulted = await self._fault()
        if faulted is not None:
            return faulted
        problem = _transcription_problem(fields, upload)
        if problem is not None:
            return problem
        assert upload is not None
        if self.record_requests:
            self.transcriptions.append(
                RecordedTranscription(
                    upload.name,
                    upload.content_type,
                    upload.data,
                    fields["model"],
                    fields.get("language"),
                    fields.get("prompt"),
                    fields.get("response_format"),
                )
            )
        if self.delay_s > 0:
            await asyncio.sleep(self.delay_s)
        return _transcript(self.transcripts.get(upload.data, self.default_transcript), fields)

    def _completion(
        self,
        completion_id: str,
        created: int,
        model: str,
        text: str,
        usage: dict[str, int] | None,
        calls: list[dict[str, Any]],
    ) -> web.Response:
        completion = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {
                        "role": "assistant",
                        "content": text or (None if calls else ""),
                        "refusal": None,
                        **({"tool_calls": calls} if calls else {}),
                    },
                    "logprobs": None,
                    "finish_reason": "tool_calls" if calls else "stop",
                }
            ],
            "usage": usage,
            "system_fingerprint": None,
        }
        return web.Response(body=_dumps(completion), content_type=_JSON)

    def _answer(self, body: dict[str, Any]) -> EmulatedReply:
        answer = self.reply(body)
        return EmulatedReply(answer) if isinstance(answer, str) else answer

    def _calls(self, answer: EmulatedReply) -> list[dict[str, Any]]:
        return [
            {
                "id": f"call_emu{next(self._ids)}",
                "type": "function",
                "function": {
                    "name": c.name,
                    "arguments": c.arguments
                    if isinstance(c.arguments, str)
                    else orjson.dumps(c.arguments).decode(),
                },
            }
            for c in answer.tool_calls
        ]

    def _pieces(self, text: str) -> list[str]:
        size = self.chunk_size
        if size > 0:
            return [text[i : i + size] for i in range(0, len(text), size)]
        return _WORD_RE.findall(text)

    async def _stream(
        self,
        request: web.Request,
        completion_id: str,
        created: int,
        model: str,
        text: str,
        usage: dict[str, int] | None,
        calls: list[dict[str, Any]] = [],  # noqa: B006 (never mutated)
    ) -> web.StreamResponse:
        def chunk(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
            data: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
            }
            if usage is not None:
                data["usage"] = None
            return data

        events: list[dict[str, Any]] = [chunk({"role": "assistant", "content": ""}, None)]
        events.extend(chunk({"content": piece}, None) for piece in self._pieces(text) if piece)
        for index, call in enumerate(calls):
            # As real servers do: the id and name first, then the arguments in pieces.
            fn = call["function"]
            head = {
                "index": index,
                "id": call["id"],
                "type": "function",
                "function": {"name": fn["name"], "arguments": ""},
            }
            events.append(chunk({"tool_calls": [head]}, None))
            args = fn["arguments"]
            for i in range(0, len(args), 8):
                events.append(
                    chunk(
                        {"tool_calls": [{"index": index, "function": {"arguments": args[i : i + 8]}}]}, None
                    )
                )
        events.append(chunk({}, "tool_calls" if calls else "stop"))
        if usage is not None:
            events.append(
                {
                    "id": completion_id,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "system_fingerprint": None,
                    "choices": [],
                    "usage": usage,
                }
            )

        response = web.StreamResponse(headers={"Cache-Control": "no-cache"})
        response.content_type = "text/event-stream"
        try:
            await response.prepare(request)
            for i, event in enumerate(events):
                if i and self.chunk_delay_s > 0:
                    await asyncio.sleep(self.chunk_delay_s)
                await response.write(b"data: " + _dumps(event) + b"\n\n")
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except ConnectionResetError:
            pass  # the client went away mid-stream; nothing to tell anyone
        return response

    def _model_object(self, model_id: str) -> dict[str, Any]:
        return {"id": model_id, "object": "model", "created": 1700000000, "owned_by": "emulator"}

    async def _list_models(self, request: web.Request) -> web.Response:
        ids = dict.fromkeys(DEFAULT_MODELS) | self._models_seen
        body = {"object": "list", "data": [self._model_object(m) for m in ids]}
        return web.Response(body=_dumps(body), content_type=_JSON)

    async def _get_model(self, request: web.Request) -> web.Response:
        return web.Response(body=_dumps(self._model_object(request.match_info["model"])), content_type=_JSON)


def _raise_fd_limit() -> None:
    # 5,000 concurrent connections need more descriptors than the usual soft limit of 1024.
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def _serve(args: argparse.Namespace) -> None:
    emulator = OpenAIEmulator(args.host, args.port)
    emulator.record_requests = False
    emulator.delay_s = args.delay
    emulator.chunk_delay_s = args.chunk_delay
    emulator.chunk_size = args.chunk_size
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with emulator:
        print(f"listening on {emulator.base_url}", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="OpenAI-compatible emulator server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between streamed chunks")
    parser.add_argument("--chunk-size", type=int, default=0, help="characters per chunk; 0 = word by word")
    args = parser.parse_args(argv)
    _raise_fd_limit()
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
