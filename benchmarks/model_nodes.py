"""What an ``intent`` or ``extract`` node costs next to a plain ``response`` node.

    python -m benchmarks.model_nodes [--seconds 4] [--rounds 3] [--connections 16]

One ``chatgate serve`` (SQLite) talks to the OpenAI emulator, run in this process, which
answers ``classify`` calls for the intent node, a JSON object for the extract node and text
for the response node. Three workflows, each one model call:

- ``respond``: start → response (the baseline)
- ``intent``: start → intent (a forced tool call, 8 intents) → one message per port
- ``extract``: start → extract (a strict JSON schema, 6 typed parameters) → message

wrk drives each in turn, ``--rounds`` times. Reported, median of the rounds: chatgate's CPU
per execution (user + system, its SQLite process included, from /proc) and the p50 latency,
each also as a ratio to ``respond`` measured in the same round: the price of building the
structured request and reading its answer, on top of one model call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import have_wrk, machine, start_chatgate, wait_http, wrk
from benchmarks.workflow_size import cpu_s
from tests.emulators.openai_server import EmulatedCall, EmulatedReply, OpenAIEmulator

MODEL = "gpt-4o-mini"
INTENTS = [
    {"name": f"topic_{i}", "description": f"Questions about topic {i}", "examples": [f"about {i}", f"on {i}"]}
    for i in range(8)
]
PARAMETERS = [
    {"name": "size", "type": "enum", "options": ["small", "medium", "large"]},
    {"name": "count", "type": "integer"},
    {"name": "price", "type": "number", "required": False},
    {"name": "toppings", "type": "list", "required": False},
    {"name": "pickup", "type": "boolean", "required": False},
    {"name": "address", "required": False},
]
ANSWER = {"size": "Large", "count": "2", "price": 12.5, "toppings": ["ham"], "pickup": False, "address": None}


def _start() -> dict[str, Any]:
    return {"id": "start", "type": "start", "config": {"input_params": [{"name": "user_input"}]}}


def respond() -> dict[str, Any]:
    answer = {"id": "answer", "type": "response", "config": {"model": MODEL, "use_history": False}}
    return {
        "name": "respond",
        "nodes": [_start(), answer],
        "connections": [{"from": "start", "to": "answer"}],
    }


def intent() -> dict[str, Any]:
    ports = [*(i["name"] for i in INTENTS), "other"]
    route = {"id": "route", "type": "intent", "config": {"model": MODEL, "intents": INTENTS}}
    says = [
        {"id": f"say_{p}", "type": "message", "config": {"content": f"{p}: {{{{route.reason}}}}"}}
        for p in ports
    ]
    links = [
        {"from": "start", "to": "route"},
        *({"from": "route", "port": p, "to": f"say_{p}"} for p in ports),
    ]
    return {"name": "intent", "nodes": [_start(), route, *says], "connections": links}


def extract() -> dict[str, Any]:
    get = {"id": "get", "type": "extract", "config": {"model": MODEL, "parameters": PARAMETERS}}
    say = {
        "id": "say",
        "type": "message",
        "config": {"content": "{{get.count}} {{get.size}} {{get.missing}}"},
    }
    links = [{"from": "start", "to": "get"}, {"from": "get", "to": "say"}]
    return {"name": "extract", "nodes": [_start(), get, say], "connections": links}


WORKFLOWS = (respond(), intent(), extract())


def answer(body: dict[str, Any]) -> str | EmulatedReply:
    if "tools" in body:
        return EmulatedReply(
            "", (EmulatedCall("classify", {"intent": "topic_5", "reason": "it is about 5"}),)
        )
    if "response_format" in body:
        return json.dumps(ANSWER)
    return "Happy to help with that."


async def measure(seconds: int, rounds: int, connections: int) -> dict[str, Any]:
    cpu: dict[str, list[float]] = {wf["name"]: [] for wf in WORKFLOWS}
    p50: dict[str, list[float]] = {wf["name"]: [] for wf in WORKFLOWS}
    async with OpenAIEmulator() as emu:
        emu.record_requests = False
        emu.reply = answer
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "workflows").mkdir()
            for wf in WORKFLOWS:
                (work / "workflows" / f"{wf['name']}.json").write_text(json.dumps(wf))
            llm = {"base_url": emu.base_url, "api_key": "sk-bench-0123456789", "max_retries": 0}
            proc, url = start_chatgate(work, llm=llm)
            try:
                await wait_http(url + "/healthz", proc)
                for name in cpu:  # warm-up: every workflow compiled, connections to the emulator open
                    await asyncio.to_thread(
                        wrk, f"{url}/api/v1/workflows/{name}/execute", connections=connections, seconds=1
                    )
                for _ in range(rounds):
                    for name in cpu:
                        before = cpu_s(proc.proc.pid)
                        # In a thread: this loop serves the emulator meanwhile.
                        load = await asyncio.to_thread(
                            wrk,
                            f"{url}/api/v1/workflows/{name}/execute",
                            connections=connections,
                            seconds=seconds,
                        )
                        used = cpu_s(proc.proc.pid) - before
                        if load.errors or not load.requests:
                            raise RuntimeError(f"{name}: {load.errors} errors\n{proc.output()[-2000:]}")
                        cpu[name].append(used / load.requests * 1e6)
                        p50[name].append(load.p50_ms)
            finally:
                proc.stop()
    return summary(cpu, p50, rounds)


def summary(cpu: dict[str, list[float]], p50: dict[str, list[float]], rounds: int) -> dict[str, Any]:
    def ratios(values: dict[str, list[float]], name: str) -> float:
        return round(statistics.median(values[name][r] / values["respond"][r] for r in range(rounds)), 2)

    return {
        "cpu_us_per_execution": {k: round(statistics.median(v), 1) for k, v in cpu.items()},
        "p50_ms": {k: round(statistics.median(v), 2) for k, v in p50.items()},
        "cpu_ratio_to_respond": {k: ratios(cpu, k) for k in ("intent", "extract")},
        "p50_ratio_to_respond": {k: ratios(p50, k) for k in ("intent", "extract")},
        "rounds": rounds,
    }


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=16)
    a = p.parse_args()
    if not have_wrk():
        sys.exit("wrk is needed: apt-get install wrk")
    print(f"machine: {machine()}")
    result = await measure(a.seconds, a.rounds, a.connections)
    for name, us in result["cpu_us_per_execution"].items():
        print(f"  {name:<8} {us:>8.1f} µs of chatgate CPU per execution, p50 {result['p50_ms'][name]} ms")
    for name in ("intent", "extract"):
        print(
            f"  {name}: CPU x{result['cpu_ratio_to_respond'][name]}, "
            f"p50 x{result['p50_ratio_to_respond'][name]} of respond (same rounds)"
        )
    print("JSON " + json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
