"""What one kind of conversation on a platform allows, and how answers stream into it.

The shared delivery parts (pacing, previews, the typing delay) are written once and
read their numbers from here; each platform declares its own in its package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bots.delivery.pacing import Lanes


@dataclass(frozen=True, slots=True)
class Limits:
    message_length: int  # the longest message, in the units the platform counts
    partial_interval_s: float  # the least time between two preview updates
    quiet_s: float  # an answer complete within this gets no preview: it is sent once
    typing_after_s: float  # no "typing…" for answers faster than this
    pace: Callable[[], Lanes]  # a conversation's budgets for sends and edits, fresh
