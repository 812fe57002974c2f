"""The ``http`` node's overhead against a direct aiohttp call, in the same run.

    python -m benchmarks.http_node [--requests 4000] [--concurrency 16] [--rounds 3]

A small JSON service runs in its own process on 127.0.0.1. In this process, alternately:

- ``bare``: a plain ``aiohttp.ClientSession`` GETs ``/order?id=N`` and parses the JSON;
- ``node``: the real ``HttpNode.run`` (templates resolved, the request built) through the
  gateway's client (`engine.net.client.OutboundHttp`: the SSRF guard's checks, redirects
  handled by hand, the body read under the cap, headers and JSON made into outputs), with
  ``http.allow_networks: [127.0.0.1/32]``.

Each side sends ``--requests`` requests, ``--concurrency`` at a time, after a warm-up.
Reported per round: wall time and this process's CPU per request (the service's CPU is the
same for both); the ratios node / bare are the median of the rounds'.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from aiohttp import web

from benchmarks.harness import Process, free_port, machine, wait_http
from config.outbound import HttpSettings
from config.schema import EngineSettings
from engine.net.client import OutboundHttp
from engine.secrets import SecretBox
from engine.workflow.nodes.base import NodeContext, Outcome, ServiceKey
from engine.workflow.nodes.http import HTTP, HttpConfig, HttpNode
from engine.workflow.nodes.secrets import SECRETS

ORDER = {"id": "A-17", "status": "shipped", "lines": [{"sku": "tea", "qty": 2}, {"sku": "cup", "qty": 1}]}


def serve(port: int) -> None:
    body = json.dumps(ORDER).encode()

    async def order(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/order", order)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class _Hooks:
    """What a node's context reaches, as the runner would offer it: its services."""

    def __init__(self, client: OutboundHttp) -> None:
        self.client = client
        self.limits = EngineSettings()

    def service(self, key: ServiceKey[Any]) -> Any:
        if key.name == SECRETS.name:
            return SecretBox({}, frozenset)  # none configured, as on the embedded defaults
        if key.name != HTTP.name:
            raise KeyError(key.name)
        return self.client

    def set_session(self, name: str, value: Any) -> None: ...

    def deliver(self, node_id: str, text: str, attachments: Sequence[dict[str, Any]] = ()) -> None: ...

    def attach(self, files: Sequence[dict[str, Any]]) -> None: ...

    def ask(self, node_id: str, question: dict[str, Any]) -> None: ...

    async def run_workflow(self, workflow: Any, inputs: dict[str, Any]) -> Outcome:
        raise NotImplementedError


async def _drive(
    one: Callable[[int], Awaitable[None]], requests: int, concurrency: int
) -> tuple[float, float]:
    """Wall seconds and CPU seconds of this process for ``requests`` calls of ``one``."""
    todo = iter(range(requests))

    async def worker() -> None:
        for i in todo:
            await one(i)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def measure(base_url: str, requests: int, concurrency: int, rounds: int) -> dict[str, Any]:
    bare_session = aiohttp.ClientSession()
    client = OutboundHttp(HttpSettings(allow_networks=("127.0.0.1/32",)))
    node = HttpNode(
        "lookup",
        HttpConfig(url=base_url + "/order", query={"id": "{{inputs.order}}"}, headers={"X-Team": "support"}),
    )
    hooks = _Hooks(client)

    async def bare(i: int) -> None:
        async with bare_session.get(
            base_url + "/order", params={"id": f"A-{i}"}, headers={"X-Team": "support"}
        ) as r:
            if r.status != 200 or not await r.json():
                raise RuntimeError(f"the service answered {r.status}")

    async def through_node(i: int) -> None:
        inputs = {"order": f"A-{i}"}
        ctx = NodeContext(
            "exec_bench",
            "lookup",
            inputs,
            {"inputs": inputs},
            (),
            (),
            None,
            None,
            hooks,  # type: ignore[arg-type]
        )
        out = await node.run(ctx)
        if out["status"] != 200 or out["json"]["id"] != "A-17":
            raise RuntimeError(f"the node gave {out}")

    rows: list[dict[str, float]] = []
    try:
        await _drive(bare, 500, concurrency)  # warm-up: connections open, code paths hot
        await _drive(through_node, 500, concurrency)
        for _ in range(rounds):
            b_wall, b_cpu = await _drive(bare, requests, concurrency)
            n_wall, n_cpu = await _drive(through_node, requests, concurrency)
            rows.append(
                {
                    "bare_us_wall": b_wall / requests * 1e6,
                    "node_us_wall": n_wall / requests * 1e6,
                    "bare_us_cpu": b_cpu / requests * 1e6,
                    "node_us_cpu": n_cpu / requests * 1e6,
                    "wall_ratio": n_wall / b_wall,
                    "cpu_ratio": n_cpu / b_cpu,
                }
            )
    finally:
        await bare_session.close()
        await client.close()
    return {
        "requests": requests,
        "concurrency": concurrency,
        "rounds": [{k: round(v, 3) for k, v in r.items()} for r in rows],
        "wall_ratio_median": round(statistics.median(r["wall_ratio"] for r in rows), 3),
        "cpu_ratio_median": round(statistics.median(r["cpu_ratio"] for r in rows), 3),
        "added_cpu_us_median": round(statistics.median(r["node_us_cpu"] - r["bare_us_cpu"] for r in rows), 1),
    }


async def main(a: argparse.Namespace) -> None:
    port = free_port()
    service = Process([sys.executable, "-m", "benchmarks.http_node", "--serve", str(port)])
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_http(base_url + "/order", service)
        result = await measure(base_url, a.requests, a.concurrency, a.rounds)
    finally:
        service.stop()
    print(f"machine: {machine()}")
    for i, r in enumerate(result["rounds"], 1):
        print(
            f"  round {i}: bare {r['bare_us_wall']:.0f} µs wall / {r['bare_us_cpu']:.0f} µs CPU per request; "
            f"node {r['node_us_wall']:.0f} / {r['node_us_cpu']:.0f} (x{r['wall_ratio']:.2f} wall, "
            f"x{r['cpu_ratio']:.2f} CPU)"
        )
    print(
        f"  median: x{result['wall_ratio_median']} wall, x{result['cpu_ratio_median']} CPU, "
        f"+{result['added_cpu_us_median']} µs CPU per request"
    )
    print("JSON " + json.dumps(result))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--requests", type=int, default=4000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the service's own process
    args = p.parse_args()
    if args.serve:
        serve(args.serve)
    else:
        asyncio.run(main(args))
