"""The type of the engine stories' ``executor`` fixture: it makes Executors on one SQLite file."""

from __future__ import annotations

from collections.abc import Callable

from engine.run.executor import Executor

MakeExecutor = Callable[..., Executor]
