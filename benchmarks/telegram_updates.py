"""Telegram updates end to end: the Bot API emulator → the real aiogram inside
``chatgate serve`` (long polling) → the offline model → the answer back at the emulator.

    python -m benchmarks.telegram_updates [--chats 1000] [--per-chat 2] [--rate 500] [--seconds 10]

1. throughput — ``chats × per-chat`` private messages queued as fast as the emulator
   takes them, spread over the chats (at most 3 per chat, so the per-chat pacing
   chatgate keeps for Telegram's ~1 message/s limit is not what is measured);
   updates/s = answered / (last answer − first update).
2. latency — an open loop at ``--rate`` updates/s for ``--seconds`` across the same
   chats; latency = the final ``sendMessage`` arriving at the emulator − the update
   being queued there. The offline model answers at once, so this is all latency
   chatgate adds (long-poll wake-up, parsing, durable inbox, dedupe, rate limit,
   workflow, storage, typing/draft/sendMessage calls).
Target (issue 3): >= 500 updates/s on 2 cores, p99 added latency < 50 ms.
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

from benchmarks.harness import Process, machine, wait_http
from benchmarks.harness import start_chatgate as harness_start
from tests.emulators.telegram.server import TelegramEmulator

TOKEN = "777000:AAH-bench-telegram-token-0123456789"
FIRST_CHAT = 100_000


def start_chatgate(workdir: Path, emu: TelegramEmulator, *, workers: int) -> tuple[Process, str]:
    bot = {
        "name": "bench",
        "platform": "telegram",
        "token": TOKEN,
        "api_base": emu.base_url,
        "workflow": "support_bot",
        "tier": "bench",
        "max_in_flight": workers,
    }
    return harness_start(workdir, bots=[bot])


class Probe:
    """When each update was queued, and when its answer (the final sendMessage) arrived.

    The n-th answer in a chat belongs to the n-th question there: chatgate answers a
    chat in order."""

    def __init__(self, emu: TelegramEmulator) -> None:
        self.emu = emu
        self.sent: dict[int, list[float]] = {}
        self.answers: dict[int, list[float]] = {}
        self._seen = len(emu.calls_to("sendMessage"))  # answers to earlier scenarios are not ours

    def ask(self, chat_id: int, i: int) -> None:
        self.emu.push_message(TOKEN, chat_id=chat_id, user_id=chat_id, text=f"question {i}")
        self.sent.setdefault(chat_id, []).append(time.monotonic())

    def collect(self) -> None:
        calls = self.emu.calls_to("sendMessage")
        for call in calls[self._seen :]:
            if call.status == 200:
                self.answers.setdefault(int(call.params["chat_id"]), []).append(call.time)
        self._seen = len(calls)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.sent.values())

    def answered(self) -> int:
        return sum(min(len(self.answers.get(c, [])), len(v)) for c, v in self.sent.items())

    async def wait_all(self, within: float) -> None:
        deadline = time.monotonic() + within
        while True:
            self.collect()
            if self.answered() == self.total:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.total - self.answered()} of {self.total} updates unanswered")
            await asyncio.sleep(0.05)

    def latencies_ms(self) -> list[float]:
        return sorted(
            (a - s) * 1000
            for c, sent in self.sent.items()
            for s, a in zip(sent, self.answers[c], strict=False)
        )

    def last_answer(self) -> float:
        return max(max(v) for v in self.answers.values())


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))]


async def throughput(emu: TelegramEmulator, chats: list[int], per_chat: int) -> dict[str, Any]:
    probe = Probe(emu)
    t0 = time.monotonic()
    i = 0
    for _ in range(per_chat):
        for chat in chats:
            probe.ask(chat, i)
            i += 1
    await probe.wait_all(300)
    elapsed = probe.last_answer() - t0
    lat = probe.latencies_ms()
    return {
        "updates": probe.total,
        "seconds": round(elapsed, 3),
        "per_s": round(probe.total / elapsed, 1),
        "p50_ms": round(pct(lat, 0.5), 2),
        "p99_ms": round(pct(lat, 0.99), 2),
    }


async def latency(emu: TelegramEmulator, chats: list[int], rate: float, seconds: float) -> dict[str, Any]:
    probe = Probe(emu)
    total = int(rate * seconds)
    t0 = time.monotonic()
    for i in range(total):
        delay = t0 + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        probe.ask(chats[i % len(chats)], i)
    sent_for = time.monotonic() - t0
    await probe.wait_all(300)
    lat = probe.latencies_ms()
    return {
        "updates": total,
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
    parser.add_argument("--chats", type=int, default=1000)
    parser.add_argument(
        "--per-chat", type=int, default=2, help="throughput scenario: updates per chat (<= 3)"
    )
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=256, help="the bot's max_in_flight")
    args = parser.parse_args(argv)

    emu = TelegramEmulator()
    await emu.start()
    emu.add_bot(TOKEN, username="bench_bot")
    chats = [FIRST_CHAT + i for i in range(args.chats)]
    with tempfile.TemporaryDirectory(prefix="bench-telegram-") as tmp:
        proc, url = start_chatgate(Path(tmp), emu, workers=args.workers)
        try:
            await wait_http(f"{url}/healthz", proc)
            await emu.wait_for(lambda: len(emu.calls_to("getUpdates")) > 1, 30)
            warm = Probe(emu)
            for i, chat in enumerate(chats[:50]):
                warm.ask(chat, i)
            await warm.wait_all(60)
            await asyncio.sleep(3)  # let the warm-up chats' pacing buckets refill
            cpu0, own0 = cpu_s(proc.proc.pid), time.process_time()
            t = await throughput(emu, chats, args.per_chat)
            t["chatgate_cpu_s"] = round(cpu_s(proc.proc.pid) - cpu0, 2)
            t["emulator_and_load_cpu_s"] = round(time.process_time() - own0, 2)
            await asyncio.sleep(3)
            lat = await latency(emu, chats, args.rate, args.seconds)
            rss = proc.peak_rss_mb()
        finally:
            proc.stop()
            await emu.stop()

    print(f"Telegram updates end to end, {args.chats} chats, offline model — {machine()}")
    print(f"{'scenario':<12} {'updates':>9} {'upd/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'throughput':<12} {t['updates']:>9} {t['per_s']:>9} {t['p50_ms']:>8} {t['p99_ms']:>8}")
    achieved = lat["achieved_per_s"]
    print(f"{'latency':<12} {lat['updates']:>9} {achieved:>9} {lat['p50_ms']:>8} {lat['p99_ms']:>8}")
    print(
        f"chatgate peak RSS: {rss:.0f} MB; CPU during throughput: chatgate {t['chatgate_cpu_s']} s, "
        f"emulator + load {t['emulator_and_load_cpu_s']} s"
    )
    result = {
        "benchmark": "telegram_updates",
        "machine": machine(),
        "chats": args.chats,
        "throughput": t,
        "latency": lat,
        "peak_rss_mb": round(rss, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
