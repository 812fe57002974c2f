"""An operator manages API keys without editing the file: create, list, scope, expire, revoke.

Keys made through ``/api/v1/admin/keys`` or ``chatgate keys`` live in the database as
digests; every process sees them within seconds, without a restart.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.api.support import assert_error, chat_workflow, create_workflow, execute, wait_until
from tests.config.reload_support import run_cli
from tests.support.chatgate import API_KEY, OTHER_KEY, ChatgateProcess, StartChatgate


def admin_tester(config: dict[str, Any]) -> None:
    config["admins"] = ["key:tester"]


async def create_key(gw: ChatgateProcess, **body: Any) -> dict[str, Any]:
    async with gw.client(API_KEY) as admin, admin.post("/api/v1/admin/keys", json=body) as r:
        created: dict[str, Any] = await r.json()
        assert r.status == 201, created
        return created


async def status(gw: ChatgateProcess, key: str, method: str = "GET", path: str = "/api/v1/workflows") -> int:
    async with gw.client(key) as http, http.request(method, path) as r:
        return r.status


async def test_an_admin_makes_a_key_that_works_at_once_and_is_stored_only_as_a_digest(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(admin_tester)
    created = await create_key(gw, name="ci", tier="free")
    key = created["key"]
    assert key.startswith("cg_")
    assert len(key) > 40
    assert created["source"] == "database"
    assert created["admin"] is False
    async with gw.client(key) as ci:
        wid = await create_workflow(ci, chat_workflow("ci-flow", model="echo"))
        status_code, body = await execute(ci, wid, "hi")
        assert status_code == 200, body

    async with gw.client(API_KEY) as admin:
        r = await admin.get("/api/v1/admin/keys")
        listing = await r.json()
    by_name = {k["name"]: k for k in listing["keys"]}
    assert by_name["ci"]["workflows_owned"] == 1
    assert by_name["tester"]["source"] == "file"
    assert key not in str(listing)
    stored = b"".join(p.read_bytes() for p in (gw.workdir / "data").glob("chatgate.db*"))
    assert key.encode() not in stored

    async with gw.client(API_KEY) as admin, admin.delete("/api/v1/admin/keys/ci") as r:
        assert r.status == 204
    assert await status(gw, key) == 401


async def test_the_admin_api_refuses_non_admin_keys_and_bad_requests_in_the_envelope(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(admin_tester)
    async with gw.client(OTHER_KEY) as other:
        for method, path in [
            ("GET", "/api/v1/admin/keys"),
            ("POST", "/api/v1/admin/keys"),
            ("DELETE", "/api/v1/admin/keys/tester"),
            ("POST", "/api/v1/admin/workflows/reassign"),
        ]:
            async with other.request(method, path, json={}) as r:
                assert r.status == 403, (method, path)
                assert_error(await r.json(), "forbidden")
    async with gw.client(API_KEY) as admin:
        for body, code, status_code in [
            ({"name": "other", "tier": "free"}, "conflict", 409),  # a file key's name
            ({"name": "a:b", "tier": "free"}, "invalid_request", 400),
            ({"name": "x", "tier": "gold"}, "invalid_request", 400),
            ({"name": "x", "tier": "free", "expires_at": "2020-01-01T00:00:00Z"}, "invalid_request", 400),
            ({"name": "x", "tier": "free", "admin": "yes"}, "invalid_request", 400),
            ({"tier": "free"}, "invalid_request", 400),
        ]:
            async with admin.post("/api/v1/admin/keys", json=body) as r:
                assert r.status == status_code, (body, await r.text())
                assert_error(await r.json(), code)
        await create_key(gw, name="dup", tier="free")
        async with admin.post("/api/v1/admin/keys", json={"name": "dup", "tier": "free"}) as r:
            assert r.status == 409
            assert_error(await r.json(), "conflict")
        async with admin.delete("/api/v1/admin/keys/other") as r:  # lives in the file
            assert r.status == 409
            assert "api_keys" in assert_error(await r.json(), "conflict")["message"]
        async with admin.delete("/api/v1/admin/keys/nobody") as r:
            assert r.status == 404
            assert_error(await r.json(), "not_found")


async def test_scoped_read_only_and_expiring_keys_get_403_and_401_with_the_reason(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(admin_tester)
    async with gw.client(API_KEY) as admin:
        other_wid = await create_workflow(admin, chat_workflow("other-flow", model="echo"))
    scoped = (await create_key(gw, name="bot-only", tier="paid", workflows=["support_bot"]))["key"]
    reader = (await create_key(gw, name="reader", tier="paid", read_only=True))["key"]
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    brief = (await create_key(gw, name="brief", tier="paid", expires_at=soon.isoformat()))["key"]

    async with gw.client(scoped) as http:
        assert (await execute(http, "support_bot", "hi"))[0] == 200
        async with http.post(f"/api/v1/workflows/{other_wid}/execute", json={"inputs": {}}) as r:
            assert r.status == 404  # someone else's: not even visible
        own = await create_workflow(http, chat_workflow("own", model="echo"))
        code, body = await execute(http, own, "hi")
        assert code == 403
        assert "may not run" in assert_error(body, "forbidden")["message"]

    assert await status(gw, reader) == 200
    assert await status(gw, reader, "GET", "/api/v1/workflows/support_bot") == 200
    async with gw.client(reader) as http:
        code, body = await execute(http, "support_bot", "hi")
        assert code == 403
        assert "read-only" in assert_error(body, "forbidden")["message"]
        async with http.post("/api/v1/workflows", json=chat_workflow("nope", model="echo")) as r:
            assert r.status == 403
        async with http.delete("/api/v1/sessions/s1") as r:
            assert r.status == 403

    assert await status(gw, brief) == 200
    await asyncio.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.1)
    async with gw.client(brief) as http, http.get("/api/v1/workflows") as r:
        assert r.status == 401
        assert "expired at" in assert_error(await r.json(), "unauthorized")["message"]


async def test_keys_made_and_revoked_by_the_cli_take_effect_in_the_running_server(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate()
    made = run_cli(
        "keys",
        "create",
        "--config",
        str(gw.config_path),
        "--name",
        "ops",
        "--tier",
        "paid",
        "--admin",
        cwd=gw.workdir,
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("cg_")
    assert key not in made.stderr

    async def works() -> bool:
        return await status(gw, key, "GET", "/api/v1/admin/keys") == 200  # an admin key, too

    await wait_until(works, within_s=6)

    # the same name in the file too is refused: the reload names the key, the old config stays
    before = dict(gw.config)
    gw.write_config(
        {**before, "api_keys": [*before["api_keys"], {"key": "file-ops-0123456789", "name": "ops"}]}
    )
    async with gw.client(key) as ops, ops.post("/api/v1/admin/reload") as r:
        assert r.status == 422
        assert "api_keys.2.name" in assert_error(await r.json(), "invalid_config")["message"]
    assert await status(gw, API_KEY) == 200
    gw.write_config(before)

    revoked = run_cli("keys", "revoke", "ops", "--config", str(gw.config_path), cwd=gw.workdir)
    assert revoked.returncode == 0, revoked.stderr

    async def refused() -> bool:
        return await status(gw, key) == 401

    await wait_until(refused, within_s=6)
