"""``/api/v1/schemas/workflow.json``: the JSON Schema of a workflow document, for editors
(completion and checking of workflow files). Public like the OpenAPI document: it says what
the engine accepts, nothing of this server's workflows, keys or config."""

from __future__ import annotations

from aiohttp import web

from chatgate.http.operations import Operations, Reply
from engine.workflow.schema import MEDIA_TYPE, workflow_schema_json

routes = Operations()

PATH = "/api/v1/schemas/workflow.json"


@routes.operation(
    "GET",
    PATH,
    operation_id="workflowSchema",
    tag="workflows",
    summary="The JSON Schema (draft 7) of a workflow document, every node type included (no key)",
    description=(
        "Made from the node types this server runs. Point an editor at it, e.g. the YAML "
        "language server's `# yaml-language-server: $schema=<this URL>` first line. Passing it is "
        "not the whole check: references, ports and cycles are validated when a workflow is "
        "created or loaded."
    ),
    public=True,
    replies=(Reply(200, "the schema", media={MEDIA_TYPE: "JSON Schema draft 7"}),),
)
async def workflow_schema(request: web.Request) -> web.Response:
    return web.Response(body=workflow_schema_json(), content_type=MEDIA_TYPE)
