"""The engine stories' executor: a real SQLite file, the offline model or the OpenAI emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from config.schema import EngineSettings, LLMSettings
from engine.llm.client import LLM
from engine.run.executor import Executor
from engine.sessions import Sessions
from engine.store.writer import Storage
from tests.emulators.openai_server import OpenAIEmulator
from tests.engine.executors import MakeExecutor


@pytest.fixture
async def executor(tmp_path: Path) -> AsyncIterator[MakeExecutor]:
    """Executors on a real SQLite file; their model is the emulator, when given one, else offline."""
    storage = Storage(f"sqlite:///{tmp_path / 'engine.db'}")
    await storage.open()
    made: list[Executor] = []

    def make(emu: OpenAIEmulator | None = None, **engine: Any) -> Executor:
        llm = LLMSettings(base_url=emu.base_url, api_key="sk-test", max_retries=0) if emu else LLMSettings()
        ex = Executor(storage, Sessions(storage, max_turns=5), LLM(llm, env={}), EngineSettings(**engine))
        made.append(ex)
        return ex

    yield make
    for ex in made:
        await ex.llm.aclose()
    await storage.close()
