"""The ``code`` node's runner (`engine.workflow.nodes.code.CodeRunner`): bubblewrap sandboxes
from a warm pool, one per run, and what their answers mean.

Fail closed: where bubblewrap is missing or cannot make its namespaces, every run raises
`SandboxUnavailable` saying what is missing; nothing ever runs outside a sandbox."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import secrets
import signal
from typing import Any

from config.sandbox import CodeSettings
from engine.errors import SandboxUnavailable
from engine.sandbox.command import INSTALL_HINT, Missing, as_user, bwrap_argv, find_programs, max_job_bytes
from engine.sandbox.pool import WarmPool
from engine.sandbox.process import Answer, SandboxProcess, StartFailed, reaped
from engine.workflow.nodes.code import CodeFailure, CodeRun

log = logging.getLogger("chatgate.sandbox")

#: Past the CPU limit the kernel stops the code; wall-clock time (sleeping, waiting) gets this
#: much more before the sandbox is killed from outside.
WALL_GRACE_S = 0.5
UID_SPAN = 65536
#: The result's envelope beside the outputs and logs (JSON punctuation, escapes).
RESULT_OVERHEAD = 4096


class Sandbox:
    def __init__(self, settings: CodeSettings) -> None:
        self.settings = settings
        # From a random point: several chatgate processes on one host rarely share a uid.
        self._uids = (settings.uid_base + n % UID_SPAN for n in itertools.count(secrets.randbelow(UID_SPAN)))
        self._running = asyncio.Semaphore(settings.max_concurrent)
        self.pool = WarmPool(self._start, settings.pool_size)

    @property
    def timeout_s(self) -> float:
        return self.settings.timeout_s

    async def check(self) -> str | None:
        """Whether sandboxes start on this host (one is started and kept warm): None, or what
        is missing. A warning is logged once; runs then refuse with the same message."""
        try:
            self.pool.add(await self._start())
        except StartFailed as e:
            message = _unavailable(e).message
            log.warning("code nodes will refuse to run: %s", message)
            return message
        self.pool.fill()
        return None

    def close(self) -> None:
        """No more warm sandboxes (runs under way finish in theirs)."""
        self.pool.close()

    async def aclose(self) -> None:
        await self.pool.aclose()
        await reaped()

    async def run(self, code: str, inputs: dict[str, Any], timeout_s: float) -> CodeRun:
        settings = self.settings
        timeout_s = min(timeout_s, settings.timeout_s)
        try:
            sent = json.dumps(inputs, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as e:
            return CodeRun(None, "", CodeFailure("input", f"its inputs are not JSON values ({e})"))
        if len(sent.encode()) > settings.max_input_bytes:
            too_big = f"its inputs are over code.max_input_bytes ({settings.max_input_bytes})"
            return CodeRun(None, "", CodeFailure("input", too_big))
        job = json.dumps({"code": code, "timeout_s": timeout_s, "inputs": None}).encode()
        job = job[: -len(b"null}")] + sent.encode() + b"}"
        if len(job) > max_job_bytes(settings):
            return CodeRun(None, "", CodeFailure("input", "its code is too long"))
        async with self._running:
            sandbox = await self._take()
            answer = await sandbox.run(job, timeout_s + WALL_GRACE_S, self._max_answer_bytes())
        return self._read(answer, timeout_s)

    async def _take(self) -> SandboxProcess:
        try:
            return await self.pool.take()
        except StartFailed as e:
            raise _unavailable(e) from None

    async def _start(self) -> SandboxProcess:
        """One warm sandbox, as this host allows (checked each time: fail closed)."""
        try:
            programs = find_programs(self.settings)
        except Missing as e:
            raise StartFailed(str(e)) from None
        uid = next(self._uids) if programs.setpriv is not None else None
        return await SandboxProcess.start(as_user(programs, uid, bwrap_argv(programs, self.settings)))

    def _max_answer_bytes(self) -> int:
        # Escaping may grow a JSON text up to sixfold (\uXXXX); the worker bounds the raw sizes.
        return 6 * (self.settings.max_output_bytes + self.settings.max_log_bytes) + RESULT_OVERHEAD

    def _read(self, answer: Answer, timeout_s: float) -> CodeRun:
        settings = self.settings
        if answer.timed_out:
            late = f"the code ran past its time limit ({timeout_s:g}s)"
            return CodeRun(None, "", CodeFailure("timeout", late))
        if answer.too_long:
            return CodeRun(None, "", CodeFailure("output", "the code's answer was longer than allowed"))
        if answer.data is None:
            return CodeRun(None, "", _died(answer.exit_status, timeout_s))
        try:
            body = json.loads(answer.data)
            logs = body.get("logs", "")
            if not isinstance(logs, str):
                logs = ""
            if body.get("ok") is True and isinstance(body.get("outputs"), dict):
                return CodeRun(body["outputs"], logs)
            error = body["error"]
            kind, kind_type, message, line = error["kind"], error["type"], error["message"], error["line"]
        except (ValueError, KeyError, TypeError, AttributeError):  # what the code itself wrote there
            return CodeRun(None, "", CodeFailure("output", "the code's answer could not be read"))
        line = line if isinstance(line, int) else None
        if kind == "memory":
            over = f"the code used more than its memory limit ({settings.memory_mb} MiB)"
            return CodeRun(None, logs, CodeFailure("memory", over))
        if kind in ("invalid", "output"):
            return CodeRun(None, logs, CodeFailure(kind, str(message)))
        said = f"{kind_type}: {message}" if message else str(kind_type)
        return CodeRun(None, logs, CodeFailure("exception", f"the code raised {said}", line))


def _died(status: int | None, timeout_s: float) -> CodeFailure:
    """No answer: the worker died. bubblewrap exits with 128 + the signal that killed it."""
    signum = None
    if status is not None and status < 0:
        signum = -status
    elif status is not None and status > 128:
        signum = status - 128
    if signum == signal.SIGXCPU:
        return CodeFailure("timeout", f"the code used up its CPU time limit ({timeout_s:g}s)")
    if signum is not None:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return CodeFailure("killed", f"the code's process was killed ({name})")
    return CodeFailure("killed", f"the code's process ended without an answer (exit status {status})")


def _unavailable(e: StartFailed) -> SandboxUnavailable:
    message = str(e)
    if INSTALL_HINT not in message:  # bubblewrap is there but cannot make its namespaces
        message = (
            f"the code node's sandbox cannot start on this host: {message} "
            f"({INSTALL_HINT}, with user namespaces enabled)"
        )
    return SandboxUnavailable(message, {"needs": "bubblewrap"})
