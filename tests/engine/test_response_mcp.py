"""A ``response`` node offers the model an MCP server's tools: a real server on the official
SDK, started by chatgate over stdio (supervised: restarted after a crash) or reached over
streamable HTTP on loopback, behind the SSRF guard."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from config.mcp import McpServerSettings
from config.outbound import HttpSettings
from engine.errors import ExecutionFailed
from engine.mcp.pool import McpPool
from engine.run.executor import Executor
from engine.workflow.nodes.tools.servers import MCP_SERVERS
from tests.emulators.openai_server import EmulatedCall, EmulatedReply, OpenAIEmulator
from tests.engine.executors import MakeExecutor
from tests.engine.test_subworkflows import Parts, doc, node, wired
from tests.support.mcp import STDIO_COMMAND, http_mcp_server
from tests.support.net import free_port

LOOPBACK = HttpSettings(allow_networks=("127.0.0.1",))


def desk(tools: list[dict[str, Any]]) -> dict[str, Any]:
    return doc(
        "desk", [{"name": "user_input"}], [node("answer", "response", model="gpt-4o-mini", tools=tools)]
    )


def calls_then_reports(*calls: EmulatedCall) -> Any:
    """The model asks for ``calls`` once, then answers with the tools' answers, one a line."""

    def reply(body: dict[str, Any]) -> str | EmulatedReply:
        answers = [m["content"] for m in body["messages"] if m["role"] == "tool"]
        return "\n".join(answers) if answers else EmulatedReply("", calls)

    return reply


@pytest.fixture
async def with_pool(executor: MakeExecutor, openai_emu: OpenAIEmulator) -> AsyncIterator[Any]:
    pools: list[McpPool] = []

    def make(servers: dict[str, McpServerSettings], http: HttpSettings = LOOPBACK) -> tuple[Parts, McpPool]:
        ex: Executor = executor(openai_emu, max_depth=3, max_items=10)
        pool = McpPool(servers, http)
        ex.services[MCP_SERVERS.name] = pool
        pools.append(pool)
        return wired(ex), pool

    yield make
    for pool in pools:
        await pool.aclose()


def stdio(**more: Any) -> McpServerSettings:
    return McpServerSettings(command=tuple(STDIO_COMMAND), **more)


async def test_the_model_calls_a_stdio_servers_tool_from_the_allowed_ones(
    with_pool: Any, openai_emu: OpenAIEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    parts, _ = with_pool({"calc": stdio()})
    wf = await parts.create(desk([{"mcp": "calc", "tools": ["add", "shout"]}]))
    openai_emu.reply = calls_then_reports(
        EmulatedCall("add", {"a": 2, "b": 3}), EmulatedCall("shout", {"text": "hi"})
    )
    with caplog.at_level(logging.INFO, logger="chatgate.mcp"):
        record = await parts.executor.execute(
            wf.workflow_id, wf.compiled, {"user_input": "2+3?"}, owner="alice"
        )
    assert record.result == {"content": "5\nHI!"}
    offered = [t["function"]["name"] for t in openai_emu.requests[0].body["tools"]]
    assert offered == ["add", "shout"]
    add = openai_emu.requests[0].body["tools"][0]["function"]
    assert add["description"] == "Add two whole numbers."
    assert set(add["parameters"]["properties"]) == {"a", "b"}
    assert "mcp calc: chatgate-test-tools: up" in caplog.text  # its stderr, in our log


async def test_a_stdio_server_sees_only_path_and_its_own_env(
    with_pool: Any, openai_emu: OpenAIEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATGATE_TEST_SECRET", "hunter2")
    parts, _ = with_pool({"calc": stdio(env={"GREETING": "hello"})})
    wf = await parts.create(desk([{"mcp": "calc", "tools": ["environment"]}]))
    openai_emu.reply = calls_then_reports(EmulatedCall("environment", {}))
    record = await parts.executor.execute(wf.workflow_id, wf.compiled, {"user_input": "env?"}, owner="alice")
    seen = set(record.result["content"].split(","))  # type: ignore[index]
    assert "GREETING" in seen
    assert "PATH" in seen
    assert "CHATGATE_TEST_SECRET" not in seen
    assert seen <= {"GREETING", "PATH", "HOME", "LOGNAME", "SHELL", "TERM", "USER"} | {
        n
        for n in seen
        if n.startswith(("LC_", "PYTHON"))  # the interpreter's own
    }


async def test_a_tool_error_and_a_crash_reach_the_model_and_the_server_is_restarted(
    with_pool: Any, openai_emu: OpenAIEmulator
) -> None:
    parts, pool = with_pool({"calc": stdio(backoff_s=0.05)})
    wf = await parts.create(desk([{"mcp": "calc"}]))
    openai_emu.reply = calls_then_reports(EmulatedCall("pid", {}), EmulatedCall("fail", {"why": "testing"}))
    first = await parts.executor.execute(wf.workflow_id, wf.compiled, {"user_input": "?"}, owner="alice")
    pid_before, failed = first.result["content"].split("\n")  # type: ignore[index]
    assert failed == "error: Error executing tool fail: failed on purpose: testing"

    openai_emu.reply = calls_then_reports(EmulatedCall("crash", {}))
    crashed = await parts.executor.execute(wf.workflow_id, wf.compiled, {"user_input": "?"}, owner="alice")
    assert crashed.status == "completed"
    assert crashed.result == {"content": "error: MCP server 'calc' went away during the call"}

    openai_emu.reply = calls_then_reports(EmulatedCall("pid", {}))
    again = await parts.executor.execute(wf.workflow_id, wf.compiled, {"user_input": "?"}, owner="alice")
    assert again.result["content"].isdigit()  # type: ignore[index]
    assert again.result["content"] != pid_before  # type: ignore[index]
    assert pool.connections["calc"].starts == 2


async def test_the_model_calls_a_tool_over_streamable_http_on_an_allowed_loopback_address(
    with_pool: Any, openai_emu: OpenAIEmulator
) -> None:
    async with http_mcp_server() as url:
        parts, _ = with_pool({"remote": McpServerSettings(url=url)})
        wf = await parts.create(desk([{"mcp": "remote", "tools": ["shout"]}]))
        openai_emu.reply = calls_then_reports(EmulatedCall("shout", {"text": "over http"}))
        record = await parts.executor.execute(wf.workflow_id, wf.compiled, {"user_input": "?"}, owner="alice")
    assert record.result == {"content": "OVER HTTP!"}


async def test_the_guard_refuses_an_mcp_url_on_a_loopback_address_not_allowed(
    with_pool: Any, openai_emu: OpenAIEmulator
) -> None:
    async with http_mcp_server() as url:
        port = url.split(":")[2].split("/")[0]
        # 127.0.0.3 is loopback too, but only 127.0.0.1 is allowed.
        parts, _ = with_pool({"remote": McpServerSettings(url=f"http://127.0.0.3:{port}/mcp", backoff_s=5)})
        wf = await parts.create(desk([{"mcp": "remote"}]))
        with pytest.raises(ExecutionFailed) as refused:
            await parts.executor.execute(wf.workflow_id, wf.compiled, {"user_input": "?"}, owner="alice")
    assert refused.value.details["refused"] == "loopback"  # the guard's own verdict
    assert refused.value.message == (
        "MCP server 'remote': destination not allowed: '127.0.0.3' (loopback address)"
    )
    assert openai_emu.requests == []  # the model was never asked: the node could not offer the tools


async def test_a_server_that_is_not_configured_fails_the_node_by_name(with_pool: Any) -> None:
    parts, _ = with_pool({"calc": stdio()})
    wf = await parts.create(desk([{"mcp": "nowhere"}]))
    told = r"no MCP server 'nowhere' is configured \(mcp_servers has: calc\)"
    with pytest.raises(ExecutionFailed, match=told):
        await parts.executor.execute(wf.workflow_id, wf.compiled, {"user_input": "?"}, owner="alice")


async def test_a_tool_outside_the_allow_list_is_not_offered_nor_callable(
    with_pool: Any, openai_emu: OpenAIEmulator
) -> None:
    parts, _ = with_pool({"calc": stdio()})
    wf = await parts.create(desk([{"mcp": "calc", "tools": ["add"]}]))
    openai_emu.reply = calls_then_reports(EmulatedCall("crash", {}))
    record = await parts.executor.execute(wf.workflow_id, wf.compiled, {"user_input": "?"}, owner="alice")
    assert record.result == {"content": "error: there is no tool 'crash'; the tools are: add"}


async def test_a_tool_that_takes_too_long_is_told_to_the_model_as_out_of_time(
    with_pool: Any, openai_emu: OpenAIEmulator
) -> None:
    parts, _ = with_pool({"calc": stdio()})
    wf = await parts.create(
        doc(
            "desk",
            [{"name": "user_input"}],
            [node("answer", "response", model="gpt-4o-mini", tools=[{"mcp": "calc"}], tool_timeout_s=0.5)],
        )
    )
    openai_emu.reply = calls_then_reports(
        EmulatedCall("sleep", {"seconds": 30}), EmulatedCall("add", {"a": 1, "b": 1})
    )
    record = await parts.executor.execute(wf.workflow_id, wf.compiled, {"user_input": "?"}, owner="alice")
    assert record.result == {"content": "error: the tool did not answer within 0.5s\n2"}


async def test_a_server_that_cannot_start_or_be_reached_fails_the_node_saying_why(with_pool: Any) -> None:
    closed = f"http://127.0.0.1:{free_port()}/mcp"  # allowed, but nothing listens there
    parts, _ = with_pool(
        {
            "missing": McpServerSettings(command=("/nonexistent/mcp-server",)),
            "closed": McpServerSettings(url=closed),
        }
    )
    for server, why in (
        ("missing", "cannot be started: No such file or directory"),
        ("closed", "cannot be reached"),
    ):
        wf = await parts.create(desk([{"mcp": server}]))
        with pytest.raises(ExecutionFailed, match=f"MCP server '{server}' {why}"):
            await parts.executor.execute(wf.workflow_id, wf.compiled, {"user_input": "?"}, owner="alice")
