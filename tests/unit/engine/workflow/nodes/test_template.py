"""The template node: Jinja2 in an immutable sandbox, with every way to hang or flood it bounded.

Each attack below would hang the render or take gigabytes without its guard; each runs in a
thread the test waits on for a few seconds only, so a broken guard fails the test instead of
hanging it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.errors import ExecutionFailed
from engine.workflow.nodes.template import TemplateConfig, TemplateNode
from engine.workflow.templates import Ref
from tests.support.workflow_docs import link, refused, start

POOL: dict[str, Any] = {
    "inputs": {"user_input": "hello", "items": ["a", "b"], "n": 3},
    "session": {"name": "Ada"},
    "sys": {"platform": "api"},
    "left": {"text": "from left", "json": {"rows": [{"name": "r0"}]}},
    "my-node": {"text": "dashed"},
}


def node(template: str) -> TemplateNode:
    return TemplateNode("shape", TemplateConfig(template=template))


def render(template: str, pool: dict[str, Any] | None = None) -> str:
    return node(template).render(POOL if pool is None else pool)


def test_renders_with_the_same_variables_as_references() -> None:
    text = render(
        "{{ inputs.user_input | upper }}, {{ session.name }} on {{ sys.platform }}: "
        "{{ left.text }} / {{ left.json.rows[0].name }} / {{ nodes['my-node'].text }}"
    )
    assert text == "HELLO, Ada on api: from left / r0 / dashed"


def test_loops_filters_and_values_shown_like_references() -> None:
    assert render("{% for i in inputs.items %}{{ loop.index }}={{ i }} {% endfor %}") == "1=a 2=b "
    assert render("{{ inputs.items }}|{{ none }}|{{ inputs.n * 2 }}") == '["a","b"]||6'
    assert render("{{ '%.2f'|format(2.5) }} {{ inputs.items|join(', ') }}") == "2.50 a, b"


def test_a_skipped_node_or_missing_key_renders_as_nothing() -> None:
    assert render("[{{ gone.text }}][{{ left.nothing.deeper }}][{{ nodes.gone.text }}]") == "[][][]"


def test_a_key_wins_over_a_method_of_the_same_name() -> None:
    assert render("{{ x.items }}", {"inputs": {}, "x": {"items": 3}}) == "3"


def test_values_are_data_never_templates() -> None:
    pool = {"inputs": {"user_input": "{{ 7*7 }} {% for x in range(3) %}x{% endfor %} {{secrets.x}}"}}
    assert render("{{ inputs.user_input }}", pool) == pool["inputs"]["user_input"]


def test_what_it_references_is_what_the_graph_checks() -> None:
    refs = node(
        "{{ inputs.user_input }}{{ left.text }}{{ nodes['my-node'].text }}"
        "{% for row in left.json %}{{ row.name }}{{ loop.index }}{% endfor %}"
        "{% set mine = {'a': 1} %}{{ mine.a }}{% for k, v in left.items() %}{{ k }}{% endfor %}"
    ).references()
    assert set(refs) == {
        Ref("inputs", "user_input"),
        Ref("left", "text"),
        Ref("my-node", "text"),
        Ref("left", "json"),
    }


def test_references_are_checked_when_the_workflow_is() -> None:
    shape = {"id": "shape", "type": "template", "config": {"template": "{{ inputs.nope }}"}}
    assert "declares no input 'nope'" in refused([start(), shape], link("start>shape"))
    shape["config"] = {"template": "{% for x in inputs.user_input %}{{ x.y }}{% endfor %}{{ ghost.text }}"}
    assert "there is no node 'ghost'" in refused([start(), shape], link("start>shape"))


@pytest.mark.parametrize(
    ("template", "says"),
    [
        ("{% for x in y %}no end", "'template' line 1"),
        ("line one\n{{ 'unclosed }}", "'template' line 2"),
        ("{% include 'other' %}", "cannot include, import or extend"),
        ("{% extends 'base' %}", "cannot include, import or extend"),
        ("{% from 'x' import y %}", "cannot include, import or extend"),
        ("{% set __cg_step = 1 %}", "the name '__cg_step' is reserved"),
        ("{% macro __cg_concat() %}{% endmacro %}", "is reserved"),
        ("{{ " + "(" * 400 + "1" + ")" * 400 + " }}", "nested too deeply"),
    ],
)
def test_a_template_that_cannot_compile_is_refused_naming_node_and_line(template: str, says: str) -> None:
    shape = {"id": "shape", "type": "template", "config": {"template": template}}
    details = refused([start(), shape], link("start>shape"))
    assert "node 'shape'" in details
    assert says in details


# -- attacks -----------------------------------------------------------------------


def render_within(
    template: str, seconds: float = 5.0, pool: dict[str, Any] | None = None
) -> str | BaseException:
    """The render's text or error, from a thread given ``seconds``: a hang fails the test."""
    outcome: list[str | BaseException] = []

    def work() -> None:
        try:
            outcome.append(render(template, pool))
        except BaseException as e:  # handed to the test
            outcome.append(e)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the render of {template!r} was still running after {seconds}s"
    return outcome[0]


ATTACKS = {
    "nested loops": (
        "{% for a in range(100000) %}{% for b in range(100000) %}{{ '' }}{% endfor %}{% endfor %}",
        "loop iterations",
    ),
    "loops over data": (
        "{% for a in inputs.items * 50000 %}{% for b in inputs.items * 50000 %}{% endfor %}{% endfor %}",
        "loop iterations",
    ),
    "a recursive loop": ("{% for x in [1] recursive %}{{ loop([1, 2]) }}{% endfor %}", "recursed too deeply"),
    "exponential macro": (
        "{% macro f(n) %}{{ f(n) }}{{ f(n) }}{% endmacro %}{{ f(1) }}",
        "recursed too deeply",
    ),
    "wide macro": (
        "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(40) }}",
        "loop iterations and calls",
    ),
    "string repetition": ("{{ 'x' * 1000000000 }}", "would build a value of 1000000000"),
    "list repetition": ("{{ ([1] * 1000000000)|length }}", "would build a value"),
    "a huge power": ("{{ 9 ** 9999999 }}", "bits (a power)"),
    "repeated squaring": (
        "{% set n = namespace(x=3) %}{% for i in range(64) %}{% set n.x = n.x * n.x %}{% endfor %}",
        "bits (a product)",
    ),
    "concat doubling": (
        "{% set n = namespace(s='x') %}{% for i in range(64) %}{% set n.s = n.s ~ n.s %}{% endfor %}",
        "would build a string",
    ),
    "plus doubling": (
        "{% set n = namespace(s='x') %}{% for i in range(64) %}{% set n.s = n.s + n.s %}{% endfor %}",
        "would build a value",
    ),
    "block doubling": (
        "{% set n = namespace(s='x') %}{% for i in range(64) %}"
        "{% set b %}{{ n.s }}{{ n.s }}{% endset %}{% set n.s = b %}{% endfor %}",
        "wrote more than",
    ),
    "a huge range": ("{{ range(1000000000)|list|length }}", "range of 1000000000"),
    "ranges in a loop": ("{% for i in range(99999) %}{{ range(99999)|sum }}{% endfor %}", "loop iterations"),
    "center": ("{{ 'x'|center(1000000000) }}", "center width"),
    "indent": ("{{ ('a\\n' * 50000)|indent(900) }}", "would build a string"),
    "truncate end": ("{{ ('x' * 300)|truncate(10, end='y' * 90000) }}", "truncation end"),
    "wordwrap string": ("{{ ('ab ' * 30000)|wordwrap(2, wrapstring='\n' * 2000) }}", "wrap string"),
    "wordwrap lines": ("{{ ('ab ' * 30000)|wordwrap(2, wrapstring='\n' * 90) }}", "would build a string"),
    "format filter width": ("{{ '%999999999d'|format(1) }}", "format width"),
    "percent width": ("{{ '%0999999999d' % 1 }}", "format width"),
    "percent star": ("{{ '%*d' % (999999999, 1) }}", "'*' width"),
    "percent repeated key": ("{{ ('%(a)s' * 20000) % {'a': 'x' * 99000} }}", "formatted text"),
    "str.format": ("{{ '{:>999999999}'.format(1) }}", "str.format is not available"),
    "format_map": ("{{ '{a:>999999999}'.format_map({'a': 1}) }}", "str.format is not available"),
    "padding methods": ("{{ 'a'.ljust(999999999) }}{{ 'a'.zfill(999999999) }}", "ljust() is not available"),
    "expandtabs": ("{{ '\\t'.expandtabs(999999999) }}", "expandtabs() is not available"),
    "replace method": ("{{ ('x' * 90000).replace('', 'y' * 90000) }}", "would build a string"),
    "replace filter": ("{{ ('x' * 90000)|replace('x', 'y' * 90000) }}", "would build a string"),
    "join method": ("{{ ('y' * 90000).join('x' * 90000) }}", "would build a string"),
    "join filter": ("{{ (['x' * 90000] * 90000)|join }}", "would build a string"),
    "a lazy map joined": ("{{ range(90000)|map('center', 1000)|join }}", "would build a string"),
    "a lazy map listed": ("{{ range(90000)|map('center', 1000)|list|length }}", "wrote more than"),
    "tojson indent": ("{{ [[[[1]]]]|tojson(indent=100000000) }}", "tojson indent"),
    "batch fill": ("{{ [1]|batch(1000000000, 0)|list|length }}", "batch size"),
    "slice count": ("{{ [1]|slice(1000000000)|list|length }}", "slice count"),
    "tojson growth": (
        "{{ ('\"' * 20000)|tojson|tojson|tojson|tojson|tojson|tojson|tojson|tojson }}",
        "would build a value",
    ),
    "the output": ("{% for i in range(50000) %}{{ 'x' * 90 }}{% endfor %}", "characters"),
    "an unsafe attribute": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
    "mutation": ("{{ inputs.items.append(1) }}", "unsafe"),
}


@pytest.mark.parametrize("attack", ATTACKS)
def test_an_attack_fails_fast_with_a_clear_error(attack: str) -> None:
    template, says = ATTACKS[attack]
    outcome = render_within(template)
    assert isinstance(outcome, ExecutionFailed), outcome
    assert outcome.message.startswith("node 'shape': the template")
    assert says in outcome.message


def test_the_output_is_capped() -> None:
    outcome = render_within("{% for i in range(2000) %}{{ 'x' * 90 }}{% endfor %}")
    assert isinstance(outcome, ExecutionFailed)
    assert "longer than 100000 characters" in outcome.message


def test_a_template_cannot_reset_its_own_budget() -> None:
    """The guards read a budget the template cannot reach; calling them only spends it."""
    outcome = render_within(
        "{% for a in range(1000) %}{% for b in range(1000) %}{{ __cg_step() }}{% endfor %}{% endfor %}"
    )
    assert isinstance(outcome, ExecutionFailed)
    assert "loop iterations" in outcome.message


def test_ordinary_templates_stay_well_within_the_bounds() -> None:
    text = render_within(
        "{% for row in range(100) %}{{ row }}:{{ ('ab' * 10)|upper|replace('A', 'a') }}"
        "{{ '%05.1f'|format(row / 3) }}{% endfor %}{{ 'one two three'|wordwrap(5) }}"
    )
    assert isinstance(text, str)
    assert text.startswith("0:aBaBaBaBaBaBaBaBaBaB000.0")
    assert text.endswith("033.0one\ntwo\nthree")


def test_a_render_ends_at_its_time_limit() -> None:
    """Within its steps and sizes, each iteration rereads a large input: the clock stops it."""
    pool = {**POOL, "inputs": {"big": "x" * 90_000}}
    template = "{% for i in range(30000) %}{% set n = inputs.big.split('x')|length %}{% endfor %}"
    outcome = render_within(template, pool=pool)
    assert isinstance(outcome, ExecutionFailed)
    assert "longer than 1s" in outcome.message


@given(st.text(max_size=200))
def test_any_user_text_comes_back_as_typed(typed: str) -> None:
    assert render("{{ inputs.user_input }}", {"inputs": {"user_input": typed}}) == typed
