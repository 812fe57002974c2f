"""The JSON Schema of the workflow document, generated from the pydantic models.

`WorkflowSpec` keeps a node's ``config`` an open object (the graph validates it against its
type's model); here each ``nodes`` item is instead one of the registry's node types,
discriminated by ``type``, with that type's ``config_model`` (the common `NodeConfig` keys
included). Editors use it to complete and check workflow files; the engine does not: its own
validation (`engine.workflow.graph`) stays the authority, with checks no schema can say
(references, ports, cycles).

Made from the registry as it stands when asked, and kept while the registry holds the same
types, so a node type added with its registry line appears without touching this module.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any, Literal, Union

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from engine.workflow.document import Connection, NodeSpec, WorkflowSpec
from engine.workflow.nodes import REGISTRY, Node

# Draft 7: what editors' JSON Schema support (vscode-json-languageservice, so the YAML language
# server) implements fully; nothing here needs a later draft.
DIALECT = "http://json-schema.org/draft-07/schema#"
MEDIA_TYPE = "application/schema+json"

_Key = tuple[tuple[str, type[Node]], ...]
_made: dict[_Key, bytes] = {}  # the latest registry's schema only: one entry


def workflow_schema_json() -> bytes:
    """The schema as JSON bytes, made once per registry contents."""
    key: _Key = tuple(REGISTRY.items())
    found = _made.get(key)
    if found is None:
        found = orjson.dumps(_schema(key), option=orjson.OPT_INDENT_2)
        _made.clear()
        _made[key] = found
    return found


def workflow_schema() -> dict[str, Any]:
    """The schema as a fresh mapping (the caller may change it)."""
    schema: dict[str, Any] = orjson.loads(workflow_schema_json())
    return schema


def _schema(registry: _Key) -> dict[str, Any]:
    node_models = [_node_model(name, node_type) for name, node_type in registry]
    if len(node_models) == 1:
        any_node: Any = node_models[0]
    else:
        any_node = Annotated[Union[tuple(node_models)], Field(discriminator="type")]  # noqa: UP007
    fields = WorkflowSpec.model_fields
    document = create_model(
        "Workflow",
        __config__=ConfigDict(extra="forbid"),
        __doc__=(
            "A chatgate workflow: nodes (each of a registered type, configured by its own keys "
            "plus timeout_s, retry, on_error and default) and the connections between them."
        ),
        name=(str, fields["name"]),
        description=(str, fields["description"]),
        nodes=(list[any_node], Field(description="The nodes; exactly one of type start.")),
        connections=(
            list[Connection],
            Field([], description="from → to, optionally naming the source's output port."),
        ),
    )
    schema = document.model_json_schema(mode="validation", ref_template="#/definitions/{model}")
    definitions = schema.pop("$defs", {})
    for definition in definitions.values():
        _describe_common_keys(definition)
    made: dict[str, Any] = _draft_7({"$schema": DIALECT, **schema, "definitions": definitions})
    return made


def _draft_7(value: Any) -> Any:
    """Draft 7 ignores a ``$ref``'s siblings (a property's description): wrap it in allOf.
    (Our own schema, a few levels deep: recursion is safe here.)"""
    if isinstance(value, list):
        return [_draft_7(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: _draft_7(v) for k, v in value.items()}
    if "$ref" in out and len(out) > 1:
        out["allOf"] = [{"$ref": out.pop("$ref")}]
    return out


# What an editor shows on the keys every node type has (NodeConfig says it in comments only).
COMMON_KEYS = {
    "timeout_s": "Seconds this node may run (default: engine.node_timeout_s).",
    "retry": (
        "Attempts for transient failures: max_attempts, and backoff_s before the second (doubled after each)."
    ),
    "on_error": (
        "fail: the execution fails; continue: the outputs become `default` and the run goes on; "
        "branch: the run goes on along this node's `error` port, with output error: {code, message}."
    ),
    "default": "The node's outputs when it failed and on_error is continue.",
}


def _describe_common_keys(definition: dict[str, Any]) -> None:
    properties = definition.get("properties", {})
    if COMMON_KEYS.keys() <= properties.keys():  # a node type's config
        for key, text in COMMON_KEYS.items():
            properties[key].setdefault("description", text)


def _node_model(name: str, node_type: type[Node]) -> type[BaseModel]:
    config_model = node_type.config_model
    fields = NodeSpec.model_fields
    config: Any = (config_model, Field(description=f"The {name} node's settings."))
    if _accepts_empty(config_model):  # no required key: config may be left out, as the engine allows
        config = (config_model, Field(default_factory=dict, description=f"The {name} node's settings."))
    return create_model(
        _model_name(name),
        __config__=ConfigDict(extra="forbid", title=f"{name} node"),
        __doc__=_summary(node_type),
        id=(str, fields["id"]),
        type=(Literal[name], ...),
        config=config,
    )


def _accepts_empty(model: type[BaseModel]) -> bool:
    try:
        model.model_validate({})
    except ValidationError:
        return False
    return True


def _model_name(type_name: str) -> str:
    words = re.split(r"[^A-Za-z0-9]+", type_name)
    return "".join(w[:1].upper() + w[1:] for w in words) + "NodeSpec"


def _summary(node_type: type[Node]) -> str | None:
    """What the node type's module says it is: its docstring's first line."""
    module = sys.modules.get(node_type.__module__)
    doc = (node_type.__doc__ or "") if module is None else (module.__doc__ or node_type.__doc__ or "")
    first = doc.strip().splitlines()[0].strip() if doc.strip() else ""
    return first or None
