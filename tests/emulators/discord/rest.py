"""REST plumbing (routing, bodies, auth, failures) and the user, application, guild, channel routes."""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import BodyPartReader, web

from tests.emulators.discord.limits import take_failure
from tests.emulators.discord.messages import MessageStore
from tests.emulators.discord.payloads import bot_user_object, dm_channel_object, user_object
from tests.emulators.discord.protocol import API_PREFIX, Json
from tests.emulators.discord.responses import (
    GENERIC_ERRORS,
    ApiError,
    invalid_form,
    json_response,
    no_content,
    not_found,
    unknown_channel,
    unknown_message,
)
from tests.emulators.discord.state import BotState, Call, MessageRecord


@dataclass
class Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Callable[[RestRequest], Awaitable[web.StreamResponse]]
    auth: bool  # interaction/webhook routes authenticate with their token instead


@dataclass
class RestRequest:
    method: str
    path: str
    params: dict[str, str]
    query: Mapping[str, str]
    json: Any
    files: list[tuple[str, bytes, str]]  # (filename, data, content type)
    bot: BotState | None

    def body(self) -> Json:
        if self.json is None:
            return {}
        if not isinstance(self.json, dict):
            raise ApiError(400, {"message": "Invalid Form Body", "code": 50035, "errors": {}})
        return self.json

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise invalid_form([name], "NUMBER_TYPE_COERCE", "Value is not snowflake.") from None

    def require_bot(self) -> BotState:
        if self.bot is None:
            raise ApiError(401, dict(GENERIC_ERRORS[401]))
        return self.bot


class RestApi(MessageStore):
    """The REST side: requests under ``/api/v10`` are matched against the route table."""

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        for route in self._routes.get(method, []):
            m = route.regex.match(path)
            if m:
                return route, m.groupdict()
        for other, routes in self._routes.items():
            if other != method and any(r.regex.match(path) for r in routes):
                raise ApiError(405, dict(GENERIC_ERRORS[405]))
        raise not_found()

    async def _read_body(self, request: web.Request) -> tuple[Any, list[tuple[str, bytes, str]]]:
        if not request.can_read_body:
            return None, []
        content_type = request.content_type
        if content_type == "multipart/form-data":
            payload: Any = None
            files: list[tuple[str, bytes, str]] = []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                blob = await part.read()
                if part.name == "payload_json":
                    payload = self._loads(blob)
                elif part.name is not None:
                    ctype = part.headers.get("Content-Type", "application/octet-stream")
                    files.append((part.filename or part.name, bytes(blob), ctype))
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        return self._loads(raw), []

    @staticmethod
    def _loads(raw: bytes | bytearray) -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(
                400, {"message": "The request body contains invalid JSON.", "code": 50109}
            ) from None

    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        path = request.path[len(API_PREFIX) :] or "/"
        call = Call(method, path, None, dict(request.headers), time.monotonic(), query=dict(request.query))
        self.calls.append(call)
        try:
            body, files = await self._read_body(request)
            call.json = body
            failure = take_failure(self._failures, method, path)
            if failure is not None:
                raise failure
            route, params = self._match(method, path)
            bot = self._authenticate(request)
            if route.auth and bot is None:
                raise ApiError(401, dict(GENERIC_ERRORS[401]))
            response = await route.handler(RestRequest(method, path, params, request.query, body, files, bot))
        except ApiError as err:
            response = json_response(err.status, err.body, err.headers)
        call.status = response.status
        return response

    def _authenticate(self, request: web.Request) -> BotState | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bot "):
            return None
        return self._bots.get(auth[4:])

    def _channel_for(self, req: RestRequest) -> Json:
        channel = self._channels.get(req.int_param("channel_id"))
        if channel is None:
            raise unknown_channel()
        return channel

    def _message_in(self, channel: Json, message_id: int) -> MessageRecord:
        rec = self._messages.get(message_id)
        if rec is None or rec.deleted or rec.channel_id != int(channel["id"]):
            raise unknown_message()
        return rec

    def _check_application(self, req: RestRequest) -> BotState:
        bot = req.require_bot()
        if req.int_param("application_id") != bot.application_id:
            raise ApiError(403, {"message": "Missing Access", "code": 50001})
        return bot

    def _application_object(self, bot: BotState) -> Json:
        return {
            "id": str(bot.application_id),
            "name": bot.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": hashlib.sha256(bot.token.encode()).hexdigest(),
            "owner": user_object(bot.owner_id, "owner"),
            "team": None,
            "flags": self._application_flags(),
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "event_webhooks_url": None,
            "event_webhooks_status": 1,
            "tags": [],
            "redirect_uris": [],
            "rpc_origins": [],
            "approximate_guild_count": len(self._guilds),
            "integration_types_config": {"0": {}},
            "bot": bot_user_object(bot),
            "is_monetized": False,
            "is_verified": False,
            "is_discoverable": False,
        }

    async def _r_get_me(self, req: RestRequest) -> web.StreamResponse:
        return json_response(200, bot_user_object(req.require_bot(), me=True))

    async def _r_get_user(self, req: RestRequest) -> web.StreamResponse:
        user = self._users.get(req.int_param("user_id"))
        if user is None:
            raise not_found("Unknown User", 10013)
        return json_response(200, user)

    async def _r_create_dm(self, req: RestRequest) -> web.StreamResponse:
        recipient_id = int(req.body().get("recipient_id", 0))
        user = self._users.get(recipient_id)
        if user is None:
            raise invalid_form(["recipient_id"], "USER_NOT_FOUND", "Unknown user")
        channel_id = self._dm_by_recipient.get(recipient_id)
        if channel_id is None:
            channel_id = self._ids.next()
            self._dm_by_recipient[recipient_id] = channel_id
            self._channels[channel_id] = dm_channel_object(channel_id, user)
        return json_response(200, self._channels[channel_id])

    async def _r_get_application(self, req: RestRequest) -> web.StreamResponse:
        return json_response(200, self._application_object(req.require_bot()))

    async def _r_gateway(self, req: RestRequest) -> web.StreamResponse:
        return json_response(200, {"url": self.gateway_url})

    async def _r_gateway_bot(self, req: RestRequest) -> web.StreamResponse:
        return json_response(
            200,
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            },
        )

    # ------------------------------------------------------------------ REST handlers: guilds, channels

    async def _r_get_guild(self, req: RestRequest) -> web.StreamResponse:
        guild = self._guilds.get(req.int_param("guild_id"))
        if guild is None:
            raise not_found("Unknown Guild", 10004)
        payload = self._guild_create_payload(guild)
        for key in (
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "member_count",
            "large",
            "lazy",
            "unavailable",
        ):
            payload.pop(key, None)
        return json_response(200, payload)

    async def _r_get_guild_channels(self, req: RestRequest) -> web.StreamResponse:
        guild = self._guilds.get(req.int_param("guild_id"))
        if guild is None:
            raise not_found("Unknown Guild", 10004)
        return json_response(200, list(guild.channels.values()))

    async def _r_get_member(self, req: RestRequest) -> web.StreamResponse:
        guild = self._guilds.get(req.int_param("guild_id"))
        if guild is None:
            raise not_found("Unknown Guild", 10004)
        uid = req.int_param("user_id")
        for member in self._guild_members(guild):
            if int(member["user"]["id"]) == uid:
                return json_response(200, member)
        raise not_found("Unknown Member", 10007)

    async def _r_get_channel(self, req: RestRequest) -> web.StreamResponse:
        return json_response(200, self._channel_for(req))

    async def _r_typing(self, req: RestRequest) -> web.StreamResponse:
        channel = self._channel_for(req)
        cid = int(channel["id"])
        self._typing[cid] = self._typing.get(cid, 0) + 1
        return no_content()
