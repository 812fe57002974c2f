"""Response nodes talk to a real OpenAI-compatible server: retries, failures, timeouts."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.support import (
    LLM_SECRET,
    MODEL,
    assert_error,
    chat_workflow,
    create_workflow,
    execute,
    in_flight,
    use_emulator,
)
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.chatgate import StartChatgate


async def test_a_response_node_answers_with_the_configured_server(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu))
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow(temperature=0.2, max_tokens=50))
        status, body = await execute(http, wid, "What is chatgate?")
    assert status == 200, body
    assert body["result"] == {"content": "echo: What is chatgate?"}
    [request] = openai_emu.requests
    assert request.headers["authorization"] == f"Bearer {LLM_SECRET}"
    assert request.body["model"] == MODEL
    assert request.body["temperature"] == 0.2
    assert request.body["max_tokens"] == 50
    assert request.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is chatgate?"},
    ]


async def test_a_node_without_a_model_uses_llm_default_model(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu, default_model="house-model"))
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow(model=None))
        status, body = await execute(http, wid, "hi")
    assert status == 200, body
    assert openai_emu.requests[0].body["model"] == "house-model"


async def test_transient_errors_are_retried_then_the_answer_arrives(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu, max_retries=2))
    openai_emu.fail_next(500)
    openai_emu.fail_next(429, retry_after=0.05)
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        status, body = await execute(http, wid, "persist")
    assert status == 200, body
    assert body["result"] == {"content": "echo: persist"}
    assert [r.retry_count for r in openai_emu.requests] == [0, 1, 2]


async def test_a_model_that_keeps_failing_fails_the_execution_and_the_server_keeps_serving(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu, max_retries=2))
    openai_emu.fail_next(503, times=3)
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        status, body = await execute(http, wid, "doomed")
        assert status == 502, body
        error = assert_error(body, "execution_failed")
        assert "503" in error["message"]
        assert len(openai_emu.requests) == 3
        # Nothing is stuck: the next execution and the health check are fine.
        status, again = await execute(http, wid, "recovered")
        health = await http.get("/healthz")
    assert status == 200, again
    assert again["result"] == {"content": "echo: recovered"}
    assert health.status == 200
    assert gw.proc is not None
    assert gw.proc.returncode is None


async def test_an_unreachable_server_fails_cleanly(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu, max_retries=0))
    await openai_emu.stop()  # nobody listens on that port any more
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        status, body = await execute(http, wid, "anyone?")
    assert status == 502, body
    error = assert_error(body, "execution_failed")
    assert "reach" in error["message"]


async def test_a_real_model_without_a_configured_server_fails_and_says_how_to_configure_one(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate()  # llm.base_url and llm.api_key null, OPENAI_* unset
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow(model="gpt-4"))
        status, body = await execute(http, wid, "hello")
        record = await (await http.get(f"/api/v1/executions/{body['execution_id']}")).json()
    assert status == 502, body
    error = assert_error(body, "execution_failed")
    assert "gpt-4" in error["message"]
    assert "llm.base_url" in error["details"]["hint"]
    assert "OPENAI_API_KEY" in error["details"]["hint"]
    assert "(echo)" not in str(body)
    assert record["result"] is None
    assert record["status"] == "failed"


async def test_a_node_timeout_cancels_the_model_call(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    """The emulator would answer after 30 s; the node's 0.5 s limit ends it long before."""
    gw = await start_chatgate(use_emulator(openai_emu, timeout_s=60))
    openai_emu.delay_s = 30
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow(timeout_s=0.5))
        status, body = await execute(http, wid, "hurry", within_s=10)  # far below the emulator's 30 s
        assert await in_flight(http) == 0
    assert status == 504, body
    error = assert_error(body, "execution_failed")
    assert error["details"] == {"node": "response_node", "timeout_s": 0.5}
    assert len(openai_emu.requests) == 1  # cancelled, not retried


async def test_a_hung_model_is_cut_off_by_the_execution_timeout(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    def configure(config: dict[str, Any]) -> None:
        use_emulator(openai_emu)(config)
        config["engine"] = {"execution_timeout_s": 0.5}

    gw = await start_chatgate(configure)
    openai_emu.hang_next()
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        status, body = await execute(http, wid, "x", within_s=10)
    assert status == 504, body
    error = assert_error(body, "execution_failed")
    assert "execution timed out" in error["message"]


async def test_the_llm_client_timeout_is_a_504(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu, timeout_s=0.3, max_retries=0))
    openai_emu.delay_s = 30
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        status, body = await execute(http, wid, "x", within_s=10)
    assert status == 504, body
    error = assert_error(body, "execution_failed")
    assert MODEL in error["message"]


async def test_openai_environment_variables_are_honoured_when_llm_settings_are_null(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(
        env={"OPENAI_BASE_URL": openai_emu.base_url, "OPENAI_API_KEY": "sk-from-env-1234"}
    )
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        status, body = await execute(http, wid, "via env")
    assert status == 200, body
    assert openai_emu.requests[0].headers["authorization"] == "Bearer sk-from-env-1234"
    assert "sk-from-env-1234" not in gw.logs()


async def test_many_failing_executions_at_once_leave_the_server_healthy(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu, max_retries=0))
    openai_emu.fail_next(500, times=20)
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        results = await asyncio.gather(*(execute(http, wid, f"m{i}") for i in range(20)))
        status, body = await execute(http, wid, "fine now")
    assert [s for s, _ in results] == [502] * 20
    assert status == 200, body


async def test_a_model_call_that_times_out_is_retried(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu, timeout_s=0.5, max_retries=1))
    openai_emu.hang_next()  # the first try never answers; the retry does
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        status, body = await execute(http, wid, "second time lucky")
    assert status == 200, body
    assert body["result"] == {"content": "echo: second time lucky"}
    assert [r.retry_count for r in openai_emu.requests] == [0, 1]
