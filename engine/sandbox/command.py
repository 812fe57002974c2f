"""The bubblewrap command line of one sandbox: what it sees, and the limits it gets."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from config.sandbox import CodeSettings

#: The worker program, passed with ``-c`` (nothing of the host's tree needs to be visible).
WORKER_SOURCE = (Path(__file__).parent / "inside.py").read_text()
#: The longest code a job may carry (a node's config is bounded tighter by the engine), and
#: the job's envelope beside the code and inputs (timeout, JSON punctuation).
MAX_CODE_BYTES = 1024 * 1024
JOB_OVERHEAD = 4096
INSTALL_HINT = "the code node needs bubblewrap (apt-get install bubblewrap)"


class Missing(Exception):
    """Something the sandbox is made of is not on this host; the message says what."""


@dataclass(frozen=True, slots=True)
class Programs:
    bwrap: str
    python: str  # the interpreter's real path (symlinks resolved), bound at that path
    setpriv: str | None = None  # chatgate as root: util-linux's setpriv runs bubblewrap as another uid


def find_programs(settings: CodeSettings) -> Programs:
    """The bubblewrap and Python this host has, or `Missing` saying which is not there."""
    bwrap = shutil.which(settings.bwrap)
    if bwrap is None:
        raise Missing(f"{INSTALL_HINT}: '{settings.bwrap}' was not found")
    python = os.path.realpath(settings.python)
    if not os.access(python, os.X_OK):
        raise Missing(f"the code node needs a Python for its sandbox: '{settings.python}' is not executable")
    setpriv = None
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise Missing("the code node run as root needs setpriv (apt-get install util-linux)")
    return Programs(bwrap, python, setpriv)


def as_user(programs: Programs, uid: int | None, argv: list[str]) -> list[str]:
    """``argv`` run as ``uid`` (its own group, no others): root is exempt from the process limit."""
    if uid is None or programs.setpriv is None:
        return argv
    return [programs.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *argv]


def bwrap_argv(programs: Programs, settings: CodeSettings) -> list[str]:
    """A sandbox in its own user, PID, network, IPC, UTS and cgroup namespaces; a root of
    its own holding the interpreter and the libraries read-only, a /dev of null devices
    and a small empty /tmp, and nothing else (no /etc, /proc, /home, data or config)."""
    argv = [
        programs.bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",  # no nested user namespaces: the kernel's usual way in stays shut
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/usr/lib",
        "/usr/lib",
        "--ro-bind-try",
        "/usr/lib64",
        "/usr/lib64",
    ]
    for top in ("/lib", "/lib64"):  # merged /usr: links into it; else the directories themselves
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    prefix = Path(programs.python).parent.parent
    if not programs.python.startswith("/usr/"):  # a Python installed elsewhere brings its stdlib
        argv += ["--ro-bind", str(prefix), str(prefix)]
    else:
        argv += ["--ro-bind", programs.python, programs.python]
    argv += [
        "--dev",
        "/dev",
        "--size",
        str(max(settings.tmp_bytes, 4096)),
        "--tmpfs",
        "/tmp",  # noqa: S108 (the sandbox's own, fresh and empty)
        "--chdir",
        "/tmp",  # noqa: S108
        "--",
        programs.python,
        "-I",
        "-S",
        "-B",
        "-c",
        WORKER_SOURCE,
        json.dumps(_worker_limits(settings)),
    ]
    return argv


def _worker_limits(settings: CodeSettings) -> dict[str, int]:
    return {
        "memory_bytes": settings.memory_mb * 1024 * 1024,
        "file_bytes": settings.tmp_bytes,
        "open_files": settings.max_open_files,
        "processes": settings.max_processes,
        "max_job_bytes": max_job_bytes(settings),
        "max_output_bytes": settings.max_output_bytes,
        "max_log_bytes": settings.max_log_bytes,
    }


def max_job_bytes(settings: CodeSettings) -> int:
    return settings.max_input_bytes + MAX_CODE_BYTES + JOB_OVERHEAD
