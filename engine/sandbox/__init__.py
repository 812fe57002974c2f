"""The ``code`` node's sandbox: bubblewrap processes from a warm pool (see `Sandbox`)."""

from __future__ import annotations

from engine.sandbox.service import Sandbox

__all__ = ["Sandbox"]
