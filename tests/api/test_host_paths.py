"""What any key, or anyone at all, can read never says where chatgate's files live on the host.

``/healthz`` needs no key and a 403 goes to whoever tried: both show paths relative to the
working directory (chatgate's own log keeps the full ones for the operator).
"""

from __future__ import annotations

import json

from tests.api.support import assert_error
from tests.config.reload_support import edit, fast_reload, health, wait_config, wait_rejected
from tests.support.chatgate import StartChatgate, seed_workflow


async def test_a_403_for_a_file_workflow_names_the_file_but_not_the_host_path(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate()
    async with gw.client() as http:
        r = await http.put("/api/v1/workflows/support_bot", json=seed_workflow(description="mine now"))
        body = await r.json()
    assert r.status == 403
    error = assert_error(body, "forbidden")
    assert "workflows/support_bot.json" in error["message"]
    assert error["details"]["path"] == "workflows/support_bot.json"
    assert str(gw.workdir) not in json.dumps(body)


async def test_healthz_shows_config_and_workflow_problems_without_host_paths(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(fast_reload)
    (gw.workdir / "workflows" / "broken.json").write_text('{"name": "broken", "nodes": [')
    edit(gw, lambda c: c["rate_limits"].update(free="lots per minute"))
    error = await wait_rejected(gw)
    await wait_config(gw, lambda c: True)
    body = await health(gw)
    assert error["file"] == "chatgate.yaml"
    assert error["message"].startswith(f"chatgate.yaml:{error['line']}: rate_limits.free: ")
    assert [p["path"] for p in body["workflows"]["problems"]] == ["workflows/broken.json"]
    assert str(gw.workdir) not in json.dumps(body), body
    assert str(gw.workdir) in gw.logs()  # the operator's log keeps the full paths
