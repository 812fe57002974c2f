"""An admin opts the team's internal service in for workflows' ``http`` nodes by editing
``http:`` in chatgate.yaml: running chatgate follows within seconds, a bad network is
refused with the key named, and taking the opt-in back refuses the service again."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.api.support import create_workflow
from tests.config.reload_support import edit, fast_reload, wait_rejected, wait_version
from tests.support.chatgate import StartChatgate
from tests.support.http_service import HttpService


def caller(url: str) -> dict[str, Any]:
    return {
        "name": "caller",
        "nodes": [
            {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}},
            {"id": "call", "type": "http", "config": {"url": url}},
            {"id": "end", "type": "end", "config": {"outputs": {"seen": "{{call.json.host}}"}}},
        ],
        "connections": [{"from": "start", "to": "call"}, {"from": "call", "to": "end"}],
    }


async def run(http: aiohttp.ClientSession, wid: str) -> tuple[int, Any]:
    async with http.post(f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "x"}}) as r:
        return r.status, await r.json()


async def test_the_admin_opts_a_network_in_and_out_while_chatgate_runs(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(fast_reload, workflows={})
    async with HttpService("127.0.0.2") as service, gw.client() as http:
        wid = await create_workflow(http, caller(service.url("/whoami")))
        status, body = await run(http, wid)
        assert (status, body["error"]["code"]) == (502, "destination_not_allowed")

        edit(gw, lambda c: c.update(http={"allow_networks": ["127.0.0.2/32"]}))
        await wait_version(gw, 2)
        status, body = await run(http, wid)
        assert (status, body["result"]["seen"]) == (200, "127.0.0.2")

        edit(gw, lambda c: c.update(http={"allow_networks": ["127.0.0.2/24"]}))
        error = await wait_rejected(gw)
        assert "http.allow_networks" in str(error), error
        assert "did you mean 127.0.0.0/24" in str(error), error
        assert (await run(http, wid))[0] == 200  # the running values stay

        edit(gw, lambda c: c.update(http={}))
        await wait_version(gw, 3)
        status, body = await run(http, wid)
        assert (status, body["error"]["code"]) == (502, "destination_not_allowed")
    assert len(service.seen) == 2
