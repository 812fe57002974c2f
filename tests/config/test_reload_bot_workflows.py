"""An admin points a bot at a workflow created through the API (by its wf_ id) while chatgate
runs: a stored one is accepted at once, an id nothing has is rejected naming the key, and the
old config keeps running."""

from __future__ import annotations

from typing import Any

from tests.api.support import create_workflow
from tests.config.reload_support import edit, fast_reload, health, wait_config, wait_rejected
from tests.support.chatgate import API_KEY, StartChatgate, seed_workflow


def bot(workflow: str) -> dict[str, Any]:
    return {"name": "tg", "platform": "telegram", "token": "", "workflow": workflow}


async def test_a_bot_naming_a_stored_workflow_is_accepted_and_an_unknown_id_is_rejected(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(fast_reload)
    async with gw.client(API_KEY) as http:
        wid = await create_workflow(http, seed_workflow(name="made_by_api"))

    edit(gw, lambda c: c["bots"].append(bot("wf_00000000deadbeef")))
    error = await wait_rejected(gw)
    assert error["key"] == "bots.0.workflow"
    assert "no stored workflow has this id 'wf_00000000deadbeef'" in error["message"]
    assert (await health(gw))["bots"] == {}  # the old config: no bot

    edit(gw, lambda c: c["bots"].__setitem__(0, bot(wid)))
    state = await wait_config(gw, lambda c: c["last_error"] is None)
    assert state["version"] == 2
    assert (await health(gw))["bots"] == {"tg": {"platform": "telegram", "state": "no_token"}}
