"""A workflow offered as a tool: its inputs become the function's JSON-schema parameters, and
what the model writes as arguments is read strictly."""

from __future__ import annotations

import jsonschema
import pytest

from engine.workflow.nodes.response import ResponseConfig
from engine.workflow.nodes.start import InputParam
from engine.workflow.nodes.tools.items import WorkflowTool
from engine.workflow.nodes.tools.parameters import (
    MAX_ARGUMENT_BYTES,
    BadArguments,
    parameters_schema,
    parse_arguments,
)


def test_each_input_becomes_a_typed_property_and_only_inputs_without_a_default_are_required() -> None:
    schema = parameters_schema(
        [
            InputParam(name="order", description="the order number"),
            InputParam(name="count", type="number", required=True, default=1),
            InputParam(name="urgent", type="boolean", required=False),
            InputParam(name="filters", type="object", required=False),
        ]
    )
    assert schema == {
        "type": "object",
        "properties": {
            "order": {"type": "string", "description": "the order number"},
            "count": {"type": "number", "default": 1},
            "urgent": {"type": "boolean"},
            "filters": {"type": "object"},
        },
        "required": ["order"],
    }
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate({"order": "A-1"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"count": 2}, schema)


def test_a_workflow_without_inputs_takes_an_empty_object() -> None:
    assert parameters_schema([]) == {"type": "object", "properties": {}}


def test_arguments_are_a_json_object_or_nothing() -> None:
    assert parse_arguments('{"order": "A-1"}') == {"order": "A-1"}
    assert parse_arguments("  ") == {}


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("{not json", "not valid JSON"),
        ('["A-1"]', "must be a JSON object"),
        ('"A-1"', "must be a JSON object"),
        ('{"order": "' + "x" * MAX_ARGUMENT_BYTES + '"}', "over 65536 bytes"),
    ],
)
def test_arguments_a_tool_cannot_take_are_refused_with_what_to_tell_the_model(text: str, told: str) -> None:
    with pytest.raises(BadArguments, match=told):
        parse_arguments(text)


def test_a_tool_is_named_as_a_model_can_call_it() -> None:
    assert WorkflowTool(workflow="lookup_order").tool_name() == "lookup_order"
    assert WorkflowTool(workflow="wf_0123").tool_name("lookup order") == "wf_0123"
    assert WorkflowTool(workflow="wf_0123").tool_name("lookup_order") == "lookup_order"
    with pytest.raises(ValueError, match="give the tool a 'name'"):
        WorkflowTool(workflow="look up!").tool_name("also bad!")
    with pytest.raises(ValueError, match="1 to 64 letters"):
        WorkflowTool(workflow="x", name="no spaces")
    with pytest.raises(ValueError, match="reference"):
        WorkflowTool(workflow="{{inputs.which}}")


def test_a_node_may_not_offer_two_tools_of_one_name_nor_rounds_without_bound() -> None:
    with pytest.raises(ValueError, match="two tools are named 'lookup'"):
        ResponseConfig.model_validate(
            {"tools": [{"workflow": "lookup"}, {"workflow": "wf_1", "name": "lookup"}]}
        )
    with pytest.raises(ValueError, match="max_tool_rounds"):
        ResponseConfig.model_validate({"tools": [{"workflow": "lookup"}], "max_tool_rounds": 1000})
    with pytest.raises(ValueError, match="tools"):
        ResponseConfig.model_validate({"tools": [{"workflow": f"w{i}"} for i in range(21)]})
