"""What the property tests share: one hypothesis settings base, and the values an outsider can send.

The example database stays off: each run draws afresh and leaves no ``.hypothesis`` folder
behind in the work tree or in CI's fresh clone. No deadline: two cores shared with other
test processes make single-example timings meaningless.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

settings.register_profile("chatgate-unit", database=None, deadline=None)
BASE = settings.get_profile("chatgate-unit")


def examples(n: int) -> settings:
    """The base settings with ``n`` examples: each file's share of the set's time budget."""
    return settings(BASE, max_examples=n)


# Text an outsider may send: anything Unicode but lone surrogates (no JSON body or UTF-8 file
# can carry them; the tests that can meet them add them on purpose).
TEXT = st.text(max_size=40)
# The characters that make trouble somewhere: HTML's specials, Markdown's markers, templates'
# braces, emoji outside the BMP (two UTF-16 units), CJK, combining marks, NUL and odd spaces.
TRICKY = st.sampled_from(
    [
        *"<>&\"'`*_[]()#|~!\\{}.:-\n\t \r\u00a0\u3000\u200b\u0301\x00",
        "😀",
        "👨‍👩‍👧",
        "🇺🇦",
        "漢",
        "字",
        "é",
        "\ufeff",
        "```",
        "{{",
        "}}",
        "&amp;",
        "<b>",
    ]
)
MIXED_TEXT = st.lists(st.one_of(TRICKY, st.text(max_size=6)), max_size=30).map("".join)

# Integers at every scale, most near the 64-bit edges where storage and orjson draw lines.
INTS = st.one_of(
    st.integers(-1000, 1000),
    st.integers(2**63 - 3, 2**63 + 3),
    st.integers(-(2**63) - 3, -(2**63) + 3),
    st.integers(2**64 - 2, 2**64 + 2),
    st.integers(),
)
JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), INTS, st.floats(allow_nan=False, allow_infinity=False), TEXT, MIXED_TEXT
)


INT64 = st.integers(-(2**63), 2**63 - 1)
STORABLE_SCALARS = st.one_of(
    st.none(), st.booleans(), INT64, st.floats(allow_nan=False, allow_infinity=False), TEXT, MIXED_TEXT
)


def json_values(
    max_leaves: int = 12, scalars: st.SearchStrategy[Any] = JSON_SCALARS
) -> st.SearchStrategy[Any]:
    """Anything a JSON body may hold (``STORABLE_SCALARS``: what storage can hold)."""
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
        max_leaves=max_leaves,
    )


def nested(depth: int, leaf: Any = 1) -> Any:
    """A value ``depth`` containers deep (lists and objects alternating)."""
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value
