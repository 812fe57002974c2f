"""The program a sandbox runs (``python -I -S -c <this file> <limits JSON>``): one job, one result.

It runs inside bubblewrap, under its own rlimits, and imports nothing of chatgate. Protocol:
the job arrives on fd 0 (read to EOF), the result leaves on a private copy of fd 1 made
before the author's code runs; fds 0, 1 and 2 then point at /dev/null, so what the code
writes or closes there cannot touch the protocol. First a ``R`` byte says the worker is
warm; then the result's length (8 bytes, big-endian) and one JSON object:
``{"ok": true, "outputs": {...}, "logs": "..."}`` or
``{"ok": false, "error": {"kind", "type", "message", "line"}, "logs": "..."}``.

The import filter and the trimmed builtins are for clear messages, not security: the
sandbox around this process is the boundary.
"""

from __future__ import annotations

import builtins
import io
import json
import math
import os
import resource
import signal
import sys
from typing import Any

# Pure standard-library modules (no files, network, processes or foreign code).
ALLOWED = frozenset(
    {
        *("abc", "array", "base64", "binascii", "bisect", "calendar", "cmath", "collections", "colorsys"),
        *("copy", "csv", "dataclasses", "datetime", "decimal", "difflib", "enum", "fractions", "functools"),
        *("hashlib", "heapq", "hmac", "html", "itertools", "json", "keyword", "math", "numbers", "operator"),
        *("pprint", "random", "re", "statistics", "string", "struct", "textwrap", "time", "types", "typing"),
        *("unicodedata", "uuid", "zlib"),
    }
)
# Warm before any job, so a run pays only for its own code.
PRELOAD = ("json", "re", "math", "datetime", "collections", "itertools", "functools", "statistics", "decimal")
REMOVED_BUILTINS = ("open", "input", "breakpoint", "help", "exit", "quit", "copyright", "credits", "license")
CODE_NAME = "<code>"


def main() -> None:
    limits = json.loads(sys.argv[1])
    me = os.getpid()
    result_fd = os.dup(1)
    job_fd = os.dup(0)
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    for name in PRELOAD:
        __import__(name)
    _limit(resource.RLIMIT_AS, limits["memory_bytes"])
    _limit(resource.RLIMIT_FSIZE, limits["file_bytes"])
    _limit(resource.RLIMIT_NOFILE, limits["open_files"])
    _limit(resource.RLIMIT_NPROC, limits["processes"])
    _limit(resource.RLIMIT_CORE, 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an over-long write fails (EFBIG) instead of killing
    os.write(result_fd, b"R")

    job = json.loads(_read_all(job_fd, limits["max_job_bytes"]))
    os.close(job_fd)
    used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    cpu = math.ceil(used + job["timeout_s"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))

    logs = Capture(limits["max_log_bytes"])
    sys.stdout = sys.stderr = logs
    try:
        body = {"ok": True, "outputs": _run(job["code"], job["inputs"], limits["max_output_bytes"])}
    except Refusal as e:
        body = {"ok": False, "error": {"kind": e.kind, "type": None, "message": str(e), "line": None}}
    except MemoryError:
        body = {"ok": False, "error": {"kind": "memory", "type": "MemoryError", "message": "", "line": None}}
    except BaseException as e:  # the author's exception, SystemExit and KeyboardInterrupt too
        body = {"ok": False, "error": _described(e)}
    if os.getpid() != me:  # a child the code forked: only the worker itself answers
        os._exit(0)
    body["logs"] = logs.text()
    try:
        data = json.dumps(body, ensure_ascii=False).encode()
    except MemoryError:
        data = b'{"ok": false, "error": {"kind": "memory", "type": "MemoryError", "line": null}}'
    _write_all(result_fd, len(data).to_bytes(8, "big") + data)
    os._exit(0)


class Refusal(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Capture(io.TextIOBase):
    """``print`` and ``sys.stdout``/``stderr``: kept up to a bound, then a note that it was cut."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[str] = []
        self.size = 0
        self.cut = False

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        room = self.limit - self.size
        if room > 0:
            piece = s[:room]
            self.parts.append(piece)
            self.size += len(piece)
        if len(s) > max(room, 0):
            self.cut = True
        return len(s)

    def text(self) -> str:
        return "".join(self.parts) + ("\n[logs truncated]" if self.cut else "")


def _run(code: str, inputs: dict[str, Any], max_output_bytes: int) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__builtins__": _builtins(), "__name__": "__code__"}
    exec(compile(code, CODE_NAME, "exec"), namespace)  # noqa: S102 (here, in the sandbox, is where it runs)
    entry = namespace.get("main")
    if not callable(entry):
        raise Refusal("invalid", "the code defines no function main(inputs)")
    out = entry(inputs)
    if not isinstance(out, dict):
        raise Refusal("output", f"main must return a dict, not {type(out).__name__}")
    for key in out:
        if not isinstance(key, str):
            raise Refusal("output", f"main returned a key that is not a string: {key!r:.80}")
    try:
        data = json.dumps(out, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as e:
        raise Refusal("output", f"main must return JSON values only: {e}") from None
    if len(data.encode()) > max_output_bytes:
        raise Refusal("output", f"main returned more than {max_output_bytes} bytes of JSON")
    kept: dict[str, Any] = json.loads(data)  # what crosses is what JSON keeps (tuples become lists)
    return kept


def _builtins() -> dict[str, Any]:
    allowed = dict(vars(builtins))
    for name in REMOVED_BUILTINS:
        allowed.pop(name, None)
    real_import = builtins.__import__

    def guarded_import(
        name: str,
        globals: Any = None,
        locals: Any = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> Any:
        top = name.partition(".")[0]
        if level != 0 or top not in ALLOWED:
            raise ImportError(
                f"module '{name}' is not available in the code node "
                "(pure standard-library modules only: json, re, math, datetime, ...)",
                name=name,
            )
        return real_import(name, globals, locals, fromlist, level)

    allowed["__import__"] = guarded_import
    return allowed


def _described(e: BaseException) -> dict[str, Any]:
    line = None
    tb = e.__traceback__
    while tb is not None:  # the deepest frame that is the author's own code
        if tb.tb_frame.f_code.co_filename == CODE_NAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    if isinstance(e, SyntaxError) and e.filename == CODE_NAME:
        line = e.lineno
    try:
        message = str(e)[:2000]
    except Exception:  # an author's __str__ that raises
        message = ""
    return {"kind": "exception", "type": type(e).__name__, "message": message, "line": line}


def _limit(which: int, value: int) -> None:
    resource.setrlimit(which, (value, value))


def _read_all(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise SystemExit(2)
        chunks.append(chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


if __name__ == "__main__":
    main()
