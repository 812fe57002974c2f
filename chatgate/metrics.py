"""``/metrics`` in Prometheus' text format.

Everything but the reload counters is read from the gateway when scraped, so
the request and chat paths pay nothing for it (executions are counted by one
dict increment in the executor, which it does anyway for its in-flight map).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bots.manager import BotManager
from chatgate.config_state import ConfigState
from engine.catalog import FileProblem
from engine.run.executor import Executor

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Watched(Protocol):
    """What a scrape reads (the gateway has it all)."""

    @property
    def config(self) -> ConfigState: ...
    @property
    def started_at(self) -> float: ...
    @property
    def workflow_problems(self) -> Sequence[FileProblem]: ...
    @property
    def executor(self) -> Executor: ...
    @property
    def bots(self) -> BotManager: ...


class Metrics:
    def __init__(self) -> None:
        # Our own registry, not the process-global one: several gateways may live in one
        # process (tests), and the default process/platform collectors are noise here.
        self.registry = CollectorRegistry(auto_describe=True)
        self.reloads = Counter(
            "chatgate_config_reloads",
            "Config reloads by result: applied, unchanged, rejected",
            ["result"],
            registry=self.registry,
        )
        for result in ("applied", "unchanged", "rejected"):
            self.reloads.labels(result)  # present from the start, at 0

    def watch(self, gateway: Watched) -> None:
        self.registry.register(_GatewayCollector(gateway))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _GatewayCollector(Collector):
    def __init__(self, gateway: Watched) -> None:
        self.gw = gateway

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        gw = self.gw
        state = gw.config
        yield _gauge(
            "chatgate_config_version", "Version of the running config (+1 per applied reload)", state.version
        )
        yield _gauge(
            "chatgate_config_loaded_timestamp_seconds", "When the running config was loaded", state.loaded_at
        )
        yield _gauge(
            "chatgate_config_last_reload_failed",
            "1 while the last edit of the config file is rejected (see /healthz config.last_error)",
            1 if state.last_error else 0,
        )
        yield _gauge(
            "chatgate_config_restart_required",
            "1 when changed keys (server.port, storage.url, ...) wait for a restart",
            1 if state.restart_needed else 0,
        )
        yield _gauge(
            "chatgate_workflow_file_problems",
            "Workflow files that could not be loaded",
            len(gw.workflow_problems),
        )
        yield _gauge("chatgate_uptime_seconds", "Seconds since start", time.time() - gw.started_at)
        yield _gauge("chatgate_executions_in_flight", "Executions running now", len(gw.executor.running))
        done = CounterMetricFamily("chatgate_executions", "Finished executions by status", labels=["status"])
        for status, count in sorted(gw.executor.finished.items()):
            done.add_metric([status], count)
        yield done
        yield _gauge("chatgate_bots_running", "Chat bots running", len(gw.bots.bots))


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)
