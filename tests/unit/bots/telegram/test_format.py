"""A model answers in Markdown; Telegram users see it formatted, never broken or cut mid-tag.

Every rendering is checked with the emulator's Telegram-HTML parser, which refuses
what Telegram refuses (unknown tags, bare ``&``, unbalanced tags)."""

from __future__ import annotations

import pytest

from bots.telegram.format import render_parts, to_html, visible_text
from tests.emulators.telegram.html_markup import parse_html
from tests.emulators.telegram.text import MAX_TEXT_UTF16, utf16_len


def shown(markdown: str) -> tuple[str, set[str]]:
    text, entities = parse_html(to_html(markdown))
    return text, {e["type"] for e in entities}


def test_common_markdown_becomes_telegram_entities() -> None:
    text, kinds = shown("# Title\n\n**bold**, _italic_, ~~gone~~, `x = 1` and [a link](https://example.org)")
    assert text == "Title\n\nbold, italic, gone, x = 1 and a link"
    assert kinds == {"bold", "italic", "strikethrough", "code", "text_link"}


def test_html_and_special_characters_in_an_answer_are_shown_literally() -> None:
    text, kinds = shown('Use <b>tags</b> & "quotes" like a < b > c; <script>alert(1)</script> &copy;')
    # (Markdown itself decodes entity references: "&copy;" is the © sign.)
    assert text == 'Use <b>tags</b> & "quotes" like a < b > c; <script>alert(1)</script> ©'
    assert kinds == set()


def test_code_blocks_keep_their_language_and_their_text_verbatim() -> None:
    text, _ = shown("```python\nif a < b and c & d:\n    print('<hi>')\n```")
    assert text == "if a < b and c & d:\n    print('<hi>')"
    _, entities = parse_html(to_html("```python\nx\n```"))
    assert entities == [{"type": "pre", "offset": 0, "length": 1, "language": "python"}]


def test_lists_quotes_and_tables_read_naturally() -> None:
    text, kinds = shown("- one\n- two\n  1. nested\n\n> quoted\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert text == "• one\n• two\n  1. nested\n\nquoted\n\na | b\n1 | 2"
    assert "blockquote" in kinds


@pytest.mark.parametrize("href", ["javascript:alert(1)", "ftp://example.org/x", "relative/path"])
def test_links_telegram_would_refuse_become_plain_text(href: str) -> None:
    text, kinds = shown(f"[click]({href})")
    assert "text_link" not in kinds
    assert "click" in text


def test_a_long_answer_is_cut_into_valid_parts_that_keep_every_word_in_order() -> None:
    paragraphs = [f"**Part {i}.** " + "word & <more> " * 40 for i in range(60)]
    answer = "\n\n".join(paragraphs)
    parts = render_parts(answer)
    assert len(parts) >= 5
    seen: list[str] = []
    for part in parts:
        assert part.html is not None
        text, _ = parse_html(part.html)  # every part parses alone: no cut inside a tag or entity
        assert utf16_len(text) <= MAX_TEXT_UTF16
        seen.append(text)
    assert " ".join(seen).split() == visible_text(to_html(answer)).split()


def test_a_cut_inside_a_code_block_reopens_it_in_the_next_part() -> None:
    code = "```js\n" + "\n".join(f"console.log({i}); // a < b" for i in range(400)) + "\n```"
    parts = render_parts(code)
    assert len(parts) >= 2
    for part in parts:
        assert part.html is not None
        _, entities = parse_html(part.html)
        assert entities
        assert entities[0]["type"] == "pre"
        assert entities[0]["language"] == "js"


def test_the_limit_counts_utf16_units_not_characters() -> None:
    answer = "🙂" * 5000  # 5,000 characters, 10,000 UTF-16 units
    parts = render_parts(answer)
    assert all(utf16_len(parse_html(p.html or "")[0]) <= MAX_TEXT_UTF16 for p in parts)
    assert "".join(parse_html(p.html or "")[0] for p in parts) == answer


def test_an_answer_that_renders_to_nothing_is_kept_as_its_source() -> None:
    [part] = render_parts("```\n```")
    assert part.html is None
    assert part.source == "```\n```"
