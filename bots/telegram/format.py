"""The model's Markdown as Telegram HTML, cut into parts Telegram accepts.

Telegram's HTML knows only a few tags (b, i, s, u, code, pre, a, blockquote);
everything else must be escaped or Telegram refuses the whole message. So the
Markdown is parsed with markdown-it-py and rendered by hand: headings become
bold lines, lists get "•"/"1." markers, tables become " | " rows, raw HTML and
anything unknown is shown as text.

Long answers are split on the *Markdown source* (paragraph, line, then word
boundaries; code fences closed and reopened) and each part is rendered on its
own, so a cut can never land inside a tag or an HTML entity, and every part is
valid on its own. A part keeps its source: if Telegram still refuses the HTML,
the source is sent as plain text and nothing is lost.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from bots.split import split_markdown, split_text, utf16_len

MAX_UTF16 = 4096  # Telegram's limit for a message's text after entity parsing
LINK_SCHEMES = ("http://", "https://", "tg://", "mailto:")  # what Telegram accepts in <a href>
_LANG_RE = re.compile(r"^[\w+#.-]{1,32}$")
_TAG_RE = re.compile(r"<[^>]*>")
# Anything that could make Markdown differ from its plain text: inline markers, escapes
# and entities, block starts (lists, headings, rules, quotes, indented code), blank lines.
_MARKUP = re.compile(r"[*_`\[\]<>#|~!\\&]|^[ \t]*(?:[-+=]|\d{1,9}[.)])|^(?: {4}|\t)|\n[ \t]*\n", re.MULTILINE)

# One parser for the process: "commonmark" plus the GFM bits models use a lot.
# html=False turns raw HTML in the answer into text (escaped below), never markup.
_MD = MarkdownIt("commonmark", {"html": False}).enable(["strikethrough", "table"])


@dataclass(frozen=True, slots=True)
class Part:
    """One message of an answer: its Markdown source and the HTML to send.

    ``html`` is None when rendering leaves nothing visible (e.g. an empty code
    block): the source is then sent as plain text."""

    source: str
    html: str | None


def escape(text: str) -> str:
    # quote=False: in text only & < > matter; attributes use escape_attr
    return html.escape(text, quote=False)


def escape_attr(text: str) -> str:
    return html.escape(text, quote=True).replace("&#x27;", "'")


def visible_text(rendered: str) -> str:
    """What Telegram shows for our HTML (tags removed, entities decoded); limits count this."""
    return html.unescape(_TAG_RE.sub("", rendered))


def to_html(markdown: str) -> str:
    """Render Markdown as Telegram HTML (every tag balanced, all text escaped)."""
    if _MARKUP.search(markdown) is None:
        return escape(markdown.strip())  # plain prose, the common case: no parse needed
    tree = SyntaxTreeNode(_MD.parse(markdown.replace("\r\n", "\n")))
    return _Renderer().blocks(tree.children, "\n\n").strip()


def render_parts(markdown: str, limit: int = MAX_UTF16) -> list[Part]:
    """Split ``markdown`` into messages of at most ``limit`` UTF-16 units, rendered."""
    parts: list[Part] = []
    for source in split_markdown(markdown.strip(), limit, utf16_len):
        parts.extend(_fit(source.strip(), limit))
    return [p for p in parts if p.source]


def _fit(source: str, limit: int) -> list[Part]:
    rendered = to_html(source)
    shown = utf16_len(visible_text(rendered).strip())
    if shown <= limit:
        return [Part(source, rendered if shown else None)]
    # Rare: rendering made the text longer than its source (table padding, list
    # indentation). Split this part's source finer until each piece fits.
    pieces = split_markdown(source, max(limit // 2, 1), utf16_len)
    if len(pieces) == 1:
        pieces = split_text(source, max(limit // 2, 1), utf16_len)
    return [p for piece in pieces for p in _fit(piece.strip(), limit)]


class _Renderer:
    """Walks markdown-it's syntax tree; block methods return HTML without trailing newlines."""

    def __init__(self) -> None:
        self.quote_depth = 0  # Telegram cannot nest blockquotes
        self.in_link = False  # nor links

    def blocks(self, nodes: list[SyntaxTreeNode], sep: str) -> str:
        rendered = (self.block(n) for n in nodes)
        return sep.join(r for r in rendered if r)

    def block(self, node: SyntaxTreeNode) -> str:
        kind = node.type
        if kind == "paragraph":
            return self.inline(node.children)
        if kind == "heading":
            return f"<b>{self.inline(node.children)}</b>"
        if kind in ("fence", "code_block"):
            return self.code(node)
        if kind == "blockquote":
            return self.quote(node)
        if kind in ("bullet_list", "ordered_list"):
            return self.items(node)
        if kind == "table":
            return self.table(node)
        if kind == "hr":
            return "———"
        if kind == "inline":
            return self.inline([node])
        if kind == "html_block":
            return escape(node.content.rstrip("\n"))
        return self.blocks(node.children, "\n\n")  # unknown containers: their content

    def code(self, node: SyntaxTreeNode) -> str:
        body = escape(node.content.rstrip("\n"))
        language = (node.info or "").strip().split(" ")[0]
        if language and _LANG_RE.match(language):
            return f'<pre><code class="language-{escape_attr(language)}">{body}</code></pre>'
        return f"<pre>{body}</pre>"

    def quote(self, node: SyntaxTreeNode) -> str:
        self.quote_depth += 1
        try:
            inner = self.blocks(node.children, "\n")
        finally:
            self.quote_depth -= 1
        return f"<blockquote>{inner}</blockquote>" if self.quote_depth == 0 else inner

    def items(self, node: SyntaxTreeNode) -> str:
        ordered = node.type == "ordered_list"
        number = int(node.attrs.get("start", 1)) if ordered else 0
        lines: list[str] = []
        for item in node.children:
            marker = f"{number}. " if ordered else "• "
            number += 1
            body = self.blocks(item.children, "\n")
            pad = " " * len(marker)
            first, *rest = body.split("\n") if body else [""]
            lines.append(marker + first)
            lines.extend(pad + line if line else line for line in rest)
        return "\n".join(lines)

    def table(self, node: SyntaxTreeNode) -> str:
        rows: list[str] = []
        for section in node.children:  # thead, tbody
            for row in section.children:
                cells = [self.inline(cell.children) for cell in row.children]
                line = " | ".join(cells)
                rows.append(f"<b>{line}</b>" if section.type == "thead" else line)
        return "\n".join(rows)

    def inline(self, nodes: list[SyntaxTreeNode]) -> str:
        out: list[str] = []
        for node in nodes:
            if node.type == "inline":
                out.append(self.inline(node.children))
            else:
                out.append(self.span(node))
        return "".join(out)

    def span(self, node: SyntaxTreeNode) -> str:
        kind = node.type
        if kind == "text":
            return escape(node.content)
        if kind in ("softbreak", "hardbreak"):
            return "\n"
        if kind == "code_inline":
            return f"<code>{escape(node.content)}</code>"
        if kind == "strong":
            return f"<b>{self.inline(node.children)}</b>"
        if kind == "em":
            return f"<i>{self.inline(node.children)}</i>"
        if kind == "s":
            return f"<s>{self.inline(node.children)}</s>"
        if kind == "link":
            self.in_link, outer = True, self.in_link
            try:
                label = self.inline(node.children)
            finally:
                self.in_link = outer
            href = str(node.attrs.get("href", ""))
            if href.lower().startswith(LINK_SCHEMES) and not outer:
                return f'<a href="{escape_attr(href)}">{label}</a>'
            return label
        if kind == "image":
            alt = self.inline(node.children) or "image"
            src = str(node.attrs.get("src", ""))
            if src.lower().startswith(LINK_SCHEMES) and not self.in_link:
                return f'<a href="{escape_attr(src)}">{alt}</a>'
            return alt
        if kind == "html_inline":
            return escape(node.content)
        return self.inline(node.children) if node.children else escape(node.content)
