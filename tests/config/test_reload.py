"""An admin edits chatgate.yaml and the workflow files of a running chatgate: good edits take
effect within seconds, without a restart; API keys, tiers, workflows and the model follow."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.api.support import chat_workflow
from tests.config.reload_support import (
    Save,
    edit,
    fast_reload,
    health,
    metrics,
    status_of,
    wait_config,
    wait_version,
    write_text,
)
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.chatgate import API_KEY, OTHER_KEY, StartChatgate, seed_workflow

NEW_KEY = "new-key-0123456789"


@pytest.mark.parametrize("how", ["rename", "in_place"])
async def test_a_new_api_key_works_at_once_and_a_revoked_one_gets_401(
    start_chatgate: StartChatgate, how: Save
) -> None:
    gw = await start_chatgate(fast_reload)
    assert await status_of(gw, NEW_KEY) == 401

    edit(gw, lambda c: c["api_keys"].append({"key": NEW_KEY, "name": "newcomer"}), how)
    await wait_version(gw, 2)
    assert await status_of(gw, NEW_KEY) == 200

    edit(gw, lambda c: c["api_keys"].pop(1), how)  # "other" is revoked
    await wait_version(gw, 3)
    assert await status_of(gw, OTHER_KEY) == 401
    assert await status_of(gw, API_KEY) == 200  # nobody else is touched
    assert "API key other removed" in gw.logs()
    assert OTHER_KEY not in gw.logs()
    assert NEW_KEY not in gw.logs()


async def test_a_stricter_tier_counts_the_requests_already_spent(start_chatgate: StartChatgate) -> None:
    def configure(config: dict[str, Any]) -> None:
        fast_reload(config)
        config["rate_limits"]["small"] = "5/minute"
        config["api_keys"][0]["tier"] = "small"

    gw = await start_chatgate(configure)
    for _ in range(3):
        assert await status_of(gw, API_KEY) == 200

    edit(gw, lambda c: c["rate_limits"].update(small="3/minute"))
    await wait_version(gw, 2)
    assert await status_of(gw, API_KEY) == 429  # 3 spent of the new 3

    edit(gw, lambda c: c["api_keys"][0].update(tier="paid"))  # re-tiered
    await wait_version(gw, 3)
    async with gw.client() as http, http.get("/api/v1/workflows") as r:
        assert r.status == 200
        assert int(r.headers["X-Rate-Limit-Remaining"]) > 90_000


async def test_workflow_files_added_changed_and_deleted_apply_to_the_next_request(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(fast_reload)
    folder = gw.workdir / "workflows"
    write_text(folder / "second.json", json.dumps(seed_workflow(name="second", description="v1")))
    await wait_version(gw, 2)
    async with gw.client() as http:
        r = await http.post("/api/v1/workflows/second/execute", json={"inputs": {"user_input": "hi"}})
        assert r.status == 200, await r.text()
        assert (await r.json())["result"]["content"] == "(echo) hi"

        write_text(folder / "second.json", json.dumps(seed_workflow(name="second", description="v2")))
        await wait_version(gw, 3)
        r = await http.get("/api/v1/workflows/second")
        assert (await r.json())["description"] == "v2"

        (folder / "second.json").unlink()
        await wait_version(gw, 4)
        r = await http.get("/api/v1/workflows/second")
        assert r.status == 404
        r = await http.get("/api/v1/workflows/support_bot")  # the other file is untouched
        assert r.status == 200


async def test_a_broken_workflow_file_keeps_its_previous_version_and_is_reported(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(fast_reload)
    path = gw.workdir / "workflows" / "support_bot.json"
    broken = seed_workflow(description="broken")
    broken["connections"].append({"from": "response_node", "to": "nowhere"})
    write_text(path, json.dumps(broken))

    body = await wait_problems(gw)
    [problem] = body["workflows"]["problems"]
    assert problem["path"] == str(path.relative_to(gw.workdir))  # /healthz: no host paths
    assert "nowhere" in json.dumps(problem)  # names the dangling node
    async with gw.client() as http:
        r = await http.post("/api/v1/workflows/support_bot/execute", json={"inputs": {"user_input": "hi"}})
        assert r.status == 200  # still the previous version
        r = await http.get("/api/v1/workflows/support_bot")
        assert (await r.json())["description"] != "broken"

    write_text(path, json.dumps(seed_workflow(description="fixed")))
    await wait_problems(gw, present=False)
    async with gw.client() as http:
        r = await http.get("/api/v1/workflows/support_bot")
        assert (await r.json())["description"] == "fixed"


async def wait_problems(gw: Any, *, present: bool = True) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while True:
        body = await health(gw)
        if bool(body["workflows"]["problems"]) == present:
            return body
        assert time.monotonic() < deadline, body
        await asyncio.sleep(0.05)


async def test_a_running_execution_finishes_on_the_definition_it_started_with(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    """start -> draft -> polish; the edit changes polish's instructions while draft is running."""

    def workflow(polish_prompt: str) -> dict[str, Any]:
        doc = chat_workflow(name="two_step")
        draft = {"model": "gpt-4o-mini", "system_prompt": "Draft."}
        polish = {"model": "gpt-4o-mini", "system_prompt": polish_prompt, "prompt": "{{draft.text}}"}
        doc["nodes"] = [
            doc["nodes"][0],
            {"id": "draft", "type": "response", "config": draft},
            {"id": "polish", "type": "response", "config": polish},
        ]
        doc["connections"] = [{"from": "start_node", "to": "draft"}, {"from": "draft", "to": "polish"}]
        return doc

    def configure(config: dict[str, Any]) -> None:
        fast_reload(config)
        config["llm"].update(base_url=openai_emu.base_url, api_key="sk-test-0123456789", max_retries=0)

    gw = await start_chatgate(configure, workflows={"two_step.json": workflow("Polish, old.")})
    openai_emu.delay_s = 1.5
    async with gw.client() as http:
        first = asyncio.create_task(
            http.post("/api/v1/workflows/two_step/execute", json={"inputs": {"user_input": "one"}})
        )
        await openai_emu_saw(openai_emu, 1)
        write_text(gw.workdir / "workflows" / "two_step.json", json.dumps(workflow("Polish, new.")))
        await wait_version(gw, 2)
        assert len(openai_emu.requests) == 1, "the edit must land while the first step still runs"
        r = await first
        assert r.status == 200, await r.text()
        openai_emu.delay_s = 0
        r = await http.post("/api/v1/workflows/two_step/execute", json={"inputs": {"user_input": "two"}})
        assert r.status == 200
    systems = [req.body["messages"][0]["content"] for req in openai_emu.requests]
    assert systems == ["Draft.", "Polish, old.", "Draft.", "Polish, new."]


async def openai_emu_saw(emu: OpenAIEmulator, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(emu.requests) < count:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_new_llm_settings_apply_to_the_next_execution(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(fast_reload, workflows={"chat.json": chat_workflow()})
    body = {"inputs": {"user_input": "hello"}}
    async with gw.client() as http:
        r = await http.post("/api/v1/workflows/chat/execute", json=body)
        assert r.status == 502  # a real model named, none configured yet

        edit(gw, lambda c: c["llm"].update(base_url=openai_emu.base_url, api_key="sk-test-0123456789"))
        await wait_version(gw, 2)
        r = await http.post("/api/v1/workflows/chat/execute", json=body)
        assert r.status == 200, await r.text()
        assert (await r.json())["result"]["content"] == "echo: hello"
    assert "sk-test-0123456789" not in gw.logs()


async def test_a_two_step_partial_write_is_applied_once_it_is_whole(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(lambda c: fast_reload(c, settle_ms=600))
    gw.config["api_keys"].append({"key": NEW_KEY, "name": "newcomer"})
    text = yaml.safe_dump(gw.config, sort_keys=False)
    cut = text.index("rate_limits:")  # the first half alone is valid YAML that lacks keys and tiers
    with gw.config_path.open("w") as f:
        f.write(text[:cut])
        f.flush()
        await asyncio.sleep(0.15)
        f.write(text[cut:])

    state = await wait_version(gw, 2)
    assert state["last_error"] is None
    assert await status_of(gw, NEW_KEY) == 200
    counts = await metrics(gw)
    assert counts['chatgate_config_reloads_total{result="rejected"}'] == 0
    assert counts['chatgate_config_reloads_total{result="applied"}'] == 1


async def test_the_polling_fallback_sees_an_editor_save(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(lambda c: fast_reload(c, force_polling=True, poll_interval_ms=100))
    edit(gw, lambda c: c["api_keys"].append({"key": NEW_KEY, "name": "newcomer"}))
    await wait_version(gw, 2)
    assert await status_of(gw, NEW_KEY) == 200
    assert "(polling)" in gw.logs()


async def test_a_port_or_database_change_waits_for_a_restart_and_the_rest_applies(
    start_chatgate: StartChatgate, tmp_path: Path
) -> None:
    gw = await start_chatgate(fast_reload)

    def change(config: dict[str, Any]) -> None:
        config["server"]["port"] = gw.port + 1
        config["storage"]["url"] = f"sqlite:///{tmp_path / 'other.db'}"
        config["api_keys"].append({"key": NEW_KEY, "name": "newcomer"})

    edit(gw, change)
    state = await wait_version(gw, 2)
    assert state["restart_needed"] == ["server.port", "storage.url"]
    assert await status_of(gw, NEW_KEY) == 200  # served on the old port, with the new key
    assert "restart chatgate to apply" in gw.logs()
    assert not (tmp_path / "other.db").exists()

    edit(gw, lambda c: c["server"].update(port=gw.port))  # changed back: nothing waits any more
    state = await wait_config(gw, lambda c: c["restart_needed"] == ["storage.url"])


async def test_metrics_count_executions_and_show_the_config_version(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(fast_reload)
    async with gw.client() as http:
        for text in ("a", "b"):
            body = {"inputs": {"user_input": text}}
            r = await http.post("/api/v1/workflows/support_bot/execute", json=body)
            assert r.status == 200
    counts = await metrics(gw)
    assert counts['chatgate_executions_total{status="completed"}'] == 2
    assert counts["chatgate_config_version"] == 1
    assert counts["chatgate_config_last_reload_failed"] == 0
    assert counts["chatgate_executions_in_flight"] == 0
