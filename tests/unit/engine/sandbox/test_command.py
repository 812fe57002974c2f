"""What a sandbox is made of, read off its command line: the admin can trust it sees no host
files, no network and no environment, and that a host lacking a part is told so."""

from __future__ import annotations

import json
import os

import pytest

from config.sandbox import CodeSettings
from engine.sandbox.command import INSTALL_HINT, Missing, Programs, as_user, bwrap_argv, find_programs

PROGRAMS = Programs("/usr/bin/bwrap", "/usr/bin/python3.11", "/usr/bin/setpriv")


def bound(argv: list[str]) -> list[str]:
    """The host paths the sandbox sees (the sources of every bind)."""
    return [argv[i + 1] for i, a in enumerate(argv) if a in ("--ro-bind", "--ro-bind-try", "--bind")]


def test_the_sandbox_shares_no_namespace_and_no_environment_with_the_server() -> None:
    argv = bwrap_argv(PROGRAMS, CodeSettings())
    head = argv[: argv.index("--")]
    for flag in ("--unshare-all", "--disable-userns", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in head
    assert "--share-net" not in head
    assert "--bind" not in head  # nothing of the host is writable
    assert "--proc" not in head  # no /proc at all: no /proc/1 of anyone's


def test_it_sees_only_the_interpreter_and_the_libraries_read_only() -> None:
    argv = bwrap_argv(PROGRAMS, CodeSettings())
    assert set(bound(argv)) <= {"/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/bin/python3.11"}
    for private in ("/etc", "/home", "/root", "/proc", "/var", "/work", os.getcwd()):
        assert private not in bound(argv)


def test_its_tmp_is_a_fresh_tmpfs_of_the_configured_size() -> None:
    argv = bwrap_argv(PROGRAMS, CodeSettings(tmp_bytes=1 << 20))
    at = argv.index("--tmpfs")
    assert argv[at - 2 : at + 2] == ["--size", str(1 << 20), "--tmpfs", "/tmp"]  # noqa: S108


def test_the_limits_reach_the_worker() -> None:
    argv = bwrap_argv(PROGRAMS, CodeSettings(memory_mb=64, max_processes=5, max_open_files=20))
    limits = json.loads(argv[-1])
    assert argv[argv.index("--") + 1 :][:5] == ["/usr/bin/python3.11", "-I", "-S", "-B", "-c"]
    assert limits["memory_bytes"] == 64 << 20
    assert limits["processes"] == 5
    assert limits["open_files"] == 20


def test_as_root_each_sandbox_runs_under_an_unprivileged_uid_of_its_own() -> None:
    argv = as_user(PROGRAMS, 2_000_123, ["bwrap", "x"])
    assert argv == [
        "/usr/bin/setpriv",
        "--reuid=2000123",
        "--regid=2000123",
        "--clear-groups",
        "--",
        "bwrap",
        "x",
    ]
    assert as_user(Programs("/usr/bin/bwrap", "/usr/bin/python3"), None, ["bwrap"]) == ["bwrap"]


def test_a_missing_bubblewrap_is_named_with_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(Missing) as by_name:
        find_programs(CodeSettings())
    with pytest.raises(Missing) as by_path:
        find_programs(CodeSettings(bwrap="/nonexistent/bwrap"))
    assert str(by_name.value) == f"{INSTALL_HINT}: 'bwrap' was not found"
    assert INSTALL_HINT in str(by_path.value)


def test_a_missing_interpreter_is_named() -> None:
    with pytest.raises(Missing, match="needs a Python for its sandbox: '/nonexistent/python3'"):
        find_programs(CodeSettings(python="/nonexistent/python3"))
