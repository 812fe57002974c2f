"""Application commands and interactions: slash-command payloads, callbacks, follow-ups."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from tests.emulators.discord.payloads import bot_user_object, member_object
from tests.emulators.discord.protocol import (
    CALLBACK_DEFERRED_MESSAGE,
    CALLBACK_DEFERRED_UPDATE,
    CALLBACK_MESSAGE,
    CALLBACK_MODAL,
    CALLBACK_UPDATE,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTERACTION_COMPONENT,
    INTERACTION_TOKEN_TTL,
    MESSAGE_CHAT_INPUT_COMMAND,
    MESSAGE_DEFAULT,
    PERMS_EVERYONE,
    THREAD_TYPES,
    Json,
)
from tests.emulators.discord.responses import (
    ApiError,
    invalid_form,
    json_response,
    no_content,
    unknown_interaction,
    unknown_message,
    unknown_webhook,
)
from tests.emulators.discord.rest import RestApi, RestRequest
from tests.emulators.discord.state import BotState, InteractionState, MessageRecord

COMMAND_CALLBACKS = frozenset({CALLBACK_MESSAGE, CALLBACK_DEFERRED_MESSAGE, CALLBACK_MODAL})
# A button press may also update the message it is on, now (7) or later (6).
COMPONENT_CALLBACKS = COMMAND_CALLBACKS | {CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE}


class InteractionRoutes(RestApi):
    """``/applications/.../commands``, ``/interactions/.../callback`` and the interaction webhooks."""

    def _find_command(self, bot: BotState, name: str, guild_id: int | None) -> tuple[Json | None, int | None]:
        if guild_id is not None:
            for cmd in bot.commands.get(guild_id, []):
                if cmd["name"] == name and cmd.get("type", 1) == 1:
                    return cmd, guild_id
        for cmd in bot.commands.get(None, []):
            if cmd["name"] == name and cmd.get("type", 1) == 1:
                return cmd, None
        return None, None

    def _interaction_options(
        self,
        command: Json | None,
        path: Sequence[str],
        values: Mapping[str, Any],
        guild_id: int | None,
        resolved: Json,
    ) -> list[Json]:
        schema: list[Json] = command.get("options", []) if command else []
        if path:
            sub = next((o for o in schema if o.get("name") == path[0]), None)
            sub_type = sub["type"] if sub else (1 if len(path) == 1 else 2)
            inner = self._interaction_options(sub, path[1:], values, guild_id, resolved)
            entry: Json = {"name": path[0], "type": sub_type}
            if inner:
                entry["options"] = inner
            return [entry]
        result = []
        for name, value in values.items():
            declared = next((o for o in schema if o.get("name") == name), None)
            opt_type = declared["type"] if declared else 3
            result.append(
                {
                    "name": name,
                    "type": opt_type,
                    "value": self._option_value(opt_type, value, guild_id, resolved),
                }
            )
        return result

    def _option_value(self, opt_type: int, value: Any, guild_id: int | None, resolved: Json) -> Any:
        if opt_type == 4:
            return int(value)
        if opt_type == 10:
            return float(value)
        if opt_type == 5:
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        if opt_type in (6, 9):
            uid = int(value)
            if uid in self._users:
                resolved.setdefault("users", {})[str(uid)] = self._users[uid]
                guild = self._guilds.get(guild_id) if guild_id is not None else None
                if guild is not None and uid in guild.members:
                    resolved.setdefault("members", {})[str(uid)] = member_object(
                        guild.members[uid], None, permissions=PERMS_EVERYONE
                    )
            return str(uid)
        if opt_type == 7:
            cid = int(value)
            if cid in self._channels:
                ch = self._channels[cid]
                resolved.setdefault("channels", {})[str(cid)] = {
                    "id": ch["id"],
                    "name": ch.get("name"),
                    "type": ch["type"],
                    "permissions": str(PERMS_EVERYONE),
                    **(
                        {"parent_id": ch["parent_id"], "thread_metadata": ch["thread_metadata"]}
                        if ch["type"] in THREAD_TYPES
                        else {}
                    ),
                }
            return str(cid)
        return value if opt_type != 3 else str(value)

    async def _r_get_commands(self, req: RestRequest) -> web.StreamResponse:
        bot = self._check_application(req)
        guild_id = req.int_param("guild_id") if "guild_id" in req.params else None
        return json_response(200, bot.commands.get(guild_id, []))

    async def _r_put_commands(self, req: RestRequest) -> web.StreamResponse:
        bot = self._check_application(req)
        guild_id = req.int_param("guild_id") if "guild_id" in req.params else None
        if guild_id is not None and guild_id not in self._guilds:
            raise ApiError(403, {"message": "Missing Access", "code": 50001})
        payload = req.json
        if not isinstance(payload, list):
            raise invalid_form([], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        existing = {(c["name"], c.get("type", 1)): c for c in bot.commands.get(guild_id, [])}
        seen: set[tuple[str, int]] = set()
        result = []
        for index, cmd in enumerate(payload):
            self._validate_command(cmd, index)
            key = (cmd["name"], int(cmd.get("type", 1)))
            if key in seen:
                raise invalid_form(
                    [str(index), "name"],
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    f"Application command names must be unique ({cmd['name']})",
                )
            seen.add(key)
            old = existing.get(key)
            full = {
                "type": 1,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "dm_permission": True,
                "nsfw": False,
                "contexts": None,
                "integration_types": [0],
                **cmd,
                "id": old["id"] if old else str(self._ids.next()),
                "application_id": str(bot.application_id),
                "version": str(self._ids.next()),
            }
            if guild_id is not None:
                full["guild_id"] = str(guild_id)
            result.append(full)
        if sum(1 for c in result if c["type"] == 1) > 100:
            raise invalid_form([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        bot.commands[guild_id] = result
        return json_response(200, result)

    @staticmethod
    def _validate_command(cmd: Any, index: int) -> None:
        if not isinstance(cmd, dict):
            raise invalid_form(
                [str(index)], "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
            )
        name = cmd.get("name")
        cmd_type = int(cmd.get("type", 1))
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            raise invalid_form(
                [str(index), "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."
            )
        if cmd_type == 1:
            if not re.fullmatch(r"[-_'\w]{1,32}", name) or name != name.lower():
                raise invalid_form(
                    [str(index), "name"],
                    "APPLICATION_COMMAND_INVALID_NAME",
                    f"Command name is invalid ({name})",
                )
            description = cmd.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 100:
                raise invalid_form(
                    [str(index), "description"],
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
        if len(cmd.get("options") or []) > 25:
            raise invalid_form(
                [str(index), "options"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )

    # ------------------------------------------------------------------ REST handlers: interactions

    def _record_response(
        self,
        state: InteractionState,
        kind: str,
        payload: Json,
        rec: MessageRecord | None,
        cb_type: int | None = None,
    ) -> None:
        flags = rec.flags if rec is not None else int(payload.get("flags") or 0)
        state.responses.append(
            {
                "kind": kind,
                "type": cb_type,
                "content": rec.data["content"] if rec is not None else payload.get("content"),
                "flags": flags,
                "ephemeral": bool(flags & FLAG_EPHEMERAL),
                "message_id": str(rec.id) if rec is not None else None,
                "payload": payload,
                "time": time.monotonic(),
            }
        )

    def _interaction_message(
        self,
        state: InteractionState,
        payload: Json,
        files: Sequence[tuple[str, bytes, str]],
        *,
        flags: int,
        original: bool,
    ) -> MessageRecord:
        channel = self._channels[state.channel_id]
        bot = state.bot
        user = self._users[state.user_id]
        content = payload.get("content") or ""
        allowed = payload.get("allowed_mentions")
        metadata: Json = {
            "id": str(state.id),
            "type": state.type,
            "user": user,
            "authorizing_integration_owners": state.payload.get("authorizing_integration_owners", {}),
            **({} if original else {"original_response_message_id": str(state.original_message_id)}),
        }
        if state.type == INTERACTION_COMPONENT:
            metadata["interacted_message_id"] = str(state.component_message_id)
            name, msg_type = "", MESSAGE_DEFAULT
        else:
            name = state.payload["data"]["name"]
            metadata.update(name=name, command_type=1)
            msg_type = MESSAGE_CHAT_INPUT_COMMAND if original else MESSAGE_DEFAULT
        extra: Json = {
            "webhook_id": str(bot.application_id),
            "application_id": str(bot.application_id),
            "interaction_metadata": metadata,
            "interaction": {"id": str(state.id), "type": state.type, "name": name, "user": user},
        }
        rec = self._create_message(
            channel,
            author=bot_user_object(bot),
            content=content,
            mention_ids=self._parse_mentions(content, allowed, None, default_reply_ping=False),
            payload=payload,
            attachments=self._attachments_from(state.channel_id, files),
            flags=flags,
            msg_type=msg_type,
            extra=extra,
            allowed_mentions=allowed,
            interaction_id=state.id,
        )
        state.message_ids.add(rec.id)
        if original:
            state.original_message_id = rec.id
        return rec

    def _callback_message(
        self, state: InteractionState, cb_type: int, data: Json, files: Sequence[tuple[str, bytes, str]]
    ) -> MessageRecord | None:
        """The message an initial response shows: a new one (4, 5), the pressed one (6, 7), or none."""
        ephemeral = int(data.get("flags") or 0) & FLAG_EPHEMERAL
        if cb_type == CALLBACK_MESSAGE:
            self._validate_message_payload(data, files, prefix=["data"])
            return self._interaction_message(state, data, files, flags=ephemeral, original=True)
        if cb_type == CALLBACK_DEFERRED_MESSAGE:
            return self._interaction_message(state, {}, [], flags=ephemeral | FLAG_LOADING, original=True)
        if cb_type in (CALLBACK_DEFERRED_UPDATE, CALLBACK_UPDATE):
            # The response is the pressed message itself: @original names it from now on.
            rec = self._messages[state.component_message_id or 0]
            if cb_type == CALLBACK_UPDATE:
                self._apply_edit(rec, data, files)
            state.original_message_id = rec.id
            state.message_ids.add(rec.id)
            return rec
        return None

    async def _r_interaction_callback(self, req: RestRequest) -> web.StreamResponse:
        state = self._interactions.get(req.int_param("interaction_id"))
        if state is None or state.token != req.params["token"]:
            raise unknown_interaction()
        if state.response_type is not None:
            raise ApiError(400, {"message": "Interaction has already been acknowledged.", "code": 40060})
        if time.monotonic() - state.created > self.interaction_ack_timeout:
            raise unknown_interaction()
        body = req.body()
        cb_type = body.get("type")
        data = body.get("data") or {}
        allowed = COMPONENT_CALLBACKS if state.type == INTERACTION_COMPONENT else COMMAND_CALLBACKS
        if cb_type not in allowed:
            choices = ", ".join(str(t) for t in sorted(allowed))
            raise invalid_form(["type"], "BASE_TYPE_CHOICES", f"Value must be one of {{{choices}}}.")
        rec = self._callback_message(state, cb_type, data, req.files)
        state.response_type = cb_type
        self._record_response(state, "callback", body, rec, cb_type)
        if cb_type == CALLBACK_UPDATE and rec is not None:
            self._dispatch_message("MESSAGE_UPDATE", rec)
        elif rec is not None and cb_type != CALLBACK_DEFERRED_UPDATE:
            self._dispatch_message("MESSAGE_CREATE", rec)
        if req.query.get("with_response") not in ("1", "true", "True"):
            return no_content()
        interaction: Json = {"id": str(state.id), "type": state.type}
        resource: Json = {"type": cb_type}
        if rec is not None and cb_type != CALLBACK_DEFERRED_UPDATE:
            interaction.update(
                response_message_id=str(rec.id),
                response_message_loading=cb_type == CALLBACK_DEFERRED_MESSAGE,
                response_message_ephemeral=bool(rec.flags & FLAG_EPHEMERAL),
            )
            resource["message"] = self._rest_message(rec)
        return json_response(200, {"interaction": interaction, "resource": resource})

    def _interaction_for_webhook(self, req: RestRequest) -> InteractionState:
        state = self._interactions_by_token.get(req.params["token"])
        if state is None or req.int_param("application_id") != state.bot.application_id:
            raise unknown_webhook()
        if time.monotonic() - state.created > INTERACTION_TOKEN_TTL:
            raise ApiError(401, {"message": "Invalid Webhook Token", "code": 50027})
        return state

    def _webhook_message(self, state: InteractionState, message_id: str) -> MessageRecord:
        mid = state.original_message_id if message_id == "@original" else int(message_id)
        rec = self._messages.get(mid) if mid is not None else None
        if rec is None or rec.deleted or rec.id not in state.message_ids:
            raise unknown_message()
        return rec

    async def _r_followup(self, req: RestRequest) -> web.StreamResponse:
        state = self._interaction_for_webhook(req)
        if state.response_type is None:
            raise unknown_webhook()
        payload = req.body()
        self._validate_message_payload(payload, req.files)
        original = self._messages.get(state.original_message_id) if state.original_message_id else None
        if original is not None and original.flags & FLAG_LOADING and not original.deleted:
            # The first follow-up after a deferred response replaces the "thinking" message.
            self._apply_edit(original, payload, req.files, count=False)
            original.data["flags"] = original.flags & ~FLAG_LOADING
            original.allowed_mentions = payload.get("allowed_mentions")
            rec = original
            self._dispatch_message("MESSAGE_UPDATE", rec)
        else:
            flags = int(payload.get("flags") or 0) & FLAG_EPHEMERAL
            rec = self._interaction_message(state, payload, req.files, flags=flags, original=False)
            self._dispatch_message("MESSAGE_CREATE", rec)
        self._record_response(state, "followup", payload, rec)
        if req.query.get("wait") in ("0", "false", "False"):
            return no_content()
        return json_response(200, self._rest_message(rec))

    async def _r_get_webhook_message(self, req: RestRequest) -> web.StreamResponse:
        state = self._interaction_for_webhook(req)
        return json_response(200, self._rest_message(self._webhook_message(state, req.params["message_id"])))

    async def _r_edit_webhook_message(self, req: RestRequest) -> web.StreamResponse:
        state = self._interaction_for_webhook(req)
        rec = self._webhook_message(state, req.params["message_id"])
        payload = req.body()
        loading = bool(rec.flags & FLAG_LOADING)
        self._apply_edit(rec, payload, req.files, count=not loading)
        if loading:
            rec.data["flags"] = rec.flags & ~FLAG_LOADING
        self._record_response(state, "edit", payload, rec)
        self._dispatch_message("MESSAGE_UPDATE", rec)
        return json_response(200, self._rest_message(rec))

    async def _r_delete_webhook_message(self, req: RestRequest) -> web.StreamResponse:
        state = self._interaction_for_webhook(req)
        rec = self._webhook_message(state, req.params["message_id"])
        self._delete(rec)
        self._record_response(state, "delete", {}, rec)
        return no_content()
