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
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from benchmarks.harness import ROOT, Process, free_port, machine, wait_http
from tests.emulators.discord_server import DiscordEmulator

TOKEN = "bench-discord-token-0123456789"
BOT_ID = 900
GUILD = 10_000
USERS = 200


def start_chatgate(workdir: Path, emu: DiscordEmulator, *, workers: int) -> tuple[Process, str]:
    port = free_port()
    (workdir / "workflows").mkdir(parents=True, exist_ok=True)
    (workdir / "workflows" / "support_bot.json").write_text(
        (ROOT / "config" / "workflows" / "support_bot.json").read_text()
    )
    config: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": port},
        "storage": {"url": f"sqlite:///{workdir / 'data' / 'chatgate.db'}"},
        "llm": {"default_model": "echo"},
        "api_keys": [{"key": "bench-key-0123456789", "name": "bench", "tier": "bench"}],
        "rate_limits": {"free": "10/minute", "bench": "100000000/minute"},
        "workflows_dir": str(workdir / "workflows"),
        "data_dir": str(workdir / "data"),
        "bots": [{
            "name": "bench", "platform": "discord", "token": TOKEN, "api_base": emu.api_base,
            "workflow": "support_bot", "tier": "bench", "max_in_flight": workers,
        }],
    }
    (workdir / "chatgate.yaml").write_text(yaml.safe_dump(config))
    proc = Process([sys.executable, "-m", "chatgate.cli", "serve", "--config", str(workdir / "chatgate.yaml"),
                    "--log-level", "WARNING"], cwd=workdir)
    return proc, f"http://127.0.0.1:{port}"


class Probe:
    """Question dispatch times, and answer arrival times read from the emulator's call log."""

    def __init__(self, emu: DiscordEmulator) -> None:
        self.emu = emu
        self.sent: dict[int, float] = {}
        self._seen = 0
        self.answered: dict[int, float] = {}

    def ask(self, channel_id: int, i: int) -> None:
        user = 20_000 + i % USERS
        msg = self.emu.user_message(channel_id=channel_id, content=f"question {i}", user_id=user,
                                    username=f"user{user}", mention_bot=True)
        self.sent[int(msg["id"])] = time.monotonic()

    def collect(self) -> None:
        calls = self.emu.calls
        for call in calls[self._seen:]:
            if call.method == "POST" and call.status == 200 and isinstance(call.json, dict):
                ref = (call.json.get("message_reference") or {}).get("message_id")
                if ref is not None:
                    self.answered.setdefault(int(ref), call.time)
        self._seen = len(calls)

    async def wait_all(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self.collect()
            if all(m in self.answered for m in self.sent):
                return
            if time.monotonic() > deadline:
                missing = sum(1 for m in self.sent if m not in self.answered)
                raise RuntimeError(f"{missing} of {len(self.sent)} questions unanswered after {timeout}s")
            await asyncio.sleep(0.05)

    def latencies_ms(self) -> list[float]:
        return sorted((self.answered[m] - t) * 1000 for m, t in self.sent.items())


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))]


async def throughput(emu: DiscordEmulator, channels: list[int], per_channel: int) -> dict[str, Any]:
    probe = Probe(emu)
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
    return {"messages": len(probe.sent), "seconds": round(last - t0, 3),
            "per_s": round(len(probe.sent) / (last - t0), 1),
            "p50_ms": round(pct(lat, 0.5), 2), "p99_ms": round(pct(lat, 0.99), 2)}


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
    return {"messages": total, "offered_per_s": rate, "achieved_per_s": round(total / sent_for, 1),
            "p50_ms": round(pct(lat, 0.5), 2), "p90_ms": round(pct(lat, 0.9), 2),
            "p99_ms": round(pct(lat, 0.99), 2), "max_ms": round(lat[-1], 2)}


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", type=int, default=1000)
    parser.add_argument("--per-channel", type=int, default=4)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=256, help="the bot's max_in_flight")
    args = parser.parse_args(argv)

    emu = DiscordEmulator()
    emu.resume_buffer_size = 1000  # the benchmark never resumes; don't keep every frame
    await emu.start()
    emu.add_bot(TOKEN, user_id=BOT_ID)
    channels = [GUILD + 1 + i for i in range(args.channels)]
    emu.add_guild(GUILD, channel_ids=channels, members={20_000 + u: f"user{20_000 + u}" for u in range(USERS)})
    with tempfile.TemporaryDirectory(prefix="bench-discord-") as tmp:
        proc, url = start_chatgate(Path(tmp), emu, workers=args.workers)
        try:
            await wait_http(f"{url}/healthz", proc)
            await emu.wait_for(lambda: emu.active_connections == 1, 30)
            await asyncio.sleep(2.5)  # discord.py finishes READY (guild wait) before measuring
            warm = Probe(emu)
            for i, ch in enumerate(channels[:50]):
                warm.ask(ch, i)
            await warm.wait_all(60)
            emu.calls.clear()
            t = await throughput(emu, channels, args.per_channel)
            emu.calls.clear()
            await asyncio.sleep(6)  # let the channels' send windows empty
            lat = await latency(emu, channels, args.rate, args.seconds)
            rss = proc.peak_rss_mb()
        finally:
            proc.stop()
            await emu.stop()

    print(f"Discord messages end to end, {args.channels} channels, offline model — {machine()}")
    print(f"{'scenario':<12} {'messages':>9} {'msg/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'throughput':<12} {t['messages']:>9} {t['per_s']:>9} {t['p50_ms']:>8} {t['p99_ms']:>8}")
    print(f"{'latency':<12} {lat['messages']:>9} {lat['achieved_per_s']:>9} {lat['p50_ms']:>8} {lat['p99_ms']:>8}")
    print(f"chatgate peak RSS: {rss:.0f} MB")
    print(json.dumps({"benchmark": "discord_messages", "machine": machine(), "channels": args.channels,
                      "throughput": t, "latency": lat, "peak_rss_mb": round(rss, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
