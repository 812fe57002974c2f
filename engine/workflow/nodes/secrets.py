"""``{{secrets.name}}``: where a workflow may name a secret, and how a node reads one.

Secrets never enter the pool of outputs, so no template, message or model prompt can
render one: a node type that may send them lists the config keys that may hold them
(``secret_fields``), validation refuses them anywhere else, and such a node resolves those
keys over the pool plus a ``secrets`` root holding the names they use.
"""

from __future__ import annotations

from typing import Any, Protocol

from engine.workflow.nodes.base import ServiceKey

ROOT = "secrets"
SHOWN_WHERE = "secrets may appear only in an http node's headers, query and body"


class SecretValues(Protocol):
    """The configured secrets as a running node may use them (engine/secrets.py is the real one)."""

    def get(self, name: str) -> str | None: ...

    def may_send(self, name: str, host: str) -> bool:
        """Whether the secret may go to ``host`` (its ``hosts`` list, if it has one)."""
        ...

    def mask(self, text: str) -> str:
        """``text`` with every secret's value replaced by ``[secret:name]``."""
        ...

    def mask_value(self, value: Any) -> Any:
        """A JSON value with every string masked (what a service answered may echo one)."""
        ...


SECRETS: ServiceKey[SecretValues] = ServiceKey("secrets")
