"""Requests parsed into their pydantic models, responses shaped by theirs."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from engine.errors import PayloadTooLarge, invalid_request, parse_request, problem

M = TypeVar("M", bound=BaseModel)


async def _read(request: web.Request, max_bytes: int | None = None) -> bytes:
    """``max_bytes``: a larger limit than the server's for this body (files sent inline)."""
    if max_bytes is None:
        raw = await request.read()  # raises 413 past client_max_size
    else:
        try:
            raw = await request.clone(client_max_size=max_bytes).read()
        except web.HTTPRequestEntityTooLarge:
            raise PayloadTooLarge(
                f"the request body is larger than the limit of {max_bytes} bytes", {"max_bytes": max_bytes}
            ) from None
    if not raw or raw.isspace():
        raise problem(["body"], "the request body is empty; send a JSON object")
    return raw


async def read_json(request: web.Request, max_bytes: int | None = None) -> Any:
    """The JSON body, not yet validated: for a workflow document, which the catalog parses
    into its `WorkflowSpec` itself (bounds checked first, a large one off the event loop)."""
    try:
        return orjson.loads(await _read(request, max_bytes))
    except orjson.JSONDecodeError as e:
        raise problem(["body"], f"the request body is not valid JSON: {e}") from None


async def parse_body(request: web.Request, model: type[M], max_bytes: int | None = None) -> M:
    """The JSON body as ``model``; every problem is a 400 ``invalid_request`` listing
    ``{loc, msg}``. Parsed by orjson, whose nesting limit is above the engine's storable
    depth, so a too-deep input is named as such (pydantic's own parser stops sooner)."""
    return parse_request(model, await read_json(request, max_bytes))


def parse_query(request: web.Request, model: type[M]) -> M:
    """The query string as ``model`` (repeated parameters: the last one counts)."""
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as e:
        error = invalid_request(e, model)
        for p in error.details:
            p["loc"][0] = "query"
        name = error.details[0]["loc"][1]
        error.message = f"query parameter '{name}' {error.details[0]['msg']}"
        raise error from None


def respond(model: type[BaseModel], body: dict[str, Any], status: int = 200) -> web.Response:
    """``body`` validated into its response model and sent as JSON with exactly the keys it set,
    so a response that does not match the document fails here rather than at a client."""
    shaped = model.model_validate(body)
    return web.Response(
        body=shaped.model_dump_json(by_alias=True, exclude_unset=True),
        status=status,
        content_type="application/json",
    )
