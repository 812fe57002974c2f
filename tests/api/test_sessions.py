"""A conversation: a session_id carries history to the model, in order, bounded, across restarts."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.api.support import (
    chat_workflow,
    configured,
    create_workflow,
    execute,
    in_flight,
    use_emulator,
    wait_until,
)
from tests.emulators.openai_server import OpenAIEmulator
from tests.support.chatgate import OTHER_KEY, StartChatgate

SYSTEM = {"role": "system", "content": "Be brief."}


def turn(text: str) -> list[dict[str, str]]:
    """One exchange as the model sees it later: the user's text and the emulator's answer."""
    return [{"role": "user", "content": text}, {"role": "assistant", "content": f"echo: {text}"}]


def sent(emu: OpenAIEmulator, i: int) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = emu.requests[i].body["messages"]
    return messages


async def test_a_session_sends_earlier_turns_to_the_model(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu))
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        results = [await execute(http, wid, text, session_id="s1") for text in ("first", "second", "third")]
    assert [status for status, _ in results] == [200, 200, 200]
    assert sent(openai_emu, 0) == [SYSTEM, {"role": "user", "content": "first"}]
    assert sent(openai_emu, 1) == [SYSTEM, *turn("first"), {"role": "user", "content": "second"}]
    assert sent(openai_emu, 2) == [
        SYSTEM,
        *turn("first"),
        *turn("second"),
        {"role": "user", "content": "third"},
    ]


async def test_without_a_session_or_in_another_session_there_is_no_history(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu))
    async with gw.client() as http, gw.client(OTHER_KEY) as other:
        wid = await create_workflow(http, chat_workflow())
        other_wid = await create_workflow(other, chat_workflow())
        await execute(http, wid, "remember me", session_id="s1")
        await execute(http, wid, "no session")
        await execute(http, wid, "elsewhere", session_id="s2")
        # The same session_id under another API key is another conversation.
        await execute(other, other_wid, "same name", session_id="s1")
    assert [len(sent(openai_emu, i)) for i in range(4)] == [2, 2, 2, 2]


async def test_history_is_bounded_by_history_turns(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator, storage_url: str | None
) -> None:
    def bounded(config: dict[str, Any]) -> None:
        config["engine"] = {"history_turns": 2}

    gw = await start_chatgate(configured(use_emulator(openai_emu), bounded, storage_url=storage_url))
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        for text in ("t1", "t2", "t3", "t4", "t5"):
            status, _ = await execute(http, wid, text, session_id="bounded")
            assert status == 200
    assert sent(openai_emu, 4) == [SYSTEM, *turn("t3"), *turn("t4"), {"role": "user", "content": "t5"}]
    # Read back from the database after a restart, the window is the same.
    await gw.restart()
    async with gw.client() as http:
        await execute(http, wid, "t6", session_id="bounded")
    assert sent(openai_emu, 5) == [SYSTEM, *turn("t4"), *turn("t5"), {"role": "user", "content": "t6"}]


async def test_history_survives_a_restart(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator, storage_url: str | None
) -> None:
    gw = await start_chatgate(configured(use_emulator(openai_emu), storage_url=storage_url))
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        await execute(http, wid, "before restart", session_id="durable")
    await gw.restart()
    async with gw.client() as http:
        status, _ = await execute(http, wid, "after restart", session_id="durable")
    assert status == 200
    assert sent(openai_emu, 1) == [
        SYSTEM,
        *turn("before restart"),
        {"role": "user", "content": "after restart"},
    ]


async def test_deleting_a_session_starts_the_conversation_afresh(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu))
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        await execute(http, wid, "one", session_id="reset-me")
        await execute(http, wid, "two", session_id="reset-me")
        r = await http.delete("/api/v1/sessions/reset-me")
        body = await r.json()
        await execute(http, wid, "three", session_id="reset-me")
        again = await (await http.delete("/api/v1/sessions/reset-me")).json()
    assert r.status == 200
    assert body == {"session_id": "reset-me", "status": "reset", "messages_removed": 4}
    assert sent(openai_emu, 2) == [SYSTEM, {"role": "user", "content": "three"}]
    assert again["messages_removed"] == 2


async def test_a_failed_execution_adds_nothing_to_the_history(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu, max_retries=0))
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        await execute(http, wid, "kept", session_id="s")
        openai_emu.fail_next(500)
        status, _ = await execute(http, wid, "lost", session_id="s")
        await execute(http, wid, "next", session_id="s")
    assert status == 502
    assert sent(openai_emu, 2) == [SYSTEM, *turn("kept"), {"role": "user", "content": "next"}]


async def test_a_burst_in_one_session_runs_one_at_a_time_in_arrival_order(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    """Three messages arrive while the first is still answering: none fails, none interleaves."""
    gw = await start_chatgate(use_emulator(openai_emu))
    openai_emu.delay_s = 0.5
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        tasks = []
        for i, text in enumerate(("m1", "m2", "m3")):
            tasks.append(asyncio.create_task(execute(http, wid, text, session_id="burst")))
            # The next message is sent only once this one is inside the server: a known arrival order.
            await wait_until(lambda n=i + 1: _in_flight_is(http, n))
            if i == 0:
                await wait_until(lambda: len(openai_emu.requests) == 1)
        assert len(openai_emu.requests) == 1  # the others wait for the first
        results = await asyncio.gather(*tasks)
    assert [status for status, _ in results] == [200, 200, 200]
    assert [r.body["messages"][-1]["content"] for r in openai_emu.requests] == ["m1", "m2", "m3"]
    # Each one saw every earlier exchange: it started only after the previous one finished.
    assert sent(openai_emu, 1) == [SYSTEM, *turn("m1"), {"role": "user", "content": "m2"}]
    assert sent(openai_emu, 2) == [SYSTEM, *turn("m1"), *turn("m2"), {"role": "user", "content": "m3"}]


async def test_different_sessions_run_in_parallel(
    start_chatgate: StartChatgate, openai_emu: OpenAIEmulator
) -> None:
    gw = await start_chatgate(use_emulator(openai_emu))
    openai_emu.delay_s = 1.0
    async with gw.client() as http:
        wid = await create_workflow(http, chat_workflow())
        a = asyncio.create_task(execute(http, wid, "from a", session_id="session-a"))
        b = asyncio.create_task(execute(http, wid, "from b", session_id="session-b"))
        # Both model calls are in flight at once: neither session waited for the other.
        await wait_until(lambda: len(openai_emu.requests) == 2)
        assert not a.done()
        assert not b.done()
        results = await asyncio.gather(a, b)
    assert [status for status, _ in results] == [200, 200]
    assert {r.body["messages"][-1]["content"] for r in openai_emu.requests} == {"from a", "from b"}


async def _in_flight_is(http: Any, n: int) -> bool:
    return await in_flight(http) == n
