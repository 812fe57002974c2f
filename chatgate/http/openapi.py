"""``/api/v1/openapi.json``: the document generated from the app's routes and their
declarations (``chatgate/http/operations.py``) and models (``chatgate/http/schemas.py``).

A route without a declaration fails the document, so nothing is served undocumented."""

from __future__ import annotations

import re
from typing import Any, Literal, get_args

import orjson
from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from chatgate import __version__
from chatgate.http import errors, schemas
from chatgate.http.operations import BY_HANDLER, Operation, Operations, Reply

routes = Operations()

Mode = Literal["validation", "serialization"]
_REF = "#/components/schemas/{model}"
_PATH_PARAMS = {
    "workflow_id": "a `wf_…` id, or the name of a file-loaded workflow",
    "execution_id": "an `exec_…` id",
    "session_id": "the session_id the executions were sent with",
    "bot": "the bot's name",
    "name": "the key's name",
    "file_id": "a `file_…` id",
}
_PATH_EXAMPLES = {"workflow_id": "support_bot", "asset": "swagger-ui.css", "bot": "tg-main"}
_TAGS = [
    ("workflows", "Create, read, list, replace and delete workflows"),
    ("executions", "Run workflows and read their executions"),
    ("sessions", "Conversations kept by session_id"),
    ("admin", "Admin keys only (admins: [key:<name>])"),
    ("operations", "Health for operators and load balancers (no key)"),
    ("telegram", "Telegram webhooks (called by Telegram)"),
    ("files", "Files workflows took in or sent out, by signed URL (no key)"),
    ("meta", "This document and its docs page (no key)"),
]
# Every request under /api/v1 with a key can meet these, whatever the operation.
# (403: a read-only key writing, or a key scoped to some workflows running another.)
_KEYED = (schemas.UnauthorizedError, schemas.ForbiddenError, schemas.RateLimitError, schemas.UnavailableError)
_CODE_STATUS: dict[str, set[int]] = {}
for _cls, _status in errors.STATUS.items():
    _CODE_STATUS.setdefault(_cls.code, set()).add(_status)
_CODE_STATUS["invalid_config"] = {422}
_RATE_HEADERS = {
    "X-Rate-Limit-Remaining": {"schema": {"type": "integer"}, "description": "requests left in the window"},
    "X-Rate-Limit-Reset": {"schema": {"type": "integer"}, "description": "unix seconds"},
}


def code_of(model: type[schemas.Shape]) -> str:
    code: str = get_args(model.model_fields["code"].annotation)[0]
    return code


def statuses_of(model: type[schemas.Shape]) -> set[int]:
    return _CODE_STATUS[code_of(model)]


def _error_models(op: Operation) -> list[type[schemas.Shape]]:
    found: list[type[schemas.Shape]] = [] if op.public else list(_KEYED)
    if op.body is not None:
        found.append(schemas.PayloadTooLargeError)
    found += [m for m in op.errors if m not in found]
    found.append(schemas.InternalError)
    return found


def _operations(router: web.UrlDispatcher) -> list[tuple[str, str, Operation]]:
    found = []
    for route in router.routes():
        if route.method == "HEAD":
            continue
        op = BY_HANDLER.get(route.handler)
        path = route.resource.canonical if route.resource is not None else ""
        if op is None:
            raise RuntimeError(f"{route.method} {path} is not declared with @routes.operation")
        found.append((path, route.method.lower(), op))
    return found


def document(router: web.UrlDispatcher) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route ``router`` serves."""
    ops = _operations(router)
    wanted: list[tuple[type[BaseModel], Mode]] = []

    def want(model: type[BaseModel], mode: Mode) -> None:
        if (model, mode) not in wanted:
            wanted.append((model, mode))

    for _, _, op in ops:
        if op.body is not None:
            want(op.body, "validation")
        for reply in op.replies:
            if reply.model is not None:
                want(reply.model, "serialization")
        for model in _error_models(op):
            want(model, "serialization")
    for model in _ALL_ERRORS:
        want(model, "serialization")
    refs, defs = models_json_schema(wanted, ref_template=_REF)
    components: dict[str, Any] = dict(defs.get("$defs", {}))
    # Any error of the API, for client generators; each response names its own codes.
    components["Error"] = _envelope({"oneOf": [dict(refs[(m, "serialization")]) for m in _ALL_ERRORS]})

    def ref(model: type[BaseModel], mode: Mode) -> dict[str, Any]:
        return dict(refs[(model, mode)])

    paths: dict[str, dict[str, Any]] = {}
    ids: dict[str, int] = {}
    for path, method, op in ops:
        ids[op.operation_id] = ids.get(op.operation_id, 0) + 1
        operation_id = op.operation_id + ("" if ids[op.operation_id] == 1 else str(ids[op.operation_id]))
        paths.setdefault(path, {})[method] = _operation(path, op, operation_id, ref)
    return {
        "openapi": "3.1.0",
        "info": {"title": "chatgate", "version": __version__, "description": _description()},
        "tags": [{"name": n, "description": d} for n, d in _TAGS],
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API key"},
                "telegramSecret": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Telegram-Bot-Api-Secret-Token",
                },
            },
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


def _operation(path: str, op: Operation, operation_id: str, ref: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"operationId": operation_id, "tags": [op.tag], "summary": op.summary}
    if op.description:
        out["description"] = op.description
    if op.public:
        out["security"] = [{"telegramSecret": []}] if op.tag == "telegram" else []
    params = _parameters(path, op)
    if params:
        out["parameters"] = params
    if op.body is not None:
        media: dict[str, Any] = {"schema": ref(op.body, "validation")}
        if op.examples:
            media["examples"] = {name: {"value": value} for name, value in op.examples}
        out["requestBody"] = {"required": True, "content": {"application/json": media}}
    headers = {} if op.public else _RATE_HEADERS
    responses = {str(reply.status): _reply(reply, ref, headers) for reply in op.replies}
    responses.update(_error_responses(op, ref))
    out["responses"] = responses
    return out


def _parameters(path: str, op: Operation) -> list[dict[str, Any]]:
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
            "description": _PATH_PARAMS.get(name, name),
            **({"example": _PATH_EXAMPLES[name]} if name in _PATH_EXAMPLES else {}),
        }
        for name in re.findall(r"{(\w+)}", path)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            prop = dict(prop)
            prop.pop("title", None)
            params.append(
                {"name": name, "in": "query", "required": name in schema.get("required", []), "schema": prop}
            )
    return params


def _error_responses(op: Operation, ref: Any) -> dict[str, Any]:
    """Every error the operation can meet, one response per status (several codes: oneOf)."""
    by_status: dict[int, list[type[schemas.Shape]]] = {}
    for model in _error_models(op):
        for status in sorted(statuses_of(model)):
            by_status.setdefault(status, []).append(model)
    responses: dict[str, Any] = {}
    for status, models in sorted(by_status.items()):
        refs = [ref(m, "serialization") for m in models]
        error = refs[0] if len(refs) == 1 else {"oneOf": refs}
        response: dict[str, Any] = {
            "description": ", ".join(code_of(m) for m in models),
            "content": {"application/json": {"schema": _envelope(error)}},
        }
        if status == 429:
            response["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}}
        responses[str(status)] = response
    return responses


def _reply(reply: Reply, ref: Any, headers: dict[str, Any]) -> dict[str, Any]:
    description = reply.description
    content: dict[str, Any] = {}
    if reply.model is not None:
        content["application/json"] = {"schema": ref(reply.model, "serialization")}
    for media, about in reply.media.items():
        json = media == "application/json" or media.endswith("+json")  # a JSON Schema is JSON too
        content[media] = {"schema": {"type": "object"} if json else {"type": "string"}}
        description += f"; {media}: {about}"
    out: dict[str, Any] = {"description": description}
    if content:
        out["content"] = content
    if headers:
        out["headers"] = headers
    return out


def _envelope(error: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": error,
            "execution_id": {"type": "string", "description": "the execution that failed"},
            "status": {"const": "failed"},
        },
    }


_ALL_ERRORS: tuple[type[schemas.Shape], ...] = (
    schemas.InvalidRequestError,
    schemas.InvalidWorkflowError,
    schemas.UnauthorizedError,
    schemas.ForbiddenError,
    schemas.NotFoundError,
    schemas.ConflictError,
    schemas.MethodNotAllowedError,
    schemas.RequestTimeoutError,
    schemas.PayloadTooLargeError,
    schemas.InvalidConfigError,
    schemas.RateLimitError,
    schemas.InternalError,
    schemas.ExecutionFailedError,
    schemas.DestinationNotAllowedError,
    schemas.CodeFailedError,
    schemas.UnavailableError,
)


def _description() -> str:
    rows = []
    for model in _ALL_ERRORS:
        details = model.model_fields["details"]
        about = details.description or ""
        status = " / ".join(str(s) for s in sorted(statuses_of(model)))
        rows.append(f"| `{code_of(model)}` | {status} | {about} |")
    return (
        "A self-hosted chat-bot gateway backed by workflows. Every `/api/v1` call needs "
        '`Authorization: Bearer <key>`. Errors are `{"error": {code, message, details}}`; '
        "`details` has one shape per code:\n\n| code | status | details |\n|---|---|---|\n"
        + "\n".join(rows)
        + "\n\nAny request may also be refused before it reaches an operation, in the same envelope: "
        "400 `invalid_request` for a malformed HTTP request (oversized header or URL, a body that does "
        "not decode), 408 `request_timeout` for headers that arrive too slowly, 417 for an unknown "
        "`Expect`, and 503 `service_unavailable` when the server is at `server.max_connections`."
    )


DOCUMENT = web.AppKey("openapi_document", bytes)


def install(app: web.Application) -> None:
    """Once every route is added: the document, made once (and a route without a
    declaration stops the start-up here)."""
    app[DOCUMENT] = orjson.dumps(document(app.router))


@routes.operation(
    "GET",
    "/api/v1/openapi.json",
    operation_id="openapi",
    tag="meta",
    summary="This document (no key)",
    public=True,
    replies=(Reply(200, "the OpenAPI document", media={"application/json": "OpenAPI 3.1"}),),
)
async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[DOCUMENT], content_type="application/json")
