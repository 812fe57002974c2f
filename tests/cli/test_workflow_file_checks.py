"""An admin edits the workflow files of ``workflows_dir`` and runs ``chatgate check-config``
before a reload: each file the server would skip is one line naming the file, the line, the
key and the node, and the exit code says whether all of them load. ``chatgate schema``
gives the editor the same JSON Schema the server serves, without a server."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import jsonschema
import yaml

from engine.workflow.schema import workflow_schema
from tests.cli.test_cli import CHATGATE, check_config, clean_env
from tests.support.chatgate import SEED_WORKFLOW, base_config, seed_workflow
from tests.support.net import free_port

TYPO = """\
# yaml-language-server: $schema=http://127.0.0.1:8080/api/v1/schemas/workflow.json
name: typo
nodes:
  - id: start
    type: start
    config:
      input_params: [{name: user_input}]
  - id: answer
    type: response
    config:
      system_promt: Be brief.
connections:
  - {from: start, to: answer}
"""

GHOST = """\
name: ghost
nodes:
  - id: start
    type: start
  - id: answer
    type: response
    config:
      model: echo
      prompt: "Earlier: {{ earlier.text }}"
connections:
  - {from: start, to: answer}
"""


def config_with(tmp_path: Path, files: dict[str, str]) -> Path:
    workflows = tmp_path / "workflows"
    workflows.mkdir(exist_ok=True)
    shutil.copy(SEED_WORKFLOW, workflows / "support_bot.json")
    for name, text in files.items():
        (workflows / name).write_text(text)
    path = tmp_path / "chatgate.yaml"
    path.write_text(yaml.safe_dump(base_config(free_port(), tmp_path)))
    return path


def test_check_config_counts_the_workflow_files_that_load(tmp_path: Path) -> None:
    done = check_config(config_with(tmp_path, {}))
    assert done.returncode == 0, done.stderr
    assert "1 workflow file(s)" in done.stdout


def test_a_misspelt_config_key_is_named_with_its_file_line_node_and_a_suggestion(tmp_path: Path) -> None:
    done = check_config(config_with(tmp_path, {"typo.yaml": TYPO}))
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    where = tmp_path / "workflows" / "typo.yaml"
    assert line.startswith(f"invalid: {where}:11: nodes.1.config.system_promt: node 'answer'"), line
    assert "did you mean 'system_prompt'?" in line
    assert "Traceback" not in done.stderr


def test_each_bad_file_is_one_line_and_the_good_ones_are_not_mentioned(tmp_path: Path) -> None:
    unknown = seed_workflow(name="wizardry")
    unknown["nodes"][1]["type"] = "wizard"
    twice = seed_workflow()  # the same name as support_bot.json, which comes first
    files = {
        "ghost.yaml": GHOST,
        "typo.yaml": TYPO,
        "wizard.json": json.dumps(unknown, indent=2),
        "zz_twice.json": json.dumps(twice),
        "broken.yaml": "name: [unclosed\n",
    }
    done = check_config(config_with(tmp_path, files))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 5, done.stderr
    by_file = {name: next(x for x in lines if f"/workflows/{name}" in x) for name in files}
    assert (
        "ghost.yaml:9: nodes.1.config.prompt: node 'answer' references {{earlier.text}}"
        in by_file["ghost.yaml"]
    )
    assert "there is no node 'earlier'" in by_file["ghost.yaml"]
    assert "nodes.1.type: node 'response_node': unknown type (known: " in by_file["wizard.json"]
    assert "already defines workflow 'support_bot'" in by_file["zz_twice.json"]
    assert "broken.yaml:2: cannot parse: while parsing a flow sequence" in by_file["broken.yaml"]
    assert not any("support_bot.json:" in x for x in lines)


def test_a_connection_naming_a_port_the_node_lacks_is_named_on_its_line(tmp_path: Path) -> None:
    text = GHOST.replace("{{ earlier.text }}", "{{inputs.user_input}}").replace(
        "  - id: start\n    type: start\n",
        "  - id: start\n    type: start\n    config: {input_params: [{name: user_input}]}\n",
    )
    text = text.replace(
        "  - {from: start, to: answer}\n", "  - from: start\n    to: answer\n    port: refund\n"
    )
    done = check_config(config_with(tmp_path, {"ports.yaml": text}))
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert (
        "ports.yaml:14: connections.0.port: connection start (refund) -> answer names port 'refund'" in line
    )


def test_chatgate_schema_prints_the_servers_schema_without_a_config(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(CHATGATE), "schema"],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=tmp_path,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed == workflow_schema()
    validator = jsonschema.Draft7Validator(printed)
    assert list(validator.iter_errors(yaml.safe_load(TYPO)))  # what check-config refuses, the editor flags
    assert not list(validator.iter_errors(seed_workflow()))


def test_an_alias_bomb_is_one_line_and_quick(tmp_path: Path) -> None:
    """A YAML file whose aliases expand to tens of millions of values: refused as the server
    refuses it, without walking the expansion (the check reads the file again to place errors)."""
    levels = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 8)]
    bomb = "name: bomb\nnodes: []\n" + "\n".join(levels) + "\n"
    started = time.monotonic()
    done = check_config(config_with(tmp_path, {"bomb.yaml": bomb}))
    assert time.monotonic() - started < 20
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "bomb.yaml" in line
    assert "alias" in line
