"""The API's JSON shapes, one function each: the engine and the gateway hand over records,
and these say how the front door shows them (the routes, and the stream's last event)."""

from __future__ import annotations

import time
from typing import Any

from chatgate.config_state import ConfigState, RejectedEdit
from chatgate.gateway import Gateway
from chatgate.keys import Principal
from chatgate.reload.fanout import ReloadFanout
from chatgate.reload.state import ReloadReport
from config.paths import shown_path
from engine.catalog import StoredWorkflow
from engine.clock import iso, iso_at
from engine.record import ExecutionRecord


def workflow(wf: StoredWorkflow) -> dict[str, Any]:
    """A workflow as submitted, with its id, status and times."""
    doc = wf.compiled.spec.document()
    body = {
        "workflow_id": wf.workflow_id,
        "name": doc["name"],
        "description": doc["description"],
        "status": wf.status,
        "created_at": iso(wf.created_at),
        "updated_at": iso(wf.updated_at),
        "nodes": doc["nodes"],
        "connections": doc["connections"],
    }
    if wf.path is not None:
        body["source"] = "file"
    return body


def workflow_created(wf: StoredWorkflow) -> dict[str, Any]:
    return {"workflow_id": wf.workflow_id, "status": "created", "created_at": iso(wf.created_at)}


def workflow_summary(wf: StoredWorkflow) -> dict[str, Any]:
    """A workflow in a listing: without its nodes and connections."""
    body = workflow(wf)
    del body["nodes"], body["connections"]
    return body


def execution(record: ExecutionRecord) -> dict[str, Any]:
    """The seed's execute response body."""
    body: dict[str, Any] = {
        "execution_id": record.execution_id,
        "status": record.status,
        "result": record.result,
        "start_time": iso(record.start_time),
        "end_time": iso(record.end_time),
    }
    if record.error is not None:
        body["error"] = record.error
    if record.status == "waiting" and record.result is not None:
        body["question"] = record.result.get("question")
    return body


def execution_detail(record: ExecutionRecord) -> dict[str, Any]:
    """The execution as ``GET /executions/{id}`` shows it: everything kept (the session id
    still as stored)."""
    return {
        **execution(record),
        "workflow_id": record.workflow_id,
        "session_id": record.session_id,
        "inputs": record.inputs,
        "outputs": record.outputs,
        "nodes": {k: {**v, "outputs": record.outputs.get(k)} for k, v in record.nodes.items()},
        "truncated": record.truncated,
    }


def principal(p: Principal) -> dict[str, Any]:
    """An API key as the admin API lists it (never the key itself)."""
    return {
        "name": p.name,
        "source": p.source,
        "tier": p.tier,
        "admin": p.admin,
        "read_only": p.read_only,
        "workflows": sorted(p.workflows) if p.workflows is not None else None,
        "expires_at": iso(p.expires_at),
        "created_at": iso(p.created_at),
    }


def health(gw: Gateway, fanout: ReloadFanout | None = None) -> dict[str, Any]:
    """``/healthz``, which anyone may read: no secrets. ``fanout``: the reloader's, if any."""
    return {
        "status": "degraded" if gw.bots.failing() else "ok",  # a bot that cannot start
        "uptime_s": round(time.time() - gw.started_at, 1),
        "executions_in_flight": len(gw.executor.running),
        "config": config_state(gw.config),
        "bots": gw.bots.health(),
        "shared": shared(gw, fanout),
        "workflows": {
            "files": len(gw.catalog.file_workflows()),
            "problems": [
                {"path": shown_path(p.path), "message": p.message, "details": p.details}
                for p in gw.workflow_problems
            ],
        },
    }


def shared(gw: Gateway, fanout: ReloadFanout | None) -> dict[str, Any] | None:
    """Several processes on one Redis: this process's name, Redis, the reload fan-out."""
    if gw.shared is None:
        return None
    return {**gw.shared.health(), "reload_fanout": fanout.health() if fanout else None}


def config_state(state: ConfigState) -> dict[str, Any]:
    return {
        "path": None if state.path is None else shown_path(state.path),
        "version": state.version,
        "loaded_at": iso_at(state.loaded_at),
        "checksum": state.checksum,
        "last_error": rejected_edit(state.last_error) if state.last_error else None,
        "restart_needed": list(state.restart_needed),
        "watching": state.watching,
        "last_reload": None
        if state.last_reload_at is None
        else {
            "at": iso_at(state.last_reload_at),
            "result": state.last_result,
            "trigger": state.last_trigger,
        },
    }


def rejected_edit(edit: RejectedEdit) -> dict[str, Any]:
    """For /healthz, which anyone may read: the file as `shown_path` shows it."""
    e = edit.error
    return {
        # The one-line reason: file:line: key: what is wrong.
        "message": str(e).replace(e.path, shown_path(e.path), 1),
        "file": shown_path(e.path),
        "line": e.line,
        "key": e.key,
        "at": iso_at(edit.at),
    }


def reload_report(report: ReloadReport) -> dict[str, Any]:
    """The admin API's answer to a reload (an admin's, so the file's path as it is)."""
    return {
        "result": report.result,
        "peers_notified": report.peers,
        "version": report.version,
        "changes": report.changes,
        "error": None
        if report.error is None
        else {
            "message": str(report.error),
            "file": report.error.path,
            "line": report.error.line,
            "key": report.error.key,
        },
        "restart_needed": report.restart_needed,
        "workflow_problems": [
            {"path": p.path, "message": p.message, "details": p.details} for p in report.workflow_problems
        ],
        "warnings": report.warnings,
        "summary": report.text(),
    }
