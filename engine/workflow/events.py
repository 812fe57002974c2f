"""Events a running workflow emits; REST streaming and chat replies both consume them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NodeStarted:
    node_id: str
    type: str


@dataclass(frozen=True, slots=True)
class NodeFinished:
    node_id: str
    type: str


@dataclass(frozen=True, slots=True)
class MessageDelta:
    node_id: str
    content: str


Event = NodeStarted | NodeFinished | MessageDelta
