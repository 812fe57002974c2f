"""``question``: asks the user, and the run waits (durably) until an answer resumes it.

The node itself only renders the question and tells the run to wait (``hooks.ask``); the
executor stores the run's position and, when an answer comes, asks this node which port it
leads to (`QuestionNode.choose`), against the options as they were shown (stored with the
wait). Matching is ``exact`` (an option's id or label, case and surrounding space ignored)
or ``model``: a typed answer that is neither is read by the model (`QuestionNode.interpret`),
which can only ever pick one of the options shown.

``options`` is a list written in the workflow (a port per option id) or one reference to a
list the run made (``{{orders.json.items}}``: ids are not known before, so a chosen option
leaves by the default port and ``{{node.option}}`` says which).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.errors import ChatgateError, ExecutionFailed
from engine.workflow.nodes.base import DEFAULT_PORT, ERROR_PORT, NodeConfig, NodeContext
from engine.workflow.nodes.model import ChatModel, ToolSpec
from engine.workflow.nodes.structured import answer_object, ask_model, forced
from engine.workflow.templates import compile_value, parse

#: Free text that matched no option (or an answer that matched nothing, on the last attempt).
OTHER_PORT = "other"
#: The wait ran out before an answer came.
TIMEOUT_PORT = "timeout"
_RESERVED = frozenset({OTHER_PORT, TIMEOUT_PORT, ERROR_PORT, DEFAULT_PORT})
#: Bounds: a chat shows a handful of buttons; a question is one chat message.
MAX_OPTIONS = 25
MAX_LABEL_CHARS = 200
MAX_ID_CHARS = 200  # of options made at run time (written ones are ports: 64, like node ids)
MAX_QUESTION_CHARS = 4_000
MAX_ANSWER_CHARS = 4_000
MAX_WAIT_S = 30 * 86_400
TOOL_NAME = "pick_option"
NONE = "none"  # the model's word for: no option fits


class Option(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    label: str = Field(min_length=1, max_length=MAX_LABEL_CHARS)


class QuestionConfig(NodeConfig):
    question: str = Field(min_length=1)  # a template
    # Written options, or exactly one reference to a list the run makes.
    options: tuple[Option, ...] | str = ()
    allow_free_text: bool | None = None  # None: true exactly when there are no options
    match: Literal["exact", "model"] = "exact"
    model: str | None = None  # for ``match: model``; None: llm.default_model
    # How long the question waits for an answer. The node itself never runs long (it only
    # asks), so the runner's per-node time limit does not apply to it: this key is the wait.
    timeout_s: float | None = Field(86_400, gt=0, le=MAX_WAIT_S)
    max_attempts: int = Field(2, ge=1, le=10)

    @field_validator("options")
    @classmethod
    def _ids(cls, options: tuple[Option, ...] | str) -> tuple[Option, ...] | str:
        if isinstance(options, str):
            if parse(options).whole is None:
                raise ValueError("'options' must be a list or exactly one reference like {{node.field}}")
            return options
        if len(options) > MAX_OPTIONS:
            raise ValueError(f"a question has at most {MAX_OPTIONS} options")
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
        if self.options == () and self.allow_free_text is False:
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
        self._question = parse(config.question)
        self._made = compile_value(config.options) if isinstance(config.options, str) else None
        written = config.options if isinstance(config.options, tuple) else ()
        self._written = [{"id": o.id, "label": o.label} for o in written]
        # Written options are ports; options the run makes leave by the default port.
        ports = {o.id for o in written} if self._made is None else {DEFAULT_PORT}
        self._ports = frozenset(ports) | {OTHER_PORT, TIMEOUT_PORT}

    def ports(self) -> frozenset[str]:
        return self._ports

    def outputs(self) -> frozenset[str]:
        return frozenset({"answer", "option"})

    async def run(self, ctx: NodeContext) -> dict[str, Any]:
        text = self._question.render(ctx.pool)[:MAX_QUESTION_CHARS]
        options = self._written if self._made is None else _made_options(ctx.node_id, ctx.resolve(self._made))
        ctx.hooks.ask(ctx.node_id, {"text": text, "options": options})
        return {}

    def free_text(self, options: Sequence[dict[str, Any]]) -> bool:
        allowed = self.config.allow_free_text
        return allowed if allowed is not None else not options

    def choose(
        self, question: dict[str, Any], answer: str | None, option: str | None, attempt: int
    ) -> Choice | None:
        """Where an answer (text, or an option's id) to ``question`` (as it was shown) leads
        on its ``attempt`` (1 = the first); None: it matched nothing and it is asked again."""
        options: list[dict[str, Any]] = question.get("options") or []
        if option is not None:
            picked = next((o for o in options if o["id"] == option), None)
            if picked is not None:
                return self._chose(picked, picked["label"])
        if answer is not None:
            answer = answer[:MAX_ANSWER_CHARS]
            found = _exact(options, answer)
            if found is not None:
                return self._chose(found, answer)
            if self.free_text(options):
                return Choice(OTHER_PORT, answer, None)
        if attempt >= self.config.max_attempts:
            return Choice(OTHER_PORT, answer if answer is not None else option, None)
        return None

    def _chose(self, option: dict[str, Any], answer: str) -> Choice:
        port = option["id"] if self._made is None else DEFAULT_PORT
        return Choice(port, answer, option["id"])

    def timed_out(self) -> Choice:
        return Choice(TIMEOUT_PORT, None, None)

    async def interpret(self, llm: ChatModel, question: dict[str, Any], answer: str) -> str | None:
        """With ``match: model``, the id of the option a typed answer means (None: none, or
        the answer is an exact match already). Offline: the first option whose label or id
        occurs in the answer. A model that fails is taken to have found none."""
        options: list[dict[str, Any]] = question.get("options") or []
        if self.config.match != "model" or not options or _exact(options, answer) is not None:
            return None
        answer = answer[:MAX_ANSWER_CHARS]
        if llm.offline(self.config.model):
            folded = answer.casefold()
            found = (o for o in options if o["label"].casefold() in folded or o["id"].casefold() in folded)
            return next((o["id"] for o in found), None)
        ids = [o["id"] for o in options]
        listing = "\n".join(
            f"- {json.dumps(o['id'])}: {json.dumps(o['label'], ensure_ascii=False)}" for o in options
        )
        tool = ToolSpec(
            TOOL_NAME,
            "Record which option the user's answer means.",
            {
                "type": "object",
                "properties": {"option": {"type": "string", "enum": [*ids, NONE]}},
                "required": ["option"],
                "additionalProperties": False,
            },
        )
        system = (
            f"The user was asked: {json.dumps(question.get('text', ''), ensure_ascii=False)}\n"
            f"Options (id: label):\n{listing}\n"
            f"Call {TOOL_NAME} with the id of the option the user's answer means, or "
            f'"{NONE}" if it means none of them. Without functions, answer {{"option": "<id>"}}.'
        )
        try:
            reply = await ask_model(
                llm,
                self.config.model,
                [{"role": "system", "content": system}, {"role": "user", "content": answer}],
                forced(tool),
            )
        except ChatgateError:
            return None
        said = (answer_object(reply, TOOL_NAME) or {}).get("option")
        return said if isinstance(said, str) and said in ids else None


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _exact(options: Sequence[dict[str, Any]], answer: str) -> dict[str, Any] | None:
    key = _key(answer)
    return next((o for o in options if _key(o["id"]) == key), None) or next(
        (o for o in options if _key(o["label"]) == key), None
    )


def _made_options(node_id: str, value: Any) -> list[dict[str, Any]]:
    """Options a run made (``options: "{{ref}}"``): a list of ``{id, label}`` objects or of
    strings (each both id and label); bounded, ids unique."""

    def bad(why: str) -> ExecutionFailed:
        return ExecutionFailed(f"node '{node_id}': options {why}", {"node": node_id})

    if not isinstance(value, list):
        raise bad(f"is {'null' if value is None else type(value).__name__}, not a list")
    if len(value) > MAX_OPTIONS:
        raise bad(f"has {len(value)} items, at most {MAX_OPTIONS}")
    options: list[dict[str, Any]] = []
    seen: set[str] = set()
    for item in value:
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            option_id, label = str(item), str(item)
        elif isinstance(item, dict) and isinstance(item.get("id"), str | int) and "label" in item:
            option_id, label = str(item["id"]), str(item["label"])
        else:
            raise bad("must be strings or objects with an 'id' and a 'label'")
        if not option_id.strip() or not label.strip() or len(option_id) > MAX_ID_CHARS:
            raise bad(f"need ids of 1 to {MAX_ID_CHARS} characters and labels")
        if option_id.casefold() in seen:
            raise bad(f"use the id {json.dumps(option_id)[:80]} more than once")
        seen.add(option_id.casefold())
        options.append({"id": option_id, "label": label[:MAX_LABEL_CHARS]})
    return options
