"""What the splitters promise, as checks the property tests share.

`split_text`: the parts, in order, are the text with only whitespace taken out where it
was cut. `split_markdown`: the same, except that a code block cut in two is closed at the
end of one part (a bare fence line) and reopened at the start of the next (its fence and
language), and a closer met right at a cut moves up to the part before, on a line of its own.
"""

from __future__ import annotations

import re

# The lines split_markdown writes itself: an opener as it repeats it, and a bare closer.
_OPENER = re.compile(r"`{3,}[^`\n]*")
_CLOSER = re.compile(r"`{3,}")


def joined_modulo_cut_whitespace(text: str, parts: list[str]) -> bool:
    """text == w0 + parts[0] + w1 + parts[1] + … + wn, every w whitespace (maybe empty)."""
    pattern = r"\s*" + r"\s*".join(re.escape(p) for p in parts) + r"\s*"
    return re.fullmatch(pattern, text, re.DOTALL) is not None


def _after_gap(source: str, positions: set[int], core: str) -> set[int]:
    """Where ``core`` ends in ``source`` if it starts after some whitespace at a position."""
    found: set[int] = set()
    for pos in positions:
        k = pos
        while True:
            if source.startswith(core, k):
                found.add(k + len(core))
            if k < len(source) and source[k].isspace():
                k += 1
            else:
                break
    return found


def markdown_parts_rejoin(source: str, parts: list[str]) -> bool:
    """The parts, without the fence lines split_markdown added, are ``source`` cut at
    whitespace; a search over where each part may start (a part's edges are ambiguous: a
    bare fence line at its end may be the source's own closer or one that was added)."""
    positions = {0}
    for i, part in enumerate(parts):
        bodies = [part]
        first, newline, after = part.partition("\n")
        if i > 0 and newline and _OPENER.fullmatch(first):
            bodies.append(after)  # the reopened block's opener
        reached: set[int] = set()
        for body in bodies:
            reached |= _after_gap(source, positions, body)
            head, newline, last = body.rpartition("\n")
            if i < len(parts) - 1 and newline and head and _CLOSER.fullmatch(last):
                ends = _after_gap(source, positions, head)
                reached |= ends  # the closer was added
                reached |= _after_gap(source, ends, last)  # the source's own, moved up
        if not reached:
            return False
        positions = reached
    return any(not source[p:].strip() for p in positions)
