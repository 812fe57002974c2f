"""Admin chat commands (``/status``, ``/reload``): recognised here, answered by the gateway.

Only admins (``admins`` in the config), only in a private chat with the bot. From
anyone else, or in a group, the text is an ordinary message, so the commands are
not advertised to people who cannot use them.
"""

from __future__ import annotations

import re
from typing import Literal, Protocol

AdminCommand = Literal["status", "reload"]
_COMMAND = re.compile(r"^/(status|reload)(?:@[A-Za-z0-9_]{1,64})?\s*$", re.IGNORECASE)


def admin_command(text: str) -> AdminCommand | None:
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    return "status" if match.group(1).lower() == "status" else "reload"


class AdminConsole(Protocol):
    """What the gateway offers the chat commands (chatgate/console.py)."""

    def status(self) -> str:
        """Bots, config version, last reload error, executions in flight: plain text."""

    async def reload(self, requested_by: str) -> str:
        """Reload the config now; the verdict as plain text."""
