"""Long answers are cut into parts each platform accepts, and no word is lost or doubled."""

from __future__ import annotations

import re
from collections.abc import Callable

from hypothesis import event, given
from hypothesis import strategies as st

from bots.split import split_markdown, split_text, utf16_len
from tests.unit.bots.split_invariants import joined_modulo_cut_whitespace, markdown_parts_rejoin
from tests.unit.strategies import MIXED_TEXT, TRICKY, examples

TELEGRAM, DISCORD = 4096, 2000
LENGTHS: dict[str, Callable[[str], int]] = {"len": len, "utf16_len": utf16_len}

WORD = st.one_of(TRICKY, st.text(min_size=1, max_size=12), st.sampled_from(["😀😀😀", "漢字漢字", "a" * 60]))
SPACE = st.sampled_from([" ", "\n", "\n\n", "  ", "\t", " \n ", "\u3000", "\r\n"])
PROSE = st.lists(st.tuples(WORD, SPACE), max_size=60).map(lambda ws: "".join(w + s for w, s in ws))
FENCE = st.sampled_from(["```", "````", "~~~", "  ```", "```python", "```py title", "``` ", "`````x"])
CODE_LINE = st.one_of(PROSE, st.just(""), st.text(alphabet=" \t", max_size=6).map(lambda s: s + "x = 1"))


@st.composite
def markdown(draw: st.DrawFn) -> str:
    """Prose and fenced code blocks (opened, closed, left open, longer closers, info strings)."""
    blocks: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            blocks.append(draw(PROSE))
        else:
            fence = draw(FENCE)
            lines = draw(st.lists(CODE_LINE, max_size=8))
            run = len(fence.lstrip(" ")) - len(fence.lstrip(" ").lstrip("`"))  # 0 for "~~~": not a fence here
            closer = draw(st.sampled_from(["", "`" * run or "~~~", "`" * 5]))
            blocks.append("\n".join([fence, *lines, *([closer] if closer else [])]))
    return draw(st.sampled_from(["\n", "\n\n", " "])).join(blocks)


def limits(length_name: str) -> st.SearchStrategy[int]:
    # One character must fit in any part: with UTF-16 units that is two (an emoji).
    least = 2 if length_name == "utf16_len" else 1
    return st.one_of(st.sampled_from([TELEGRAM, DISCORD]), st.integers(least, 80))


@examples(300)
@given(
    data=st.data(),
    text=st.one_of(PROSE, MIXED_TEXT, markdown()),
    length_name=st.sampled_from(sorted(LENGTHS)),
)
def test_split_text_keeps_every_character_but_the_whitespace_it_cut_at(
    data: st.DataObject, text: str, length_name: str
) -> None:
    length = LENGTHS[length_name]
    limit = data.draw(limits(length_name), label="limit")
    parts = split_text(text, limit, length)
    event(f"parts: {min(len(parts), 3)}{'+' if len(parts) > 3 else ''}")
    assert all(length(p) <= limit for p in parts)
    assert all(p.strip() for p in parts)  # no empty message
    assert joined_modulo_cut_whitespace(text, parts)
    if length(text) <= limit and text.strip():
        assert parts == [text]


@examples(60)
@given(text=st.one_of(PROSE, markdown()))
def test_split_text_with_a_limit_of_one_unit_still_ends(text: str) -> None:
    """A limit no emoji fits in: one character a part, nothing lost, and it returns."""
    parts = split_text(text, 1, utf16_len)
    assert all(len(p) == 1 or utf16_len(p) <= 1 for p in parts)
    assert joined_modulo_cut_whitespace(text, parts)


_FENCE_RUN = re.compile(r"^ {0,3}(`{3,})", re.MULTILINE)


def _least_limit(text: str, length: Callable[[str], int]) -> int:
    """The least limit at which split_markdown can keep its promise for ``text``: room for a
    closer it adds (a newline and the longest fence) plus one character (two UTF-16 units)."""
    longest = max((len(m.group(1)) for m in _FENCE_RUN.finditer(text)), default=3)
    return max(8, length("\n" + "`" * longest) + 2)


@examples(300)
@given(data=st.data(), text=st.one_of(markdown(), PROSE), length_name=st.sampled_from(sorted(LENGTHS)))
def test_split_markdown_loses_nothing_and_closes_what_it_cuts(
    data: st.DataObject, text: str, length_name: str
) -> None:
    length = LENGTHS[length_name]
    least = _least_limit(text, length)
    small = st.integers(least, least + 120)
    limit = data.draw(st.one_of(st.sampled_from([TELEGRAM, DISCORD]), small, small), label="limit")
    parts = split_markdown(text, limit, length)
    event(f"parts: {min(len(parts), 3)}{'+' if len(parts) > 3 else ''}")
    assert all(length(p) <= limit for p in parts), [(length(p), p) for p in parts if length(p) > limit]
    assert all(p.strip() for p in parts)
    assert markdown_parts_rejoin(text, parts), parts
    if length(text) <= limit and text.strip():
        assert parts == [text]


def test_the_rejoin_check_can_fail() -> None:
    """The invariant's checker refuses a lost word, a doubled one and a changed one."""
    text = "one two\n```py\ncode\n```\nthree"
    assert markdown_parts_rejoin(text, ["one two\n```py\ncode\n```", "three"])
    assert markdown_parts_rejoin(text, ["one two\n```py\ncode", "```py\ncode\n```\nthree"]) is False
    assert markdown_parts_rejoin(text, ["one", "```py\ncode\n```\nthree"]) is False
    assert markdown_parts_rejoin(text, ["one two\n```py\ncod", "```py\nE\n```\nthree"]) is False
    assert joined_modulo_cut_whitespace("a b  c", ["a", "b", "c"])
    assert not joined_modulo_cut_whitespace("a b c", ["a", "c"])
    assert not joined_modulo_cut_whitespace("a b c", ["a", "b", "b", "c"])
