"""The ``chatgate`` command: serve, check-config, reload, migrate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import resource
import signal
import sys
from pathlib import Path

from chatgate import __version__
from chatgate.logs import setup_logging
from config import ConfigError, Settings, load_settings, parse_settings
from config.loader import config_path, read_config_text
from engine.storage import Storage, redacted_url

log = logging.getLogger("chatgate")

SWITCH_INTERVAL_S = 0.0005


def _raise_open_files_limit() -> None:
    """Each chat or API connection is a file descriptor; the usual soft limit of 1024
    would refuse connections long before the machine is busy."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < want:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


async def serve(settings: Settings, path: Path, text: str) -> None:
    """Serve until SIGTERM/SIGINT; ``path``/``text``: the config file it came from (live reload)."""
    _raise_open_files_limit()
    # Imported here: the server pulls in openai, aiohttp and the bots (over a second),
    # which check-config never needs.
    from aiohttp import web

    from chatgate.console import GatewayConsole
    from chatgate.gateway import Gateway
    from chatgate.http.app import create_app
    from chatgate.reload import Reloader

    gateway = await Gateway.open(settings)
    reloader = Reloader(gateway, path, text)
    gateway.bots.services.console = GatewayConsole(gateway)  # admins' /status and /reload in chat
    await reloader.start()  # watching before we answer: an edit from now on is seen
    runner = web.AppRunner(create_app(gateway), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.server.host, settings.server.port, backlog=4096)
    await site.start()
    gateway.start_bots()
    # Everything built at start-up lives as long as the process: move it out of the
    # collector's way, so collections on the hot path only scan what requests allocate.
    gc.collect()
    gc.freeze()
    # Requests allocate many short-lived objects; a larger first generation means far
    # fewer collections per request for a few more MB of garbage between them.
    gc.set_threshold(10_000, 20, 20)
    # aiosqlite's thread (reads, and writes SQLite's insert process doesn't take) needs the
    # GIL back for every result while the event loop holds it, and whoever waits for that
    # result waits up to Python's switch interval each time: 0.5 ms rather than 5 ms measured
    # +5% executions/s (BENCHMARKS.md).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    log.info("chatgate %s serving on http://%s:%d", __version__, settings.server.host, settings.server.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reloader.request, "SIGHUP")
    try:
        await stop.wait()
        log.info("shutting down: finishing in-flight requests")
    finally:
        await reloader.stop()  # no reload starts now; one restarting bots finishes
        await gateway.bots.stop_all()  # bots first: they finish their answers and acknowledge
        await runner.cleanup()  # stops accepting, waits for in-flight handlers
        await gateway.close()
        log.info("stopped")


async def _migrate(settings: Settings) -> None:
    storage = Storage(settings.storage.url)
    await storage.open()  # applies the migrations
    await storage.close()


def _run(coro: object) -> None:
    try:
        import uvloop

        uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:
        asyncio.run(coro)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="chatgate", description="Self-hosted chat-bot gateway backed by workflows"
    )
    parser.add_argument("--version", action="version", version=f"chatgate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the API and the bots")
    p_serve.add_argument(
        "--config", help="config file (default: $CHATGATE_CONFIG, then config/chatgate.yaml)"
    )
    p_serve.add_argument("--log-level", default="INFO")
    p_migrate = sub.add_parser("migrate", help="bring the database schema up to date (also done on start)")
    p_migrate.add_argument("--config", help="config file (as for serve)")
    p_check = sub.add_parser("check-config", help="validate a config file; exit 0 when it is usable")
    p_check.add_argument("path", nargs="?")
    p_reload = sub.add_parser(
        "reload", help="make the running chatgate reload its config now and print the verdict"
    )
    p_reload.add_argument("--config", help="its config file (as for serve): where it listens, which key")
    p_reload.add_argument("--url", help="the running chatgate (default: $CHATGATE_URL, else the config's)")
    p_reload.add_argument("--key", help="an admin API key (default: $CHATGATE_API_KEY, else from the config)")
    args = parser.parse_args(argv)

    if args.command in ("check-config", "migrate"):
        try:
            settings = load_settings(args.path if args.command == "check-config" else args.config)
        except ConfigError as e:
            print(f"invalid: {e}", file=sys.stderr)
            return 1
        if args.command == "check-config":
            print(f"ok: {len(settings.api_keys)} API key(s), {len(settings.bots)} bot(s)")
        else:
            _run(_migrate(settings))
            print(f"database schema up to date ({redacted_url(settings.storage.url)})")
        return 0

    if args.command == "reload":
        from chatgate.reload_client import locate, request_reload

        code, verdict = request_reload(locate(config_path(args.config), os.environ, args.url, args.key))
        print(verdict, file=sys.stdout if code == 0 else sys.stderr)
        return code

    setup_logging(args.log_level)
    path = config_path(args.config)
    try:
        text = read_config_text(path)
        settings = parse_settings(text, path)
    except ConfigError as e:
        log.error("cannot start: %s", e)
        return 2
    try:
        with contextlib.suppress(KeyboardInterrupt):
            _run(serve(settings, path, text))
    except ConfigError as e:  # problems found while starting, e.g. an unusable stored key
        log.error("cannot start: %s", e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
