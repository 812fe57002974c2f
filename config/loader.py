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

from config.platforms.registry import PLATFORMS
from config.schema import Settings

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

DEFAULT_CONFIG = Path("config/chatgate.yaml")

Loc = tuple[str | int, ...]  # where a value is: keys and list indexes from the top


class ConfigError(Exception):
    """A config file that cannot be used; ``str()`` is the one-line reason."""

    def __init__(self, path: Path | str, message: str, *, key: str | None = None, line: int | None = None):
        self.path = str(path)
        self.key = key
        self.line = line
        self.reason = message
        where = self.path + (f":{line}" if line else "")
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


def interpolate(value: Any, env: Mapping[str, str], path: Loc = ()) -> Any:
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
        return {k: interpolate(v, env, (*path, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, (*path, i)) for i, v in enumerate(value)]
    return value


class _UnsetVariable(Exception):
    def __init__(self, name: str, path: Loc):
        self.name, self.path = name, path


def _line_of(root: yaml.Node | None, keys: Loc) -> int | None:
    """1-based line of the deepest node of ``keys`` that the YAML tree has.

    A key the file lacks (a required one left out) gets the line of its parent.
    """
    node, line = root, None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == str(key)]
            if not found:
                return line
            k, node = found[-1]
            line = k.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


_NEXT_KEY = re.compile(r"^(\s*)(?:-\s+)?[\w.-]*\s*$")  # what may precede the next key or item

# What YAML was reading when it gave up, for the mistakes it notices only later.
_UNCLOSED = {
    "while parsing a flow sequence": "the [ list that starts on this line is not closed",
    "while parsing a flow mapping": "the { mapping that starts on this line is not closed",
    "while scanning a quoted scalar": "the quoted string that starts on this line is not closed",
    "while scanning a simple key": "this line has no ':' after its key (or is indented wrongly)",
}


def _syntax_error(e: yaml.YAMLError, text: str) -> tuple[str, int | None]:
    """The reason and the line to fix of a YAML error.

    YAML notices an unclosed bracket or quote, or a missing colon, only where the
    next thing starts, often a line later; the mistake is on the line it began.
    """
    mark: yaml.Mark | None = getattr(e, "problem_mark", None)
    start: yaml.Mark | None = getattr(e, "context_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    context: str = getattr(e, "context", None) or ""
    if problem.startswith("but "):
        problem = f"{context}, {problem}"
    elif "<block end>" in problem:
        problem += " (check the indentation)"
    if mark is None:
        return f"YAML syntax error: {problem}", None
    lines = text.splitlines()
    past_end = mark.line >= len(lines)
    line = min(mark.line + 1, max(len(lines), 1))
    unclosed = _UNCLOSED.get(context)
    if unclosed is None or start is None or start.line >= mark.line:
        return f"YAML syntax error: {problem}", line
    if context.startswith("while parsing a flow"):
        # Unclosed if what stopped the parser is the next block key (or the end); else the
        # mistake is inside the brackets, where YAML stopped.
        opened = lines[start.line]
        key = None if past_end else _NEXT_KEY.match(lines[mark.line][: mark.column])
        indent = len(opened) - len(opened.lstrip())
        if not (past_end or (key and len(key.group(1)) <= indent)):
            return f"YAML syntax error: {problem}", line
    where = "at the end of the file" if past_end else f"on line {line}"
    return f"YAML syntax error: {unclosed} (YAML: {problem} {where})", start.line + 1


def key_line(text: str, key: str) -> int | None:
    """The line of a dotted key (``bots.0.workflow``) in config text, where YAML has it."""
    try:
        tree = yaml.compose(text)
    except yaml.YAMLError:
        return None
    return _line_of(tree, tuple(int(p) if p.isdigit() else p for p in key.split(".")))


def parse_settings(text: str, path: Path | str, env: Mapping[str, str] | None = None) -> Settings:
    """Validate config text; raise `ConfigError` naming file, line and key."""
    env = os.environ if env is None else env
    try:
        raw = yaml.safe_load(text)
        tree = yaml.compose(text)
    except yaml.YAMLError as e:
        message, line = _syntax_error(e, text)
        raise ConfigError(path, message, line=line) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(path, "the file must be a mapping of settings (key: value)")
    twice = _written_twice(tree)
    if twice is not None:
        loc, first, again = twice
        where = f"on line {again}" if first == again else f"(lines {first} and {again})"
        raise ConfigError(
            path,
            f"written twice {where}; YAML would silently keep only the last, so merge the two",
            key=_dotted(loc),
            line=again,
        )
    try:
        data = interpolate(raw, env)
    except RecursionError:
        raise ConfigError(
            path, "an alias (*name) is inside what it names, so the settings never end"
        ) from None
    except _UnsetVariable as e:
        raise ConfigError(
            path,
            f"environment variable {e.name} is not set (set it, or write ${{{e.name}:-default}})",
            key=_dotted(e.path),
            line=_line_of(tree, e.path),
        ) from None
    odd = [k for k in data if not isinstance(k, str)]
    if odd:  # YAML's `1: x` or `null: x`: no setting's name, and no keyword for Settings(**data)
        key = str(odd[0])
        raise ConfigError(path, "unknown key (check the spelling)", key=key, line=_line_of(tree, (key,)))
    try:
        return Settings(**data)
    except ValidationError as e:
        loc, msg = _first_problem(e, data, tree)
        line = _line_of(tree, loc) if loc else None
        raise ConfigError(path, msg, key=_dotted(loc) or None, line=line) from None


def _written_twice(root: yaml.Node | None) -> tuple[Loc, int, int] | None:
    """The first key written twice in one mapping (e.g. a second ``bots:`` pasted at the end,
    which would drop every bot of the first), with both lines."""
    todo: list[tuple[yaml.Node | None, Loc]] = [(root, ())]
    done: set[int] = set()  # an alias is the same node again
    while todo:
        node, loc = todo.pop(0)
        if id(node) in done:
            continue
        done.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    line = k.start_mark.line + 1
                    if k.value in seen:
                        return (*loc, k.value), seen[k.value], line
                    seen[k.value] = line
                    todo.append((v, (*loc, k.value)))
        elif isinstance(node, yaml.SequenceNode):
            todo += [(item, (*loc, i)) for i, item in enumerate(node.value)]
    return None


def _dotted(loc: Loc) -> str:
    return ".".join(str(p) for p in loc)


def _first_problem(e: ValidationError, data: Any, tree: yaml.Node | None) -> tuple[Loc, str]:
    """The problem to report: the first in the file, with a union's alternatives merged."""
    found: list[tuple[Loc, str]] = []
    for err in e.errors():
        loc = _without_union_tags(tuple(err["loc"]), data)
        msg = err["msg"].removeprefix("Value error, ")
        kind, ctx = err["type"], err.get("ctx") or {}
        if kind == "extra_forbidden":
            msg = "unknown key (check the spelling)"
        elif kind == "missing":
            msg = "required, but missing here"
        elif kind in ("union_tag_not_found", "union_tag_invalid"):
            # A bot's platform: name the key itself, not the bot.
            loc = (*loc, str(ctx.get("discriminator", "")).strip("'"))
            if kind == "union_tag_not_found":
                msg = "required, but missing here"
            else:
                msg = f"{ctx.get('tag')!r} is not one of {ctx.get('expected_tags')}"
        if loc and loc[-1] == "[key]":
            loc, msg = loc[:-1], f"the key itself: {msg}"
        if not loc and ": " in msg:
            # Cross-field checks name their own key at the front of the message.
            head, _, rest = msg.partition(": ")
            loc, msg = tuple(int(p) if p.isdigit() else p for p in head.split(".")), rest
        found.append((loc, msg))
    merged: dict[Loc, list[str]] = {}
    for loc, msg in found:
        # A branch of a union that got further (into the mapping written) says more than the rest.
        if not any(len(other) > len(loc) and other[: len(loc)] == loc for other, _ in found):
            merged.setdefault(loc, [])
            if msg not in merged[loc]:
                merged[loc].append(msg)

    # The first in the file (ties keep the schema's order).
    loc = min(merged, key=lambda loc: _line_of(tree, loc) or 0)
    first, *others = merged[loc]
    return loc, " or ".join([first, *(m.removeprefix("Input should be ") for m in others)])


def _without_union_tags(loc: tuple[Any, ...], data: Any) -> Loc:
    """pydantic puts union tags in the path (bots.0.telegram.x, bots.0.mode.WebhookSettings.url);
    admins wrote bots.0.x and bots.0.mode.url. A tag is neither a key of the data there nor a
    field name (a required key that is missing is one)."""
    out: list[str | int] = []
    node = data
    platforms = {p.name for p in PLATFORMS}
    for i, p in enumerate(loc):
        if i >= 2 and loc[i - 2] == "bots" and isinstance(loc[i - 1], int) and p in platforms:
            continue
        if (isinstance(node, dict) and p in node) or (
            isinstance(node, list) and isinstance(p, int) and p < len(node)
        ):
            node = node[p]
        elif p == "[key]" or (isinstance(p, str) and _FIELD.fullmatch(p)):
            node = None
        elif isinstance(p, str):
            continue
        out.append(p)
    return tuple(out)


_FIELD = re.compile(r"[a-z_][a-z0-9_]*")


def config_path(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The config file in use: the given path, else ``CHATGATE_CONFIG``, else config/chatgate.yaml."""
    env = os.environ if env is None else env
    return Path(path or env.get("CHATGATE_CONFIG") or DEFAULT_CONFIG)


def read_config_text(path: Path) -> str:
    """The config file's text; one that cannot be read, or is not UTF-8, is a `ConfigError`."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(path, f"cannot read the file: {e.strerror or e}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ConfigError(
            path, f"not UTF-8 text (byte 0x{data[e.start]:02x}); save the file as UTF-8", line=line
        ) from None


def load_settings(path: Path | str | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the config file (``CHATGATE_CONFIG``, then config/chatgate.yaml)."""
    env = os.environ if env is None else env
    p = config_path(path, env)
    return parse_settings(read_config_text(p), p, env)
