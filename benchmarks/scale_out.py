"""Scaling out: REST execute throughput of 1 and 2 chatgate processes on PostgreSQL + Redis,
beside one process on SQLite, all in the same run on the offline (echo) model.

    python -m benchmarks.scale_out [--seconds 10] [--connections 64]

PostgreSQL and Redis are started from Debian's packages exactly as the tests start
them (tests/support/services.py). Load comes from wrk (one per chatgate process, the
connections split between them; every request in a session of its own out of
1000, as in benchmarks/api_execute.py). For each scenario it also reads, from
/proc, the CPU seconds every program used while measured, to show where the time
goes. Prints a table and one JSON line per scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.harness import Load, Process, have_wrk, machine, start_chatgate, wait_http, wrk
from tests.support.services import PostgresServer, RedisServer

EXECUTE = "/api/v1/workflows/support_bot/execute"
TICKS = os.sysconf("SC_CLK_TCK")


def launch(workdir: Path, *, storage_url: str, redis_url: str | None) -> tuple[Process, str]:
    """``chatgate serve`` on the seed workflow (echo model) with this storage and Redis."""
    extra: dict[str, Any] = {"redis_url": redis_url} if redis_url else {}
    return start_chatgate(workdir, storage={"url": storage_url}, reload={"watch": False}, **extra)


def cpu_by_program(chatgate_pids: set[int]) -> dict[str, float]:
    """CPU seconds (user + system) used so far by every process, summed per program."""
    used: dict[str, float] = defaultdict(float)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds = (int(fields[11]) + int(fields[12])) / TICKS
        if int(entry) in chatgate_pids:
            name = "chatgate"
        elif name.startswith("postgres") or name.startswith("postmaster"):
            name = "postgresql"
        elif name.startswith("redis"):
            name = "redis"
        else:
            continue
        used[name] += seconds
    # wrk has exited by the time we look: it is counted among our reaped children.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    used["wrk"] = children.ru_utime + children.ru_stime
    return used


def parallel_wrk(urls: list[str], connections: int, seconds: int) -> Load:
    """One wrk per URL at once, the connections split between them; the loads summed."""
    share = max(1, connections // len(urls))

    def run(i: int) -> Load:
        # Sessions of their own per wrk: the same names in lock-step would make the two
        # processes queue behind each other in every session (that is ordering's job, not load).
        return wrk(urls[i] + EXECUTE, connections=share, seconds=seconds, sessions=f"bench{i}")

    with ThreadPoolExecutor(len(urls)) as pool:
        loads = list(pool.map(run, range(len(urls))))
    return Load(
        requests=sum(x.requests for x in loads),
        seconds=max(x.seconds for x in loads),
        errors=sum(x.errors for x in loads),
        p50_ms=max(x.p50_ms for x in loads),
        p99_ms=max(x.p99_ms for x in loads),
    )


async def scenario(
    name: str, procs: list[tuple[Process, str]], connections: int, seconds: int
) -> dict[str, Any]:
    try:
        for proc, url in procs:
            await wait_http(url + "/healthz", proc)
        urls = [url for _, url in procs]
        parallel_wrk(urls, connections, 2)  # warm-up: connections, caches, the JIT of the database
        pids = {p.proc.pid for p, _ in procs}
        before = cpu_by_program(pids)
        started = time.monotonic()
        load = parallel_wrk(urls, connections, seconds)
        wall = time.monotonic() - started
        after = cpu_by_program(pids)
        used = {k: after[k] - before.get(k, 0.0) for k in after}
        return {
            "scenario": name,
            "processes": len(procs),
            "requests": load.requests,
            "errors": load.errors,
            "per_s": round(load.rate, 1),
            "p50_ms": round(load.p50_ms, 2),
            "p99_ms": round(load.p99_ms, 2),
            # Cores busy on average while measured, per program (the machine has os.cpu_count()).
            "cores_used": {k: round(v / wall, 2) for k, v in sorted(used.items(), key=lambda kv: -kv[1])},
            "cpu_ms_per_request": {
                k: round(1000 * v / max(1, load.requests), 3) for k, v in sorted(used.items())
            },
        }
    finally:
        for proc, _ in procs:
            proc.stop()


def show(result: dict[str, Any]) -> None:
    cores = ", ".join(f"{k} {v}" for k, v in result["cores_used"].items())
    print(
        f"  {result['scenario']:<34} {result['per_s']:>8.1f}/s  p50 {result['p50_ms']:.1f} ms  "
        f"p99 {result['p99_ms']:.1f} ms  errors {result['errors']}  cores: {cores}"
    )
    print("JSON " + json.dumps(result))


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--connections", type=int, default=64)
    a = p.parse_args()
    if not have_wrk():
        sys.exit("wrk is needed: apt-get install wrk")
    print(f"machine: {machine()}")
    pg, redis = PostgresServer(), RedisServer()
    pg.start()
    redis.start()
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            sqlite = f"sqlite:///{root / 'solo' / 'data' / 'chatgate.db'}"
            results.append(
                await scenario(
                    "1 process, SQLite",
                    [launch(root / "solo", storage_url=sqlite, redis_url=None)],
                    a.connections,
                    a.seconds,
                )
            )
            show(results[-1])
            one_db = pg.new_database("scale_one")
            results.append(
                await scenario(
                    "1 process, PostgreSQL + Redis",
                    [launch(root / "pg1", storage_url=one_db, redis_url=redis.url)],
                    a.connections,
                    a.seconds,
                )
            )
            show(results[-1])
            redis.flush()
            two_db = pg.new_database("scale_two")
            results.append(
                await scenario(
                    "2 processes, PostgreSQL + Redis",
                    [launch(root / f"pg2-{i}", storage_url=two_db, redis_url=redis.url) for i in range(2)],
                    a.connections,
                    a.seconds,
                )
            )
            show(results[-1])
    finally:
        redis.stop()
        pg.stop()
    one, two = results[1]["per_s"], results[2]["per_s"]
    summary = {
        "scaling_factor_2_vs_1_on_pg_redis": round(two / one, 2) if one else None,
        "pg_redis_1_vs_sqlite_1": round(one / results[0]["per_s"], 2) if results[0]["per_s"] else None,
        "cores": os.cpu_count(),
    }
    factor = summary["scaling_factor_2_vs_1_on_pg_redis"]
    print("\nscaling factor, 2 processes vs 1 on PostgreSQL + Redis:", factor)
    print("1 process on PostgreSQL + Redis vs 1 on SQLite:", summary["pg_redis_1_vs_sqlite_1"])
    print("JSON " + json.dumps({"scenario": "summary", **summary}))


if __name__ == "__main__":
    asyncio.run(main())
