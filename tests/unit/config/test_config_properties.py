"""Whatever an admin writes in chatgate.yaml, chatgate starts with it or says which file,
which key and why: loading never fails with a traceback."""

from __future__ import annotations

import string
from typing import Any

import yaml
from hypothesis import event, given
from hypothesis import strategies as st

from config import ConfigError, Settings, parse_settings
from tests.unit.strategies import INTS, MIXED_TEXT, TEXT, examples

PATH = "/etc/chatgate/chatgate.yaml"
ENV_NAME = st.sampled_from(["TOKEN", "PORT", "UNSET", "EMPTY", "_x1"])
ENV = st.dictionaries(
    st.sampled_from(["TOKEN", "PORT", "EMPTY", "_x1"]), MIXED_TEXT | INTS.map(str), max_size=4
)

SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    INTS,
    st.floats(),
    TEXT,
    MIXED_TEXT,
    st.sampled_from(
        ["8080", "-1", "65536", "0x1F90", "1e3", "", "~", "yes", "2001-12-14", "10/minute", "ten per hour"]
    ),
)


@st.composite
def env_text(draw: st.DrawFn) -> str:
    """A string with ``${NAME}`` / ``${NAME:-default}`` references among other text."""
    pieces = []
    for _ in range(draw(st.integers(1, 3))):
        name = draw(ENV_NAME)
        default = draw(st.none() | st.text(alphabet=string.ascii_letters + ":-/ ", max_size=8))
        ref = "${" + name + (f":-{default}" if default is not None else "") + "}"
        pieces.append(draw(st.sampled_from(["", "x", "123456:"])) + ref)
    return "".join(pieces)


VALUE = st.recursive(
    SCALAR | env_text(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(TEXT | st.sampled_from(["name", "port", "1"]), inner, max_size=3)
    ),
    max_leaves=8,
)

TELEGRAM_TOKEN = st.one_of(
    st.just("123456:" + "A" * 35),
    st.just(""),
    env_text(),
    TEXT,
    st.sampled_from(["123:abc", "Bot 123456:xyz", "a.b.c"]),
)


@st.composite
def bot(draw: st.DrawFn) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": draw(st.sampled_from(["tg", "dc", "tg", "bad name", ""]) | TEXT),
        "platform": draw(st.sampled_from(["telegram", "discord", "slack"]) | SCALAR),
        "token": draw(TELEGRAM_TOKEN | SCALAR),
        "workflow": draw(st.just("support_bot") | SCALAR),
    }
    for key in draw(
        st.lists(st.sampled_from(["name", "platform", "token", "workflow"]), unique=True, max_size=2)
    ):
        del entry[key]
    if draw(st.booleans()):
        entry[
            draw(st.sampled_from(["tier", "mode", "max_in_flight", "access", "command_guilds", "typo"]))
        ] = draw(VALUE)
    return entry


@st.composite
def settings_documents(draw: st.DrawFn) -> Any:
    """Mostly the shape of chatgate.yaml, with random values at known keys and random keys."""
    doc: dict[Any, Any] = {}
    if draw(st.booleans()):
        doc["server"] = {"port": draw(SCALAR | env_text()), "host": draw(st.just("127.0.0.1") | SCALAR)}
    if draw(st.booleans()):
        doc["engine"] = {"history_turns": draw(SCALAR | env_text())}
        if draw(st.booleans()):
            doc["engine"][
                draw(st.sampled_from(["max_nodes", "node_timeout_s", "max_record_bytes", "bogus"]))
            ] = draw(SCALAR)
    if draw(st.booleans()):
        doc["bots"] = draw(st.lists(bot(), max_size=3) | SCALAR)
    if draw(st.booleans()):
        doc["rate_limits"] = draw(
            st.dictionaries(st.sampled_from(["free", "paid", "x"]), SCALAR | env_text(), max_size=3)
        )
    if draw(st.booleans()):
        doc["api_keys"] = draw(
            st.lists(st.fixed_dictionaries({"key": SCALAR | env_text(), "name": SCALAR}), max_size=2)
        )
    for _ in range(draw(st.integers(0, 2))):
        key = draw(
            st.sampled_from(["server", "llm", "access", "users", "admins", "reload", "storage", "redis_url"])
            | TEXT
        )
        doc[key] = draw(VALUE)
    if draw(st.integers(0, 9)) == 0:
        doc[draw(INTS | st.booleans() | st.none())] = draw(SCALAR)  # YAML allows keys that are not strings
    return doc


@st.composite
def config_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["document", "document", "document", "scalar", "mangled", "text"]))
    if kind == "text":
        return draw(MIXED_TEXT | st.text(alphabet=":-[]{}!&*#|>'\"\n ,?%@`abc", max_size=60))
    if kind == "scalar":
        return yaml.safe_dump(draw(VALUE))
    text = yaml.safe_dump(draw(settings_documents()), allow_unicode=draw(st.booleans()), sort_keys=False)
    if kind == "mangled":  # cut short, a line doubled, an indentation broken
        lines = text.split("\n")
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["cut", "double", "indent", "tab"]))
        if edit == "cut":
            lines = [*lines[:i], lines[i][: len(lines[i]) // 2]]
        elif edit == "double":
            lines.insert(i, lines[i])
        elif edit == "indent":
            lines[i] = " " + lines[i]
        else:
            lines[i] = "\t" + lines[i]
        text = "\n".join(lines)
    return text


# Reasons that concern the whole file, not one key.
WHOLE_FILE = ("YAML syntax error", "the file must be a mapping", "an alias")


@examples(200)
@given(text=config_texts(), env=ENV)
def test_any_config_text_loads_or_names_the_file_and_the_key(text: str, env: dict[str, str]) -> None:
    try:
        settings = parse_settings(text, PATH, env)
    except ConfigError as e:
        event(f"refused: {'file' if e.reason.startswith(WHOLE_FILE) else 'key'}")
        assert e.path == PATH
        assert str(e).startswith(PATH)
        assert e.reason.strip()
        if e.line is not None:
            assert 1 <= e.line <= max(len(text.splitlines()), 1)
        if not e.reason.startswith(WHOLE_FILE):
            if e.key:
                assert f": {e.key}: " in str(e)
            else:  # a key written as '' cannot be named: its line is
                assert e.line is not None, e
                assert "''" in text or '""' in text, e
        return
    event("loaded")
    assert isinstance(settings, Settings)


@examples(100)
@given(port=SCALAR | env_text(), turns=SCALAR | env_text(), token=TELEGRAM_TOKEN, env=ENV)
def test_a_bad_value_at_a_known_key_is_reported_at_that_key(
    port: Any, turns: Any, token: Any, env: dict[str, str]
) -> None:
    doc = {
        "server": {"port": port},
        "engine": {"history_turns": turns},
        "bots": [{"name": "tg", "platform": "telegram", "token": token, "workflow": "support_bot"}],
    }
    text = yaml.safe_dump(doc, allow_unicode=True)
    try:
        parse_settings(text, PATH, env)
    except ConfigError as e:
        event(f"refused at {e.key}")
        assert e.key in ("server.port", "engine.history_turns", "bots.0.token"), e
        # The line to fix is the one where that key is written.
        assert e.line is not None
        assert text.splitlines()[e.line - 1].lstrip(" -").startswith(e.key.rsplit(".", 1)[-1] + ":")
