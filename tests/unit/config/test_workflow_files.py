"""An admin keeps workflow files in workflows_dir; a directory that is not there is said, not ignored."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from config.workflow_files import read_workflow_dir, read_workflow_file


def test_a_missing_workflows_dir_is_a_warning_naming_where_it_was_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)  # as when chatgate is started from another directory
    with caplog.at_level(logging.WARNING, logger="chatgate.config"):
        assert read_workflow_dir("config/workflows") == []
    [record] = caplog.records
    assert record.getMessage() == (
        f"workflows_dir config/workflows does not exist in {tmp_path} "
        "(it is relative to the current directory): no workflow files loaded"
    )


def test_workflow_files_of_the_directory_are_read_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text('{"name": "b"}')
    (tmp_path / "a.yaml").write_text("name: a\n")
    (tmp_path / "notes.txt").write_text("not a workflow")
    assert [(f.path.name, f.data) for f in read_workflow_dir(tmp_path)] == [
        ("a.yaml", {"name": "a"}),
        ("b.json", {"name": "b"}),
    ]


SEED_NODES = (
    '"nodes": [{"id": "s", "type": "start", "config": {}}, {"id": "r", "type": "response", "config": {}}], '
    '"connections": [{"from": "s", "to": "r"}]'
)


@pytest.mark.parametrize(
    ("name", "text", "named"),
    [
        ("nan.json", '{"name": "w", "x": NaN, ' + SEED_NODES + "}", "x: nan is not a JSON number"),
        ("inf.json", '{"name": "w", "timeout": -Infinity, ' + SEED_NODES + "}", "timeout: -inf"),
        (
            "surrogate.json",
            '{"name": "w\\ud800", ' + SEED_NODES + "}",
            "name: the text holds a lone surrogate",
        ),
        ("date.yaml", "name: w\ncreated: 2026-01-31\n", "created: a date is not a JSON value"),
        ("set.yaml", "name: w\ntags: !!set {a, b}\n", "tags: a set is not a JSON value"),
        ("key.yaml", "name: w\nnodes:\n  - {id: s, 1: x}\n", "nodes.0: the key 1 is not a string"),
        (
            "nan.yaml",
            "name: w\nnodes:\n  - {id: s, config: {timeout_s: .nan}}\n",
            "nodes.0.config.timeout_s: nan",
        ),
    ],
)
def test_a_file_holding_what_no_api_body_could_is_refused_naming_the_place(
    tmp_path: Path, name: str, text: str, named: str
) -> None:
    # The API could not serve such a document back (orjson refuses surrogates and non-string
    # keys; NaN would silently become null), so it never gets as far as the catalog.
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    read = read_workflow_file(path)
    assert read.data is None
    assert read.error is not None
    assert named in read.error


def test_a_plain_json_document_in_yaml_or_json_is_read_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "ok.json").write_text('{"name": "w", "n": 1.5, "t": "é✓", ' + SEED_NODES + "}")
    (tmp_path / "ok.yaml").write_text("name: w\nn: 1.5\nt: é✓\nflags: [true, null, 3]\n")
    for path in (tmp_path / "ok.json", tmp_path / "ok.yaml"):
        read = read_workflow_file(path)
        assert read.error is None
        assert read.data is not None
        assert read.data["n"] == 1.5


@pytest.mark.parametrize(
    "text",
    [
        "name: w\nnodes: &loop [*loop]\n",  # a list that holds itself
        # nine levels of nine aliases: a few hundred bytes that expand to 9**9 values
        "name: w\na: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ],
)
def test_a_yaml_alias_loop_or_bomb_is_refused_without_expanding_it(tmp_path: Path, text: str) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text(text)
    read = read_workflow_file(path)
    assert read.data is None
    assert read.error is not None
    assert "YAML aliases" in read.error
