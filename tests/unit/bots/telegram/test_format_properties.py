"""Any Markdown a model writes becomes Telegram HTML that Telegram accepts: only its tags,
balanced, all text escaped, each message within 4096 UTF-16 units, and no word lost."""

from __future__ import annotations

import re

from hypothesis import event, given
from hypothesis import strategies as st

from bots.split import utf16_len
from bots.telegram.format import MAX_UTF16, render_parts, to_html, visible_text
from tests.unit.bots.split_invariants import markdown_parts_rejoin
from tests.unit.strategies import MIXED_TEXT, examples

_TAG = re.compile(r"<(/?)([a-z]+)((?: [a-z]+=\"[^\"]*\")?)>")
_OPEN_ONLY = {"b", "i", "s", "u", "code", "pre", "blockquote", "a"}
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|#x27);")


def well_formed(rendered: str) -> bool:
    """Telegram's tags only (attributes only where it takes them), properly nested, and no
    '<', '>' or bare '&' left in the text between them."""
    stack: list[str] = []
    pos = 0
    for m in _TAG.finditer(rendered):
        text = rendered[pos : m.start()]
        if "<" in text or ">" in text or "&" in _ENTITY.sub("", text):
            return False
        closing, name, attrs = m.groups()
        if name not in _OPEN_ONLY:
            return False
        if closing:
            if attrs or not stack or stack.pop() != name:
                return False
        else:
            allowed = {"a": ' href="', "code": ' class="language-'}.get(name)
            if attrs and (allowed is None or not attrs.startswith(allowed)):
                return False
            stack.append(name)
        pos = m.end()
    tail = rendered[pos:]
    return not stack and "<" not in tail and ">" not in tail and "&" not in _ENTITY.sub("", tail)


# Words that Markdown leaves alone (no markers, no entity can form: no ';'), HTML's specials
# among them, emoji and CJK; and the constructs a model writes around them.
WORD = st.text(
    alphabet=st.sampled_from([*"abcxyzXYZ0189éß漢字", "😀", "<", ">", "&", '"', "'"]),
    min_size=1,
    max_size=8,
).filter(lambda w: not w[0].isdigit() and w[0] != ">")  # "1." and ">" would start a list or a quote
WORDS = st.lists(WORD, min_size=1, max_size=8)
# (Markdown, the words it must show in order): each construct a model writes, around words.
SHAPES = [
    "{}",
    "**{}**",
    "_{}_",
    "~~{}~~",
    "`{}`",
    "# {}",
    "> {}",
    "- {}",
    "1. {}",
    "```py\n{}\n```",
    "```\n{}",  # left open: runs to the end
    "[{}](https://example.com/?a=1&b=<2>)",
    "[{}](javascript:alert(1))",
    "| {0} | x |\n| --- | --- |\n| 1 | {0} |",
]
SHOWN = st.tuples(st.sampled_from(SHAPES), WORDS).map(
    lambda sw: (sw[0].format(" ".join(sw[1])), sw[1] * sw[0].count("{"))
)
BLOCK = SHOWN.map(lambda shown: shown[0])
SHOWN_DOCUMENT = st.lists(SHOWN, max_size=12).map(
    lambda blocks: ("\n\n".join(b for b, _ in blocks), [w for _, words in blocks for w in words])
)
DOCUMENT = SHOWN_DOCUMENT.map(lambda doc: doc[0])
# Anything at all, for the checks that hold whatever the text.
ANY_MARKDOWN = st.one_of(DOCUMENT, MIXED_TEXT, st.text(max_size=200))


@examples(200)
@given(markdown=ANY_MARKDOWN)
def test_any_markdown_renders_to_html_telegram_accepts(markdown: str) -> None:
    rendered = to_html(markdown)
    assert well_formed(rendered), rendered


@examples(150)
@given(document=SHOWN_DOCUMENT)
def test_rendering_shows_every_word_in_order(document: tuple[str, list[str]]) -> None:
    markdown, words = document
    shown = visible_text(to_html(markdown))
    pos = 0
    for word in words:
        found = shown.find(word, pos)
        assert found >= 0, (word, markdown, shown)
        pos = found + len(word)


@st.composite
def long_answers(draw: st.DrawFn) -> tuple[str, int]:
    limit = draw(st.sampled_from([MAX_UTF16, 64, 100, 300]))
    blocks = draw(st.lists(BLOCK, min_size=1, max_size=40))
    repeat = draw(st.integers(1, 3 if limit < MAX_UTF16 else 60))
    return "\n\n".join(blocks * repeat), limit


@examples(80)
@given(answer=long_answers())
def test_long_answers_become_parts_within_the_limit_and_lose_nothing(answer: tuple[str, int]) -> None:
    markdown, limit = answer
    parts = render_parts(markdown, limit)
    event(f"parts: {min(len(parts), 3)}{'+' if len(parts) > 3 else ''}")
    assert parts or not markdown.strip()
    for part in parts:
        assert part.source.strip()
        # Sent as HTML, or as its source when Telegram refuses that: both must fit.
        assert utf16_len(part.source) <= limit
        if part.html is not None:
            assert utf16_len(visible_text(part.html).strip()) <= limit
            assert well_formed(part.html), part.html
    assert markdown_parts_rejoin(markdown.strip(), [p.source for p in parts])


PROSE_WORD = st.text(alphabet=st.sampled_from(list("abcXYZ漢字😀é\u00a0\"'")), min_size=1, max_size=8)
PROSE_LINE = st.lists(PROSE_WORD, min_size=1, max_size=8).map(" ".join)


@examples(100)
@given(text=st.lists(PROSE_LINE, max_size=6).map("\n".join))
def test_plain_prose_is_shown_as_written(text: str) -> None:
    """Lines of words without markup are not parsed: shown exactly, only the ends trimmed."""
    assert visible_text(to_html(text)) == text.strip()
