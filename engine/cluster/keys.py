"""Every Redis key and channel chatgate uses, in one place: what lives in Redis, at a glance.

Each is a prefix; the code that owns the key appends the rest.
"""

from __future__ import annotations

ALIVE = "chatgate:alive:"  # + process name: its heartbeat (engine/cluster/link.py)
TURNS = "chatgate:turns"  # + ":<session>:…": a session's ticket line (engine/cluster/ordering.py)
CLAIM = "chatgate:claim:"  # + "<source>:<key>": which process answers an update (bots/delivery/claims.py)
LEASE = "chatgate:lease:"  # + "<purpose>:…": who polls a token, who holds a gateway (bots/delivery/leases.py)
RELOAD = "chatgate:config-reload"  # pub/sub channel: "reload now" (chatgate/reload/fanout.py)
# `limits`' own default prefix for the rate-limit windows (engine/ratelimit.py), named here
# so the list is complete, and kept so counters survive an upgrade.
RATE_LIMITS = "LIMITS"
