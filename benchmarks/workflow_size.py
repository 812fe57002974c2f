"""What each node costs: chatgate's CPU per execution as workflows grow.

    python -m benchmarks.workflow_size [--seconds 4] [--rounds 3] [--connections 32]

One ``chatgate serve`` (echo model, SQLite) holds these workflows, each ending in the
seed's ``response`` node:

- ``chain_N``: start → N ``variable`` nodes, each passing the text on → response
- ``fanout_N``: start → N ``variable`` nodes side by side → one response joining them
- ``condition_10``: a ``condition`` of 10 branches, the last one true, each branch leading
  to its own response: one runs, ten (with ``else``) are skipped

wrk drives each in turn, ``--rounds`` times; the server's CPU (user + system, its SQLite
insert process included) is read from /proc around each run and divided by the executions
answered. The CPU per added instant node is the slope between N = 1 and N = 50 (target
<= 10 µs), median of the rounds. CPU per execution, not requests per second, because it
does not depend on how busy the other core was.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.harness import have_wrk, machine, start_chatgate, wait_http, wrk
from tests.support.processes import child_pids

SIZES = (1, 10, 50)
TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def _start(node_id: str = "start") -> dict[str, Any]:
    return {"id": node_id, "type": "start", "config": {"input_params": [{"name": "user_input"}]}}


def _reply(node_id: str, prompt: str) -> dict[str, Any]:
    return {"id": node_id, "type": "response", "config": {"prompt": prompt, "use_history": False}}


def chain(n: int) -> dict[str, Any]:
    nodes = [_start()]
    links = []
    previous, ref = "start", "{{inputs.user_input}}"
    for i in range(1, n + 1):
        nodes.append({"id": f"n{i}", "type": "variable", "config": {"set": {"text": ref}}})
        links.append({"from": previous, "to": f"n{i}"})
        previous, ref = f"n{i}", f"{{{{n{i}.text}}}}"
    nodes.append(_reply("reply", ref))
    links.append({"from": previous, "to": "reply"})
    return {"name": f"chain_{n}", "nodes": nodes, "connections": links}


def fanout(n: int) -> dict[str, Any]:
    nodes = [_start()]
    links = []
    for i in range(1, n + 1):
        nodes.append(
            {"id": f"n{i}", "type": "variable", "config": {"set": {"text": "{{inputs.user_input}}"}}}
        )
        links += [{"from": "start", "to": f"n{i}"}, {"from": f"n{i}", "to": "reply"}]
    nodes.append(_reply("reply", "{{n1.text}}"))
    return {"name": f"fanout_{n}", "nodes": nodes, "connections": links}


def condition(branches: int) -> dict[str, Any]:
    rules = [
        {
            "port": f"b{i}",
            "conditions": [{"left": "{{inputs.user_input}}", "op": "starts_with", "right": f"#{i}"}],
        }
        for i in range(1, branches)
    ]
    rules.append(
        {"port": f"b{branches}", "conditions": [{"left": "{{inputs.user_input}}", "op": "not_empty"}]}
    )
    nodes = [_start(), {"id": "route", "type": "condition", "config": {"branches": rules}}]
    links = [{"from": "start", "to": "route"}]
    for port in [r["port"] for r in rules] + ["else"]:
        nodes.append(_reply(f"reply_{port}", "{{inputs.user_input}}"))
        links.append({"from": "route", "port": port, "to": f"reply_{port}"})
    return {"name": f"condition_{branches}", "nodes": nodes, "connections": links}


def workflows() -> list[dict[str, Any]]:
    return [*(chain(n) for n in SIZES), *(fanout(n) for n in SIZES), condition(10)]


def cpu_s(pid: int) -> float:
    """User + system CPU of the server and its children (the SQLite insert process)."""
    total = 0.0
    for p in [pid, *child_pids(pid)]:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) * TICK_S
    return total


async def measure(seconds: int, rounds: int, connections: int) -> dict[str, Any]:
    per_exec: dict[str, list[float]] = {wf["name"]: [] for wf in workflows()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "workflows").mkdir()
        for wf in workflows():
            (work / "workflows" / f"{wf['name']}.json").write_text(json.dumps(wf))
        proc, url = start_chatgate(work)
        try:
            await wait_http(url + "/healthz", proc)
            for name in per_exec:  # warm-up: every workflow compiled and its paths hot
                wrk(f"{url}/api/v1/workflows/{name}/execute", connections=connections, seconds=1)
            for _ in range(rounds):
                for name in per_exec:
                    before = cpu_s(proc.proc.pid)
                    load = wrk(
                        f"{url}/api/v1/workflows/{name}/execute", connections=connections, seconds=seconds
                    )
                    used = cpu_s(proc.proc.pid) - before
                    if load.errors:
                        raise RuntimeError(f"{name}: {load.errors} errors\n{proc.output()[-2000:]}")
                    per_exec[name].append(used / load.requests * 1e6)
        finally:
            proc.stop()
    return summary(per_exec, rounds)


def summary(per_exec: dict[str, list[float]], rounds: int) -> dict[str, Any]:
    lo, hi = SIZES[0], SIZES[-1]
    slopes = {
        shape: [
            (per_exec[f"{shape}_{hi}"][r] - per_exec[f"{shape}_{lo}"][r]) / (hi - lo) for r in range(rounds)
        ]
        for shape in ("chain", "fanout")
    }
    return {
        "cpu_us_per_execution": {k: round(statistics.median(v), 1) for k, v in per_exec.items()},
        "us_per_added_node": {k: round(statistics.median(v), 2) for k, v in slopes.items()},
        "round_slopes": {k: [round(x, 2) for x in v] for k, v in slopes.items()},
        "target_us_per_node": 10,
    }


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=32)
    a = p.parse_args()
    if not have_wrk():
        sys.exit("wrk is needed: apt-get install wrk")
    print(f"machine: {machine()}")
    result = await measure(a.seconds, a.rounds, a.connections)
    for name, us in result["cpu_us_per_execution"].items():
        print(f"  {name:<14} {us:>8.1f} µs of server CPU per execution")
    for shape, us in result["us_per_added_node"].items():
        print(f"  {shape}: {us} µs per added node (rounds: {result['round_slopes'][shape]}; target <= 10)")
    print("JSON " + json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
