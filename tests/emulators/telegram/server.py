"""Telegram Bot API emulator for tests and benchmarks.

A real aiohttp server on 127.0.0.1 speaking the Bot API's HTTP protocol, so the
unmodified aiogram client (``AiohttpSession(api=TelegramAPIServer.from_base(emu.base_url))``)
and ``Dispatcher.start_polling`` run against it. Tests push updates, inspect what
the bot sent (``chat_messages``, ``drafts``, ``calls``) and inject faults
(``fail_next``, ``set_down``, ``flood_limit_per_chat``). Button presses: ``push_callback_query``,
then ``toasts``/``callback_answers`` and ``keyboard`` (tests.emulators.telegram.callbacks). Files:
``push_file_message``, ``file_bytes``, ``sent_files`` (tests.emulators.telegram.media).

Fidelity notes:

* HTML is parsed like Telegram's parser (same tags, nesting and error texts) but is
  stricter about ``&``: a bare ``&`` or a named entity other than ``&lt; &gt; &amp;
  &quot;`` is refused (Telegram would show it literally), so escaping bugs surface.
* MarkdownV2 is fully parsed (entities, reserved characters that must be escaped,
  ``>`` block quotes); legacy Markdown gets a simple parser.
* Text is trimmed and must be 1..4096 UTF-16 code units after entity parsing.
  Plain text gets no auto-detected entities (urls, hashtags).
* Unknown chat ids are accepted (a chat is made up: private for positive ids,
  supergroup for ``-100…``, group otherwise); ``@username`` chat ids are refused.
* ``set_down`` answers a JSON ``{"ok": false, "error_code": 502, "description":
  "Bad Gateway"}`` by default, which aiogram maps to ``TelegramServerError``;
  ``html=True`` sends nginx's HTML page instead, which aiogram turns into
  ``ClientDecodeError`` (not a ``TelegramAPIError``).
* ``getUpdates`` honours ``allowed_updates`` as Telegram does: the last list given filters
  what is handed out (until one is given: everything but reactions and member updates).
* Webhooks are recorded (and block getUpdates) but updates are never delivered to them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.emulators.telegram.callbacks import CallbackQueries
from tests.emulators.telegram.limits import Fault, take_fault
from tests.emulators.telegram.media import MediaMethods
from tests.emulators.telegram.methods import BotApiMethods
from tests.emulators.telegram.params import read_params
from tests.emulators.telegram.responses import ApiError, bad_request, json_response, status_phrase
from tests.emulators.telegram.state import BotState, Call

_log = logging.getLogger(__name__)
# Short, so stop() never waits long on in-flight long polls.
_SHUTDOWN_TIMEOUT_S = 0.1

_Handler = Callable[[BotState, dict[str, Any], web.Request], Awaitable[Any]]


# The Bot API methods and the update queue share state.TelegramState; this class adds the
# HTTP server, the dispatch of /bot{token}/{method} and the test-facing API.
class TelegramEmulator(BotApiMethods, MediaMethods, CallbackQueries):
    """In-process Telegram Bot API server; see the module docstring."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, _Handler] = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "sendmessagedraft": self._send_message_draft,
            "sendchataction": self._send_chat_action,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getchat": self._get_chat,
            "answercallbackquery": self._answer_callback_query,
            "getfile": self._get_file,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "sendmediagroup": self._send_media_group,
        }
        # Methods answered with a bare true (recorded in calls only).
        accepted = (
            "close logOut setMyName setMyDescription setMyShortDescription "
            "setChatMenuButton setMyDefaultAdministratorRights setMessageReaction pinChatMessage "
            "unpinChatMessage unpinAllChatMessages leaveChat"
        )
        for name in accepted.split():
            self._handlers[name.lower()] = self._accept

    # -- lifecycle

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        if self._runner is not None:
            return
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=_SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        for bot in self.bots.values():
            bot.wakeup.set()
        await runner.cleanup()

    async def __aenter__(self) -> TelegramEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- test control

    def add_bot(
        self,
        token: str,
        *,
        username: str = "chatgate_bot",
        bot_id: int | None = None,
        can_read_all_group_messages: bool = False,
        first_name: str = "Chatgate",
    ) -> BotState:
        """Register a bot token (replacing any earlier state for it)."""
        if bot_id is None:
            prefix = token.partition(":")[0]
            bot_id = int(prefix) if prefix.isdigit() else 7_000_000_000 + sum(map(ord, token))
        me = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": can_read_all_group_messages,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        state = BotState(token=token, me=me)
        self.bots[token] = state
        return state

    def calls_to(self, method: str, token: str | None = None) -> list[Call]:
        found = self._calls_by_method.get(method.lower(), [])
        return [call for call in found if token is None or call.token == token]

    def chat_messages(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        """The bot's live messages in the chat, oldest first, plus ``edits``/``parse_mode``/``raw_text``."""
        chat = self._bot(token).chats.get(chat_id)
        if chat is None:
            return []
        return [
            {**sent.message, "edits": sent.edits, "parse_mode": sent.parse_mode, "raw_text": sent.raw_text}
            for sent in chat.sent
            if not sent.deleted
        ]

    def drafts(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        chat = self._bot(token).chats.get(chat_id)
        return list(chat.drafts) if chat else []

    def chat_actions(self, token: str, chat_id: int) -> list[dict[str, Any]]:
        chat = self._bot(token).chats.get(chat_id)
        return list(chat.actions) if chat else []

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Poll ``predicate`` until it is true; AssertionError describing the state on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            if loop.time() >= deadline:
                raise AssertionError(self._describe_timeout(predicate, timeout))
            await asyncio.sleep(0.005)

    def fail_next(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        token: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (any token unless given) with this error."""
        if description is None:
            if error_code == HTTPStatus.TOO_MANY_REQUESTS and retry_after is not None:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = status_phrase(error_code)
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        fault = Fault(ApiError(error_code, description, parameters), times, token)
        self._faults.setdefault(method.lower(), []).append(fault)

    def set_down(self, down: bool, *, status: int = 502, html: bool = False) -> None:
        """While down every call answers ``status`` (0: the connection is closed unanswered)."""
        self._down_status = status if down else None
        self._down_html = html

    # -- HTTP

    async def _not_found(self, request: web.Request) -> web.Response:
        return json_response(ApiError(404, "Not Found").body(), 404)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        try:
            params = await read_params(request)
            malformed = False
        except ValueError:
            params, malformed = {}, True
        call = Call(token, method, params, time.monotonic())
        self.calls.append(call)
        self._calls_by_method.setdefault(method.lower(), []).append(call)

        if self._down_status is not None:
            return self._down_response(request, call)
        try:
            if malformed:
                raise bad_request("can't parse request body")
            bot = self.bots.get(token)
            if bot is None:
                raise ApiError(401, "Unauthorized")
            fault = take_fault(self._faults, method, token)
            if fault is not None:
                raise fault
            handler = self._handlers.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(bot, params, request)
        except ApiError as exc:
            call.status = exc.code
            return json_response(exc.body(), exc.code)
        except Exception as exc:
            _log.exception("emulator failure in %s", method)
            call.status = 500
            return json_response(ApiError(500, f"Internal Server Error: emulator bug: {exc!r}").body(), 500)
        call.status = 200
        return json_response({"ok": True, "result": result}, 200)

    def _down_response(self, request: web.Request, call: Call) -> web.Response:
        status = self._down_status or 0
        if status == 0:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)  # never reaches the client
        call.status = status
        phrase = status_phrase(status)
        if self._down_html:
            page = f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
            page += f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
            return web.Response(status=status, text=page + "</body>\r\n</html>\r\n", content_type="text/html")
        return json_response(ApiError(status, phrase).body(), status)

    def _describe_timeout(self, predicate: Callable[[], bool], timeout: float) -> str:
        try:
            what = inspect.getsource(predicate).strip()
        except (OSError, TypeError):
            what = repr(predicate)
        lines = [f"wait_for timed out after {timeout}s: {what}"]
        recent = self.calls[-10:]
        lines.append(f"last {len(recent)} of {len(self.calls)} calls:")
        for call in recent:
            shown = {k: v for k, v in call.params.items() if k not in ("timeout", "allowed_updates")}
            lines.append(f"  {call.method} -> {call.status or 'pending'} {str(shown)[:160]}")
        for token, bot in self.bots.items():
            sent = {chat_id: len(chat.sent) for chat_id, chat in bot.chats.items() if chat.sent}
            lines.append(
                f"bot {token.partition(':')[0]}: {len(bot.updates)} pending updates, "
                f"poller {'connected' if bot.poller is not None else 'none'}, sent per chat {sent}"
            )
        return "\n".join(lines)
