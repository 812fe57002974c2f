"""The base of every settings section: unknown keys are errors, values are frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # extra="forbid": a typo never passes silently. frozen: a reload swaps whole objects,
    # so what a running message holds never changes under it.
    model_config = ConfigDict(extra="forbid", frozen=True)
