"""A newcomer runs the README's support desk walkthrough, as written, against the example
workflows in config/workflows: every branch answers offline, the name is remembered."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.api.walkthroughs import readme_block, run_block
from tests.conftest import StartChatgate


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_the_support_desk_walkthrough_answers_every_branch_offline(
    start_chatgate: StartChatgate,
) -> None:
    block = readme_block("support_desk")
    answers = await run_block(start_chatgate, block, {"support_desk.yaml", "order_status.yaml"})
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
    shown = [line for line in block.splitlines() if line.startswith('# … "result"')]
    for line, result in zip(shown, results, strict=True):
        assert json.dumps(result["content"], ensure_ascii=False) in line

    async with answers.gw.client() as http:
        r = await http.get(f"/api/v1/executions/{answers[1]['execution_id']}")
        record = await r.json()
    nodes = record["nodes"]
    assert nodes["lookup"]["status"] == "completed"
    assert {nodes[n]["status"] for n in ("name_of", "remember", "greet", "refund_policy", "fallback")} == {
        "skipped"
    }
