"""The configured secrets at run time: values by name, who may use them, where they may go,
and masking them out of anything that leaves a run (records, errors, logs, answers)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from config.secrets import EVERY_KEY, SecretSpec


def _marker(name: str) -> str:
    return f"[secret:{name}]"


class SecretBox:
    """One version of the ``secrets:`` section; a reload builds a new one."""

    def __init__(self, specs: Mapping[str, SecretSpec], admin_keys: Callable[[], Collection[str]]) -> None:
        self._values = {name: spec.value.get_secret_value() for name, spec in specs.items()}
        self._specs = dict(specs)
        self._admin_keys = admin_keys
        # Longest first: a secret that contains another is masked whole.
        self._masking = sorted(((v, _marker(n)) for n, v in self._values.items()), key=lambda p: -len(p[0]))

    def __bool__(self) -> bool:
        return bool(self._values)

    def values(self) -> list[str]:
        return list(self._values.values())

    # -- what a node sees (engine.workflow.secrets.SecretValues) ---------------

    def get(self, name: str) -> str | None:
        return self._values.get(name)

    def may_send(self, name: str, host: str) -> bool:
        spec = self._specs.get(name)
        if spec is None:
            return False
        if not spec.hosts:
            return True
        host = host.lower().rstrip(".")
        return any(
            host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:]))
            for pattern in spec.hosts
        )

    def mask(self, text: str) -> str:
        for value, marker in self._masking:
            if value in text:
                text = text.replace(value, marker)
        return text

    # -- who may use them --------------------------------------------------------

    def names_for(self, author: str | None) -> frozenset[str]:
        """The secrets a workflow by ``author`` may use: all of them for workflow files
        (None) and admin keys, else those whose ``keys`` name the author or every key."""
        if author is None or author in self._admin_keys():
            return frozenset(self._specs)
        return frozenset(
            name for name, spec in self._specs.items() if author in spec.keys or EVERY_KEY in spec.keys
        )

    def mask_value(self, value: Any) -> Any:
        """A JSON value with every string masked (records, results)."""
        if not self._masking:
            return value
        return _masked(value, self.mask)


def _masked(value: Any, mask: Callable[[str], str]) -> Any:
    # Node outputs nest at most engine.workflow.storable.MAX_DEPTH levels: recursion is safe.
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask(k) if isinstance(k, str) else k: _masked(v, mask) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, mask) for v in value]
    return value
