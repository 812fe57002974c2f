"""Discord messages end to end: the Discord emulator → the real discord.py inside
``chatgate serve`` → the offline model → the answer back at the emulator.

    python -m benchmarks.discord_messages [--channels 1000] [--per-channel 4] [--rate 500] [--seconds 10]

1. throughput — ``channels × per-channel`` mentions posted as fast as the emulator can
   dispatch them, spread over the channels (at most 4 per channel, so Discord's own
   5-messages-per-5-s channel limit, which chatgate keeps, is not what is measured);
   messages/s = answered / (last answer − first question).
2. latency — an open loop at ``--rate`` messages/s for ``--seconds`` across the same
   channels; latency = the answer's arrival at the emulator − the question's dispatch.
   The offline model answers at once, so this is all latency chatgate adds
   (gateway parsing, dedupe, rate limit, workflow, storage, REST send).
Target (issue 4): >= 500 messages/s on 2 cores, p99 added latency < 50 ms.
The emulator and the load run in this process, chatgate in another.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks.harness import Process, machine, wait_http
from benchmarks.harness import start_chatgate as harness_start
from bots.delivery.claims import CLOCK_SLACK_S
from tests.emulators.discord.server import DiscordEmulator

TOKEN = "OTAw.bench-discord.token-0123456789"
BOT_ID = 900
GUILD = 10_000
USERS = 200


def start_chatgate(
    workdir: Path, emu: DiscordEmulator, *, workers: int, log_level: str
) -> tuple[Process, str]:
    bot = {
        "name": "bench",
        "platform": "discord",
        "token": TOKEN,
        "api_base": emu.api_base,
        "workflow": "support_bot",
        "tier": "bench",
        "max_in_flight": workers,
    }
    return harness_start(workdir, bots=[bot], log_level=log_level)


class Probe:
    """Question dispatch times, and answer arrival times read from the emulator's call log."""

    def __init__(self, emu: DiscordEmulator) -> None:
        self.emu = emu
        self.sent: dict[int, float] = {}
        self._seen = 0
        self.answered: dict[int, float] = {}

    def ask(self, channel_id: int, i: int) -> None:
        user = 20_000 + i % USERS
        msg = self.emu.user_message(
            channel_id=channel_id,
            content=f"question {i}",
            user_id=user,
            username=f"user{user}",
            mention_bot=True,
        )
        self.sent[int(msg["id"])] = time.monotonic()

    def collect(self) -> None:
        calls = self.emu.calls
        first_open = None
        for index in range(self._seen, len(calls)):
            call = calls[index]
            if call.status == 0:  # still being handled: look at it again next time
                first_open = index if first_open is None else first_open
                continue
            if call.method == "POST" and call.status == 200 and isinstance(call.json, dict):
                ref = (call.json.get("message_reference") or {}).get("message_id")
                if ref is not None:
                    self.answered.setdefault(int(ref), call.time)
        self._seen = len(calls) if first_open is None else first_open

    async def wait_all(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while True:
            self.collect()
            if all(m in self.answered for m in self.sent):
                return
            if time.monotonic() > deadline:
                missing = sum(1 for m in self.sent if m not in self.answered)
                raise RuntimeError(f"{missing} of {len(self.sent)} questions unanswered after {wait_s}s")
            await asyncio.sleep(0.05)

    def latencies_ms(self) -> list[float]:
        return sorted((self.answered[m] - t) * 1000 for m, t in self.sent.items())


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))]


async def throughput(emu: DiscordEmulator, channels: list[int], per_channel: int, pid: int) -> dict[str, Any]:
    probe = Probe(emu)
    cpu0, own0 = cpu_s(pid), time.process_time()
    t0 = time.monotonic()
    i = 0
    for _ in range(per_channel):
        for ch in channels:
            probe.ask(ch, i)
            i += 1
            if i % 200 == 0:
                await asyncio.sleep(0)  # let the gateway writer send what is queued
    await probe.wait_all(300)
    last = max(probe.answered[m] for m in probe.sent)
    lat = probe.latencies_ms()
    n = len(probe.sent)
    return {
        "messages": n,
        "seconds": round(last - t0, 3),
        "per_s": round(n / (last - t0), 1),
        "p50_ms": round(pct(lat, 0.5), 2),
        "p99_ms": round(pct(lat, 0.99), 2),
        # Where the cores went: chatgate vs the emulator and load generator (this process).
        "chatgate_cpu_ms_per_msg": round((cpu_s(pid) - cpu0) * 1000 / n, 3),
        "emulator_cpu_ms_per_msg": round((time.process_time() - own0) * 1000 / n, 3),
    }


async def latency(emu: DiscordEmulator, channels: list[int], rate: float, seconds: float) -> dict[str, Any]:
    probe = Probe(emu)
    total = int(rate * seconds)
    t0 = time.monotonic()
    for i in range(total):
        due = t0 + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        probe.ask(channels[i % len(channels)], i)
    sent_for = time.monotonic() - t0
    await probe.wait_all(300)
    lat = probe.latencies_ms()
    return {
        "messages": total,
        "offered_per_s": rate,
        "achieved_per_s": round(total / sent_for, 1),
        "p50_ms": round(pct(lat, 0.5), 2),
        "p90_ms": round(pct(lat, 0.9), 2),
        "p99_ms": round(pct(lat, 0.99), 2),
        "max_ms": round(lat[-1], 2),
    }


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--per-channel", type=int, default=4)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=256, help="the bot's max_in_flight")
    parser.add_argument("--log-level", default="WARNING", help="chatgate's")
    args = parser.parse_args(argv)

    emu = DiscordEmulator()
    emu.resume_buffer_size = 100_000  # enough to resume even mid-run, should it happen
    await emu.start()
    emu.add_bot(TOKEN, user_id=BOT_ID)
    channels = [GUILD + 1 + i for i in range(args.channels)]
    members = {20_000 + u: f"user{20_000 + u}" for u in range(USERS)}
    emu.add_guild(GUILD, channel_ids=channels, members=members)
    with tempfile.TemporaryDirectory(prefix="bench-discord-") as tmp:
        proc, url = start_chatgate(Path(tmp), emu, workers=args.workers, log_level=args.log_level)
        try:
            await wait_http(f"{url}/healthz", proc)
            await emu.wait_for(lambda: emu.active_connections == 1, 30)
            # Steady state: discord.py has finished READY, and messages are newer than the
            # adapter's start plus the clock slack, so they skip the storage lookup that
            # only possibly-old messages need (engine/dedup.py).
            await asyncio.sleep(CLOCK_SLACK_S + 1)
            warm = Probe(emu)
            for i, ch in enumerate(channels[:50]):
                warm.ask(ch, i)
            await warm.wait_all(60)
            emu.calls.clear()
            t = await throughput(emu, channels, args.per_channel, proc.proc.pid)
            emu.calls.clear()
            await asyncio.sleep(6)  # let the channels' send windows empty
            lat = await latency(emu, channels, args.rate, args.seconds)
            rss = proc.peak_rss_mb()
            async with aiohttp.ClientSession() as http, http.get(f"{url}/healthz") as r:
                bot = (await r.json())["bots"]["bench"]
        finally:
            proc.stop()
            await emu.stop()

    print(f"Discord messages end to end, {args.channels} channels, offline model — {machine()}")
    print(f"{'scenario':<12} {'messages':>9} {'msg/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, row, rate in (("throughput", t, t["per_s"]), ("latency", lat, lat["achieved_per_s"])):
        print(f"{name:<12} {row['messages']:>9} {rate:>9} {row['p50_ms']:>8} {row['p99_ms']:>8}")
    print(f"chatgate peak RSS: {rss:.0f} MB")
    print(
        json.dumps(
            {
                "benchmark": "discord_messages",
                "machine": machine(),
                "channels": args.channels,
                "throughput": t,
                "latency": lat,
                "peak_rss_mb": round(rss, 1),
                "gateway": {"disconnects": bot["disconnects"], "resumes": bot["resumes"]},
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
