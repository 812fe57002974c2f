"""A newcomer runs the README's concierge walkthrough, as written: the example workflow asks
for a topic, then for the details, over three executes of one session, and files the question
offline — one execution, waiting twice."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.api.walkthroughs import readme_block, run_block
from tests.conftest import StartChatgate


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_the_concierge_asks_twice_and_files_the_question(start_chatgate: StartChatgate) -> None:
    block = readme_block("concierge")
    topic, details, filed = await run_block(start_chatgate, block, {"concierge.yaml"})
    assert topic.get("status") == "waiting", topic
    assert topic["question"]["text"] == "Hi! What is your question about?"
    assert [o["id"] for o in topic["question"]["options"]] == ["billing", "shipping", "account"]
    assert details["status"] == "waiting"
    assert details["question"] == {
        "text": "Tell me more about your shipping question: what happened?",
        "options": [],
    }
    assert filed["status"] == "completed"
    content = filed["result"]["content"]
    assert (
        content
        == 'Thanks! I\'ve filed your shipping question: "My parcel never came". We answer within a day.'
    )
    assert len({topic["execution_id"], details["execution_id"], filed["execution_id"]}) == 1
    # What the README shows is what came back.
    shown = "\n".join(line for line in block.splitlines() if line.startswith("# …"))
    assert json.dumps(details["question"]["text"]) in shown
    assert json.dumps(content) in shown.replace('\\\\"', '\\"')
