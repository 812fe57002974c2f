"""Telegram's limits, for the shared delivery parts (`bots.delivery.limits`).

About one message per second in a chat (short bursts are fine) and at most 20 per
minute in a group; edits count like messages. A bucket of capacity C refilled at
r/s lets at most C + 60r through in any minute, so the group bucket (6 + 14) stays
under 20.
"""

from __future__ import annotations

from bots.delivery.limits import Limits
from bots.delivery.pacing import Bucket, Lanes
from bots.telegram.format import MAX_UTF16


def _one_bucket(burst: float, rate: float) -> Lanes:
    bucket = Bucket(burst, rate)
    return Lanes(sends=bucket, edits=bucket)


PRIVATE = Limits(
    message_length=MAX_UTF16,
    partial_interval_s=0.4,  # drafts are cheap and animated: update often
    quiet_s=0.4 * 0.9,
    typing_after_s=0.25,
    pace=lambda: _one_bucket(3.0, 1.0),
)
GROUP = Limits(
    message_length=MAX_UTF16,
    partial_interval_s=1.0,  # edits count against the group's 20/minute
    quiet_s=1.0 * 0.9,
    typing_after_s=0.25,
    pace=lambda: _one_bucket(6.0, 14 / 60),
)


def limits(group: bool) -> Limits:
    return GROUP if group else PRIVATE
