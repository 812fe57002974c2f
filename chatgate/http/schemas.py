"""The shapes of the HTTP API as pydantic models: what requests parse into and what responses
are built from. ``chatgate/http/openapi.py`` generates the document from these, so the
document and the server cannot drift apart (tests validate real responses against it)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

from engine.workflow.document import Connection, NodeSpec, WorkflowSpec

# Times are formatted once by engine.clock.iso ("…Z", milliseconds); kept as the string it made.
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]


class Shape(BaseModel):
    """A response shape: the handler's dict validated into it and dumped with the keys it set."""

    model_config = ConfigDict(extra="forbid")


# -- requests ------------------------------------------------------------------------------


class ExecuteRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"inputs": {"user_input": "How do I use chatgate?"}, "session_id": "alice"}]
        },
    )

    inputs: dict[str, Any] = Field(
        {},
        description="values for the start node's input_params, by name; a `file` input takes "
        '`{"name", "mime_type", "data": "<base64>"}` or `{"url": "https://…"}` (a `files` input a list of '
        "them), stored before the run and given to it as `{id, name, mime_type, size, url}`",
    )
    session_id: str | None = Field(
        None, min_length=1, max_length=256, strict=True, description="keeps the conversation's history"
    )
    # "yes" or 1 is a mistake to report, not a truthy guess
    stream: bool = Field(False, strict=True, description="answer as Server-Sent Events")


class ListQuery(BaseModel):
    """``GET /api/v1/workflows?page=&page_size=`` (unknown query parameters are ignored)."""

    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(20, ge=1, le=100)


# -- workflows -----------------------------------------------------------------------------

WORKFLOW_EXAMPLE: dict[str, Any] = {
    "name": "my_workflow",
    "description": "an example workflow",
    "nodes": [
        {
            "id": "start_node",
            "type": "start",
            "config": {"input_params": [{"name": "user_input", "type": "string"}]},
        },
        {
            "id": "response_node",
            "type": "response",
            "config": {"model": "gpt-4o-mini", "system_prompt": "Answer briefly."},
        },
    ],
    "connections": [{"from": "start_node", "to": "response_node"}],
}


class WorkflowCreated(Shape):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"workflow_id": "wf_123456", "status": "created", "created_at": "2023-01-01T12:00:00.000Z"}
            ]
        }
    )

    workflow_id: str
    status: Literal["created"]
    created_at: Timestamp


class WorkflowSummary(Shape):
    workflow_id: str
    name: str
    description: str
    status: str = Field(description='"active"')
    created_at: Timestamp
    updated_at: Timestamp
    source: Literal["file"] | None = Field(None, description='"file" for a file-loaded workflow, else absent')


class Workflow(WorkflowSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "workflow_id": "wf_123456",
                    **WORKFLOW_EXAMPLE,
                    "status": "active",
                    "created_at": "2023-01-01T12:00:00.000Z",
                    "updated_at": "2023-01-01T12:00:00.000Z",
                }
            ]
        }
    )

    nodes: list[NodeSpec]
    connections: list[Connection]


class WorkflowList(Shape):
    workflows: list[WorkflowSummary] = Field(description="file-loaded workflows first (by name), then yours")
    page: int
    page_size: int
    total: int
    has_more: bool


# -- executions ----------------------------------------------------------------------------

ExecutionStatus = Literal["running", "completed", "failed", "cancelled", "waiting"]


class QuestionOption(Shape):
    id: str
    label: str


class QuestionAsked(Shape):
    """What a waiting execution asks (a ``question`` node); answer it with ``…/resume``."""

    text: str
    options: list[QuestionOption]


class ResumeRequest(BaseModel):
    """The answer to a waiting execution's question: typed text, or an option's id."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"answer": "a large one"}, {"option": "large"}]}
    )

    answer: str | None = Field(None, max_length=4000, strict=True, description="what the user typed")
    option: str | None = Field(None, min_length=1, max_length=64, strict=True, description="an option's id")

    @model_validator(mode="after")
    def _one(self) -> ResumeRequest:
        if (self.answer is None) == (self.option is None):
            raise ValueError("send exactly one of 'answer' and 'option'")
        return self


class FileOut(Shape):
    """A file an execution took in or sent out; ``url`` downloads it without a key until it expires."""

    id: str
    name: str
    mime_type: str
    size: int
    url: str = Field(description="signed, short-lived: /api/v1/files/{id}?expires=…&signature=…")


class Result(Shape):
    """``content``, plus an ``end`` node's outputs by name (any JSON value each: an output
    that is exactly one reference keeps that value's type), plus ``messages``."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    content: str = Field(
        description="the end node's content; without one, the text of the nodes nothing follows "
        "(a message node's text is in messages, not here)"
    )
    messages: list[str] | None = Field(
        None, description="what message nodes delivered before the end, in order (only when some ran)"
    )
    attachments: list[FileOut] | None = Field(
        None,
        description="every file the execution sent out, in order: message nodes' (each also on its "
        "`message` event) and the end node's (only when some were sent)",
    )
    truncated: dict[str, int] | None = Field(
        None,
        alias="_truncated",
        description="only in a stored record that was cut to engine.max_record_bytes: "
        "the original size in bytes of each field cut",
    )


class ErrorBody(BaseModel):
    """``{code, message, details}``; ``details`` has one shape per code (see the Error schemas)."""

    code: str
    message: str
    details: Any


class NodeError(Shape):
    code: str
    message: str


class NodeRun(Shape):
    """One node's part of an execution."""

    type: str
    status: Literal["running", "completed", "skipped", "failed", "continued", "waiting"] = Field(
        description="continued: it failed and its on_error let the run go on; waiting: a question "
        "waits for its answer"
    )
    attempts: int | None = Field(None, description="how often it ran (retry); absent when skipped")
    duration_ms: float | None = Field(
        None, description="all its attempts, pauses included; absent when skipped"
    )
    port: str | None = Field(None, description="the output it took (error: on_error branch)")
    error: NodeError | None = Field(None, description="why it failed (failed or continued)")
    outputs: dict[str, Any] | None = Field(None, description="what it put in the pool; null when skipped")
    logs: str | None = Field(None, description="a code node's prints (cut to code.max_log_bytes)")
    sent: dict[str, Any] | None = Field(
        None,
        description="what an http node sent: method, url, headers, query, body (secrets as [secret:name])",
    )


class ExecutionResult(Shape):
    """The execute response (the seed's shape); ``error`` only on a failed execution."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "execution_id": "exec_123456",
                    "status": "completed",
                    "result": {"content": "chatgate runs workflows behind an API and chat bots…"},
                    "start_time": "2023-01-01T12:01:00.000Z",
                    "end_time": "2023-01-01T12:01:02.000Z",
                }
            ]
        }
    )

    execution_id: str
    status: ExecutionStatus
    result: Result | None
    start_time: Timestamp
    end_time: Timestamp | None
    error: ErrorBody | None = None
    question: QuestionAsked | None = Field(None, description="only while the execution is waiting")


class Execution(ExecutionResult):
    """An execution as stored: its inputs and every node's outputs."""

    workflow_id: str
    session_id: str | None = Field(description="as the caller sent it")
    inputs: dict[str, Any]
    outputs: dict[str, dict[str, Any]] = Field(
        description="by node id (a cut one has `_truncated`, as `result` does)"
    )
    nodes: dict[str, NodeRun] = Field(description="how each node went, by node id")
    truncated: bool = Field(description="whether the record was cut to engine.max_record_bytes")


class SessionReset(Shape):
    session_id: str
    status: Literal["reset"]
    messages_removed: int


# -- admin ---------------------------------------------------------------------------------


class ConfigProblem(Shape):
    message: str = Field(description="file:line: key: what is wrong")
    file: str | None
    line: int | None
    key: str | None


class FileProblemOut(Shape):
    path: str
    message: str
    details: Any


class ReloadReport(Shape):
    result: Literal["applied", "unchanged", "rejected", "busy"]
    peers_notified: int | None = Field(description="other processes told to reload (null: no Redis)")
    version: int
    changes: list[str]
    error: ConfigProblem | None
    restart_needed: list[str]
    workflow_problems: list[FileProblemOut]
    warnings: list[str]
    summary: str


# -- health --------------------------------------------------------------------------------


class Open(BaseModel):
    """A part of /healthz whose fields grow with the features that report into it."""

    model_config = ConfigDict(extra="allow")


class RejectedEdit(ConfigProblem):
    at: Timestamp


class LastReload(Shape):
    at: Timestamp
    result: str | None
    trigger: str | None


class ConfigHealth(Shape):
    path: str | None
    version: int
    loaded_at: Timestamp
    checksum: str
    last_error: RejectedEdit | None
    restart_needed: list[str]
    watching: bool
    last_reload: LastReload | None


class WorkflowFiles(Shape):
    files: int
    problems: list[FileProblemOut]


class BotHealth(Open):
    """Each platform adds its own fields (last poll, gateway, lease, …)."""

    platform: str | None = None
    state: str | None = Field(None, description="running, standby, no_token, failed, …")
    reason: str | None = Field(None, description="why it failed or is retrying")
    retry_at: str | None = Field(None, description="when a failed bot is tried again")
    restarts: int | None = None
    last_crash: str | None = None


class Health(Open):
    status: Literal["ok", "degraded"]
    uptime_s: float
    executions_in_flight: int
    config: ConfigHealth
    bots: dict[str, BotHealth] = Field(description="by bot name: platform, state, restarts, …")
    shared: Open | None = Field(description="several processes on one Redis; null otherwise")
    workflows: WorkflowFiles


# -- Telegram webhooks ----------------------------------------------------------------------


class TelegramUpdate(Open):
    """A Telegram Update: ``update_id`` and one of its kinds (message, edited_message, …)."""

    update_id: int = Field(strict=True)


class WebhookAck(Shape):
    ok: bool
    description: str | None = None


# -- errors --------------------------------------------------------------------------------
# ``{"error": {code, message, details}}``: ``details`` has one shape per code.


class Problem(Shape):
    loc: list[str | int] = Field(description='where: ["body"], ["body", "inputs", "n"], ["query", "page"]')
    msg: str


class _Error(Shape):
    message: str


class InvalidRequestError(_Error):
    code: Literal["invalid_request"]
    details: list[Problem] = Field(description="every problem found, each with where and what")


class InvalidWorkflowError(_Error):
    code: Literal["invalid_workflow"]
    details: str = Field(description="what is wrong, naming the node")


class UnauthorizedError(_Error):
    code: Literal["unauthorized"]
    details: str = Field(description="what to send instead")


class ForbiddenDetails(Open):
    workflow_id: str | None = None
    hint: str | None = None


class ForbiddenError(_Error):
    code: Literal["forbidden"]
    details: ForbiddenDetails = Field(description="an object: `workflow_id`, `hint` (what to do instead)")


class NotFoundError(_Error):
    code: Literal["not_found"]
    details: dict[str, str] = Field(
        description="what was looked for (workflow_id, execution_id; {} for a path)"
    )


class ConflictError(_Error):
    code: Literal["conflict"]
    details: dict[str, str] = Field(description="an object: `field`, `name`")


class MethodNotAllowedDetails(Shape):
    allowed: list[str]


class MethodNotAllowedError(_Error):
    code: Literal["method_not_allowed"]
    details: MethodNotAllowedDetails = Field(description='`{"allowed": [methods]}`')


class RequestTimeoutError(_Error):
    code: Literal["request_timeout"]
    details: None = Field(None, description="null: the headers did not arrive within server.header_timeout_s")


class PayloadTooLargeDetails(Shape):
    max_bytes: int


class PayloadTooLargeError(_Error):
    code: Literal["payload_too_large"]
    details: PayloadTooLargeDetails = Field(description='`{"max_bytes": n}`')


class InvalidConfigError(_Error):
    code: Literal["invalid_config"]
    details: ReloadReport = Field(description="the rejected reload; the old config keeps running")


class RateLimitDetails(Shape):
    limit: str
    retry_after: int


class RateLimitError(_Error):
    code: Literal["rate_limit_exceeded"]
    details: RateLimitDetails = Field(description='`{"limit": "10/minute", "retry_after": seconds}`')


class ExecutionFailedDetails(Open):
    """Which of these are set depends on what failed (the model, a node, a time limit)."""

    node: str | None = None
    model: str | None = None
    timeout_s: float | None = None
    status: int | None = Field(None, description="the LLM server's HTTP status")
    retries: int | None = None
    hint: str | None = None


class ExecutionFailedError(_Error):
    code: Literal["execution_failed"]
    details: ExecutionFailedDetails = Field(
        description="an object: `node`, `model`, `timeout_s`, `status`, `retries`, `hint` as they apply"
    )


class DestinationNotAllowedDetails(Open):
    node: str | None = None
    host: str = Field(description="the host refused (never the addresses it resolved to)")
    refused: str = Field(description="the class: loopback, private, link-local, CGNAT, metadata, ...")


class DestinationNotAllowedError(_Error):
    code: Literal["destination_not_allowed"]
    details: DestinationNotAllowedDetails = Field(
        description="an `http` node would reach a place the SSRF guard refuses: `{node, host, refused}`"
    )


class CodeFailedDetails(Open):
    node: str | None = None
    reason: str | None = Field(None, description="the same code, as the node's error on the record says it")
    line: int | None = Field(None, description="the line of the author's code, where it is known")


class CodeFailedError(_Error):
    code: Literal[
        "code_error",
        "code_output_invalid",
        "code_memory_exceeded",
        "code_killed",
        "code_timeout",
        "sandbox_unavailable",
    ]
    details: CodeFailedDetails = Field(
        description="a `code` node failed: its code raised or returned a bad value, ran out of time or "
        "memory, was killed, or the sandbox cannot run on this host: `{node, reason, line}`"
    )


class UnavailableDetails(Open):
    service: str


class UnavailableError(_Error):
    code: Literal["service_unavailable"]
    details: UnavailableDetails = Field(description='`{"service": "redis", "error": …}`')


class InternalError(_Error):
    code: Literal["internal_error"]
    details: dict[str, str] | None = Field(
        None, description="null, or `{node}` when a node crashed (then the body has `execution_id`)"
    )


__all__ = ["WorkflowSpec"]


# -- files ---------------------------------------------------------------------------------


class FileQuery(BaseModel):
    """``GET /api/v1/files/{file_id}?expires=&signature=``: the signed URL's query."""

    expires: int = Field(ge=0, le=2**53, description="unix seconds after which the URL no longer works")
    signature: str = Field(min_length=1, max_length=128, description="the URL's HMAC-SHA256, hex")
