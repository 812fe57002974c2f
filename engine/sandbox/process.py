"""One sandbox process: started warm, given one job, read, then killed (never reused)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from dataclasses import dataclass

#: How long a sandbox may take to start and say it is warm.
START_TIMEOUT_S = 10.0
READY = b"R"


class StartFailed(Exception):
    """bubblewrap or the interpreter would not start; the message says what they said."""


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back from one job: the result bytes (None if none came), and how it ended."""

    data: bytes | None
    exit_status: int | None  # the sandbox's exit code; negative: killed by that signal
    timed_out: bool = False
    too_long: bool = False  # the result passed its byte bound and was cut off


class SandboxProcess:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, argv: list[str]) -> SandboxProcess:
        """Start one and wait until it is warm."""
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={},  # nothing of the server's environment, not even for bubblewrap itself
                start_new_session=True,
                close_fds=True,
            )
        except OSError as e:
            raise StartFailed(f"bubblewrap could not be started ({e.strerror or e})") from None
        sandbox = cls(process)
        try:
            assert process.stdout is not None
            assert process.stderr is not None
            async with asyncio.timeout(START_TIMEOUT_S):
                first = await process.stdout.read(1)
                if first != READY:
                    said = (await process.stderr.read(1000)).decode(errors="replace").strip()
                    raise StartFailed(said or f"the sandbox exited with status {await process.wait()}")
        except TimeoutError:
            sandbox.kill()
            raise StartFailed(f"the sandbox did not start within {START_TIMEOUT_S:g}s") from None
        except BaseException:
            sandbox.kill()
            raise
        return sandbox

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def run(self, job: bytes, wall_s: float, max_bytes: int) -> Answer:
        """Send the job and read the result; kill the sandbox in any case (its teardown is
        not waited for once the answer is in)."""
        process = self.process
        assert process.stdin is not None
        assert process.stdout is not None
        try:
            async with asyncio.timeout(wall_s):
                process.stdin.write(job)
                with contextlib.suppress(ConnectionError):  # it may die before reading it all
                    await process.stdin.drain()
                    process.stdin.close()
                try:
                    size = int.from_bytes(await process.stdout.readexactly(8), "big")
                    if size > max_bytes:
                        return Answer(None, None, too_long=True)
                    data = await process.stdout.readexactly(size)
                except asyncio.IncompleteReadError:  # it died without answering: how?
                    return Answer(None, await process.wait())
        except TimeoutError:
            return Answer(None, None, timed_out=True)
        finally:
            self.kill()
        return Answer(data, 0)

    def kill(self) -> None:
        """The whole sandbox: bubblewrap's group here; --die-with-parent takes its namespace."""
        if self.process.returncode is None:
            # killpg alone: Popen.kill() would first poll, reaping the child behind asyncio's
            # watcher (which then warns it lost it).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            _reap_later(self.process)


_reaping: set[asyncio.Task[int]] = set()


def _reap_later(process: asyncio.subprocess.Process) -> None:
    """Collect the killed sandbox's exit in the background (held here until it is done)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop (it is closing): the child watcher has it
        return
    task = loop.create_task(process.wait(), name="sandbox-reap")
    _reaping.add(task)
    task.add_done_callback(_reaping.discard)


async def reaped() -> None:
    """Until every killed sandbox's exit is collected (before the loop closes)."""
    if _reaping:
        await asyncio.gather(*_reaping, return_exceptions=True)
