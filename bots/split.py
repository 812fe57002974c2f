"""Splitting long answers into parts a platform accepts, at natural boundaries."""

from __future__ import annotations

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
        head = _prefix(rest, limit, length)
        cut = _best_cut(head)
        part, rest = (head[:cut], rest[cut:]) if cut > 0 else (head, rest[len(head):])
        part = part.rstrip()
        rest = rest.lstrip("\n ")
        if part:
            parts.append(part)
    if rest.strip():
        parts.append(rest)
    return parts


def split_markdown(text: str, limit: int, length: Callable[[str], int] = len) -> list[str]:
    """Like `split_text`, but a fenced code block cut by a split is closed at the end
    of its part and reopened (with its language) at the start of the next one."""
    reserve = len("\n" + FENCE) + 1
    parts: list[str] = []
    carry = ""  # the fence opener to repeat, e.g. "```python"
    rest = text
    while rest:
        body = carry + "\n" + rest if carry else rest
        if length(body) <= limit:
            parts.append(body)
            break
        chunk = split_text(body, limit - reserve - 1, length)[0]
        consumed = len(chunk) - (len(carry) + 1 if carry else 0)
        rest = rest[max(consumed, 1):].lstrip("\n ") if consumed > 0 else rest[1:]
        opener = _open_fence(chunk)
        if opener is not None:
            chunk += "\n" + FENCE
        carry = opener or ""
        parts.append(chunk)
    return parts


def _open_fence(text: str) -> str | None:
    """The opener line of a code fence left open at the end of ``text``, if any."""
    opener = None
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(FENCE):
            opener = None if opener is not None else stripped
    return opener


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
