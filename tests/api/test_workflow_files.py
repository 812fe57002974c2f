"""An admin keeps workflows as files: good ones load, a bad one is reported with its path and skipped."""

from __future__ import annotations

import copy

import yaml

from tests.api.support import execute
from tests.conftest import StartChatgate, seed_workflow


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
    assert "ghost" in str(problems["bad.json"]["details"]) and "response_node" in str(
        problems["bad.json"]["details"]
    )
    assert health["workflows"]["files"] == 2
    assert (good_status, yaml_status, missing.status) == (200, 200, 404)
    assert good["result"] == {"content": "(echo) hi"}
    log = gw.logs()
    assert "bad.json" in log and "garbled.yml" in log


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
    assert problem["path"].endswith("b.json") and "twin" in problem["message"]
