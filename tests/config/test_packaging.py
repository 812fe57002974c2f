"""Installing chatgate: the package ships the example config and workflow, without a build warning."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["pyproject.toml", "README.md", "engine", "bots", "config", "chatgate"]


def test_the_package_ships_the_example_workflow_and_builds_without_a_packaging_warning(
    tmp_path: Path,
) -> None:
    # A copy, so the build's own directories never land in the working tree.
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, src / name)
    # setuptools' build_py is the step that picks packages and their data: run with the venv's
    # own setuptools, it needs no index and no network.
    built = subprocess.run(
        [
            sys.executable,
            "-c",
            "import setuptools; setuptools.setup()",
            "build_py",
            "-d",
            str(tmp_path / "lib"),
        ],
        cwd=src,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = built.stdout + built.stderr
    assert built.returncode == 0, output
    assert "config.workflows" not in output, output  # setuptools warns of a data directory it may drop
    assert (tmp_path / "lib" / "config" / "chatgate.yaml").is_file()
    assert (tmp_path / "lib" / "config" / "workflows" / "support_bot.json").is_file()
