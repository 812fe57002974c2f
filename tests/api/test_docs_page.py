"""A developer opens ``/docs`` in a browser and reads the API: the page needs no key, its files
come from chatgate itself (no CDN: it works offline) and it shows every operation.

Driven in real headless Chromium (Debian's ``chromium``, installed by ``make services``)
through Playwright's Python API; skipped with the reason when Chromium is not installed,
failed instead when CHATGATE_REQUIRE_SERVICES=1."""

from __future__ import annotations

import os
import shutil
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.api.shared_server import SharedServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
pytestmark = pytest.mark.timeout(90)


def _chromium() -> str:
    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return CHROMIUM if os.path.exists(CHROMIUM) else str(shutil.which("chromium"))
    if os.environ.get("CHATGATE_REQUIRE_SERVICES") == "1":
        pytest.fail("Chromium is required here (CHATGATE_REQUIRE_SERVICES=1) but not installed")
    pytest.skip("Chromium is not installed (make services, or apt-get install chromium)")


async def test_the_docs_page_shows_the_operations_from_chatgate_alone(shared_server: SharedServer) -> None:
    executable = _chromium()
    from playwright.async_api import async_playwright

    requested: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            page.on("request", lambda r: requested.append(r.url))
            response = await page.goto(f"{shared_server.base_url}/docs", wait_until="networkidle")
            assert response is not None
            assert response.status == 200
            execute = page.locator("#operations-executions-executeWorkflow")
            await execute.wait_for(state="visible", timeout=30_000)
            text = await page.locator("#swagger-ui").inner_text()
        finally:
            await browser.close()
    assert "/api/v1/workflows/{workflow_id}/execute" in text
    assert "createWorkflow" in text or "Create a workflow" in text
    assert "Authorize" in text  # a key can be given to try the calls
    outside = [
        u for u in requested if urlsplit(u).hostname not in ("127.0.0.1",) and not u.startswith("data:")
    ]
    assert not outside, outside
    assert any(u.endswith("/api/v1/openapi.json") for u in requested)
    assert any(u.endswith("/docs/swagger-ui-bundle.js") for u in requested)


async def test_the_docs_page_and_its_files_need_no_key_and_unknown_files_are_not_found(
    shared_server: SharedServer,
) -> None:
    async with aiohttp.ClientSession(base_url=shared_server.base_url) as http:  # no key
        page = await http.get("/docs")
        html = await page.text()
        script = await http.get("/docs/swagger-ui-bundle.js")
        await script.read()
        css = await http.get("/docs/swagger-ui.css")
        await css.read()
        missing = await http.get("/docs/../../etc/passwd")
        await missing.read()
        unknown = await http.get("/docs/index.j2")
        unknown_body = await unknown.json()
    assert page.status == 200
    assert page.content_type == "text/html"
    assert "/api/v1/openapi.json" in html
    assert "http" not in html.replace("http-equiv", "")
    assert script.status == 200
    assert script.content_type == "application/javascript"
    assert css.status == 200
    assert css.content_type == "text/css"
    assert missing.status == 404
    assert unknown.status == 404
    assert unknown_body["error"]["code"] == "not_found"


def test_the_start_up_line_says_where_the_docs_are(shared_server: SharedServer) -> None:
    assert (
        f"serving on {shared_server.base_url} (API docs: {shared_server.base_url}/docs)"
        in shared_server.logs()
    )


def test_the_start_up_log_is_ours_not_library_chatter(shared_server: SharedServer) -> None:
    """A new user reads the start-up lines: what chatgate did, not each plugin alembic loaded."""
    logs = shared_server.logs()
    start_up = logs[: logs.index("serving on")].splitlines()
    assert not [line for line in start_up if "setup plugin" in line]
    assert len(start_up) <= 15, "\n".join(start_up)
