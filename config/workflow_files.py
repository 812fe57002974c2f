"""Reading the workflow files an admin keeps in ``workflows_dir``, and checking that
the config's bots name workflows that exist.

This module only reads and parses files; validating the graph is the engine's job.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from config.loader import ConfigError, key_line, read_config_text
from config.schema import Settings

SUFFIXES = (".json", ".yaml", ".yml")
# Far beyond a real workflow (engine.max_nodes × max_node_config_bytes allows about 32 MB):
# only an alias loop or an alias bomb gets here.
MAX_VALUES = 2_000_000

log = logging.getLogger("chatgate.config")


@dataclass(frozen=True)
class WorkflowFile:
    path: Path
    data: dict[str, Any] | None  # None when the file could not be parsed
    error: str | None = None


def read_workflow_file(path: Path) -> WorkflowFile:
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as e:
        return WorkflowFile(path, None, f"cannot parse: {e}")
    if not isinstance(data, dict):
        return WorkflowFile(
            path, None, "a workflow file must hold one mapping with name, nodes and connections"
        )
    problem = not_json(data)
    if problem is not None:
        return WorkflowFile(path, None, problem)
    return WorkflowFile(path, data)


# Where a value sits, as a chain of (parent, key) links: spelled out only for an error, so
# a deep document (or an alias loop) costs no string per level.
_Place = tuple["_Place", object] | None


def _spelled(place: _Place) -> str:
    keys: list[str] = []
    while place is not None:
        place, key = place
        keys.append(str(key))
    return ".".join(reversed(keys)) or "the top level"


def not_json(data: Any) -> str | None:
    """Why a parsed file holds what no JSON document (an API body) can, or None: YAML has
    dates, sets and non-string keys, and both JSON and YAML readers accept NaN, Infinity
    and lone surrogates, which the API could not serve back. Names the first place."""
    stack: list[tuple[Any, _Place]] = [(data, None)]
    seen = 0
    while stack:
        value, place = stack.pop()
        seen += 1
        if seen > MAX_VALUES:  # YAML aliases repeat a part without writing it out again
            return f"more than {MAX_VALUES:,} values once its YAML aliases are expanded (an alias loop?)"
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    return f"{_spelled(place)}: the key {k!r} is not a string"
                stack.append((k, (place, k)))
                stack.append((v, (place, k)))
        elif isinstance(value, list):
            stack.extend((v, (place, i)) for i, v in enumerate(value))
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return f"{_spelled(place)}: the text holds a lone surrogate (an invalid \\u escape)"
        elif isinstance(value, float):
            if value != value or value in (float("inf"), float("-inf")):
                return f"{_spelled(place)}: {value} is not a JSON number"
        elif value is not None and not isinstance(value, (bool, int)):
            return f"{_spelled(place)}: a {type(value).__name__} is not a JSON value"
    return None


def read_workflow_dir(directory: Path | str) -> list[WorkflowFile]:
    """Every workflow file of the directory, sorted by name; a missing directory is empty."""
    d = Path(directory)
    if not d.is_dir():
        # Relative to where chatgate runs, not to the config file: say so, or a start from
        # another directory silently serves no workflow at all.
        where = "" if d.is_absolute() else f" in {Path.cwd()} (it is relative to the current directory)"
        log.warning("workflows_dir %s does not exist%s: no workflow files loaded", d, where)
        return []
    return [read_workflow_file(p) for p in sorted(d.iterdir()) if p.suffix in SUFFIXES and p.is_file()]


def declared_names(files: list[WorkflowFile]) -> set[str]:
    """The workflow names the files declare (those that parse)."""
    return {f.data["name"] for f in files if f.data is not None and isinstance(f.data.get("name"), str)}


def check_bot_workflows(
    settings: Settings, path: Path | str, text: str, known: Collection[str], *, ids_checked: bool
) -> None:
    """Every bot must name a workflow that exists: one of ``known`` (names, and ids where
    they are known). ``ids_checked=False`` (offline, without the server's database): a
    ``wf_`` id cannot be checked and passes. Raises `ConfigError` naming the first bad key."""
    for i, bot in enumerate(settings.bots):
        ref = bot.workflow
        if ref in known or (ref.startswith("wf_") and not ids_checked):
            continue
        names = sorted(n for n in known if not n.startswith("wf_"))
        close = difflib.get_close_matches(ref, names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        listed = ", ".join(names) if names else "none"
        what = "no stored workflow has this id" if ref.startswith("wf_") else "unknown workflow"
        key = f"bots.{i}.workflow"
        raise ConfigError(
            path,
            f"{what} {ref!r}{hint}; known workflows (from workflows_dir): {listed}, "
            "or the wf_ id of one created through the API",
            key=key,
            line=key_line(text, key),
        )


def check_bot_workflows_offline(settings: Settings, path: Path | str) -> None:
    """``chatgate check-config``: against the workflow files' names (wf_ ids pass)."""
    text = read_config_text(Path(path))
    names = declared_names(read_workflow_dir(settings.workflows_dir))
    check_bot_workflows(settings, path, text, names, ids_checked=False)
