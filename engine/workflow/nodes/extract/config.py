"""The ``extract`` node's config: the parameters to find, each with its type."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from engine.workflow.nodes.base import ERROR_PORT
from engine.workflow.nodes.structured import AskConfig

#: Outputs the node gives besides the parameters (``error`` too, under ``on_error: branch``).
RESERVED = frozenset({"missing", "ok", ERROR_PORT})
MAX_PARAMETERS = 50
MAX_OPTIONS = 50
MAX_DESCRIPTION_CHARS = 1000

ParamType = Literal["string", "number", "integer", "boolean", "list", "enum"]
Option = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Parameter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # A name ``{{node.name}}`` can spell, as a variable's.
    name: str = Field(max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: ParamType = "string"
    options: tuple[Option, ...] | None = Field(
        None, min_length=1, max_length=MAX_OPTIONS, description="The values an enum may take."
    )
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS)
    required: bool = Field(True, description="Whether the parameter counts as missing when absent.")

    @model_validator(mode="after")
    def _options_fit(self) -> Parameter:
        if self.type == "enum":
            if not self.options:
                raise ValueError(f"parameter '{self.name}' is an enum: it needs options")
            folded = [o.casefold() for o in self.options]
            if len(set(folded)) != len(folded):  # answers are matched case-insensitively
                raise ValueError(f"parameter '{self.name}' lists an option more than once")
        elif self.options is not None:
            raise ValueError(f"parameter '{self.name}' is a {self.type}: only an enum takes options")
        return self


class ExtractConfig(AskConfig):
    parameters: tuple[Parameter, ...] = Field(min_length=1, max_length=MAX_PARAMETERS)

    @field_validator("parameters")
    @classmethod
    def _names(cls, parameters: tuple[Parameter, ...]) -> tuple[Parameter, ...]:
        seen: set[str] = set()
        for p in parameters:
            if p.name in RESERVED:
                raise ValueError(f"parameter '{p.name}' clashes with the node's own output '{p.name}'")
            if p.name.casefold() in seen:  # the model's keys are matched case-insensitively
                raise ValueError(f"parameter '{p.name}' is declared more than once")
            seen.add(p.name.casefold())
        return parameters
