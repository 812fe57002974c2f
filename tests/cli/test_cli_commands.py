"""An admin uses the ``chatgate`` command: every subcommand alike, help that helps, keys offline."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from tests.cli.test_cli import CHATGATE, clean_env
from tests.support.chatgate import API_KEY, base_config
from tests.support.net import free_port

SUBCOMMANDS = ["serve", "check-config", "schema", "migrate", "reload", "keys", "workflows"]
NESTED = [["keys", "create"], ["keys", "list"], ["keys", "revoke"], ["workflows", "reassign"]]


def chatgate(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHATGATE), *args],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


def write_config(tmp_path: Path, port: int | None = None) -> Path:
    config = base_config(port or free_port(), tmp_path)
    config["admins"] = ["key:tester"]
    (tmp_path / "workflows").mkdir(exist_ok=True)
    path = tmp_path / "chatgate.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_chatgate_help_lists_every_command_with_one_line_each() -> None:
    done = chatgate("--help")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    for name in SUBCOMMANDS:
        at = next(i for i, line in enumerate(lines) if line.strip().startswith(name + " "))
        assert len(lines[at].split(maxsplit=1)) == 2, lines[at]  # the name, then what it does
        following = lines[at + 1].split()
        assert not following or following[0] in SUBCOMMANDS, lines[at : at + 2]  # one line each


def test_each_subcommand_says_what_it_does_with_an_example_and_takes_config_and_log_level() -> None:
    with ThreadPoolExecutor(4) as pool:
        helps = list(pool.map(lambda args: chatgate(*args, "--help"), [[s] for s in SUBCOMMANDS] + NESTED))
    for args, done in zip([[s] for s in SUBCOMMANDS] + NESTED, helps, strict=True):
        assert done.returncode == 0, (args, done.stderr)
        text = done.stdout
        assert "example" in text, (args, text)
        assert f"chatgate {' '.join(args)}" in text, (args, text)
        assert "--config PATH" in text, (args, text)
        assert "{DEBUG,INFO,WARNING,ERROR}" in text, (args, text)


def test_check_config_takes_the_file_as_config_or_positionally(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    with ThreadPoolExecutor(3) as pool:
        by_option, positional, both = pool.map(
            lambda args: chatgate(*args),
            [
                ["check-config", "--config", str(path)],
                ["check-config", str(path)],
                ["check-config", str(path), "--config", str(tmp_path / "other.yaml")],
            ],
        )
    assert by_option.returncode == 0, by_option.stderr
    assert by_option.stdout.startswith("ok"), by_option.stderr
    assert positional.stdout == by_option.stdout
    assert both.returncode != 0
    assert "once" in both.stderr


def test_a_wrong_log_level_names_the_choices() -> None:
    done = chatgate("serve", "--log-level", "loud")
    assert done.returncode == 2
    assert "DEBUG" in done.stderr
    assert "loud" in done.stderr.lower()
    assert "Traceback" not in done.stderr


def test_an_occupied_port_is_one_line_before_anything_slow(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        path = write_config(tmp_path, port)
        started = time.monotonic()
        done = chatgate("serve", "--config", str(path), cwd=tmp_path, timeout=30)
        elapsed = time.monotonic() - started
    assert done.returncode == 2
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"port {port} on 127.0.0.1 is in use" in lines[0]
    assert not (tmp_path / "data" / "chatgate.db").exists()  # no migration ran
    assert elapsed < 15


def test_keys_are_made_listed_and_revoked_from_the_shell_without_a_server(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    made = chatgate(
        "keys",
        "create",
        "--config",
        str(path),
        "--name",
        "reader",
        "--tier",
        "free",
        "--read-only",
        "--workflows",
        "support_bot,other",
        "--expires",
        "30d",
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("cg_")
    assert "\n" not in key
    assert key not in made.stderr
    assert "shown this once" in made.stderr

    taken = chatgate("keys", "create", "--config", str(path), "--name", "tester", "--tier", "free")
    assert taken.returncode == 1
    assert "already has a key named 'tester'" in taken.stderr

    # a workflow whose key is gone from the file: listed with the way to move it
    with sqlite3.connect(tmp_path / "data" / "chatgate.db") as db:
        now = "2026-01-01 00:00:00"
        db.execute("insert into workflows values ('wf_1', 'gone', 'w', '', '{}', 'active', ?, ?)", (now, now))
    listed = chatgate("keys", "list", "--config", str(path))
    assert listed.returncode == 0, listed.stderr
    *table, orphan = listed.stdout.splitlines()
    assert orphan == (
        "no key is named 'gone', which owns 1 workflow(s): chatgate workflows reassign --from gone --to NAME"
    )
    rows = {line.split()[0]: line for line in table[1:]}
    assert "database" in rows["reader"]
    assert "read-only" in rows["reader"]
    assert "support_bot" in rows["reader"]
    assert "file" in rows["tester"]
    assert "admin" in rows["tester"]
    assert key not in listed.stdout
    assert API_KEY not in listed.stdout

    gone = chatgate("keys", "revoke", "reader", "--config", str(path))
    assert gone.returncode == 0
    assert "revoked" in gone.stdout
    again = chatgate("keys", "revoke", "reader", "--config", str(path))
    assert again.returncode == 1
    assert "no key named 'reader'" in again.stderr


def test_revoking_admin_deletes_the_generated_key_file(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    key_file = tmp_path / "data" / "admin_key"
    key_file.parent.mkdir(exist_ok=True)
    key_file.write_text("cg_generated-0123456789\n")
    done = chatgate("keys", "revoke", "admin", "--config", str(path))
    assert done.returncode == 0, done.stderr
    assert "admin_key" in done.stdout
    assert not key_file.exists()


def test_a_file_key_with_a_database_keys_name_stops_the_start_naming_file_and_key(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    made = chatgate("keys", "create", "--config", str(path), "--name", "ci", "--tier", "free")
    assert made.returncode == 0, made.stderr
    config = yaml.safe_load(path.read_text())
    config["api_keys"].append({"key": "file-ci-0123456789", "name": "ci"})
    path.write_text(yaml.safe_dump(config))
    done = chatgate("serve", "--config", str(path), cwd=tmp_path, timeout=30)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"{path}: api_keys.2.name: 'ci' is also the name of a key in the database" in done.stderr
    assert "chatgate keys revoke ci" in done.stderr
    # which does it: the database's key goes (the file's is the file's business)
    fixed = chatgate("keys", "revoke", "ci", "--config", str(path))
    assert fixed.returncode == 0, fixed.stderr
    assert "removed from the database" in fixed.stdout, fixed.stderr
