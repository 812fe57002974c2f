"""The workflow document, in the seed's JSON shape, as pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class NodeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=128)
    type: str = Field(min_length=1)
    config: dict[str, Any] = {}


class Connection(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    # The source's output this connection follows; None: its default output.
    port: str | None = Field(None, min_length=1, max_length=128)


class WorkflowSpec(BaseModel):
    """What a client submits and gets back: name, description, nodes, connections."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    nodes: list[NodeSpec]
    connections: list[Connection] = []

    def document(self) -> dict[str, Any]:
        """The nodes and connections exactly in the seed's shape ("from", not "from_")."""
        doc = self.model_dump(by_alias=True, mode="json")
        for c in doc["connections"]:  # the seed's shape: no "port" where none was given
            if c["port"] is None:
                del c["port"]
        return doc
