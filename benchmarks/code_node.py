"""What a trivial ``code`` node adds to an execution's latency.

    python -m benchmarks.code_node [--runs 60] [--rounds 3] [--gap-ms 100]

An in-process executor (SQLite in a temporary directory, the offline model) runs two
workflows in alternation: ``start -> end`` (the baseline) and ``start -> code -> end``,
the code ``return {"y": inputs["x"] + 1}`` in a real bubblewrap sandbox. The added latency
is p50(code) - p50(baseline) per round; the median of the rounds is reported (target
<= 30 ms). Runs are ``--gap-ms`` apart, as requests arrive, so the warm pool has refilled
(a sandbox serves one run); ``cold`` is the same with no warm pool (``pool_size: 0``): the
whole start of a sandbox, which is what a burst beyond the pool pays.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.harness import machine
from config.sandbox import CodeSettings
from config.schema import EngineSettings, LLMSettings
from engine.llm.client import LLM
from engine.run.executor import Executor
from engine.sandbox import Sandbox
from engine.sessions import Sessions
from engine.store.writer import Storage
from engine.workflow.graph import CompiledWorkflow, compile_workflow, parse_spec
from engine.workflow.nodes.code import SANDBOX

CODE = "def main(inputs):\n    return {'y': inputs['x'] + 1}\n"


def workflow(with_code: bool) -> CompiledWorkflow:
    start = {"id": "start", "type": "start", "config": {"input_params": [{"name": "x", "type": "number"}]}}
    y = "{{calc.y}}" if with_code else "{{inputs.x}}"
    end = {"id": "end", "type": "end", "config": {"outputs": {"y": y}}}
    nodes: list[dict[str, Any]] = [start, end]
    links = [{"from": "start", "to": "end"}]
    if with_code:
        calc = {"id": "calc", "type": "code", "config": {"code": CODE, "inputs": {"x": "{{inputs.x}}"}}}
        nodes = [start, calc, end]
        links = [{"from": "start", "to": "calc"}, {"from": "calc", "to": "end"}]
    return compile_workflow(parse_spec({"name": "bench", "nodes": nodes, "connections": links}))


async def one_round(ex: Executor, runs: int, gap_s: float) -> tuple[float, float]:
    """p50 in ms of the baseline and of the code workflow, alternating."""
    base, code = workflow(False), workflow(True)
    took: dict[bool, list[float]] = {False: [], True: []}
    for i in range(2 * runs):
        wf = code if i % 2 else base
        began = time.perf_counter()
        record = await ex.execute("bench", wf, {"x": i}, owner="bench")
        took[wf is code].append((time.perf_counter() - began) * 1000)
        if record.status != "completed":
            raise SystemExit(f"a run failed: {record.error}")
        await asyncio.sleep(gap_s)
    return statistics.median(took[False]), statistics.median(took[True])


async def measure(runs: int, rounds: int, gap_s: float, pool_size: int) -> list[tuple[float, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        storage = Storage(f"sqlite:///{Path(tmp) / 'bench.db'}")
        await storage.open()
        ex = Executor(storage, Sessions(storage, max_turns=5), LLM(LLMSettings(), env={}), EngineSettings())
        sandbox = Sandbox(CodeSettings(pool_size=pool_size))
        problem = await sandbox.check()
        if problem is not None:
            raise SystemExit(problem)
        ex.services[SANDBOX.name] = sandbox
        try:
            await one_round(ex, 5, gap_s)  # warm-up: imports, SQLite, the first sandboxes
            return [await one_round(ex, runs, gap_s) for _ in range(rounds)]
        finally:
            await sandbox.aclose()
            await ex.llm.aclose()
            await storage.close()


def report(name: str, results: list[tuple[float, float]]) -> float:
    added = [code - base for base, code in results]
    for i, (base, code) in enumerate(results, 1):
        print(f"  {name} round {i}: p50 {base:.2f} ms without, {code:.2f} with code: +{code - base:.2f}")
    median = statistics.median(added)
    print(f"{name}: added latency p50, median of {len(results)} rounds: {median:.2f} ms")
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=60, help="executions of each workflow per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--gap-ms", type=float, default=100.0, help="pause between executions")
    args = parser.parse_args()
    print(f"code node latency ({machine()}); {args.runs} runs of each per round, {args.gap_ms:g} ms apart")
    warm = report("warm", asyncio.run(measure(args.runs, args.rounds, args.gap_ms / 1000, pool_size=2)))
    report("cold", asyncio.run(measure(max(args.runs // 3, 5), args.rounds, args.gap_ms / 1000, pool_size=0)))
    verdict = "meets" if warm <= 30 else "MISSES"
    print(f"target: a warm trivial code node adds <= 30 ms p50: {verdict} ({warm:.2f} ms)")


if __name__ == "__main__":
    main()
