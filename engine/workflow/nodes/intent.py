"""``intent``: continues on the port of the intent the user's message means, else ``other``.

The model is asked to call a ``classify`` function whose ``intent`` is an enum of the
names (plus ``other``). What comes back is read in order: the call's arguments, a JSON
object in the text (``{"intent": ..., "reason": ...}``), and last the text itself when it
names exactly one intent as a word. Anything else, or a name not configured, is ``other``:
a model (or a user steering it) can only ever pick one of the declared ports.

On the offline ``echo`` model nothing is asked: the first intent (in config order) whose
name or one of whose examples occurs in the input, case-insensitively, wins; else ``other``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from engine.workflow.nodes.base import DEFAULT_PORT, ERROR_PORT, NodeConfig, NodeContext
from engine.workflow.nodes.model import Reply, ToolSpec
from engine.workflow.nodes.structured import AskConfig, Question, answer_object, forced
from engine.workflow.templates import Ref

#: The port (and ``intent``) when no declared intent fits.
OTHER = "other"
_RESERVED = frozenset({OTHER, ERROR_PORT, DEFAULT_PORT})
MAX_INTENTS = 50
MAX_EXAMPLES = 20
MAX_EXAMPLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 1000
#: Of the ``reason`` output: the model's words, cut to this.
MAX_REASON_CHARS = 500
TOOL_NAME = "classify"

Example = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_EXAMPLE_CHARS)]


class Intent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    description: str = Field("", max_length=MAX_DESCRIPTION_CHARS)
    examples: tuple[Example, ...] = Field((), max_length=MAX_EXAMPLES)


class IntentConfig(AskConfig):
    intents: tuple[Intent, ...] = Field(min_length=1, max_length=MAX_INTENTS)

    @field_validator("intents")
    @classmethod
    def _names(cls, intents: tuple[Intent, ...]) -> tuple[Intent, ...]:
        seen: set[str] = set()
        for intent in intents:
            folded = intent.name.casefold()
            if folded in _RESERVED:
                raise ValueError(f"intent '{intent.name}' is reserved (other, error and default are ports)")
            if folded in seen:  # the model's answer is matched case-insensitively
                raise ValueError(f"intent '{intent.name}' is declared more than once")
            seen.add(folded)
        return intents

    @field_validator("on_error")
    @classmethod
    def _no_continue(cls, on_error: str) -> str:
        # "continue" goes on along the default port, which an intent node does not have:
        # every branch after it would be skipped without a word.
        if on_error == "continue":
            raise ValueError(
                "'continue' would skip every branch (an intent node has no default port): "
                "use 'branch' and connect its 'error' port"
            )
        return on_error


@dataclass(frozen=True, slots=True)
class Choice:
    intent: str
    reason: str


def _cut(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


class IntentNode:
    type_name: ClassVar[str] = "intent"
    instant: ClassVar[bool] = False
    config_model: ClassVar[type[NodeConfig]] = IntentConfig

    def __init__(self, node_id: str, config: IntentConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s = config.timeout_s
        names = tuple(i.name for i in config.intents)
        self._ports = frozenset(names) | {OTHER}
        self._by_folded = {n.casefold(): n for n in names} | {OTHER: OTHER}
        self._needles = tuple(
            (i.name, tuple(dict.fromkeys(s.casefold() for s in (i.name, *i.examples))))
            for i in config.intents
        )
        # The longest name first where one contains another. Plain alternatives (a group each
        # would cost re its literal-prefix scan) of ASCII names, case-insensitive in ASCII only:
        # what matched, lowered, is one of the names.
        by_length = sorted(names, key=len, reverse=True)
        self._mention = re.compile(
            r"(?<![A-Za-z0-9_-])(?:" + "|".join(map(re.escape, by_length)) + r")(?![A-Za-z0-9_-])",
            re.IGNORECASE | re.ASCII,
        )
        self.tool = ToolSpec(
            TOOL_NAME,
            "Record which intent the user's message has.",
            {
                "type": "object",
                "properties": {
                    "intent": {"type": "string", "enum": [*names, OTHER]},
                    "reason": {"type": "string", "description": "Why, in one short sentence."},
                },
                "required": ["intent", "reason"],
                "additionalProperties": False,
            },
        )
        self.question = Question(
            config,
            "Classify the user's message as exactly one of the intents below.",
            _listing(config.intents, names),
        )

    def ports(self) -> frozenset[str]:
        return self._ports

    def outputs(self) -> frozenset[str]:
        return frozenset({"intent", "reason"})

    def references(self) -> tuple[Ref, ...]:
        """``input``, ``instructions`` (and ``default``, as any node's) hold references;
        descriptions and examples are shown to the model as they are written."""
        return self.question.refs

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        text = self.question.text(ctx)
        if self.question.offline(ctx):
            choice = self.offline_choice(text)
        else:
            choice = self.read(await self.question.ask(ctx, text, forced(self.tool)))
        ctx.take(choice.intent)
        return {"intent": choice.intent, "reason": choice.reason}

    def offline_choice(self, text: str) -> Choice:
        """The offline rule: the first intent whose name or an example occurs in ``text``."""
        folded = text.casefold()
        for name, needles in self._needles:
            found = next((n for n in needles if n in folded), None)
            if found is not None:
                return Choice(name, f"offline: {json.dumps(found, ensure_ascii=False)} occurs in the input")
        return Choice(OTHER, "offline: no intent's name or example occurs in the input")

    def read(self, reply: Reply) -> Choice:
        """The intent a model's answer gives: a declared one, else ``other``."""
        answer = answer_object(reply, TOOL_NAME)
        if answer is not None and "intent" in answer:
            said, reason = answer.get("intent"), answer.get("reason")
            intent = self._by_folded.get(said.strip().casefold()) if isinstance(said, str) else None
            if intent is None:
                shown = json.dumps(said, ensure_ascii=False)[:64]
                return Choice(OTHER, f"the model answered an intent that is not declared: {shown}")
            return Choice(intent, _cut(reason) if isinstance(reason, str) else "")
        return self.from_prose(reply.text)

    def from_prose(self, text: str) -> Choice:
        """An answer in words: the intent it names, if it names exactly one."""
        text = text[: 64 * 1024]
        named = {self._by_folded.get(m.group(0).lower(), OTHER) for m in self._mention.finditer(text)}
        named.discard(OTHER)  # (cannot be: the pattern holds only the names)
        if len(named) == 1:
            return Choice(named.pop(), _cut(text))
        if not named:
            if text.strip().casefold() == OTHER:
                return Choice(OTHER, "")
            return Choice(OTHER, "the model's answer names no declared intent")
        return Choice(OTHER, f"the model's answer names several intents: {', '.join(sorted(named))}")


def _listing(intents: tuple[Intent, ...], names: tuple[str, ...]) -> str:
    """The intents as the model reads them, and how to answer (built once per workflow version)."""
    lines = ["Intents:"]
    for i in intents:
        line = f"- {i.name}"
        if i.description:
            line += f": {i.description}"
        if i.examples:
            line += " Examples: " + "; ".join(json.dumps(e, ensure_ascii=False) for e in i.examples)
        lines.append(line)
    lines.append(f"- {OTHER}: none of the above fits.")
    choices = ", ".join((*names, OTHER))
    lines.append(
        f"Answer by calling the function {TOOL_NAME}. If you cannot call functions, answer with "
        f'only a JSON object: {{"intent": "<one of: {choices}>", "reason": "<one short sentence>"}}.'
    )
    return "\n".join(lines)
