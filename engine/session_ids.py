"""How an API key's sessions are named in storage, in one place.

A key's API sessions are stored as ``api:<key name>:<session id>``, so two API users choosing
the same ``session_id`` never share history. Key names contain no ``:`` (config/schema.py), so
the first ``:`` after ``api:`` ends the name and no two (name, session id) pairs share a stored
id. Chat sessions (``tg:…``, ``dc:…``) are never prefixed.
"""

from __future__ import annotations


def api_session_prefix(owner: str) -> str:
    return f"api:{owner}:"


def stored_session_id(owner: str, session_id: str | None) -> str | None:
    """The stored id of key ``owner``'s session ``session_id`` (None stays None)."""
    return None if session_id is None else api_session_prefix(owner) + session_id


def public_session_id(owner: str, stored: object) -> object:
    """The id the caller sent, from a stored one; anything not of this key's is returned as is."""
    prefix = api_session_prefix(owner)
    if isinstance(stored, str) and stored.startswith(prefix):
        return stored.removeprefix(prefix)
    return stored
