"""Running a README walkthrough (a ```sh block of curl calls) as written, against the example
workflows in config/workflows on a real chatgate."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import StartChatgate
from tests.support.chatgate import API_KEY, ChatgateProcess

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "config" / "workflows"


def readme_block(workflow: str) -> str:
    """The README's one ```sh block that calls ``workflow``."""
    [block] = [
        b
        for b in re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
        if f"/workflows/{workflow}/" in b
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


class Answers(list[Any]):
    """What each curl call answered, and the chatgate that answered."""

    def __init__(self, values: Iterator[Any], gw: ChatgateProcess) -> None:
        super().__init__(values)
        self.gw = gw


async def run_block(start_chatgate: StartChatgate, block: str, needs: set[str]) -> Answers:
    """Start chatgate with every example workflow (``needs`` among them) and run ``block``."""
    examples = {p.name: yaml.safe_load(p.read_text()) for p in EXAMPLES.glob("*.yaml")}
    assert needs <= set(examples)
    gw = await start_chatgate(
        workflows={name.replace(".yaml", ".json"): doc for name, doc in examples.items()}
    )
    port = gw.base_url.rsplit(":", 1)[1]
    script = f"set -euo pipefail\nKEY={API_KEY}\n" + block.replace("localhost:8080", f"127.0.0.1:{port}")
    ran = await asyncio.to_thread(
        subprocess.run, ["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr
    return Answers(json_values(ran.stdout), gw)
