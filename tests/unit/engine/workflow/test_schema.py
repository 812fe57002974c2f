"""An admin's editor checks workflow files against the JSON Schema made from the node registry:
it accepts every workflow we ship and test with, and refuses the mistakes the engine refuses
that a schema can see (an unknown node type, an unknown config key)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
import yaml
from hypothesis import given

from config.workflow_files import SUFFIXES
from engine.workflow.graph import compile_workflow, parse_spec
from engine.workflow.nodes import REGISTRY, NodeConfig, NodeContext
from engine.workflow.schema import COMMON_KEYS, workflow_schema, workflow_schema_json
from tests.api.support import chat_workflow
from tests.support.chatgate import ROOT, seed_workflow
from tests.support.workflow_docs import DIAMOND_LINKS, DIAMOND_NODES
from tests.unit.strategies import examples, valid_workflows

SHIPPED = sorted(
    p for d in (ROOT / "config" / "workflows", ROOT / "examples") for p in d.iterdir() if p.suffix in SUFFIXES
)


def _validator() -> jsonschema.Draft7Validator:
    schema = workflow_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _read(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def _errors(doc: Any) -> list[str]:
    return [f"{e.json_path}: {e.message}" for e in _validator().iter_errors(doc)]


def test_the_schema_is_a_valid_draft_7_schema_of_every_registered_node_type() -> None:
    schema = workflow_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert jsonschema.validators.validator_for(schema) is jsonschema.Draft7Validator
    branches = schema["properties"]["nodes"]["items"]
    types = {
        schema["definitions"][ref["$ref"].rsplit("/", 1)[1]]["properties"]["type"]["const"]
        for ref in branches.get("oneOf", [branches])
    }
    assert types == set(REGISTRY)
    later = {"$defs", "prefixItems", "unevaluatedProperties", "dependentRequired", "$dynamicRef"}
    stack: list[Any] = [schema]
    while stack:  # editors implement draft 7: nothing of a later draft, no $ref with siblings
        value = stack.pop()
        if isinstance(value, dict):
            assert not later & value.keys(), value.keys()
            assert "$ref" not in value or len(value) == 1, value
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_workflow_file_passes(path: Path) -> None:
    doc = _read(path)
    compile_workflow(parse_spec(doc))  # the engine takes it: the schema must too
    assert _errors(doc) == []


DIAMOND = {"name": "diamond", "nodes": DIAMOND_NODES, "connections": DIAMOND_LINKS}
CONFIGURED = chat_workflow(temperature=0.5, max_tokens=10, use_history=False)


@pytest.mark.parametrize(
    "doc",
    [seed_workflow(), chat_workflow(), CONFIGURED, DIAMOND],
    ids=["seed", "chat", "chat-configured", "diamond"],
)
def test_the_test_suites_workflows_pass(doc: dict[str, Any]) -> None:
    compile_workflow(parse_spec(doc))
    assert _errors(doc) == []


@examples(100)
@given(doc=valid_workflows())
def test_every_generated_valid_document_passes(doc: dict[str, Any]) -> None:
    """What the property tests compile (ports, nested references, retry, on_error, default)."""
    assert _errors(doc) == []


def test_a_node_with_an_unknown_config_key_is_refused() -> None:
    doc = seed_workflow()
    doc["nodes"][1]["config"]["promt"] = "hi"
    assert _errors(doc)
    common = copy.deepcopy(seed_workflow())
    common["nodes"][1]["config"]["retry"] = {"max_attempts": 2, "backof_s": 1}  # inside a common key
    assert _errors(common)


def test_a_node_of_an_unknown_type_is_refused() -> None:
    doc = seed_workflow()
    doc["nodes"][1]["type"] = "wizard"
    assert _errors(doc)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(extra=1),
        lambda d: d.update(name=""),
        lambda d: d["nodes"][1].pop("id"),
        lambda d: d["nodes"][1]["config"].update(on_error="retry"),
        lambda d: d["nodes"][1]["config"].update(timeout_s=0),
        lambda d: d["connections"][0].update(port=""),
        lambda d: d["connections"][0].pop("from"),
    ],
    ids=["top-level key", "empty name", "no id", "on_error", "timeout_s", "empty port", "no from"],
)
def test_what_the_engine_refuses_by_shape_the_schema_refuses_too(change: Any) -> None:
    doc = seed_workflow()
    change(doc)
    assert _errors(doc)


def test_the_common_keys_are_described_on_every_node_type() -> None:
    schema = workflow_schema()
    for name, node_type in REGISTRY.items():
        config = schema["definitions"][node_type.config_model.__name__]
        for key in COMMON_KEYS:
            assert config["properties"][key]["description"], (name, key)


class _Echo:
    type_name: ClassVar[str] = "shout_back"
    config_model: ClassVar[type[NodeConfig]] = NodeConfig
    instant: ClassVar[bool] = True

    def __init__(self, node_id: str, config: NodeConfig) -> None:
        self.timeout_s = config.timeout_s

    def outputs(self) -> frozenset[str]:
        return frozenset()

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        return {}


def test_a_node_type_added_to_the_registry_appears_without_touching_the_schema(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = workflow_schema_json()
    doc = {"name": "x", "nodes": [{"id": "s", "type": "start"}, {"id": "b", "type": "shout_back"}]}
    assert _errors(doc)
    monkeypatch.setitem(REGISTRY, "shout_back", _Echo)
    assert workflow_schema_json() != before
    assert _errors(doc) == []
    assert _errors({**doc, "nodes": [doc["nodes"][0], {**doc["nodes"][1], "config": {"x": 1}}]})
    monkeypatch.delitem(REGISTRY, "shout_back")
    assert workflow_schema_json() == before


def test_the_schema_is_made_once_per_registry_contents() -> None:
    assert workflow_schema_json() is workflow_schema_json()
    mine = workflow_schema()
    mine["title"] = "changed"
    assert workflow_schema()["title"] != "changed"  # each caller gets its own copy
