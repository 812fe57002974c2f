"""An admin starts with the generated key, then adds keys to the file: nothing is lost.

Workflows belong to a key's *name*; the generated key (``data/admin_key``, named ``admin``)
stays valid while its file exists, so adding ``api_keys`` revokes nothing and hides nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.api.support import assert_error, chat_workflow, create_workflow, execute, wait_until
from tests.config.reload_support import run_cli
from tests.support.chatgate import API_KEY, OTHER_KEY, StartChatgate


def no_keys(config: dict[str, Any]) -> None:
    config["api_keys"] = []


async def reload_with(gw: Any, key: str) -> dict[str, Any]:
    async with gw.client(key) as http, http.post("/api/v1/admin/reload") as r:
        body: dict[str, Any] = await r.json()
        assert r.status == 200, body
        return body


async def test_adding_api_keys_keeps_the_generated_admin_key_and_its_workflows(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(no_keys)
    generated = (gw.workdir / "data" / "admin_key").read_text().strip()
    async with gw.client(generated) as admin:
        wid = await create_workflow(admin, chat_workflow("mine", model="echo"))

    config = dict(gw.config)
    config["api_keys"] = [{"key": API_KEY, "name": "tester", "tier": "paid"}]
    gw.write_config(config)
    report = await reload_with(gw, generated)
    assert "API key tester added" in report["changes"]

    async with gw.client(generated) as admin:
        r = await admin.get(f"/api/v1/workflows/{wid}")
        assert r.status == 200, await r.text()
        status, body = await execute(admin, wid, "still mine")
        assert status == 200, body
    # `chatgate reload` still finds an admin key: the generated one, beside api_keys
    done = run_cli("reload", "--config", str(gw.config_path), cwd=gw.workdir)
    assert done.returncode == 0, done.stderr
    # the log says how ownership works
    assert "owns the workflows it creates" in gw.logs()


async def test_deleting_data_admin_key_revokes_the_generated_key_on_purpose(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(no_keys)
    key_file = gw.workdir / "data" / "admin_key"
    generated = key_file.read_text().strip()
    config = dict(gw.config)
    config["api_keys"] = [{"key": API_KEY, "name": "tester", "tier": "paid"}]
    config["admins"] = ["key:tester"]
    gw.write_config(config)
    await reload_with(gw, generated)
    async with gw.client(generated) as http, http.get("/api/v1/workflows") as r:
        assert r.status == 200  # valid beside api_keys, until the file goes
    key_file.unlink()

    async def refused() -> bool:
        async with gw.client(generated) as http, http.get("/api/v1/workflows") as r:
            return r.status == 401

    await wait_until(refused, within_s=6)
    async with gw.client(API_KEY) as http, http.get("/api/v1/workflows") as r:
        assert r.status == 200
    assert not key_file.exists()  # nothing made a new one


async def test_workflows_of_a_removed_key_can_be_listed_and_reassigned_by_an_admin(
    start_chatgate: StartChatgate,
) -> None:
    def two_keys(config: dict[str, Any]) -> None:
        config["admins"] = ["key:tester"]

    gw = await start_chatgate(two_keys)
    async with gw.client(OTHER_KEY) as other:
        wid = await create_workflow(other, chat_workflow("theirs", model="echo"))
        status, _ = await execute(other, wid, "remember me", session_id="s1")
        assert status == 200
    config = dict(gw.config)
    config["api_keys"] = [k for k in config["api_keys"] if k["name"] != "other"]
    gw.write_config(config)
    await reload_with(gw, API_KEY)

    async with gw.client(API_KEY) as admin:
        r = await admin.get("/api/v1/admin/keys")
        listing = await r.json()
        assert r.status == 200, listing
        assert {"owner": "other", "workflows": 1, "has_key": False} in listing["owners"]
        assert all("key" not in k for k in listing["keys"])  # never a secret

        r = await admin.post("/api/v1/admin/workflows/reassign", json={"from": "other", "to": "tester"})
        moved = await r.json()
        assert r.status == 200, moved
        assert moved == {"from": "other", "to": "tester", "workflows": 1, "executions": 1, "session_turns": 1}
        r = await admin.get(f"/api/v1/workflows/{wid}")
        assert r.status == 200, await r.text()
        # the conversation came along: the next turn sees the earlier one
        async with admin.post(
            f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "again"}, "session_id": "s1"}
        ) as run:
            assert run.status == 200
            execution = (await run.json())["execution_id"]
        r = await admin.get(f"/api/v1/executions/{execution}")
        detail = await r.json()
        assert detail["session_id"] == "s1"

        r = await admin.post("/api/v1/admin/workflows/reassign", json={"from": "tester", "to": "a:b"})
        assert r.status == 400
        assert_error(await r.json(), "invalid_request")


async def test_a_key_resetting_its_session_never_touches_another_keys_session(
    start_chatgate: StartChatgate,
) -> None:
    # Once, key "team:x" resetting "s1" wiped key "team"'s "x:s1"; such a name is now refused.
    def team(config: dict[str, Any]) -> None:
        config["api_keys"] = [
            {"key": API_KEY, "name": "team", "tier": "paid"},
            {"key": OTHER_KEY, "name": "team.x", "tier": "paid"},
        ]

    gw = await start_chatgate(team)
    async with gw.client(API_KEY) as team_key:
        status, _ = await execute(team_key, "support_bot", "hello", session_id="x:s1")
        assert status == 200
    async with gw.client(OTHER_KEY) as other, other.delete("/api/v1/sessions/s1") as r:
        assert (await r.json())["messages_removed"] == 0
    engine = sa.create_engine(gw.config["storage"]["url"])
    with engine.connect() as conn:
        stored = [row[0] for row in conn.execute(sa.text("select session_id from session_turns"))]
    engine.dispose()
    assert stored == ["api:team:x:s1"]  # the stored form of ordinary names is unchanged

    config = dict(gw.config)
    config["api_keys"] = [*config["api_keys"], {"key": "third-key-0123456789", "name": "team:x"}]
    gw.write_config(config)
    done = run_cli("check-config", str(gw.config_path), cwd=gw.workdir)
    assert done.returncode == 1
    assert "api_keys.2.name" in done.stderr
    assert "without ':'" in done.stderr
