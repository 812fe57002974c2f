"""``extract``: turns a sentence into typed parameters, ``missing`` and ``ok``.

The model is asked for a JSON object by a strict JSON-schema ``response_format`` built from
the parameters (every key present, null when the sentence does not say it). A server that
refuses the format is asked once more plainly; one that ignores it is read anyway: a tool
call's arguments, else the first JSON object in its text. Each value is checked against its
parameter's type (``values``): an ill-typed one is null, never passed on, and a required
parameter that is null is ``missing``. On the offline ``echo`` model the rules of
``offline`` read the sentence instead, with no model call.
"""

from __future__ import annotations

from typing import Any, ClassVar

from engine.workflow.nodes.base import NodeConfig, NodeContext
from engine.workflow.nodes.extract.config import ExtractConfig, Parameter
from engine.workflow.nodes.extract.offline import OfflineReader
from engine.workflow.nodes.extract.values import REFUSED, coerce, json_type, shown_type
from engine.workflow.nodes.structured import Question, answer_object, json_schema
from engine.workflow.templates import Ref

SCHEMA_NAME = "parameters"


class ExtractNode:
    type_name: ClassVar[str] = "extract"
    instant: ClassVar[bool] = False
    config_model: ClassVar[type[NodeConfig]] = ExtractConfig

    def __init__(self, node_id: str, config: ExtractConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s
        params = config.parameters
        self._outputs = frozenset(p.name for p in params) | {"missing", "ok"}
        self._by_folded = {p.name.casefold(): p.name for p in params}
        self.structure = json_schema(
            SCHEMA_NAME,
            {
                "type": "object",
                "properties": {p.name: json_type(p) for p in params},
                "required": [p.name for p in params],
                "additionalProperties": False,
            },
        )
        self.question = Question(
            config, "Extract the parameters below from the user's message.", _listing(params)
        )
        self._offline = OfflineReader(params)

    def outputs(self) -> frozenset[str]:
        return self._outputs

    def references(self) -> tuple[Ref, ...]:
        """``input``, ``instructions`` (and ``default``, as any node's) hold references; descriptions
        and options are shown to the model as written."""
        return self.question.refs

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        text = self.question.text(ctx)
        if self.question.offline(ctx):
            return self.offline_outputs(text)
        return self.typed(answer_object(await self.question.ask(ctx, text, self.structure)) or {})

    def offline_outputs(self, text: str) -> dict[str, Any]:
        """The outputs the offline rules read from ``text`` (see ``offline``)."""
        return self.typed(self._offline.read(text))

    def typed(self, answer: dict[str, Any]) -> dict[str, Any]:
        """The outputs from an answer's object: each parameter typed or null, and what is missing."""
        given: dict[str, Any] = {}
        for key, value in answer.items():
            name = self._by_folded.get(key.casefold()) if isinstance(key, str) else None
            if name is not None and (name not in given or key == name):  # the exact spelling wins
                given[name] = value
        out: dict[str, Any] = {}
        missing: list[str] = []
        for p in self.config.parameters:
            value = coerce(p, given.get(p.name))
            if value is REFUSED:
                value = None
            out[p.name] = value
            if value is None and p.required:
                missing.append(p.name)
        out["missing"] = missing
        out["ok"] = not missing
        return out


def _listing(params: tuple[Parameter, ...]) -> str:
    """The parameters as the model reads them, and how to answer (built once per workflow version)."""
    lines = ["Parameters:"]
    for p in params:
        line = f"- {p.name} ({shown_type(p)}{', required' if p.required else ''})"
        if p.description:
            line += f": {p.description}"
        lines.append(line)
    keys = ", ".join(p.name for p in params)
    lines.append(
        "Use null for a parameter the message does not give; never guess one. "
        f"Answer with only a JSON object with exactly these keys: {keys}."
    )
    return "\n".join(lines)
