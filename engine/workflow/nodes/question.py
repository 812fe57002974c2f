"""``question``: asks the user, and the run waits (durably) until an answer resumes it.

The node itself only renders the question and tells the run to wait (``hooks.ask``); the
executor stores the run's position and, when an answer comes, asks this node which port it
leads to (`QuestionNode.choose`). Matching is ``exact``: an option's id or label, case and
surrounding space ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.workflow.nodes.base import DEFAULT_PORT, ERROR_PORT, NodeConfig, NodeContext
from engine.workflow.templates import parse

#: Free text that matched no option (or an answer that matched nothing, on the last attempt).
OTHER_PORT = "other"
#: The wait ran out before an answer came.
TIMEOUT_PORT = "timeout"
_RESERVED = frozenset({OTHER_PORT, TIMEOUT_PORT, ERROR_PORT, DEFAULT_PORT})
#: Bounds: a chat shows a handful of buttons; a question is one chat message.
MAX_OPTIONS = 25
MAX_QUESTION_CHARS = 4_000
MAX_ANSWER_CHARS = 4_000
MAX_WAIT_S = 30 * 86_400


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    label: str = Field(min_length=1, max_length=200)


class QuestionConfig(NodeConfig):
    question: str = Field(min_length=1)  # a template
    options: tuple[Option, ...] = Field((), max_length=MAX_OPTIONS)
    allow_free_text: bool | None = None  # None: true exactly when there are no options
    match: Literal["exact", "model"] = "exact"
    # How long the question waits for an answer. The node itself never runs long (it only
    # asks), so the runner's per-node time limit does not apply to it: this key is the wait.
    timeout_s: float | None = Field(86_400, gt=0, le=MAX_WAIT_S)
    max_attempts: int = Field(2, ge=1, le=10)

    @field_validator("options")
    @classmethod
    def _ids(cls, options: tuple[Option, ...]) -> tuple[Option, ...]:
        seen: set[str] = set()
        for o in options:
            if o.id in _RESERVED:
                raise ValueError(
                    f"option id '{o.id}' is reserved (other, timeout, error and default are ports)"
                )
            if o.id.casefold() in seen:
                raise ValueError(f"option id '{o.id}' is used by more than one option")
            seen.add(o.id.casefold())
        return options

    @model_validator(mode="after")
    def _answerable(self) -> QuestionConfig:
        if self.match == "model":
            raise ValueError("match 'model' is not available yet: use 'exact'")
        if not self.options and self.allow_free_text is False:
            raise ValueError("a question without options must allow free text")
        return self


@dataclass(frozen=True, slots=True)
class Choice:
    """Where an answer leads: the port, and the node's outputs."""

    port: str
    answer: str | None
    option: str | None

    def outputs(self) -> dict[str, Any]:
        return {"answer": self.answer, "option": self.option}


class QuestionNode:
    type_name: ClassVar[str] = "question"
    instant: ClassVar[bool] = True  # it asks and returns; the wait is the executor's
    waits: ClassVar[bool] = True  # a run may stop here (engine.workflow.nodes.base.waits)
    config_model: ClassVar[type[NodeConfig]] = QuestionConfig

    def __init__(self, node_id: str, config: QuestionConfig) -> None:
        self.node_id = node_id
        self.config = config
        self.timeout_s: float | None = None  # no run-time limit: see QuestionConfig.timeout_s
        self.wait_s = float(config.timeout_s or 86_400)
        self.free_text = config.allow_free_text if config.allow_free_text is not None else not config.options
        self._question = parse(config.question)
        self._by_key: dict[str, Option] = {}
        for o in config.options:
            self._by_key.setdefault(_key(o.id), o)
            self._by_key.setdefault(_key(o.label), o)
        self._ids = {o.id: o for o in config.options}
        self._ports = frozenset(o.id for o in config.options) | {OTHER_PORT, TIMEOUT_PORT}

    def ports(self) -> frozenset[str]:
        return self._ports

    def outputs(self) -> frozenset[str]:
        return frozenset({"answer", "option"})

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        text = self._question.render(ctx.pool)[:MAX_QUESTION_CHARS]
        ctx.hooks.ask(ctx.node_id, self.shown(text))
        return {}

    def shown(self, text: str) -> dict[str, Any]:
        """The question as callers see it."""
        return {"text": text, "options": [{"id": o.id, "label": o.label} for o in self.config.options]}

    def choose(self, answer: str | None, option: str | None, attempt: int) -> Choice | None:
        """Where an answer (text, or an option's id) leads on its ``attempt`` (1 = the first);
        None: it matched nothing and the question is asked again."""
        if option is not None:
            picked = self._ids.get(option)
            if picked is not None:
                return Choice(picked.id, picked.label, picked.id)
        if answer is not None:
            answer = answer[:MAX_ANSWER_CHARS]
            found = self._by_key.get(_key(answer))
            if found is not None:
                return Choice(found.id, answer, found.id)
            if self.free_text:
                return Choice(OTHER_PORT, answer, None)
        if attempt >= self.config.max_attempts:
            return Choice(OTHER_PORT, answer if answer is not None else option, None)
        return None

    def timed_out(self) -> Choice:
        return Choice(TIMEOUT_PORT, None, None)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()
