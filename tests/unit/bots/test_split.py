"""Splitting long Markdown answers into Discord-sized parts (`bots.split.split_markdown`,
shared with Telegram): nothing lost, every code block closed and reopened, no part too long."""

from __future__ import annotations

import random
import re

import pytest

from bots.split import _open_fence, split_markdown, utf16_len


def _words(text: str) -> str:
    """The text's characters without whitespace and without fence lines: what a reader
    must find again, in order, in the parts (the added closers/openers excluded)."""
    return "".join(t for t in text.split() if not re.fullmatch(r"`{3,}\w*", t))


def _check(text: str, limit: int, length=len) -> list[str]:  # type: ignore[no-untyped-def]
    parts = split_markdown(text, limit, length)
    assert all(length(p) <= limit for p in parts), [length(p) for p in parts]
    assert all(p.strip() for p in parts)
    assert _words("\n".join(parts)) == _words(text)
    if _open_fence(text) is None:
        assert all(_open_fence(p) is None for p in parts)
    return parts


def test_a_code_block_cut_in_two_is_closed_and_reopened_with_its_language() -> None:
    code = "\n".join(f"    total += item_{i}" for i in range(120))
    text = f"Try this:\n```python\ndef f():\n{code}\n```\nDone."
    parts = _check(text, 1000)
    assert len(parts) >= 3
    assert parts[0].endswith("\n```")
    assert all(p.startswith("```python\n") for p in parts[1:])
    assert all(p.split("\n")[1].startswith("    total") for p in parts[1:-1])  # indentation kept


def test_backticks_inside_a_line_are_not_a_fence() -> None:
    """Inline ``` used to be taken for a fence opener and blew one answer up into thousands of parts."""
    text = "see ```inline``` here " * 300
    parts = _check(text, 2000)
    assert len(parts) == 4
    assert not any(p.startswith("```") and p.endswith("\n```") for p in parts)


def test_a_block_ending_right_at_a_cut_keeps_its_own_closer() -> None:
    body = "x" * 60
    text = f"```\n{body}\n```\n" + "after " * 20
    parts = _check(text, len(f"```\n{body}\n```") + 4)
    assert parts[0] == f"```\n{body}\n```"
    assert not parts[1].startswith("```")  # no empty block reopened


def test_a_longer_fence_is_closed_with_a_fence_as_long() -> None:
    text = "````md\n```js\ncode\n```\n" + "line of markdown\n" * 80 + "````"
    parts = _check(text, 500)
    assert parts[0].endswith("\n````")
    assert parts[1].startswith("````md\n")


@pytest.mark.parametrize("seed", range(5))
def test_random_markdown_never_loses_text_or_leaves_a_block_open(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(30):
        pieces = []
        for _ in range(rnd.randint(10, 800)):
            r = rnd.random()
            if r < 0.02:
                pieces.append("\n" + rnd.choice(["```", "````", "```py", "```js  "]) + "\n")
            elif r < 0.06:
                pieces.append("\n" + " " * rnd.randint(0, 8))
            elif r < 0.07:
                pieces.append("\n\n")
            elif r < 0.075:
                pieces.append("é😀" * rnd.randint(1, 30))
            else:
                pieces.append("w" * rnd.randint(1, rnd.choice([12, 60, 300])))
        _check(" ".join(pieces), rnd.choice([100, 500, 2000, 4096]), rnd.choice([len, utf16_len]))
