"""Splitting long answers into parts a platform accepts, at natural boundaries."""

from __future__ import annotations

import re
from collections.abc import Callable

FENCE = "```"


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, length: Callable[[str], int] = len) -> list[str]:
    """Cut ``text`` into parts of at most ``limit`` (by ``length``), preferring a
    paragraph break, then a line break, then a space; hard-cut only a word longer
    than the limit. Joining the parts loses nothing but the whitespace cut at."""
    parts: list[str] = []
    rest = text
    while length(rest) > limit:
        # One character is the least a part holds, even one over the limit (an emoji's two
        # UTF-16 units against a limit of 1): an empty head would never move on.
        head = _prefix(rest, limit, length) or rest[:1]
        cut = _best_cut(head)
        part, rest = (head[:cut], rest[cut:]) if cut > 0 else (head, rest[len(head) :])
        part = part.rstrip()
        rest = rest.lstrip("\n ")
        if part:
            parts.append(part)
    if rest.strip():
        parts.append(rest)
    return parts


def split_markdown(text: str, limit: int, length: Callable[[str], int] = len) -> list[str]:
    """Like `split_text`, but a fenced code block cut by a split is closed at the end
    of its part and reopened (with its language) at the start of the next one.

    Fences follow CommonMark: a line of three or more backticks (indented at most
    three spaces) opens a block, optionally with an info string; only a bare fence
    at least as long closes it. Code keeps its indentation across a cut."""
    reserve = length("\n" + _longest_fence(text))  # room for the closer we may add
    parts: list[str] = []
    carry: tuple[str, str] | None = None  # (fence, opener line) of the block to reopen
    rest = text
    while rest.strip():
        prefix = carry[1] + "\n" if carry else ""
        body = prefix + rest
        if length(body) <= limit:
            parts.append(body)
            break
        budget = limit - length(prefix) - reserve
        if budget < max(1, limit // 4):  # an absurd opener: cut without repeating it
            prefix, budget = "", max(1, limit - reserve)
        head = _prefix(rest, budget, length) or rest[:1]
        cut = _best_cut(head)
        piece = head[:cut] if cut > 0 else head
        rest = rest[len(piece) :].lstrip("\n")
        if cut > 0 and head[cut] == " ":
            rest = rest.lstrip(" ")  # a word boundary, not a code line's indentation
        if not piece.strip():
            continue  # only blank lines or indentation before the cut: nothing to send
        chunk = prefix + piece.rstrip()
        carry = _open_fence(chunk)
        if carry is not None:
            closer, _, after = rest.partition("\n")
            if _closes(closer, carry[0]):
                # The block ends right at the cut: move its closer here instead of
                # reopening an empty block in the next part.
                chunk += "\n" + closer.strip()
                rest, carry = after.lstrip("\n"), None
            else:
                chunk += "\n" + carry[0]
        parts.append(chunk)
    return parts


_FENCE_RE = re.compile(r"^ {0,3}(`{3,})([^`]*)$")
_MAX_INFO = 40  # an info string longer than this is not repeated in full


def _open_fence(text: str) -> tuple[str, str] | None:
    """(fence, opener line) of a code block left open at the end of ``text``, if any."""
    state: tuple[str, str] | None = None
    for line in text.split("\n"):
        m = _FENCE_RE.match(line)
        if m is None:
            continue
        fence, info = m.group(1), m.group(2).strip()
        if state is None:
            state = (fence, fence + info[:_MAX_INFO])
        elif _closes(line, state[0]):
            state = None
    return state


def _closes(line: str, fence: str) -> bool:
    m = _FENCE_RE.match(line)
    return m is not None and len(m.group(1)) >= len(fence) and not m.group(2).strip()


def _longest_fence(text: str) -> str:
    runs = [m.group(1) for m in re.finditer(r"^ {0,3}(`{3,})", text, re.MULTILINE)]
    return max(runs, key=len, default=FENCE)


def _prefix(text: str, limit: int, length: Callable[[str], int]) -> str:
    if length is len:
        return text[:limit]
    lo, hi = 0, min(len(text), limit)  # a UTF-16 unit count never exceeds the character count
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if length(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


def _best_cut(head: str) -> int:
    for sep in ("\n\n", "\n", " "):
        i = head.rfind(sep)
        if i > len(head) // 4:  # a cut too near the start would make tiny parts
            return i
    return -1
