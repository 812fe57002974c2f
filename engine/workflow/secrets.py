"""``{{secrets.name}}``: where a workflow may name a secret, and how a node reads one.

Secrets never enter the pool of outputs, so no template, message or model prompt can
render one: a node type that may send them lists the config keys that may hold them
(``secret_fields``), validation refuses them anywhere else, and such a node resolves those
keys over `with_secrets`, a view of the pool that also has the ``secrets`` root.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from engine.workflow.nodes.base import ServiceKey
from engine.workflow.templates import Scope

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


SECRETS: ServiceKey[SecretValues] = ServiceKey("secrets")


class _Values(Mapping[str, Any]):
    """The ``secrets`` root: a name no secret has is null, like any missing key."""

    __slots__ = ("_values",)

    def __init__(self, values: SecretValues) -> None:
        self._values = values

    def __getitem__(self, name: str) -> Any:
        value = self._values.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        value = self._values.get(name)
        return default if value is None else value

    def __iter__(self) -> Iterator[str]:
        return iter(())  # not listable: a node reads the names its config holds, nothing else

    def __len__(self) -> int:
        return 0


class _WithSecrets(Mapping[str, Mapping[str, Any]]):
    __slots__ = ("_pool", "_secrets")

    def __init__(self, pool: Scope, values: SecretValues) -> None:
        self._pool = pool
        self._secrets = _Values(values)

    def __getitem__(self, root: str) -> Mapping[str, Any]:
        return self._secrets if root == ROOT else self._pool[root]

    def get(self, root: str, default: Any = None) -> Any:
        return self._secrets if root == ROOT else self._pool.get(root, default)

    def __iter__(self) -> Iterator[str]:
        yield from self._pool
        yield ROOT

    def __len__(self) -> int:
        return len(self._pool) + 1


def with_secrets(pool: Scope, values: SecretValues) -> Scope:
    """The pool plus the ``secrets`` root, for resolving a node's ``secret_fields``."""
    return _WithSecrets(pool, values)
