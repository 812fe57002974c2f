"""What a question costs: an execution that asks and is answered, against one that does not.

    python -m benchmarks.questions [--rounds 3] [--count 300]

In one process, on one SQLite file (the engine's own executor, echo model, no HTTP):

- ``plain``: start → template → template, one execute each (the baseline)
- ``asked``: start → question → template; an execute (stored ``waiting``) and then a resume
  (claimed, run on, stored ``completed``): two commits and a claim instead of one commit

Both alternate within each round; the figure is the ratio of the time per execution,
median of the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.harness import machine
from config.schema import EngineSettings, LLMSettings
from engine.llm.client import LLM
from engine.run.executor import Executor
from engine.sessions import Sessions
from engine.store.writer import Storage
from engine.workflow.graph import CompiledWorkflow, compile_workflow, parse_spec

_START = {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}}


def _workflow(middle: dict[str, object], port: str | None) -> CompiledWorkflow:
    last = {"id": "last", "type": "template", "config": {"template": "ok {{inputs.user_input}}"}}
    link: dict[str, str] = {"from": "middle", "to": "last"}
    if port is not None:
        link["port"] = port
    doc = {
        "name": "bench",
        "nodes": [_START, middle, last],
        "connections": [{"from": "start", "to": "middle"}, link],
    }
    return compile_workflow(parse_spec(doc))


PLAIN = _workflow({"id": "middle", "type": "template", "config": {"template": "{{inputs.user_input}}"}}, None)
ASKED = _workflow({"id": "middle", "type": "question", "config": {"question": "Which?"}}, "other")


async def _plain(ex: Executor, count: int) -> float:
    began = time.perf_counter()
    for i in range(count):
        await ex.execute("plain", PLAIN, {"user_input": str(i)}, owner="bench")
    return (time.perf_counter() - began) / count


async def _asked(ex: Executor, count: int) -> float:
    began = time.perf_counter()
    for i in range(count):
        record = await ex.execute("asked", ASKED, {"user_input": str(i)}, owner="bench")
        done = await ex.resume(record.execution_id, ASKED, answer="yes")
        if done.status != "completed":
            raise RuntimeError(f"the answer left the execution {done.status}")
    return (time.perf_counter() - began) / count


async def main(rounds: int, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(f"sqlite:///{Path(tmp) / 'bench.db'}")
        await storage.open()
        ex = Executor(storage, Sessions(storage, max_turns=5), LLM(LLMSettings(), env={}), EngineSettings())
        await _plain(ex, 20)  # warm up both paths
        await _asked(ex, 20)
        ratios = []
        for r in range(rounds):
            plain = await _plain(ex, count)
            asked = await _asked(ex, count)
            ratios.append(asked / plain)
            shown = f"plain {plain * 1e3:.3f} ms, asked+answered {asked * 1e3:.3f} ms"
            print(f"round {r + 1}: {shown}, x{asked / plain:.2f}")
        await ex.llm.aclose()
        await storage.close()
    print(f"{machine()}: asked+answered / plain, median of {rounds}: x{statistics.median(ratios):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.count))
