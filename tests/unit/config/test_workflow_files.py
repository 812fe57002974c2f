"""An admin keeps workflow files in workflows_dir; a directory that is not there is said, not ignored."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from config.workflow_files import read_workflow_dir


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
