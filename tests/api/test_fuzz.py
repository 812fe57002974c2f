"""Fuzzing every operation of the document against a real ``chatgate serve`` (schemathesis).

**The longest test of the suite: about two minutes on two cores** (positive and negative
data, each operation bounded by MAX_EXAMPLES). Reproducible: hypothesis is derandomized, so the
same code gets the same requests. What must hold for every answer:

- no 5xx, except the documented ``execution_failed`` (502/504: the model failed);
- every error is the envelope ``{"error": {code, message, details}}``;
- every status is one the operation documents, and the body is valid against its schema.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.shared_server import serving
from tests.support.chatgate import SEED_WORKFLOW, base_config
from tests.support.net import free_port

KEY = "fuzz-key-0123456789abcdef"
# Per operation and mode: about two minutes for all of them on two cores. More, for a deeper
# look: CHATGATE_FUZZ_EXAMPLES=1000 .venv/bin/pytest tests/api/test_fuzz.py
MAX_EXAMPLES = int(os.environ.get("CHATGATE_FUZZ_EXAMPLES", "60"))
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    (workdir / "workflows").mkdir()
    shutil.copy(SEED_WORKFLOW, workdir / "workflows" / "support_bot.json")
    config = base_config(free_port(), workdir)
    # An admin key, so the admin API is fuzzed past its 403 too; no rate limit in the way.
    config["api_keys"] = [{"key": KEY, "name": "fuzzer", "tier": "paid"}]
    config["admins"] = ["key:fuzzer"]
    config["rate_limits"] = {"free": "10/minute", "paid": "1000000/minute"}
    config["reload"] = {"watch": False}
    with serving(workdir, config) as base_url:
        yield base_url


def _body(response: schemathesis.Response) -> Any:
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None


@schemathesis.check
def no_server_error_but_execution_failed(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """A 5xx is a bug, unless it is the model failing (documented ``execution_failed``)."""
    if response.status_code < 500:
        return None
    body = _body(response)
    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
    if response.status_code in (502, 504) and code == "execution_failed":
        return None
    raise AssertionError(f"server error {response.status_code}: {response.content[:500]!r}")


@schemathesis.check
def errors_in_the_envelope(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    if response.status_code < 400:
        return None
    body = _body(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or set(error) != {"code", "message", "details"}:
        raise AssertionError(f"{response.status_code} not in the envelope: {response.content[:500]!r}")
    return None


ANSWERED: Counter[tuple[str, int]] = Counter()  # (operation, status): what the fuzzing reached


@schemathesis.check
def count_statuses(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    ANSWERED[(case.operation.label, response.status_code)] += 1
    return None


METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
EXECUTE = "POST /api/v1/workflows/{workflow_id}/execute"
CHECKS = [
    count_statuses,
    no_server_error_but_execution_failed,
    errors_in_the_envelope,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _fuzz(
    operation: Any, strategy: Any, examples: int, base_url: str, session: requests.Session
) -> str | None:
    """Run one operation's cases; the first failure (hypothesis stops there) as text."""

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same requests on every run of the same code
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the run stays bounded
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=base_url,
            session=session,
            headers={"Authorization": f"Bearer {KEY}"},
            checks=CHECKS,
            timeout=30,
        )

    try:
        run()
    except Unsatisfiable:
        return None  # negative mode: nothing of this operation can be made invalid (GET /healthz)
    except Exception as e:  # a failed check, with the request that caused it
        return f"{operation.label}: {e}"
    return None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_every_operation_holds_up_to_fuzzing(fuzzed_server: str, mode: GenerationMode) -> None:
    # Read by hand: loaded from its URL, schemathesis would leave the document's own operation out.
    document = requests.get(f"{fuzzed_server}/api/v1/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    ANSWERED.clear()
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = {
        f"{m.upper()} {p}" for p, ops in schema.raw_schema["paths"].items() for m in ops if m in METHODS
    }
    assert {op.label for op in operations} == documented
    with requests.Session() as session:
        for operation in operations:
            strategies = [(operation.as_strategy(generation_mode=mode), MAX_EXAMPLES)]
            if mode is GenerationMode.POSITIVE:  # the document's own examples, each once
                strategies += [(s, 5) for s in schema.get_strategies_from_examples(operation)]
            for strategy, examples in strategies:
                failure = _fuzz(operation, strategy, examples, fuzzed_server, session)
                if failure is not None:
                    failures.append(failure)
                    break
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)
    # It got past the front door: real executions and real refusals, not only 401s.
    reached = {status for (label, status) in ANSWERED if label == EXECUTE}
    assert (200 in reached) if mode is GenerationMode.POSITIVE else (400 in reached), ANSWERED
