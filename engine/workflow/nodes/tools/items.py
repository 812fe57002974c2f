"""What a ``response`` node's ``tools`` list may hold: a workflow, or an MCP server's tools."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.workflow.nodes.calling import check_ref

#: What OpenAI-compatible servers accept as a function name.
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: One node offers at most this many tools in its list (an MCP server may give more each).
MAX_TOOL_ITEMS = 20
MAX_ALLOWED_TOOLS = 100


class WorkflowTool(BaseModel):
    """A chatgate workflow as a tool: its start node's inputs are the parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    workflow: Annotated[str, Field(min_length=1, max_length=200)]  # a name or an id, literally
    description: str = Field("", max_length=2000)
    # The function's name as the model sees it; default: the workflow's name as written.
    name: str | None = None

    @field_validator("workflow")
    @classmethod
    def _literal(cls, value: str) -> str:
        return check_ref(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not TOOL_NAME.match(value):
            raise ValueError(f"tool name {value!r}: 1 to 64 letters, digits, '_' or '-'")
        return value

    def tool_name(self, called_name: str | None = None) -> str:
        """``name``, else the called workflow's name (``called_name``, once found) or the
        reference as written, whichever is a valid function name."""
        for name in (self.name, called_name, self.workflow):
            if name is not None and TOOL_NAME.match(name):
                return name
        raise ValueError(
            f"workflow '{self.workflow}' has no name a model can call (1 to 64 letters, digits, '_' or '-'): "
            "give the tool a 'name'"
        )


class McpTools(BaseModel):
    """The tools of an MCP server configured in ``mcp_servers``; ``tools``: only these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mcp: str = Field(min_length=1, max_length=100)
    tools: tuple[str, ...] | None = Field(None, max_length=MAX_ALLOWED_TOOLS)

    @field_validator("mcp")
    @classmethod
    def _literal(cls, value: str) -> str:
        if "{{" in value:
            raise ValueError(f"'mcp' names a configured server; a reference ({value}) cannot be resolved")
        return value


ToolItem = WorkflowTool | McpTools
