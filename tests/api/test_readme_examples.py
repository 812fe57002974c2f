"""A new user follows the README: its curl examples, run as written, work, and the example file is there."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.api.shared_server import SharedServer
from tests.api.support import execute

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXAMPLE = ROOT / "examples" / "my_workflow.json"


def shell_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README.read_text(), re.S)


def curl_commands() -> list[list[str]]:
    """Every curl command of the README's shell blocks, as the shell would split it."""
    found = []
    for block in shell_blocks():
        for command in re.split(r"\n(?=\S)", block.replace("\\\n", " ")):
            words = shlex.split(command.replace("$(", " ").replace("|", " | "), comments=True)
            if "curl" in words:
                found.append(words[words.index("curl") :])
    return found


def test_every_readme_curl_body_is_valid_json_and_every_file_it_sends_exists() -> None:
    bodies = [words[i + 1] for words in curl_commands() for i, w in enumerate(words) if w == "-d"]
    assert len(bodies) >= 4, bodies
    for body in bodies:
        if body.startswith("@"):
            path = ROOT / body[1:]
            assert path.is_file(), f"the README sends {body}, which the repo lacks"
            json.loads(path.read_text())
        else:
            assert isinstance(json.loads(body), dict), body
    assert f"@{EXAMPLE.relative_to(ROOT)}" in bodies


async def test_the_example_workflow_file_is_accepted_and_answers_offline(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        r = await http.post("/api/v1/workflows", data=EXAMPLE.read_bytes())
        created = await r.json()
        assert r.status == 201, created
        status, body = await execute(http, created["workflow_id"], "Hello!")
        r = await http.post(
            f"/api/v1/workflows/{created['workflow_id']}/execute",
            json={"inputs": {"user_input": "Hello!", "tone": "formal"}},
        )
        toned = await r.json()
    assert (status, body["status"], body["result"]) == (200, "completed", {"content": "(echo) Hello!"})
    assert (r.status, toned["result"]) == (200, {"content": "(echo) Hello!"})


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readme_api_walkthrough_runs_as_written(shared_server: SharedServer, tmp_path: Path) -> None:
    [block] = [b for b in shell_blocks() if "KEY=$(cat data/admin_key)" in b]
    # Where `make run` would be: the generated key in data/, the example in examples/.
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "admin_key").write_text(shared_server.new_key())
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    port = shared_server.base_url.rsplit(":", 1)[1]
    script = "set -euo pipefail\n" + block.replace("localhost:8080", f"127.0.0.1:{port}")
    ran = subprocess.run(
        ["bash", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={"PATH": os.environ["PATH"]},
    )
    assert ran.returncode == 0, ran.stderr
    out = ran.stdout
    # The example by name, streamed, then your own.
    assert out.count('"status":"completed","result"') == 3, out
    assert "event: execution_finished" in out, out
    assert '"result":{"content":"(echo) Hello!"}' in out, out
    assert '"error"' not in out, out
