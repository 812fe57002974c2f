"""A developer's workflow calls the team's own HTTP service with an ``http`` node, over the
REST API of a real ``chatgate serve``: the admin opted 127.0.0.1 in (``http.allow_networks``),
so the service on loopback is reachable; with the default config the same request is a
``destination_not_allowed`` node error that ``on_error`` can branch on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.api.shared_server import SharedServer
from tests.api.support import assert_error, create_workflow
from tests.support.chatgate import ChatgateProcess, StartChatgate
from tests.support.http_service import HttpService

START = {
    "id": "start",
    "type": "start",
    "config": {"input_params": [{"name": "user_input"}, {"name": "order", "type": "string"}]},
}


def flow(
    name: str, nodes: list[dict[str, Any]], *links: tuple[str, str] | tuple[str, str, str]
) -> dict[str, Any]:
    """start plus ``nodes``; each link ``(from, to)`` or ``(from, port, to)``."""
    connections = [
        {"from": link[0], "to": link[1]}
        if len(link) == 2
        else {"from": link[0], "port": link[1], "to": link[2]}
        for link in links
    ]
    return {"name": name, "nodes": [START, *nodes], "connections": connections}


def http_node(node_id: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "http", "config": config}


def end(**outputs: Any) -> dict[str, Any]:
    return {"id": "end", "type": "end", "config": {"outputs": outputs}}


async def execute(http: aiohttp.ClientSession, wid: str, **inputs: Any) -> tuple[int, dict[str, Any]]:
    payload = {"inputs": {"user_input": "hi", "order": "A-17", **inputs}}
    async with http.post(f"/api/v1/workflows/{wid}/execute", json=payload) as r:
        return r.status, await r.json()


@pytest.fixture
async def service() -> AsyncIterator[HttpService]:
    async with HttpService("127.0.0.1") as running:
        yield running


@pytest.fixture
async def opted_in(start_chatgate: StartChatgate) -> ChatgateProcess:
    def configure(config: dict[str, Any]) -> None:
        config["http"] = {"allow_networks": ["127.0.0.1/32"], "max_response_bytes": 4096}

    return await start_chatgate(configure, workflows={})


async def test_a_workflow_looks_up_an_order_with_query_and_headers(
    opted_in: ChatgateProcess, service: HttpService
) -> None:
    lookup = http_node(
        "lookup",
        url=service.url("/echo"),
        query={"id": "{{inputs.order}}", "expand": "lines"},
        headers={"X-Team": "support", "Accept": "application/json"},
    )
    doc = flow(
        "orders",
        [
            lookup,
            end(status="{{lookup.status}}", seen="{{lookup.json}}", kind="{{lookup.headers.x-service}}"),
        ],
        ("start", "lookup"),
        ("lookup", "end"),
    )
    async with opted_in.client() as http:
        wid = await create_workflow(http, doc)
        status, body = await execute(http, wid)
    assert status == 200, body
    result = body["result"]
    assert result["status"] == 200
    assert result["kind"] == "echo"  # response headers are outputs, by lower-case name
    assert result["seen"]["method"] == "GET"
    assert result["seen"]["query"] == {"id": "A-17", "expand": "lines"}
    assert result["seen"]["headers"]["x-team"] == "support"
    assert result["seen"]["headers"]["user-agent"] == "chatgate"
    assert [s.query for s in service.seen] == [{"id": "A-17", "expand": "lines"}]


async def test_a_workflow_posts_json_a_form_and_text(opted_in: ChatgateProcess, service: HttpService) -> None:
    url = service.url("/echo")
    nodes = [
        http_node("as_json", method="POST", url=url, body={"json": {"order": "{{inputs.order}}", "qty": 2}}),
        http_node(
            "as_form", method="PUT", url=url, body={"form": {"order": "{{inputs.order}}", "note": "a&b"}}
        ),
        http_node("as_text", method="PATCH", url=url, body={"text": "order {{inputs.order}}"}),
        http_node("gone", method="DELETE", url=url),
        end(j="{{as_json.json}}", f="{{as_form.json}}", t="{{as_text.json}}", d="{{gone.json.method}}"),
    ]
    links = [("start", n["id"]) for n in nodes[:4]] + [(n["id"], "end") for n in nodes[:4]]
    async with opted_in.client() as http:
        wid = await create_workflow(http, flow("posts", nodes, *links))
        status, body = await execute(http, wid)
    assert status == 200, body
    r = body["result"]
    assert (r["j"]["method"], r["j"]["content_type"], r["j"]["body"]) == (
        "POST",
        "application/json",
        '{"order":"A-17","qty":2}',
    )
    assert (r["f"]["method"], r["f"]["content_type"], r["f"]["body"]) == (
        "PUT",
        "application/x-www-form-urlencoded",
        "order=A-17&note=a%26b",
    )
    assert (r["t"]["method"], r["t"]["content_type"], r["t"]["body"]) == ("PATCH", "text/plain", "order A-17")
    assert r["d"] == "DELETE"


async def test_a_workflow_branches_on_the_status_and_can_insist_on_success(
    opted_in: ChatgateProcess, service: HttpService
) -> None:
    check = http_node("check", url=service.url("/status/{{inputs.user_input}}"))
    route = {
        "id": "route",
        "type": "condition",
        "config": {
            "branches": [
                {"port": "missing", "conditions": [{"left": "{{check.status}}", "op": "==", "right": 404}]}
            ]
        },
    }
    found = {"id": "found", "type": "message", "config": {"content": "found ({{check.status}})"}}
    missing = {
        "id": "nope",
        "type": "message",
        "config": {"content": "no such order ({{check.json.status}})"},
    }
    branching = flow(
        "branching",
        [
            check,
            route,
            found,
            missing,
            {"id": "end", "type": "end", "config": {"content": "{{nope.text}}{{found.text}}"}},
        ],
        ("start", "check"),
        ("check", "route"),
        ("route", "missing", "nope"),
        ("route", "else", "found"),
        ("nope", "end"),
        ("found", "end"),
    )
    strict = flow(
        "strict",
        [http_node("check", url=service.url("/status/{{inputs.user_input}}"), raise_for_status=True), end()],
        ("start", "check"),
        ("check", "end"),
    )
    plain = flow(
        "plain",
        [http_node("check", url=service.url("/text")), end(json="{{check.json}}", body="{{check.body}}")],
        ("start", "check"),
        ("check", "end"),
    )
    async with opted_in.client() as http:
        wid = await create_workflow(http, branching)
        assert (await execute(http, wid, user_input="404"))[1]["result"]["content"] == "no such order (404)"
        assert (await execute(http, wid, user_input="200"))[1]["result"]["content"] == "found (200)"
        sid = await create_workflow(http, strict)
        assert (await execute(http, sid, user_input="204"))[0] == 200
        status, failed = await execute(http, sid, user_input="503")
        pid = await create_workflow(http, plain)
        _, text = await execute(http, pid)
    assert status == 502
    error = assert_error(failed, "execution_failed")
    assert error["message"] == "node 'check': the service answered HTTP 503"
    assert error["details"]["status"] == 503
    assert text["result"]["json"] is None  # not JSON: only the text
    assert text["result"]["body"] == "plain words"


async def test_an_answer_over_the_configured_size_fails_the_node(
    opted_in: ChatgateProcess, service: HttpService
) -> None:
    doc = flow(
        "big", [http_node("get", url=service.url("/big?bytes=5000")), end()], ("start", "get"), ("get", "end")
    )
    async with opted_in.client() as http:
        wid = await create_workflow(http, doc)
        status, body = await execute(http, wid)
    assert status == 502
    assert (
        "larger than http.max_response_bytes (4096 bytes)"
        in assert_error(body, "execution_failed")["message"]
    )


async def test_by_default_the_machine_itself_is_refused_and_on_error_can_handle_it(
    shared_server: SharedServer, service: HttpService
) -> None:
    target = f"http://127.0.0.1:{service.port}/echo"
    careful = flow(
        "careful",
        [
            http_node("call", url=target, on_error="branch"),
            end(code="{{call.error.code}}", why="{{call.error.message}}"),
        ],
        ("start", "call"),
        ("call", "error", "end"),
    )
    careless = flow("careless", [http_node("call", url=target), end()], ("start", "call"), ("call", "end"))
    sneaky = flow(
        "sneaky",
        [http_node("call", url=f"http://0x7f.1:{service.port}/echo"), end()],
        ("start", "call"),
        ("call", "end"),
    )
    async with shared_server.client(shared_server.new_key()) as http:
        status, handled = await execute(http, await create_workflow(http, careful))
        careless_status, failed = await execute(http, await create_workflow(http, careless))
        _, odd = await execute(http, await create_workflow(http, sneaky))
    assert status == 200, handled
    assert handled["result"]["code"] == "destination_not_allowed"
    assert handled["result"]["why"] == "node 'call': destination not allowed: '127.0.0.1' (loopback address)"
    assert careless_status == 502
    error = assert_error(failed, "destination_not_allowed")
    assert error["details"] == {"host": "127.0.0.1", "refused": "loopback", "node": "call"}
    assert failed["execution_id"]
    assert "'0x7f.1' (loopback address)" in assert_error(odd, "destination_not_allowed")["message"]
    assert service.seen == []  # nothing ever arrived


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({"url": "file:///etc/passwd"}, "http:// or https://"),
        ({"url": "http://x", "method": "TRACE"}, "method"),
        ({"url": "http://x", "body": {"json": 1, "text": "a"}}, "body"),
        ({"url": "http://x", "headers": {"Bad Header": "v"}}, "not a header name"),
        ({"url": "http://x", "headers": {"Transfer-Encoding": "chunked"}}, "set by the HTTP client"),
        ({"url": "http://x", "headers": {"host": "metadata.google.internal"}}, "set by the HTTP client"),
    ],
)
async def test_a_bad_http_node_is_refused_when_saved(
    shared_server: SharedServer, config: dict[str, Any], says: str
) -> None:
    doc = flow("bad", [http_node("call", **config)], ("start", "call"))
    async with (
        shared_server.client(shared_server.new_key()) as http,
        http.post("/api/v1/workflows", json=doc) as r,
    ):
        status, body = r.status, await r.json()
    assert status == 400
    assert says in str(assert_error(body, "invalid_workflow"))


async def test_what_a_user_types_cannot_smuggle_a_header_or_another_scheme(
    opted_in: ChatgateProcess, service: HttpService
) -> None:
    doc = flow(
        "typed",
        [
            http_node("by_header", url=service.url("/echo"), headers={"X-Note": "{{inputs.user_input}}"}),
            http_node("by_url", url="{{inputs.order}}", on_error="branch"),
            end(why="{{by_url.error.message}}"),
        ],
        ("start", "by_header"),
        ("by_header", "by_url"),
        ("by_url", "error", "end"),
    )
    async with opted_in.client() as http:
        wid = await create_workflow(http, doc)
        status, smuggled = await execute(http, wid, user_input="hi\r\nX-Admin: yes")
        _, schemed = await execute(http, wid, user_input="fine", order="file:///etc/passwd")
    assert status == 502
    assert assert_error(smuggled, "execution_failed")["message"] == (
        "node 'by_header': header 'X-Note' may not contain line breaks"
    )
    assert schemed["result"]["why"] == "node 'by_url': the URL must start with http:// or https://"
    assert [s.headers.get("x-admin") for s in service.seen] == [None]  # only the fine request arrived


TOKEN = "tok-orders-5f2c9a1e7b"


async def test_a_secret_goes_only_to_the_host_it_is_for_and_is_never_shown(
    start_chatgate: StartChatgate,
) -> None:
    def configure(config: dict[str, Any]) -> None:
        config["http"] = {"allow_networks": ["127.0.0.1/32", "127.0.0.2/32"]}
        config["secrets"] = {"orders_token": {"value": TOKEN, "keys": ["*"], "hosts": ["127.0.0.1"]}}

    gw = await start_chatgate(configure, workflows={})
    call = http_node(
        "call",
        url="{{inputs.order}}",
        headers={"Authorization": "Bearer {{secrets.orders_token}}"},
        query={"sig": "{{secrets.orders_token}}"},
        body={"json": {"token": "{{secrets.orders_token}}"}},
        method="POST",
    )
    doc = flow("secretive", [call, end(seen="{{call.json}}")], ("start", "call"), ("call", "end"))
    async with HttpService("127.0.0.1") as meant, HttpService("127.0.0.2") as other, gw.client() as http:
        wid = await create_workflow(http, doc)
        status, sent = await execute(http, wid, order=meant.url("/echo"))
        refused_status, refused = await execute(http, wid, order=other.url("/echo"))
        record = await (await http.get(f"/api/v1/executions/{sent['execution_id']}")).text()
        stored = await (await http.get(f"/api/v1/workflows/{wid}")).text()
    assert status == 200, sent
    [arrived] = meant.seen
    assert arrived.headers["authorization"] == f"Bearer {TOKEN}"
    assert arrived.query == {"sig": TOKEN}
    assert TOKEN in arrived.body
    assert refused_status == 502
    error = assert_error(refused, "execution_failed")
    assert error["message"] == "node 'call': secret 'orders_token' may not be sent to '127.0.0.2'"
    assert other.seen == []
    for shown in (str(sent), str(refused), record, stored, gw.logs()):
        assert TOKEN not in shown
    assert "[secret:orders_token]" in str(sent["result"])  # what the service echoed, masked
