"""The key-management admin API (admin keys only), what ``chatgate keys`` does offline.

``POST /api/v1/admin/keys`` makes a key and answers it once; ``GET /api/v1/admin/keys``
lists every key (file, generated, database; never a secret) and which names own
workflows; ``DELETE /api/v1/admin/keys/{name}`` revokes a database key (or the generated
one); ``POST /api/v1/admin/workflows/reassign`` moves what one name owns to another.
Changes apply at once in this process and within `chatgate.keys.REFRESH_S` in the others.
"""

from __future__ import annotations

from typing import Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from chatgate.gateway import Gateway
from chatgate.http import schemas, serializers
from chatgate.http.bodies import parse_body
from chatgate.http.context import gateway
from chatgate.http.errors import json_response
from chatgate.http.operations import Operations, Reply
from chatgate.http.routes.admin import require_admin
from chatgate.keys import NewKey, Principal, create_key, reassign_workflows, revoke_key
from engine.clock import iso
from engine.errors import problem
from engine.store.api_keys import workflow_owners

routes = Operations()
_ADMIN = (schemas.ForbiddenError,)


class CreateKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="no ':'; it owns what the key creates")
    tier: str = Field(min_length=1, description="a tier of rate_limits")
    admin: bool = Field(False, strict=True)
    read_only: bool = Field(False, strict=True, description="may read (GET) only")
    workflows: list[str] | None = Field(
        None, min_length=1, description="the only workflows (names or ids) it may run; null: any"
    )
    expires_at: AwareDatetime | None = Field(None, description="after this it gets 401; null: never")


class KeyInfo(BaseModel):
    name: str
    source: Literal["file", "generated", "database"]
    tier: str
    admin: bool
    read_only: bool
    workflows: list[str] | None
    expires_at: str | None
    created_at: str | None  # null for keys from the config file
    workflows_owned: int


class CreatedKey(KeyInfo):
    key: str = Field(description="the key itself: shown this once, only its digest is stored")


class OwnerInfo(BaseModel):
    owner: str
    workflows: int
    has_key: bool  # false: no key has this name now; reassign its workflows


class KeyList(BaseModel):
    keys: list[KeyInfo]
    owners: list[OwnerInfo]


class ReassignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", min_length=1, max_length=200)
    to: str = Field(min_length=1, max_length=200)


class ReassignResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    workflows: int
    executions: int
    session_turns: int


def _info(p: Principal, owned: dict[str, int]) -> KeyInfo:
    return KeyInfo.model_validate({**serializers.principal(p), "workflows_owned": owned.get(p.name, 0)})


async def key_list(gw: Gateway) -> KeyList:
    owned = await workflow_owners(gw.storage)
    principals = sorted(gw.keys.principals(), key=lambda p: (p.source, p.name))
    names = {p.name for p in principals}
    return KeyList(
        keys=[_info(p, owned) for p in principals],
        owners=[OwnerInfo(owner=o, workflows=n, has_key=o in names) for o, n in owned.items()],
    )


async def _refresh(gw: Gateway) -> None:
    await gw.keys.stored.refresh(gw.storage, gw.keys.file_names())


@routes.operation(
    "POST",
    "/api/v1/admin/keys",
    operation_id="createKey",
    tag="admin",
    summary="Make an API key (shown once; only its digest is stored)",
    body=CreateKeyRequest,
    replies=(Reply(201, "the key, this once", CreatedKey),),
    errors=(schemas.InvalidRequestError, *_ADMIN, schemas.ConflictError),
)
async def create(request: web.Request) -> web.Response:
    require_admin(request)
    gw = gateway(request)
    body = await parse_body(request, CreateKeyRequest)
    spec = NewKey(
        name=body.name,
        tier=body.tier,
        admin=body.admin,
        read_only=body.read_only,
        workflows=body.workflows,
        expires_at=body.expires_at,
    )
    secret = await create_key(gw.storage, gw.settings, spec)
    await _refresh(gw)
    created = CreatedKey(
        name=spec.name,
        source="database",
        tier=spec.tier,
        admin=spec.admin,
        read_only=spec.read_only,
        workflows=spec.workflows,
        expires_at=iso(spec.expires_at),
        created_at=iso(spec.created_at),
        workflows_owned=(await workflow_owners(gw.storage)).get(spec.name, 0),
        key=secret,
    )
    return json_response(created.model_dump(), status=201)


@routes.operation(
    "GET",
    "/api/v1/admin/keys",
    operation_id="listKeys",
    tag="admin",
    summary="Every key (file, generated, database; never a secret) and which names own workflows",
    replies=(Reply(200, "the keys and the owners", KeyList),),
    errors=_ADMIN,
)
async def list_(request: web.Request) -> web.Response:
    require_admin(request)
    return json_response((await key_list(gateway(request))).model_dump())


@routes.operation(
    "DELETE",
    "/api/v1/admin/keys/{name}",
    operation_id="revokeKey",
    tag="admin",
    summary="Revoke a database key (or the generated one); a file key is removed from the file",
    replies=(Reply(204, "revoked"),),
    errors=(schemas.InvalidRequestError, *_ADMIN, schemas.NotFoundError, schemas.ConflictError),
)
async def revoke(request: web.Request) -> web.Response:
    who = require_admin(request)
    gw = gateway(request)
    name = request.match_info["name"]
    if name == who.name:
        raise problem(["path", "name"], "a key cannot revoke itself; use another admin key")
    await revoke_key(gw.storage, gw.settings, name)
    gw.keys.drop_generated_if_deleted()
    await _refresh(gw)
    return web.Response(status=204)


@routes.operation(
    "POST",
    "/api/v1/admin/workflows/reassign",
    operation_id="reassignWorkflows",
    tag="admin",
    summary="Move the workflows, executions and sessions one name owns to another",
    body=ReassignRequest,
    replies=(Reply(200, "what moved", ReassignResult),),
    errors=(schemas.InvalidRequestError, *_ADMIN),
)
async def reassign(request: web.Request) -> web.Response:
    require_admin(request)
    gw = gateway(request)
    body = await parse_body(request, ReassignRequest)
    counts = await reassign_workflows(gw.storage, body.from_, body.to)
    gw.catalog.forget_stored()  # cached workflows still name the old owner
    result = ReassignResult.model_validate({"from": body.from_, "to": body.to, **counts})
    return json_response(result.model_dump(by_alias=True))
