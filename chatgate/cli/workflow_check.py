"""``chatgate check-config``'s look at the workflow files: every file of ``workflows_dir``
parsed, validated and compiled as the server would load it (`engine.catalog`), each problem
one `ConfigError` naming the file, the line where the file has it, the key and the node."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.loader import ConfigError, key_line
from config.schema import EngineSettings, Settings
from config.workflow_files import WorkflowFile, read_workflow_dir
from engine.errors import InvalidRequest, InvalidWorkflow, invalid_request
from engine.workflow.document import WorkflowSpec
from engine.workflow.graph import compile_workflow, parse_spec
from engine.workflow.nodes import REGISTRY
from engine.workflow.templates import references

Loc = tuple[str | int, ...]

_NODE = re.compile(r"node '([^']*)'")
_CONFIG_PROBLEM = re.compile(r"node '[^']*' (config '|has unknown type)")
_REFERENCE = re.compile(r"node '[^']*' references (\{\{[^}]*\}\})")
_CONNECTION = re.compile(r"connection (\S+) (?:\((\S+)\) )?-> (\S+?)(?::| |$)")


def check_workflow_files(settings: Settings) -> tuple[int, list[ConfigError]]:
    """How many workflow files there are, and what is wrong with them (empty: all load)."""
    files = read_workflow_dir(settings.workflows_dir)
    problems: list[ConfigError] = []
    defined: dict[str, Path] = {}
    for f in files:
        problem = check_workflow_file(f, settings.engine)
        if problem is None and f.data is not None:  # it compiled: its name is a str
            name = f.data["name"]
            if name in defined:
                line = key_line(_text(f.path) or "", "name")
                problem = ConfigError(
                    f.path,
                    f"another file ({defined[name]}) already defines workflow '{name}'",
                    key="name",
                    line=line,
                )
            else:
                defined[name] = f.path
        if problem is not None:
            problems.append(problem)
    return len(files), problems


def check_workflow_file(f: WorkflowFile, limits: EngineSettings) -> ConfigError | None:
    if f.data is None:
        return _unreadable(f)
    text = _text(f.path)
    try:
        spec = parse_spec(f.data, limits)
    except InvalidRequest as e:
        return _placed(f, text, e)
    except InvalidWorkflow as e:
        return _graph_problem(f, text, str(e.details or e.message))
    try:
        compile_workflow(spec, limits)
    except InvalidWorkflow as e:
        details = str(e.details or e.message)
        if _CONFIG_PROBLEM.match(details):  # the same refusal, placed by its key
            try:
                _check_configs(spec)
            except InvalidRequest as placed:
                return _placed(f, text, placed)
        return _graph_problem(f, text, details)
    return None


def _unreadable(f: WorkflowFile) -> ConfigError:
    """A file that does not parse, in one line, on the line the parser stopped at."""
    text = _text(f.path)
    line: int | None = None
    reason = " ".join((f.error or "cannot be read").split())
    if text is not None:
        try:
            json.loads(text) if f.path.suffix == ".json" else yaml.safe_load(text)
        except json.JSONDecodeError as e:
            line, reason = e.lineno, f"cannot parse: {e.msg}"
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line = mark.line + 1 if mark is not None else None
            said = " ".join(p for p in (e.context, e.problem) if p)
            reason = f"cannot parse: {said}" if said else reason
        except (ValueError, yaml.YAMLError):
            pass
    return ConfigError(f.path, reason, line=line)


def _check_configs(spec: WorkflowSpec) -> None:
    """Each node's config against its type's model, to name by its place the bad key that
    compiling names in words only."""
    for i, node in enumerate(spec.nodes):
        node_type = REGISTRY.get(node.type)
        if node_type is None:
            known = ", ".join(sorted(REGISTRY))
            raise InvalidRequest(
                "unknown type",
                [{"loc": ["body", "nodes", i, "type"], "msg": f"unknown type (known: {known})"}],
            )
        try:
            node_type.config_model.model_validate(node.config)
        except ValidationError as e:
            refused = invalid_request(e, node_type.config_model)
            for problem in refused.details:
                problem["loc"] = ["body", "nodes", i, "config", *problem["loc"][1:]]
            raise InvalidRequest(refused.message, refused.details) from None


def _placed(f: WorkflowFile, text: str | None, e: InvalidRequest) -> ConfigError:
    first = e.details[0] if isinstance(e.details, list) and e.details else {"loc": ["body"], "msg": e.message}
    loc: Loc = tuple(first["loc"][1:])
    node = _node_id(f.data, loc)
    message = f"node '{node}': {first['msg']}" if node is not None else str(first["msg"])
    return _error(f.path, text, loc, message)


def _graph_problem(f: WorkflowFile, text: str | None, details: str) -> ConfigError:
    """A refusal of the graph names nodes and connections in words: find them in the file."""
    data = f.data or {}
    nodes: list[Any] = data["nodes"] if isinstance(data.get("nodes"), list) else []
    loc: Loc = ()
    connection = _CONNECTION.match(details)
    named = _NODE.search(details)
    if connection is not None:
        loc = _connection_at(data, connection.group(1), connection.group(2), connection.group(3))
    elif named is not None:
        index = next(
            (i for i, n in enumerate(nodes) if isinstance(n, dict) and n.get("id") == named.group(1)), None
        )
        if index is not None:
            loc = ("nodes", index)
            reference = _REFERENCE.match(details)
            if reference is not None:
                loc += _reference_at(nodes[index].get("config"), reference.group(1))
    return _error(f.path, text, loc, details)


def _connection_at(data: dict[str, Any], source: str, port: str | None, target: str) -> Loc:
    connections: list[Any] = data["connections"] if isinstance(data.get("connections"), list) else []
    for i, c in enumerate(connections):
        if isinstance(c, dict) and (c.get("from"), c.get("port"), c.get("to")) == (source, port, target):
            return ("connections", i) if port is None else ("connections", i, "port")
    return ()


def _reference_at(config: Any, shown: str) -> Loc:
    """Where in a node's config the reference is written (its first place)."""
    stack: list[tuple[Any, Loc]] = [(config, ("config",))]
    while stack:  # a stack, not recursion: configs may nest deep
        value, here = stack.pop()
        if isinstance(value, str):
            if any(r.shown() == shown for r in references(value)):
                return here
        elif isinstance(value, dict):
            stack.extend((v, (*here, k)) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            stack.extend((v, (*here, i)) for i, v in reversed(list(enumerate(value))))
    return ("config",)


def _node_id(data: dict[str, Any] | None, loc: Loc) -> str | None:
    if data is None or len(loc) < 2 or loc[0] != "nodes" or not isinstance(loc[1], int):
        return None
    nodes = data.get("nodes")
    node = nodes[loc[1]] if isinstance(nodes, list) and loc[1] < len(nodes) else None
    node_id = node.get("id") if isinstance(node, dict) else None
    return node_id if isinstance(node_id, str) else f"#{loc[1]}"


def _error(path: Path, text: str | None, loc: Loc, message: str) -> ConfigError:
    key = ".".join(str(p) for p in loc) or None
    line = key_line(text, key) if text is not None and key is not None else None
    return ConfigError(path, message, key=key, line=line)


def _text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
