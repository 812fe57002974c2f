"""Reading the admin's YAML file into validated `Settings`.

Every failure becomes one `ConfigError` naming the file, the key and, where
YAML knows it, the line, so an admin can fix it without reading a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.schema import Settings

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

DEFAULT_CONFIG = Path("config/chatgate.yaml")


class ConfigError(Exception):
    """A config file that cannot be used; ``str()`` is the one-line reason."""

    def __init__(self, path: Path | str, message: str, *, key: str | None = None, line: int | None = None):
        self.path = str(path)
        self.key = key
        self.line = line
        self.reason = message
        where = self.path + (f":{line}" if line else "")
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


def interpolate(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Replace ``${NAME}`` / ``${NAME:-default}`` in every string, recursively."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise _UnsetVariable(name, path)

        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: interpolate(v, env, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, f"{path}.{i}") for i, v in enumerate(value)]
    return value


class _UnsetVariable(Exception):
    def __init__(self, name: str, path: str):
        self.name, self.path = name, path


def _line_of(root: yaml.Node | None, keys: tuple[str | int, ...]) -> int | None:
    """1-based line of the deepest node of ``keys`` that the YAML tree has."""
    node, line = root, None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == str(key):
                    line, node = k.start_mark.line + 1, v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def parse_settings(text: str, path: Path | str, env: Mapping[str, str] | None = None) -> Settings:
    """Validate config text; raise `ConfigError` naming file, line and key."""
    env = os.environ if env is None else env
    try:
        raw = yaml.safe_load(text)
        tree = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e)
        line = mark.line + 1 if mark else None
        raise ConfigError(path, f"YAML syntax error: {problem}", line=line) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(path, "the file must be a mapping of settings (key: value)")
    try:
        data = interpolate(raw, env)
    except _UnsetVariable as e:
        keys = tuple(int(p) if p.isdigit() else p for p in e.path.split("."))
        raise ConfigError(
            path,
            f"environment variable {e.name} is not set (set it, or write ${{{e.name}:-default}})",
            key=e.path,
            line=_line_of(tree, keys),
        ) from None
    try:
        return Settings(**data)
    except ValidationError as e:
        err = e.errors()[0]
        loc = _without_union_tags(tuple(err["loc"]))
        key = ".".join(str(p) for p in loc) or None
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling)"
        if not key and msg.startswith("Value error, "):
            # Cross-field checks name their own key at the front of the message.
            msg = msg.removeprefix("Value error, ")
            head, _, rest = msg.partition(": ")
            if rest:
                key, msg = head, rest
        msg = msg.removeprefix("Value error, ")
        keys = tuple(int(p) if str(p).isdigit() else str(p) for p in key.split(".")) if key else ()
        line = _line_of(tree, keys) if key else None
        raise ConfigError(path, msg, key=key, line=line) from None


def _without_union_tags(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """pydantic puts the platform tag in the path (bots.0.telegram.x); admins wrote bots.0.x."""
    return tuple(
        p
        for i, p in enumerate(loc)
        if not (
            i >= 2 and loc[i - 2] == "bots" and isinstance(loc[i - 1], int) and p in ("telegram", "discord")
        )
    )


def config_path(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The config file in use: the given path, else ``CHATGATE_CONFIG``, else config/chatgate.yaml."""
    env = os.environ if env is None else env
    return Path(path or env.get("CHATGATE_CONFIG") or DEFAULT_CONFIG)


def load_settings(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config file (``CHATGATE_CONFIG``, then config/chatgate.yaml)."""
    env = os.environ if env is None else env
    p = config_path(path, env)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(p, f"cannot read the file: {e.strerror or e}") from None
    return parse_settings(text, p, env)
