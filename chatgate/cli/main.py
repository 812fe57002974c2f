"""The ``chatgate`` command: serve, check-config, schema, migrate, reload, keys, workflows."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gc
import logging
import os
import re
import resource
import signal
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chatgate import __version__
from chatgate.logs import setup_logging
from config import ConfigError, Settings, load_settings, parse_settings
from config.loader import config_path, read_config_text
from config.workflow_files import check_bot_workflows_offline

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


class PortInUse(Exception):
    pass


def check_port(host: str, port: int) -> None:
    """Fail fast, in one line, when the port is taken: before migrations or anything slow.
    Bound as aiohttp binds it (SO_REUSEADDR), so only a listener refuses it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise PortInUse(f"cannot listen on {host}:{port}: {e.strerror}; check server.host") from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(address)
            except OSError as e:
                raise PortInUse(_bind_error(host, port, e)) from None


def _bind_error(host: str, port: int, e: OSError) -> str:
    if e.errno == errno.EADDRINUSE:
        return (
            f"port {port} on {host} is in use (another chatgate, or another server?): "
            "stop it, or set server.port in the config"
        )
    return f"cannot listen on {host}:{port}: {e.strerror or e}"


async def serve(settings: Settings, path: Path, text: str) -> None:
    """Serve until SIGTERM/SIGINT; ``path``/``text``: the config file it came from (live reload)."""
    _raise_open_files_limit()
    # Imported here: the server pulls in openai, aiohttp and the bots (over a second),
    # which check-config never needs.
    from aiohttp import web

    from chatgate.console import GatewayConsole
    from chatgate.gateway import Gateway
    from chatgate.http.app import create_app
    from chatgate.http.server import Limits, Runner
    from chatgate.reload.reloader import Reloader, check_bots_at_start

    gateway = await Gateway.open(settings, path)
    try:
        await check_bots_at_start(gateway, path, text)  # needs the workflows and the database
    except ConfigError:
        await gateway.close()
        raise
    reloader = Reloader(gateway, path, text)
    gateway.bots.services.console = GatewayConsole(gateway, reloader)  # admins' /status and /reload in chat
    await reloader.start()  # watching before we answer: an edit from now on is seen
    limits = Limits.of(settings.server, settings.llm.max_connections)
    runner = Runner(create_app(gateway, reloader), limits, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, settings.server.host, settings.server.port, backlog=4096)
    try:
        await site.start()
    except OSError as e:  # taken since check_port looked
        await runner.cleanup()
        await reloader.stop()
        await gateway.close()
        raise PortInUse(_bind_error(settings.server.host, settings.server.port, e)) from None
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
    # result waits up to Python's switch interval each time; 0.5 ms rather than 5 ms measured
    # faster (BENCHMARKS.md, Decisions).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    base = f"http://{settings.server.host}:{settings.server.port}"
    log.info("chatgate %s serving on %s (API docs: %s/docs)", __version__, base, base)
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
    from engine.store.writer import Storage  # SQLAlchemy and Alembic: only for commands that use them

    storage = Storage(settings.storage.url)
    await storage.open()  # applies the migrations
    await storage.close()


def _run(coro: object) -> None:
    try:
        import uvloop

        uvloop.run(coro)  # type: ignore[arg-type]
    except ImportError:
        asyncio.run(coro)  # type: ignore[arg-type]


_DURATION = re.compile(r"^(\d+)([dhm])$")


def parse_expiry(text: str) -> datetime:
    """``30d``, ``12h``, ``90m`` from now, or an ISO date/time (UTC unless it says otherwise)."""
    m = _DURATION.match(text.strip())
    if m:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
        return datetime.now(UTC) + timedelta(**{unit: int(m.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an expiry: use e.g. 30d, 12h, 90m or 2027-01-31 / 2027-01-31T12:00:00Z"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
CONFIG_HELP = "the config file (default: $CHATGATE_CONFIG, else config/chatgate.yaml)"

# name -> (one line for `chatgate --help`, what it does and an example for its own --help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": (
        "run the API and the bots until SIGTERM/SIGINT",
        "Serve the REST API and start the configured bots; SIGHUP reloads the config.\n\n"
        "example:\n  chatgate serve --config config/chatgate.yaml --log-level DEBUG",
    ),
    "check-config": (
        "validate a config file; exit 0 when it is usable",
        "Validate a config file and the workflow files of its workflows_dir, as the server would\n"
        "load them: exit 0 and a summary when all are usable, else exit 1 and one line per problem\n"
        "naming file, line and key (and the node, for a workflow file).\n\n"
        "examples:\n  chatgate check-config config/chatgate.yaml\n  chatgate check-config --config my.yaml",
    ),
    "schema": (
        "print the JSON Schema of workflow files (for editors)",
        "Print the JSON Schema of a workflow document, every node type included, as the server\n"
        "serves it at /api/v1/schemas/workflow.json: for an editor that checks workflow files\n"
        "without a running chatgate. No config is read.\n\n"
        "example:\n  chatgate schema > workflow.schema.json",
    ),
    "migrate": (
        "bring the database schema up to date",
        "Apply the database migrations of storage.url and exit.\n\n"
        "example:\n  chatgate migrate --config config/chatgate.yaml",
    ),
    "reload": (
        "make the running chatgate reload its config now",
        "Ask the running chatgate (POST /api/v1/admin/reload) to reload its config and workflow\n"
        "files; exit 0 applied, 1 rejected (the old config keeps running), 2 could not ask.\n"
        "The admin key: --key, $CHATGATE_API_KEY, a key listed in admins as key:<name>, else\n"
        "data/admin_key.\n\n"
        "example:\n  chatgate reload --config config/chatgate.yaml",
    ),
    "keys": (
        "create, list and revoke API keys (in the database)",
        "Manage API keys kept in the database (only a digest is stored). These commands work on\n"
        "storage.url directly, also while chatgate runs: every process sees a change within a\n"
        "few seconds. Keys in the config file's api_keys are listed too, but changed there.\n\n"
        "examples:\n  chatgate keys create --name ops --tier paid --admin\n"
        "  chatgate keys create --name ci --tier free --workflows support_bot --expires 30d\n"
        "  chatgate keys list\n  chatgate keys revoke ci",
    ),
    "workflows": (
        "move what one key name owns to another",
        "Workflows (and execution records and API sessions) belong to a key's name.\n\n"
        "example:\n  chatgate workflows reassign --from old-team --to ops",
    ),
}

KEY_COMMANDS: dict[str, tuple[str, str]] = {
    "create": (
        "make a key; it is printed once, on stdout",
        "Make an API key in the database and print it once (alone on stdout, the rest on stderr).\n\n"
        "examples:\n  chatgate keys create --name ops --tier paid --admin\n"
        "  KEY=$(chatgate keys create --name reader --tier free --read-only --expires 2027-01-31)",
    ),
    "list": (
        "list every key (config file, generated, database) and what names own",
        "List every API key (never a secret): its source, tier, rights, expiry and how many\n"
        "workflows its name owns; then names that own workflows but have no key.\n\n"
        "example:\n  chatgate keys list --config config/chatgate.yaml",
    ),
    "revoke": (
        "revoke a database key (or the generated admin key)",
        "Revoke a key made with `keys create`; `revoke admin` deletes data/admin_key, the generated\n"
        "key. A key from the config file is removed from the file instead. What the key created\n"
        "stays with its name.\n\n"
        "example:\n  chatgate keys revoke ci",
    ),
}


class _CommandList(argparse.HelpFormatter):
    """argparse leaves the commands' own indentation out of the help column, so the longest
    name (check-config) would push its line onto the next one: count it in."""

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction):
            self._action_max_length += 2


def _common() -> argparse.ArgumentParser:
    """The options every subcommand takes, the same way."""
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: given before or after a nested command (`keys --config X create`), a
    # subparser's own default must not overwrite it
    common.add_argument("--config", metavar="PATH", help=CONFIG_HELP, default=argparse.SUPPRESS)
    common.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=argparse.SUPPRESS,
        type=str.upper,
        help="how much to log (default: INFO; DEBUG is the most, still with every secret masked)",
    )
    return common


def _sub(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    texts: tuple[str, str],
    common: argparse.ArgumentParser,
) -> argparse.ArgumentParser:
    return sub.add_parser(
        name,
        help=texts[0],
        description=texts[1],
        parents=[common],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    common = _common()
    parser = argparse.ArgumentParser(
        prog="chatgate",
        description="Self-hosted chat-bot gateway backed by workflows.",
        epilog="`chatgate COMMAND --help` says what a command does, with an example.",
        formatter_class=_CommandList,
    )
    parser.add_argument("--version", action="version", version=f"chatgate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _sub(sub, "serve", COMMANDS["serve"], common)
    p_check = _sub(sub, "check-config", COMMANDS["check-config"], common)
    p_check.add_argument("path", nargs="?", metavar="PATH", help="the config file (same as --config)")
    _sub(sub, "schema", COMMANDS["schema"], common)
    _sub(sub, "migrate", COMMANDS["migrate"], common)
    p_reload = _sub(sub, "reload", COMMANDS["reload"], common)
    p_reload.add_argument("--url", help="the running chatgate (default: $CHATGATE_URL, else the config's)")
    p_reload.add_argument("--key", help="an admin API key (default: $CHATGATE_API_KEY, else from the config)")

    p_keys = _sub(sub, "keys", COMMANDS["keys"], common)
    keys = p_keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    p_create = _sub(keys, "create", KEY_COMMANDS["create"], common)
    p_create.add_argument("--name", required=True, help="the key's name: it owns what the key creates")
    p_create.add_argument("--tier", required=True, help="its rate-limit tier (a key of rate_limits)")
    p_create.add_argument("--admin", action="store_true", help="may use the admin API")
    p_create.add_argument(
        "--expires",
        type=parse_expiry,
        metavar="WHEN",
        help="30d, 12h, 90m, or a date/time (UTC); default: never",
    )
    p_create.add_argument(
        "--workflows", metavar="A,B", help="the only workflows (names or ids) it may run; default: any"
    )
    p_create.add_argument(
        "--read-only", action="store_true", help="may read (GET) only: never create, change, delete or run"
    )
    _sub(keys, "list", KEY_COMMANDS["list"], common)
    p_revoke = _sub(keys, "revoke", KEY_COMMANDS["revoke"], common)
    p_revoke.add_argument("name", metavar="NAME", help="the key's name")

    p_wf = _sub(sub, "workflows", COMMANDS["workflows"], common)
    wf = p_wf.add_subparsers(dest="action", required=True, metavar="ACTION")
    p_re = _sub(
        wf,
        "reassign",
        (
            "give everything one key name owns to another",
            "Give the workflows, execution records and API session history of key name FROM to TO\n"
            "(e.g. after removing a key from the config file). Works on storage.url directly.\n\n"
            "example:\n  chatgate workflows reassign --from admin --to ops",
        ),
        common,
    )
    p_re.add_argument("--from", dest="from_", required=True, metavar="NAME", help="the name owning them now")
    p_re.add_argument("--to", required=True, metavar="NAME", help="the key name to own them")
    return parser


def _check_workflows(settings: Settings) -> int:
    """The rest of ``check-config``: every workflow file the server would load."""
    from chatgate.cli.workflow_check import check_workflow_files

    count, problems = check_workflow_files(settings)
    for problem in problems:
        print(f"invalid: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"ok: {len(settings.api_keys)} API key(s), {len(settings.bots)} bot(s), {count} workflow file(s)")
    return 0


def _print_schema() -> int:
    from engine.workflow.schema import workflow_schema_json

    sys.stdout.buffer.write(workflow_schema_json() + b"\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.config = getattr(args, "config", None)
    args.log_level = getattr(args, "log_level", "INFO")
    command = args.command + (f" {args.action}" if getattr(args, "action", None) else "")
    if args.command == "check-config" and args.path and args.config and args.path != args.config:
        print("invalid: give the config file once (PATH or --config)", file=sys.stderr)
        return 2
    config = (args.path if args.command == "check-config" else None) or args.config

    if args.command == "schema":
        return _print_schema()

    if args.command == "reload":
        from chatgate.reload.client import locate, request_reload

        code, verdict = request_reload(locate(config_path(config), os.environ, args.url, args.key))
        print(verdict, file=sys.stdout if code == 0 else sys.stderr)
        return code

    if args.command != "serve":
        try:
            settings = load_settings(config)
            if args.command == "check-config":  # bots against workflows_dir; wf_ ids: at start
                check_bot_workflows_offline(settings, config_path(config))
        except ConfigError as e:
            print(f"invalid: {e}", file=sys.stderr)
            return 1
        if args.command == "check-config":
            return _check_workflows(settings)
        if args.command == "migrate":
            from engine.store.urls import redacted_url

            _run(_migrate(settings))
            print(f"database schema up to date ({redacted_url(settings.storage.url)})")
            return 0
        setup_logging("WARNING" if args.log_level == "INFO" else args.log_level)
        from chatgate.cli import keys as cli_keys

        return cli_keys.run(command, settings, args)

    setup_logging(args.log_level)
    path = config_path(config)
    try:
        text = read_config_text(path)
        settings = parse_settings(text, path)
    except ConfigError as e:
        log.error("cannot start: %s", e)
        return 2
    try:
        check_port(settings.server.host, settings.server.port)
        with contextlib.suppress(KeyboardInterrupt):
            _run(serve(settings, path, text))
    except ConfigError as e:  # problems found while starting, e.g. an unusable stored key
        log.error("cannot start: %s", e)
        return 2
    except PortInUse as e:
        log.error("cannot start: %s", e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
