"""An admin keeps workflows as files: good ones load, a bad one is reported with its path and skipped."""

from __future__ import annotations

import asyncio
import copy
import json

import yaml

from tests.api.support import execute
from tests.config.reload_support import fast_reload, health, metrics, write_text
from tests.support.chatgate import ChatgateProcess, StartChatgate, seed_workflow


async def test_a_bad_workflow_file_is_reported_and_the_others_still_load(
    start_chatgate: StartChatgate,
) -> None:
    broken = copy.deepcopy(seed_workflow(name="broken_bot"))
    broken["nodes"][1]["config"]["prompt"] = "{{ghost.text}}"
    gw = await start_chatgate(workflows={"good.json": seed_workflow(name="good_bot"), "bad.json": broken})
    # Two more files, in YAML: one fine, one not even parseable.
    (gw.workdir / "workflows" / "more.yaml").write_text(yaml.safe_dump(seed_workflow(name="yaml_bot")))
    (gw.workdir / "workflows" / "garbled.yml").write_text("name: [unclosed\n")
    await gw.restart()
    async with gw.client() as http:
        health = await (await http.get("/healthz")).json()
        good_status, good = await execute(http, "good_bot", "hi")
        yaml_status, _ = await execute(http, "yaml_bot", "hi")
        missing = await http.get("/api/v1/workflows/broken_bot")
    problems = {p["path"].rsplit("/", 1)[-1]: p for p in health["workflows"]["problems"]}
    assert set(problems) == {"bad.json", "garbled.yml"}
    assert "ghost" in str(problems["bad.json"]["details"])
    assert "response_node" in str(problems["bad.json"]["details"])
    assert health["workflows"]["files"] == 2
    assert (good_status, yaml_status, missing.status) == (200, 200, 404)
    assert good["result"] == {"content": "(echo) hi"}
    log = gw.logs()
    assert "bad.json" in log
    assert "garbled.yml" in log


async def test_two_files_with_the_same_workflow_name_load_only_one(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(
        workflows={"a.json": seed_workflow(name="twin"), "b.json": seed_workflow(name="twin")}
    )
    async with gw.client() as http:
        health = await (await http.get("/healthz")).json()
        status, _ = await execute(http, "twin", "hi")
    assert status == 200
    assert health["workflows"]["files"] == 1
    [problem] = health["workflows"]["problems"]
    assert problem["path"].endswith("b.json")
    assert "twin" in problem["message"]


async def problems_once(gw: ChatgateProcess, count: int) -> list[dict[str, object]]:
    """/healthz's workflow problems, once there are ``count`` of them."""
    for _ in range(200):
        found: list[dict[str, object]] = (await health(gw))["workflows"]["problems"]
        if len(found) == count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"never {count} workflow problem(s):\n{gw.logs()}")


async def test_a_fixed_workflow_file_says_so_in_the_log_and_leaves_health_and_metrics(
    start_chatgate: StartChatgate,
) -> None:
    broken = seed_workflow(name="late_bot")
    broken["connections"].append({"from": "response_node", "to": "nowhere"})
    gw = await start_chatgate(
        fast_reload, workflows={"late.json": broken, "support_bot.json": seed_workflow()}
    )
    path = gw.workdir / "workflows" / "late.json"
    [problem] = await problems_once(gw, 1)
    assert problem["path"] == str(path.relative_to(gw.workdir))  # /healthz: no host paths
    assert (await metrics(gw))["chatgate_workflow_file_problems"] == 1
    assert "is fixed" not in gw.logs()

    write_text(path, json.dumps(seed_workflow(name="late_bot")))
    await problems_once(gw, 0)
    assert (await metrics(gw))["chatgate_workflow_file_problems"] == 0
    async with gw.client() as http:
        status, body = await execute(http, "late_bot", "hi")
    assert (status, body["result"]) == (200, {"content": "(echo) hi"})
    fixed = [line for line in gw.logs().splitlines() if "is fixed" in line]
    assert len(fixed) == 1
    assert f"workflow file {path} is fixed: workflow late_bot loaded" in fixed[0]


async def test_a_file_broken_and_restored_says_its_last_good_version_stayed_and_then_that_it_is_fixed(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(fast_reload)
    path = gw.workdir / "workflows" / "support_bot.json"
    good = path.read_text()
    write_text(path, "{not json")
    await problems_once(gw, 1)
    assert "its last good version of support_bot stays" in gw.logs()

    write_text(path, good)  # the very version that kept running: no "changed", yet fixed
    await problems_once(gw, 0)
    assert (await metrics(gw))["chatgate_workflow_file_problems"] == 0
    assert f"workflow file {path} is fixed: workflow support_bot loaded" in gw.logs()
