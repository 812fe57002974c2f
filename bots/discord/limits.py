"""Discord's limits, for the shared delivery parts (`bots.delivery.limits`).

discord.py already waits out the 429s Discord answers, but it retries a request
only a few times: many answers streaming into one channel at once could exhaust
those retries and lose a part. So we stay under Discord's per-channel limits
(about 5 messages and 5 edits per 5 s) ourselves.
"""

from __future__ import annotations

from bots.delivery.limits import Limits
from bots.delivery.pacing import Lanes, Window

SENDS_PER_WINDOW = 5
EDITS_PER_WINDOW = 5
# Our clock starts when a request leaves, Discord's when it arrives: a little slack so that
# a slot that is free here is free there too.
WINDOW_S = 5.0 + 0.5

CHANNEL = Limits(
    message_length=2000,  # characters of a message's content
    # With at most one edit per answer per second we stay under 5 edits / 5 s.
    partial_interval_s=1.0,
    # A fast answer arrives whole before this and is sent once: no "(edited)" mark, no
    # wasted edits. Slower answers show a preview from then on.
    quiet_s=1.0,
    # An instant answer needs no indicator, and skipping it spares a request per message.
    typing_after_s=0.3,
    pace=lambda: Lanes(sends=Window(SENDS_PER_WINDOW, WINDOW_S), edits=Window(EDITS_PER_WINDOW, WINDOW_S)),
)
