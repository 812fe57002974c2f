"""``/api/v1/openapi.json``: the API described for client generators and humans."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from chatgate import __version__
from chatgate.http.errors import json_response
from chatgate.http.workflows import ExecuteRequest
from engine.workflow import WorkflowSpec

routes = web.RouteTableDef()


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "invalid_request or invalid_workflow"),
    "401": _json(_ref("Error"), "unauthorized: missing or unknown API key"),
    "404": _json(_ref("Error"), "not_found"),
    "413": _json(_ref("Error"), "payload_too_large"),
    "429": _json(_ref("Error"), "rate_limit_exceeded (see Retry-After)"),
}
_FILE_WORKFLOW = {"403": _json(_ref("Error"), "forbidden: a file-loaded workflow is edited in its file")}
_WF_PATH = [
    {
        "name": "workflow_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
        "description": "wf_… id, or the name of a file-loaded workflow",
    }
]


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}

    def model(cls: Any, name: str) -> dict[str, str]:
        schema = cls.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
        return _ref(name)

    spec = model(WorkflowSpec, "WorkflowSpec")
    execute = model(ExecuteRequest, "ExecuteRequest")
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "details"],
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {}},
            },
            "execution_id": {"type": "string"},
            "status": {"type": "string", "enum": ["failed"]},
        },
    }
    schemas["Workflow"] = {
        "allOf": [
            spec,
            {
                "type": "object",
                "properties": {
                    "workflow_id": {"type": "string"},
                    "status": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "updated_at": {"type": "string", "format": "date-time"},
                },
            },
        ]
    }
    schemas["Execution"] = {
        "type": "object",
        "properties": {
            "execution_id": {"type": "string"},
            "status": {"type": "string", "enum": ["completed", "failed", "running", "cancelled"]},
            "result": {"type": ["object", "null"], "properties": {"content": {"type": "string"}}},
            "start_time": {"type": "string", "format": "date-time"},
            "end_time": {"type": ["string", "null"], "format": "date-time"},
        },
    }
    rate_headers = {
        "X-Rate-Limit-Remaining": {"schema": {"type": "integer"}},
        "X-Rate-Limit-Reset": {"schema": {"type": "integer"}, "description": "unix seconds"},
    }

    def ok(schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {**_json(schema, description), "headers": rate_headers}

    paths: dict[str, Any] = {
        "/api/v1/workflows": {
            "post": {
                "summary": "Create a workflow",
                "requestBody": {"required": True, "content": {"application/json": {"schema": spec}}},
                "responses": {
                    "201": ok(
                        {
                            "type": "object",
                            "properties": {
                                "workflow_id": {"type": "string"},
                                "status": {"const": "created"},
                                "created_at": {"type": "string"},
                            },
                        },
                        "created",
                    ),
                    **_ERRORS,
                },
            },
            "get": {
                "summary": "List workflows (file-loaded first, then your own)",
                "parameters": [
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {
                        "name": "page_size",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                    },
                ],
                "responses": {"200": ok({"type": "object"}, "a page of workflows"), **_ERRORS},
            },
        },
        "/api/v1/workflows/{workflow_id}": {
            "parameters": _WF_PATH,
            "get": {
                "summary": "Get a workflow",
                "responses": {"200": ok(_ref("Workflow"), "the workflow"), **_ERRORS},
            },
            "put": {
                "summary": "Replace a workflow",
                "requestBody": {"required": True, "content": {"application/json": {"schema": spec}}},
                "responses": {"200": ok(_ref("Workflow"), "updated"), **_ERRORS, **_FILE_WORKFLOW},
            },
            "delete": {
                "summary": "Delete a workflow",
                "responses": {"204": {"description": "deleted"}, **_ERRORS, **_FILE_WORKFLOW},
            },
        },
        "/api/v1/workflows/{workflow_id}/execute": {
            "parameters": _WF_PATH,
            "post": {
                "summary": "Execute a workflow (JSON, or Server-Sent Events with stream=true)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": execute}}},
                "responses": {
                    "200": {
                        **ok(_ref("Execution"), "completed"),
                        "content": {
                            "application/json": {"schema": _ref("Execution")},
                            "text/event-stream": {
                                "schema": {
                                    "type": "string",
                                    "description": "events node_started, node_finished, message_delta, "
                                    "then execution_finished or error",
                                }
                            },
                        },
                    },
                    **_ERRORS,
                    "502": _json(_ref("Error"), "execution_failed: the model failed after retries"),
                    "504": _json(_ref("Error"), "execution_failed: timed out"),
                },
            },
        },
        "/api/v1/executions/{execution_id}": {
            "parameters": [
                {"name": "execution_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": {
                "summary": "An execution with every node's outputs",
                "responses": {"200": ok(_ref("Execution"), "the execution"), **_ERRORS},
            },
        },
        "/api/v1/sessions/{session_id}": {
            "parameters": [
                {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "delete": {
                "summary": "Forget a session's conversation history",
                "responses": {"200": ok({"type": "object"}, "reset"), **_ERRORS},
            },
        },
        "/api/v1/admin/reload": {
            "post": {
                "summary": "Reload the config file and workflow files now (admin keys only)",
                "responses": {
                    "200": ok({"type": "object"}, "applied or unchanged: version, changes"),
                    **_ERRORS,
                    "403": _json(_ref("Error"), "forbidden: not an admin key (admins: [key:<name>])"),
                    "422": _json(_ref("Error"), "invalid_config: rejected, the old config keeps running"),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Health and state (no auth)",
                "security": [],
                "responses": {"200": {"description": "ok"}},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "chatgate", "version": __version__},
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }


_DOCUMENT = document()


@routes.get("/api/v1/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return json_response(_DOCUMENT)
