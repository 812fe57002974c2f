"""REST execute throughput: chatgate against baselines measured in the same run.

    python -m benchmarks.api_execute [--seconds 6] [--connections 64] [--only offline,model,many]

1. offline  — the seed workflow on the built-in echo model vs a bare aiohttp handler
               returning the same JSON (target: chatgate >= 25% of it)
2. model    — the seed workflow on a model served by the OpenAI-compatible stub vs a
               minimal aiohttp handler calling AsyncOpenAI directly (target: >= 1.0x)
3. many     — 5,000 concurrent executions against a stub answering after 2 s
               (target: all complete, chatgate's peak RSS < 500 MB)
1 and 2 alternate five rounds of each side (--seconds each); the ratio is the median of
the rounds' ratios. Prints a table and one JSON line per scenario. Needs wrk (Debian
package) for 1 and 2.
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

from benchmarks.harness import (
    Load,
    Process,
    burst,
    free_port,
    have_wrk,
    machine,
    start_chatgate,
    wait_http,
    wrk,
)

EXECUTE = "/api/v1/workflows/support_bot/execute"


def stub(delay: float = 0.0) -> tuple[Process, str]:
    port = free_port()
    proc = Process(
        [sys.executable, "-m", "tests.emulators.openai_server", "--port", str(port), "--delay", str(delay)]
    )
    return proc, f"http://127.0.0.1:{port}/v1"


def baseline(kind: str, upstream: str | None = None) -> tuple[Process, str]:
    port = free_port()
    args = [sys.executable, "-m", "benchmarks.baselines", kind, "--port", str(port)]
    if upstream:
        args += ["--upstream", upstream]
    return Process(args), f"http://127.0.0.1:{port}"


def row(name: str, load: Load, rss: float | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "requests": load.requests,
        "errors": load.errors,
        "per_s": round(load.rate, 1),
        "p50_ms": round(load.p50_ms, 2),
        "p99_ms": round(load.p99_ms, 2),
        "peak_rss_mb": None if rss is None else round(rss, 1),
    }


def head_to_head(
    base_url: str, gw_url: str, *, seconds: int, connections: int, rounds: int = 5
) -> tuple[list[Load], list[Load]]:
    """Alternate baseline and chatgate runs (after a warm-up of each), so drift on a
    shared machine hits both alike; returns each side's rounds, in order."""
    wrk(base_url + EXECUTE, connections=connections, seconds=2)
    wrk(gw_url + EXECUTE, connections=connections, seconds=2)
    b, c = [], []
    for _ in range(rounds):
        b.append(wrk(base_url + EXECUTE, connections=connections, seconds=seconds))
        c.append(wrk(gw_url + EXECUTE, connections=connections, seconds=seconds))
    return b, c


def combine(loads: list[Load]) -> Load:
    return Load(
        requests=sum(x.requests for x in loads),
        seconds=sum(x.seconds for x in loads),
        errors=sum(x.errors for x in loads),
        p50_ms=max(x.p50_ms for x in loads),
        p99_ms=max(x.p99_ms for x in loads),
    )


def verdict(
    scenario: str, target: str, base: tuple[str, list[Load]], gw: tuple[str, list[Load]], rss: float
) -> dict[str, Any]:
    """The ratio is the median over rounds of chatgate's rate over the baseline's just
    before it: a few seconds of a busy neighbour on a shared machine then spoil one
    round's ratio instead of the whole figure."""
    ratios = sorted(c.rate / b.rate for b, c in zip(base[1], gw[1], strict=True))
    return {
        "scenario": scenario,
        "baseline": row(base[0], combine(base[1])),
        "chatgate": row(gw[0], combine(gw[1]), rss),
        "ratio": round(statistics.median(ratios), 3),
        "round_ratios": [round(r, 3) for r in ratios],
        "target": target,
    }


async def offline(seconds: int, connections: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        base, base_url = baseline("bare")
        gw, gw_url = start_chatgate(Path(tmp))
        try:
            await wait_http(base_url + "/", base)
            await wait_http(gw_url + "/healthz", gw)
            b, c = head_to_head(base_url, gw_url, seconds=seconds, connections=connections)
            return verdict(
                "offline",
                ">= 0.25",
                ("bare aiohttp handler", b),
                ("chatgate, echo model", c),
                gw.peak_rss_mb(),
            )
        finally:
            gw.stop()
            base.stop()


async def model(seconds: int, connections: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        up, up_url = stub()
        base, base_url = baseline("openai", up_url)
        gw, gw_url = start_chatgate(
            Path(tmp), llm={"base_url": up_url, "api_key": "bench"}, model="bench-model"
        )
        try:
            await wait_http(up_url + "/models", up)
            await wait_http(base_url + "/", base)
            await wait_http(gw_url + "/healthz", gw)
            b, c = head_to_head(base_url, gw_url, seconds=seconds, connections=connections)
            return verdict(
                "model",
                ">= 1.0",
                ("aiohttp + AsyncOpenAI default client", b),
                ("chatgate, model over HTTP", c),
                gw.peak_rss_mb(),
            )
        finally:
            gw.stop()
            base.stop()
            up.stop()


async def many(total: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        up, up_url = stub(delay=2.0)
        gw, gw_url = start_chatgate(
            Path(tmp), llm={"base_url": up_url, "api_key": "bench"}, model="bench-model"
        )
        try:
            await wait_http(up_url + "/models", up)
            await wait_http(gw_url + "/healthz", gw)
            c = await burst(gw_url + EXECUTE, total=total)
            return {
                "scenario": "many",
                "chatgate": row(f"{total} concurrent, stub answers after 2 s", c, gw.peak_rss_mb()),
                "all_completed": c.errors == 0,
                "target": "all complete, peak RSS < 500 MB",
            }
        finally:
            gw.stop()
            up.stop()


def show(result: dict[str, Any]) -> None:
    print(f"\n== {result['scenario']} ({result['target']})")
    for key in ("baseline", "chatgate"):
        if key in result:
            r = result[key]
            rss = f", peak RSS {r['peak_rss_mb']} MB" if r["peak_rss_mb"] is not None else ""
            print(
                f"  {r['name']:<45} {r['per_s']:>9.1f}/s  p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms"
                f"  errors {r['errors']}{rss}"
            )
    if "ratio" in result:
        rounds = ", ".join(str(r) for r in result["round_ratios"])
        print(f"  ratio chatgate/baseline: {result['ratio']} (median of the rounds: {rounds})")
    print("JSON " + json.dumps(result))


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=int, default=6, help="per round; five rounds of each")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--many", type=int, default=5000)
    p.add_argument("--only", default="offline,model,many")
    a = p.parse_args()
    wanted = set(a.only.split(","))
    if wanted & {"offline", "model"} and not have_wrk():
        sys.exit("wrk is needed: apt-get install wrk")
    print(f"machine: {machine()}")
    if "offline" in wanted:
        show(await offline(a.seconds, a.connections))
    if "model" in wanted:
        show(await model(a.seconds, a.connections))
    if "many" in wanted:
        show(await many(a.many))


if __name__ == "__main__":
    asyncio.run(main())
