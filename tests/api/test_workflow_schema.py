"""An admin points their editor at ``/api/v1/schemas/workflow.json`` to get completion and
checking of workflow files: no key needed, served as a JSON Schema, in the OpenAPI document,
and it accepts the server's own workflow while refusing a misspelt key or node type."""

from __future__ import annotations

import jsonschema
import pytest

from tests.api.shared_server import SharedServer
from tests.support.chatgate import seed_workflow

pytestmark = pytest.mark.timeout(60)


async def test_the_workflow_schema_is_served_without_a_key_as_a_json_schema(
    shared_server: SharedServer,
) -> None:
    async with shared_server.client(None) as http:
        r = await http.get("/api/v1/schemas/workflow.json")
        assert r.status == 200, await r.text()
        assert r.headers["Content-Type"].startswith("application/schema+json")
        assert "X-Rate-Limit-Remaining" not in r.headers  # public like the OpenAPI document
        schema = await r.json(content_type=None)
        head = await http.head("/api/v1/schemas/workflow.json")
        assert head.status == 200
        doc = await (await http.get("/api/v1/openapi.json")).json()
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    assert list(validator.iter_errors(seed_workflow())) == []
    typo = seed_workflow()
    typo["nodes"][1]["config"]["system_promt"] = "Be brief."
    assert [e.message for e in validator.iter_errors(typo)]
    wizard = seed_workflow()
    wizard["nodes"][1]["type"] = "wizard"
    assert [e.message for e in validator.iter_errors(wizard)]
    op = doc["paths"]["/api/v1/schemas/workflow.json"]["get"]
    assert op["security"] == []
    assert "application/schema+json" in op["responses"]["200"]["content"]


async def test_a_key_is_not_needed_but_a_bad_one_is_not_refused_either(shared_server: SharedServer) -> None:
    """Editors send no key; one that sends a stale key still gets the schema (nothing is secret)."""
    async with shared_server.client("not-a-key") as http:
        r = await http.get("/api/v1/schemas/workflow.json")
        assert r.status == 200
