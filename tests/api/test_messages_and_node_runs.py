"""A client runs workflows that talk as they go (``message``), decide their result (``end``)
and survive failing nodes (``on_error``), then looks at how every node went."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.api.shared_server import SharedServer
from tests.api.support import SSE, create_workflow, use_emulator
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.chatgate import StartChatgate

NO_SERVER = "needs an LLM server, and none is configured"  # how a model fails without one


def node(node_id: str, type_: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "type": type_, "config": config}


START = node("start", "start", input_params=[{"name": "user_input", "type": "string"}])


def doc(name: str, nodes: list[dict[str, Any]], *links: str | tuple[str, str, str]) -> dict[str, Any]:
    """``"a>b"`` links the default output; ``("a", "port", "b")`` a named one."""
    connections: list[dict[str, str]] = []
    for link in links:
        if isinstance(link, tuple):
            connections.append({"from": link[0], "port": link[1], "to": link[2]})
        else:
            a, b = link.split(">")
            connections.append({"from": a, "to": b})
    return {"name": name, "nodes": [START, *nodes], "connections": connections}


MESSAGES = doc(
    "talkative",
    [
        node("first", "message", content="Looking up {{inputs.user_input}}…"),
        node("second", "message", content="Almost there."),
        node("answer", "response", model="echo"),
    ],
    "start>first",
    "first>second",
    "second>answer",
)

# guess fails and continues with its default; ask fails and branches to its error port,
# so good (on ask's default output) is skipped and sorry says what went wrong.
FAILURES = doc(
    "failures",
    [
        node("guess", "response", model="no-such-model", on_error="continue", default={"text": "no guess"}),
        node("ask", "response", model="no-such-model", on_error="branch"),
        node("good", "message", content="{{ask.text}}"),
        node("sorry", "message", content="Sorry: {{ask.error.message}}"),
        node(
            "end",
            "end",
            content="guess: {{guess.text}}",
            outputs={"good": "{{good.text}}", "code": "{{ask.error.code}}", "error": "{{ask.error}}"},
        ),
    ],
    "start>guess",
    "start>ask",
    "ask>good",
    ("ask", "error", "sorry"),
    "guess>end",
    "good>end",
    "sorry>end",
)


async def run(http: aiohttp.ClientSession, wid: str, text: str, *, stream: bool = False) -> Any:
    payload = {"inputs": {"user_input": text}, "stream": stream}
    async with http.post(f"/api/v1/workflows/{wid}/execute", json=payload) as r:
        assert r.status == 200, await r.text()
        return await SSE(r).all() if stream else await r.json()


async def test_messages_stream_in_order_before_the_end_and_are_listed_in_the_result(
    shared_server: SharedServer,
) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        wid = await create_workflow(http, MESSAGES)
        events = await run(http, wid, "tea", stream=True)
        plain = await run(http, wid, "tea")
    said = [(data["node_id"], data["text"]) for name, data in events if name == "message"]
    assert said == [("first", "Looking up tea…"), ("second", "Almost there.")]
    names = [(name, data.get("node_id")) for name, data in events]
    # Each said at once: the second before the model's node even started, both before the end.
    assert names.index(("message", "second")) < names.index(("node_started", "answer"))
    assert names[-1][0] == "execution_finished"
    finished = events[-1][1]
    assert finished["result"] == {
        "content": "(echo) Almost there.",
        "messages": ["Looking up tea…", "Almost there."],
    }
    assert plain["result"] == finished["result"]


async def test_a_workflow_without_messages_has_no_messages_in_its_result(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        wid = await create_workflow(
            http, doc("quiet", [node("answer", "response", model="echo")], "start>answer")
        )
        body = await run(http, wid, "hi")
    assert body["result"] == {"content": "(echo) hi"}


async def test_the_execution_shows_every_node_completed_continued_and_skipped(
    shared_server: SharedServer,
) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        wid = await create_workflow(http, FAILURES)
        events = await run(http, wid, "hi", stream=True)
        body = events[-1][1]
        async with http.get(f"/api/v1/executions/{body['execution_id']}") as r:
            assert r.status == 200
            record = await r.json()
    failure = {"code": "execution_failed", "message": f"model 'no-such-model' {NO_SERVER}"}
    assert body["status"] == "completed"
    assert body["result"] == {
        "content": "guess: no guess",
        "good": None,
        "code": "execution_failed",
        "error": failure,  # exactly one reference: the object itself
        "messages": [f"Sorry: {failure['message']}"],
    }
    nodes = record["nodes"]
    assert set(nodes) == {"start", "guess", "ask", "good", "sorry", "end"}
    assert nodes["good"] == {"type": "message", "status": "skipped", "outputs": None}
    for node_id in ("guess", "ask"):
        assert nodes[node_id]["status"] == "continued", nodes[node_id]
        assert nodes[node_id]["attempts"] == 1
        assert nodes[node_id]["error"] == failure
    assert nodes["guess"]["outputs"] == {"text": "no guess"}
    assert nodes["guess"]["port"] == "default"
    assert nodes["ask"]["outputs"] == {"error": failure}
    assert nodes["ask"]["port"] == "error"
    for node_id in ("start", "sorry", "end"):
        assert nodes[node_id]["status"] == "completed", nodes[node_id]
        assert nodes[node_id]["attempts"] == 1
        assert nodes[node_id]["duration_ms"] >= 0
        assert "error" not in nodes[node_id]
    assert nodes["end"]["outputs"] == {k: v for k, v in body["result"].items() if k != "messages"}
    # The stream told the same story as it happened.
    skipped = [data for name, data in events if name == "node_skipped"]
    assert skipped == [{"node_id": "good", "type": "message"}]
    statuses = {data["node_id"]: data["status"] for name, data in events if name == "node_finished"}
    assert statuses == {n: v["status"] for n, v in nodes.items() if v["status"] != "skipped"}


async def test_a_node_that_fails_once_is_retried_and_the_record_counts_the_attempts(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu, max_retries=0))
    retried = doc(
        "retried",
        [node("answer", "response", model="gpt-4o-mini", retry={"max_attempts": 3, "backoff_s": 0.05})],
        "start>answer",
    )
    openai_emu.fail_next(503)
    async with gw.client() as http:
        wid = await create_workflow(http, retried)
        body = await run(http, wid, "hello")
        async with http.get(f"/api/v1/executions/{body['execution_id']}") as r:
            record = await r.json()
    assert body["status"] == "completed"
    assert len(openai_emu.requests) == 2
    answer = record["nodes"]["answer"]
    assert answer["status"] == "completed"
    assert answer["attempts"] == 2
    assert "error" not in answer
    assert answer["outputs"] == {"text": "echo: hello"} == {"text": body["result"]["content"]}
    assert answer["duration_ms"] >= 50  # it waited out the backoff between the two


async def test_a_reply_shows_who_called_through_the_api(shared_server: SharedServer) -> None:
    key = shared_server.new_key()
    name = key.replace("-key-", "").split("-")[0]  # the pool's naming: paid-key-007-… is paid007
    whoami = doc(
        "whoami",
        [node("end", "end", content="{{sys.platform}}|{{sys.user_id}}|{{sys.user_name}}|{{sys.chat_id}}")],
        "start>end",
    )
    async with shared_server.client(key) as http:
        wid = await create_workflow(http, whoami)
        body = await run(http, wid, "who am I?")
    assert body["result"] == {"content": f"api|{name}|{name}|"}
