"""The API stories' fixtures: one shared ``chatgate serve`` (see ``tests/api/shared_server.py``),
every response checked against the OpenAPI document, and storage on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import shutil
import uuid
from collections.abc import Iterator

import pytest

from tests.api.openapi_check import ResponseRecorder
from tests.api.shared_server import POOL_SIZE, SharedServer, serving
from tests.support.chatgate import SEED_WORKFLOW, base_config
from tests.support.net import free_port
from tests.support.services import PostgresServer


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedServer]:
    workdir = tmp_path_factory.mktemp("shared")
    (workdir / "workflows").mkdir()
    shutil.copy(SEED_WORKFLOW, workdir / "workflows" / "support_bot.json")
    config = base_config(free_port(), workdir)
    config["api_keys"] = [
        {"key": f"{tier}-key-{i:03d}-0123456789", "name": f"{tier}{i:03d}", "tier": tier}
        for tier, i in itertools.product(("paid", "free"), range(POOL_SIZE))
    ]
    with serving(workdir, config) as base_url:
        yield SharedServer(base_url, workdir)


@pytest.fixture(autouse=True)
def responses_match_the_document(monkeypatch: pytest.MonkeyPatch) -> Iterator[ResponseRecorder]:
    """Every story is also a check of the OpenAPI document: each response it read from
    chatgate must be one the server's own document allows (status, content type, schema)."""
    recorder = ResponseRecorder()
    recorder.install(monkeypatch)
    yield recorder
    problems = recorder.problems()
    assert not problems, "responses the OpenAPI document does not allow:\n" + "\n".join(problems[:20])


# -- PostgreSQL: the session's server is the root conftest's `postgres` -------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def storage_url(request: pytest.FixtureRequest) -> str | None:
    """Run a storage story on both databases: None keeps the test config's SQLite file."""
    if request.param == "sqlite":
        return None
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database(f"api{uuid.uuid4().hex[:12]}")
