"""The extract node: its parameters are checked when the workflow is, the model is asked for
exactly their keys, its answer becomes typed outputs with ``missing`` and ``ok``, and the
offline model reads ``name: value`` pairs, enum options and a lone number."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import pytest

from engine.workflow.nodes.extract import ExtractConfig, ExtractNode
from engine.workflow.nodes.extract.config import MAX_PARAMETERS
from engine.workflow.nodes.structured import bounded_input
from tests.support.workflow_docs import compile_doc, link, refused, start

PIZZA = [
    {"name": "size", "type": "enum", "options": ["small", "medium", "large"], "description": "Pizza size"},
    {"name": "count", "type": "integer"},
    {"name": "toppings", "type": "list", "required": False},
    {"name": "delivery", "type": "boolean", "required": False},
    {"name": "address", "required": False},
]


def extract(parameters: list[dict[str, Any]] | None = None, **config: Any) -> ExtractNode:
    return ExtractNode(
        "get",
        ExtractConfig.model_validate({"parameters": PIZZA if parameters is None else parameters, **config}),
    )


def node_doc(parameters: list[dict[str, Any]] | None = None, **config: Any) -> list[dict[str, Any]]:
    return [
        start(),
        {
            "id": "get",
            "type": "extract",
            "config": {"parameters": PIZZA if parameters is None else parameters, **config},
        },
    ]


# -- config ---------------------------------------------------------------------------


def test_each_parameter_is_an_output_with_missing_and_ok() -> None:
    assert extract().outputs() == frozenset(
        {"size", "count", "toppings", "delivery", "address", "missing", "ok"}
    )


@pytest.mark.parametrize("name", ["missing", "ok", "error"])
def test_a_name_clashing_with_the_nodes_own_outputs_is_refused(name: str) -> None:
    details = refused(node_doc([{"name": name}]), link("start>get"))
    assert f"parameter '{name}' clashes with the node's own output" in details


@pytest.mark.parametrize("name", ["", "1st", "two words", "a-b", "x" * 65])
def test_a_name_no_reference_can_spell_is_refused(name: str) -> None:
    assert "config 'parameters.0.name'" in refused(node_doc([{"name": name}]), link("start>get"))


def test_a_parameter_declared_twice_in_any_case_is_refused() -> None:
    details = refused(node_doc([{"name": "city"}, {"name": "City"}]), link("start>get"))
    assert "parameter 'City' is declared more than once" in details


def test_an_enum_needs_options_and_only_an_enum_takes_them() -> None:
    assert "is an enum: it needs options" in refused(
        node_doc([{"name": "s", "type": "enum"}]), link("start>get")
    )
    no_options = node_doc([{"name": "s", "type": "enum", "options": []}])
    assert "at least 1 item" in refused(no_options, link("start>get"))
    text = node_doc([{"name": "s", "options": ["a"]}])
    assert "is a string: only an enum takes options" in refused(text, link("start>get"))
    twice = node_doc([{"name": "s", "type": "enum", "options": ["a", "A"]}])
    assert "lists an option more than once" in refused(twice, link("start>get"))
    assert "config 'parameters.0.type'" in refused(
        node_doc([{"name": "s", "type": "date"}]), link("start>get")
    )


def test_counts_are_bounded() -> None:
    many = [{"name": f"p{n}"} for n in range(MAX_PARAMETERS + 1)]
    assert "at most 50" in refused(node_doc(many), link("start>get"))
    assert "at least 1 item" in refused(node_doc([]), link("start>get"))
    options = node_doc([{"name": "s", "type": "enum", "options": [f"o{n}" for n in range(51)]}])
    assert "at most 50" in refused(options, link("start>get"))
    long_option = node_doc([{"name": "s", "type": "enum", "options": ["o" * 201]}])
    assert "at most 200 characters" in refused(long_option, link("start>get"))
    long_description = node_doc([{"name": "s", "description": "d" * 1001}])
    assert "at most 1000 characters" in refused(long_description, link("start>get"))


def test_a_secret_is_never_sent_to_the_model() -> None:
    details = refused(node_doc(instructions="{{secrets.token}}"), link("start>get"))
    assert "node 'get' references {{secrets.token}}: secrets may appear only" in details


def test_its_outputs_are_references_later_nodes_may_make() -> None:
    nodes = [
        *node_doc(),
        {
            "id": "say",
            "type": "message",
            "config": {"content": "{{get.size}} x{{get.count}} {{get.missing}}"},
        },
    ]
    assert "say" in compile_doc(nodes, link("start>get", "get>say")).nodes
    wrong = [*node_doc(), {"id": "say", "type": "message", "config": {"content": "{{get.colour}}"}}]
    assert "but 'get' outputs address, count" in refused(wrong, link("start>get", "get>say"))


# -- what is asked -----------------------------------------------------------------------


def test_the_model_is_asked_for_exactly_the_parameters_keys_by_a_strict_schema() -> None:
    fmt = extract().structure.response_format
    assert fmt is not None
    schema = fmt["json_schema"]["schema"]
    assert fmt["json_schema"]["strict"] is True
    assert schema["required"] == ["size", "count", "toppings", "delivery", "address"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["size"] == {
        "type": ["string", "null"],
        "enum": ["small", "medium", "large", None],
        "description": "Pizza size",
    }


def test_the_prompt_tells_each_parameter_its_type_and_whether_it_is_required() -> None:
    class Ctx:
        pool: ClassVar[dict[str, Any]] = {}
        history = ()

    [system, user] = extract(instructions="Orders for Luigi's.").question.messages(Ctx(), "two large")  # type: ignore[arg-type]
    assert "Orders for Luigi's." in system["content"]
    assert '- size (one of: "small", "medium", "large", required): Pizza size' in system["content"]
    assert "- toppings (list of strings)" in system["content"]
    assert "exactly these keys: size, count, toppings, delivery, address." in system["content"]
    assert user == {"role": "user", "content": "two large"}


# -- reading the answer -----------------------------------------------------------------


def test_typed_values_pass_on_and_nothing_is_missing() -> None:
    out = extract().typed(
        {"size": "Large", "count": "2", "toppings": ["ham"], "delivery": True, "address": None}
    )
    assert out == {
        "size": "large",
        "count": 2,
        "toppings": ["ham"],
        "delivery": True,
        "address": None,
        "missing": [],
        "ok": True,
    }


def test_an_ill_typed_value_is_null_and_a_required_one_missing() -> None:
    out = extract().typed({"size": "gigantic", "count": 2.5, "delivery": "maybe", "address": ["a", "b"]})
    assert out == {
        "size": None,
        "count": None,
        "toppings": None,
        "delivery": None,
        "address": None,
        "missing": ["size", "count"],
        "ok": False,
    }


def test_keys_are_matched_case_insensitively_the_exact_spelling_first_and_others_ignored() -> None:
    out = extract().typed({"SIZE": "small", "Count": 1, "count": 3, "password": "x", 5: "y"})
    assert (out["size"], out["count"], out["ok"]) == ("small", 3, True)
    assert "password" not in out


# -- the offline rules -------------------------------------------------------------------


def test_offline_name_value_pairs_are_read_and_typed() -> None:
    node = extract()
    got = node.offline_outputs("Size: LARGE, count = 2; address: 1 Main St.\ndelivery: true")
    assert got == {
        "size": "large",
        "count": 2,
        "toppings": None,
        "delivery": True,
        "address": "1 Main St",
        "missing": [],
        "ok": True,
    }


def test_offline_a_list_takes_every_pair_and_an_underscore_matches_a_space() -> None:
    node = extract([{"name": "topping", "type": "list"}, {"name": "order_id"}])
    got = node.offline_outputs("topping: ham, topping: egg, order id: A-77")
    assert (got["topping"], got["order_id"]) == (["ham", "egg"], "A-77")


def test_offline_an_enum_is_the_option_first_in_the_input_and_a_lone_number_the_first_number() -> None:
    node = extract()
    got = node.offline_outputs("3 pizzas, Large ones, no, small ones")
    assert (got["size"], got["count"], got["ok"]) == ("large", 3, True)
    # A number inside a word is no number, and a pair's number stays that pair's.
    got = node.offline_outputs("order A-1234 in the Mediumish size, address: 5 High St")
    assert (got["size"], got["count"], got["address"]) == (None, None, "5 High St")
    assert got["missing"] == ["size", "count"]


def test_offline_a_number_is_not_guessed_when_two_parameters_could_take_it() -> None:
    node = extract([{"name": "adults", "type": "integer"}, {"name": "children", "type": "integer"}])
    got = node.offline_outputs("2 adults and 1 child")
    assert got["missing"] == ["adults", "children"]
    got = node.offline_outputs("adults: 2, children: one")
    assert (got["adults"], got["children"], got["ok"]) == (2, None, False)  # "one" is no integer


def test_offline_an_option_found_in_another_spelling_is_given_as_configured() -> None:
    node = extract([{"name": "city", "type": "enum", "options": ["Straße", "list", "Zürich"]}])
    assert node.offline_outputs("to ZÜRICH please")["city"] == "Zürich"
    assert node.offline_outputs("the LIST")["city"] == "list"
    # re's case folding is not str.casefold: what it matched is still given as the option.
    assert node.offline_outputs("a lıst")["city"] == "list"


def test_offline_reading_a_hostile_sentence_with_every_parameter_is_quick() -> None:
    many = [
        {"name": f"p_{n}", "type": "enum", "options": [f"o{n}_{k}" for k in range(50)]} for n in range(49)
    ]
    node = extract([*many, {"name": "n", "type": "number"}])
    hostile = bounded_input(("p 1 " + " " * 200 + "p_1=" + "-" * 100 + "9." * 50) * 1000)
    began = time.perf_counter()
    got = node.offline_outputs(hostile)
    assert time.perf_counter() - began < 1.0
    assert got["p_1"] is None  # "-----9.9.…" is no option
