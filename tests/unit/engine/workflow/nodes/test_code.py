"""An author saving a code node learns at once what is wrong with it; nothing of it runs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine.workflow.nodes.code import CodeConfig, CodeNode


def refusal(code: str, **config: object) -> str:
    with pytest.raises(ValidationError) as e:
        CodeConfig.model_validate({"code": code, **config})
    return str(e.value)


def test_a_syntax_error_names_its_line() -> None:
    assert "the code does not compile: invalid syntax (line 3)" in refusal(
        "def main(inputs):\n    x = 1\n    y = = 2\n"
    )


def test_code_without_main_or_with_main_taking_nothing_is_refused() -> None:
    assert "must define a function main(inputs)" in refusal("def helper(inputs):\n    return {}\n")
    assert "must define a function main(inputs)" in refusal("main = lambda inputs: {}\n")
    assert "def main(inputs) (line 2)" in refusal("\ndef main():\n    return {}\n")


def test_validation_only_compiles() -> None:
    # Top-level code that would have an effect if it ran: validating must not run it.
    CodeConfig.model_validate({"code": "raise SystemExit(3)\ndef main(inputs):\n    return {}\n"})


def test_nesting_too_deep_to_compile_is_a_refusal_not_a_crash() -> None:
    assert "does not compile" in refusal("def main(inputs):\n    return " + "(" * 300 + ")" * 300 + "\n")


def test_declared_outputs_are_what_references_may_name() -> None:
    node = CodeNode(
        "calc", CodeConfig.model_validate({"code": "def main(i):\n    return {}\n", "outputs": ["a", "b"]})
    )
    assert node.outputs() == {"a", "b"}
    assert node.open_outputs is False
    open_node = CodeNode("calc", CodeConfig.model_validate({"code": "def main(i):\n    return {}\n"}))
    assert open_node.open_outputs is True
    assert "is not a name" in refusal("def main(i):\n    return {}\n", outputs=["a b"])
