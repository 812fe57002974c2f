"""A newcomer runs the README's support desk walkthrough, as written, against the example
workflows in config/workflows: every branch answers offline, the name is remembered."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import StartChatgate
from tests.support.chatgate import API_KEY

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "config" / "workflows"


def desk_block() -> str:
    [block] = [
        b
        for b in re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
        if "support_desk" in b
    ]
    return block


def json_values(text: str) -> Iterator[Any]:
    """Each JSON value of curl's output, which puts no newline between answers."""
    decoder, at = json.JSONDecoder(), 0
    while at < len(text.rstrip()):
        value, at = decoder.raw_decode(text, at)
        yield value
        while at < len(text) and text[at].isspace():
            at += 1


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_the_support_desk_walkthrough_answers_every_branch_offline(
    start_chatgate: StartChatgate,
) -> None:
    examples = {p.name: yaml.safe_load(p.read_text()) for p in EXAMPLES.glob("*.yaml")}
    assert {"support_desk.yaml", "order_status.yaml"} <= set(examples)
    gw = await start_chatgate(
        workflows={name.replace(".yaml", ".json"): doc for name, doc in examples.items()}
    )
    port = gw.base_url.rsplit(":", 1)[1]
    script = f"set -euo pipefail\nKEY={API_KEY}\n" + desk_block().replace(
        "localhost:8080", f"127.0.0.1:{port}"
    )
    ran = await asyncio.to_thread(
        subprocess.run, ["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr
    answers = list(json_values(ran.stdout))
    results = [a["result"] for a in answers]
    assert [r["route"] for r in results] == ["name", "order", "refund", "else"]
    assert results[0]["content"] == "Nice to meet you, Ada! Ask me about an order or a refund."
    assert results[1] == {
        "content": "That order left our warehouse yesterday and arrives within 2 days.",
        "route": "order",
        "order_status": "shipped",
    }
    # The name said in the first execution, remembered by the session, in the third.
    assert results[2]["content"].startswith("Ada, refunds go back to the card")
    assert results[3]["content"] == "(echo) Do you open on Sundays?"
    # What the README shows as each answer is what came back.
    shown = [line for line in desk_block().splitlines() if line.startswith('# … "result"')]
    for line, result in zip(shown, results, strict=True):
        assert json.dumps(result["content"], ensure_ascii=False) in line

    async with gw.client() as http:
        r = await http.get(f"/api/v1/executions/{answers[1]['execution_id']}")
        record = await r.json()
    nodes = record["nodes"]
    assert nodes["lookup"]["status"] == "completed"
    assert {nodes[n]["status"] for n in ("name_of", "remember", "greet", "refund_policy", "fallback")} == {
        "skipped"
    }
