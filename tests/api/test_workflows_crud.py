"""A developer manages workflows over the REST API: create, read, list, update, delete."""

from __future__ import annotations

from typing import Any

from tests.api.shared_server import SharedServer
from tests.api.support import ISO_Z, assert_error, chat_workflow, create_workflow
from tests.support.chatgate import seed_workflow


def echo_workflow(name: str, prompt: str | None = None) -> dict[str, Any]:
    return chat_workflow(name, model="echo", prompt=prompt)


async def test_creating_the_seed_workflow_answers_the_seed_shape(shared_server: SharedServer) -> None:
    doc = seed_workflow(name="my_workflow")
    async with shared_server.client(shared_server.new_key()) as http:
        r = await http.post("/api/v1/workflows", json=doc)
        body = await r.json()
    assert r.status == 201, body
    assert set(body) == {"workflow_id", "status", "created_at"}
    assert body["workflow_id"].startswith("wf_")
    assert body["status"] == "created"
    assert ISO_Z.match(body["created_at"]), body["created_at"]


async def test_a_created_workflow_reads_back_as_submitted(shared_server: SharedServer) -> None:
    doc = chat_workflow("as_submitted", temperature=0.5, max_tokens=64)
    doc["description"] = "说明 with unicode"
    async with shared_server.client(shared_server.new_key()) as http:
        r = await http.post("/api/v1/workflows", json=doc)
        created = await r.json()
        r = await http.get(f"/api/v1/workflows/{created['workflow_id']}")
        body = await r.json()
    assert r.status == 200, body
    assert body["workflow_id"] == created["workflow_id"]
    assert body["name"] == "as_submitted"
    assert body["description"] == "说明 with unicode"
    assert body["status"] == "active"
    assert body["created_at"] == created["created_at"]
    assert ISO_Z.match(body["updated_at"])
    assert body["nodes"] == doc["nodes"]
    assert body["connections"] == doc["connections"]


async def test_listing_pages_through_the_file_workflows_and_my_own(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        mine = [await create_workflow(http, echo_workflow(f"mine{i}")) for i in range(3)]
        pages = []
        for page in (1, 2, 3):
            r = await http.get("/api/v1/workflows", params={"page": page, "page_size": 2})
            pages.append(await r.json())
            assert r.status == 200, pages[-1]
    # One file workflow (support_bot) plus my three.
    assert [p["total"] for p in pages] == [4, 4, 4]
    assert [len(p["workflows"]) for p in pages] == [2, 2, 0]
    assert [p["has_more"] for p in pages] == [True, False, False]
    listed = [w["workflow_id"] for p in pages for w in p["workflows"]]
    assert len(set(listed)) == 4
    assert set(mine) <= set(listed)
    first = pages[0]["workflows"][0]
    assert first["name"] == "support_bot"
    assert {"workflow_id", "name", "description", "status", "created_at", "updated_at"} <= set(first)


async def test_listing_with_a_bad_page_is_an_invalid_request(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        for params in ({"page": "two"}, {"page": "0"}, {"page_size": "1000"}):
            r = await http.get("/api/v1/workflows", params=params)
            error = assert_error(await r.json(), "invalid_request")
            assert r.status == 400
            assert next(iter(params)) in error["message"]


async def test_updating_a_workflow_bumps_updated_at_and_changes_what_runs(
    shared_server: SharedServer,
) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        wid = await create_workflow(http, echo_workflow("editable", prompt="v1: {{inputs.user_input}}"))
        before = await (await http.get(f"/api/v1/workflows/{wid}")).json()
        r = await http.put(
            f"/api/v1/workflows/{wid}", json=echo_workflow("edited", prompt="v2: {{inputs.user_input}}")
        )
        updated = await r.json()
        assert r.status == 200, updated
        after = await (await http.get(f"/api/v1/workflows/{wid}")).json()
        run = await (
            await http.post(f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "hi"}})
        ).json()
    assert updated == after
    assert after["name"] == "edited"
    assert after["created_at"] == before["created_at"]
    assert after["updated_at"] > before["updated_at"]
    assert after["nodes"][1]["config"]["prompt"] == "v2: {{inputs.user_input}}"
    assert run["result"] == {"content": "(echo) v2: hi"}


async def test_an_invalid_update_is_refused_and_the_old_version_stays(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        wid = await create_workflow(http, echo_workflow("stays"))
        bad = echo_workflow("stays")
        bad["connections"] = []  # response_node becomes unreachable
        r = await http.put(f"/api/v1/workflows/{wid}", json=bad)
        error = assert_error(await r.json(), "invalid_workflow")
        assert r.status == 400
        current = await (await http.get(f"/api/v1/workflows/{wid}")).json()
    assert "response_node" in error["details"]
    assert current["connections"] == [{"from": "start_node", "to": "response_node"}]


async def test_a_deleted_workflow_is_gone(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        wid = await create_workflow(http, echo_workflow("doomed"))
        r = await http.delete(f"/api/v1/workflows/{wid}")
        assert r.status == 204
        get = await http.get(f"/api/v1/workflows/{wid}")
        assert_error(await get.json(), "not_found")
        run = await http.post(f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "hi"}})
        assert_error(await run.json(), "not_found")
        again = await http.delete(f"/api/v1/workflows/{wid}")
        assert_error(await again.json(), "not_found")
        listing = await (await http.get("/api/v1/workflows")).json()
    assert (get.status, run.status, again.status) == (404, 404, 404)
    assert wid not in [w["workflow_id"] for w in listing["workflows"]]


async def test_a_key_sees_only_its_own_workflows(shared_server: SharedServer) -> None:
    owner, stranger = shared_server.new_key(), shared_server.new_key()
    async with shared_server.client(owner) as mine, shared_server.client(stranger) as theirs:
        wid = await create_workflow(mine, echo_workflow("private"))
        attempts = [
            await theirs.get(f"/api/v1/workflows/{wid}"),
            await theirs.put(f"/api/v1/workflows/{wid}", json=echo_workflow("hijacked")),
            await theirs.delete(f"/api/v1/workflows/{wid}"),
            await theirs.post(f"/api/v1/workflows/{wid}/execute", json={"inputs": {"user_input": "hi"}}),
        ]
        for r in attempts:
            assert r.status == 404
            error = assert_error(await r.json(), "not_found")
            assert "hijacked" not in error["message"]
        listing = await (await theirs.get("/api/v1/workflows")).json()
        still = await (await mine.get(f"/api/v1/workflows/{wid}")).json()
    assert wid not in [w["workflow_id"] for w in listing["workflows"]]
    assert still["name"] == "private"


async def test_file_workflows_are_readable_and_executable_by_every_key_by_name_or_id(
    shared_server: SharedServer,
) -> None:
    for key in (shared_server.new_key(), shared_server.new_key("free")):
        async with shared_server.client(key) as http:
            by_name = await http.get("/api/v1/workflows/support_bot")
            body = await by_name.json()
            assert by_name.status == 200, body
            assert body["name"] == "support_bot"
            assert body["nodes"] == seed_workflow()["nodes"]
            by_id = await (await http.get(f"/api/v1/workflows/{body['workflow_id']}")).json()
            assert by_id == body
            for ref in ("support_bot", body["workflow_id"]):
                r = await http.post(
                    f"/api/v1/workflows/{ref}/execute", json={"inputs": {"user_input": "hello"}}
                )
                run = await r.json()
                assert r.status == 200, run
                assert run["result"] == {"content": "(echo) hello"}


async def test_a_file_workflow_cannot_be_replaced_or_deleted_over_the_api(
    shared_server: SharedServer,
) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        put = await http.put("/api/v1/workflows/support_bot", json=echo_workflow("support_bot"))
        put_error = assert_error(await put.json(), "forbidden")
        delete = await http.delete("/api/v1/workflows/support_bot")
        delete_error = assert_error(await delete.json(), "forbidden")
        still = await http.get("/api/v1/workflows/support_bot")
        body = await still.json()
    assert (put.status, delete.status, still.status) == (403, 403, 200)
    assert "support_bot.json" in put_error["message"]
    assert "support_bot.json" in delete_error["message"]
    assert body["nodes"] == seed_workflow()["nodes"]
