"""References in config strings: parsed once, read from the run's pool, rendered in one pass."""

from __future__ import annotations

from typing import Any

import pytest

from engine.workflow.templates import Ref, Text, compile_value, parse, references, render, shown

POOL: dict[str, dict[str, Any]] = {
    "http": {"json": {"items": [{"name": "first", "tags": ["a", "b"]}, {"name": "second"}], "ok": True}},
    "inputs": {"user_input": "hi {{secrets.key}}", "count": 3, "nothing": None},
    "session": {"name": "Ada"},
    "sys": {"platform": "api", "now": "2026-01-01T00:00:00Z"},
    "llm": {"text": "{{http.json.ok}}"},
}


def test_a_string_without_references_is_one_literal_part() -> None:
    parsed = parse("plain text, {single} braces, {{ not a ref }}")
    assert parsed.parts == ("plain text, {single} braces, {{ not a ref }}",)
    assert parsed.whole is None
    assert parse("").parts == ()


def test_parts_keep_their_order_and_spaces_inside_braces_are_allowed() -> None:
    parsed = parse("a {{ inputs.user_input }} b {{http.json}}")
    assert parsed.parts == ("a ", Ref("inputs", "user_input"), " b ", Ref("http", "json"))
    assert parse("{{  sys.now  }}").whole == Ref("sys", "now")


@pytest.mark.parametrize(
    ("template", "ref"),
    [
        ("{{http.json.items.0.name}}", Ref("http", "json", ("items", "0", "name"))),
        ("{{http.json.items[0].name}}", Ref("http", "json", ("items", "0", "name"))),
        ("{{http.json.items[1]}}", Ref("http", "json", ("items", "1"))),
        ("{{http.json.items[0].tags[1]}}", Ref("http", "json", ("items", "0", "tags", "1"))),
        ("{{session.name}}", Ref("session", "name")),
        ("{{sys.platform}}", Ref("sys", "platform")),
    ],
)
def test_nested_paths_dotted_or_indexed_parse_to_the_same_steps(template: str, ref: Ref) -> None:
    assert parse(template).whole == ref
    assert ref.shown() == "{{" + ".".join((ref.root, ref.field, *ref.path)) + "}}"


@pytest.mark.parametrize(
    ("ref", "value"),
    [
        (Ref("http", "json", ("items", "0", "name")), "first"),
        (Ref("http", "json", ("items", "1", "name")), "second"),
        (Ref("http", "json", ("items", "0", "tags", "1")), "b"),
        (Ref("http", "json", ("ok",)), True),
        (Ref("session", "name"), "Ada"),
        (Ref("sys", "platform"), "api"),
    ],
)
def test_lookup_walks_objects_by_key_and_lists_by_index(ref: Ref, value: Any) -> None:
    assert ref.lookup(POOL) == value


@pytest.mark.parametrize(
    "ref",
    [
        Ref("skipped_node", "text"),  # a node that did not run has no entry in the pool
        Ref("http", "missing"),
        Ref("http", "json", ("items", "5", "name")),  # past the end of the list
        Ref("http", "json", ("items", "name")),  # a key of a list
        Ref("http", "json", ("ok", "deeper")),  # into a scalar
        Ref("http", "json", ("items", "0", "tags", "-1")),
        Ref("session", "unset"),
    ],
)
def test_a_missing_path_is_none_and_renders_as_nothing(ref: Ref) -> None:
    assert ref.lookup(POOL) is None
    assert parse(f"[{ref.shown()}]").render(POOL) == "[]"


def test_a_whole_reference_keeps_the_type_of_what_it_names() -> None:
    items = parse("{{http.json.items}}").value(POOL)
    assert items == POOL["http"]["json"]["items"]
    assert parse("{{inputs.count}}").value(POOL) == 3
    assert parse("{{http.json.ok}}").value(POOL) is True
    assert parse("{{inputs.nothing}}").value(POOL) is None
    # Anything around the reference makes it text.
    assert parse(" {{inputs.count}}").value(POOL) == " 3"


def test_inside_text_values_are_rendered_strings_as_is_others_as_compact_json() -> None:
    text = parse(
        "{{http.json.items[0]}}|{{inputs.count}}|{{http.json.ok}}|{{inputs.nothing}}|{{session.name}}"
    )
    assert text.render(POOL) == '{"name":"first","tags":["a","b"]}|3|true||Ada'
    assert shown({"a": [1, 2.5, None]}) == '{"a":[1,2.5,null]}'
    assert shown(None) == ""
    assert shown('é "q"') == 'é "q"'


def test_substitution_is_one_pass_a_value_that_looks_like_a_reference_is_not_expanded() -> None:
    # The user typed "{{secrets.key}}"; a node's output holds "{{http.json.ok}}": both come back as typed.
    assert render("you said: {{inputs.user_input}}", POOL) == "you said: hi {{secrets.key}}"
    assert render("{{llm.text}}", POOL) == "{{http.json.ok}}"
    assert parse("{{llm.text}}").value(POOL) == "{{http.json.ok}}"
    assert compile_value({"k": ["{{inputs.user_input}}"]}).resolve(POOL) == {"k": ["hi {{secrets.key}}"]}


def test_compile_value_resolves_references_anywhere_in_a_config_value() -> None:
    value = compile_value({"list": ["{{http.json.items[1].name}}", 7], "n": "{{inputs.count}}", "t": "x"})
    assert value.live
    assert value.resolve(POOL) == {"list": ["second", 7], "n": 3, "t": "x"}
    fixed = compile_value({"a": ["no refs", 1, None]})
    assert not fixed.live
    assert fixed.resolve(POOL) is fixed.raw


def test_references_lists_every_reference_in_document_order_even_deeply_nested() -> None:
    deep: Any = "{{sys.now}}"
    for _ in range(5000):  # walked with a stack, not recursion
        deep = [deep]
    found = list(references({"a": "{{inputs.count}} {{http.json[0]}}", "b": [deep, "{{session.x.y}}"]}))
    assert found == [
        Ref("inputs", "count"),
        Ref("http", "json", ("0",)),
        Ref("sys", "now"),
        Ref("session", "x", ("y",)),
    ]


def test_parse_is_cached_per_string() -> None:
    assert parse("{{inputs.count}} cached") is parse("{{inputs.count}} cached")
    assert isinstance(parse("x"), Text)
