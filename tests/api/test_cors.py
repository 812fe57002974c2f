"""A web app on another origin may call the API only if that exact origin is listed in
``server.cors_origins``; its browser's preflight needs no key; nobody else gets CORS headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from config.loader import ConfigError, parse_settings
from tests.api.shared_server import SharedServer
from tests.api.support import assert_error
from tests.support.chatgate import API_KEY, StartChatgate, base_config

APP = "https://app.example.com"
PREFLIGHT = {
    "Origin": APP,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


def allow_app(config: dict[str, Any]) -> None:
    config["server"]["cors_origins"] = [APP, "http://127.0.0.1:3000"]


async def test_a_listed_origins_preflight_is_answered_without_a_key(start_chatgate: StartChatgate) -> None:
    gw = await start_chatgate(allow_app)
    async with aiohttp.ClientSession(base_url=gw.base_url) as http:  # no key, as a browser's preflight
        r = await http.options("/api/v1/workflows/support_bot/execute", headers=PREFLIGHT)
        await r.read()
    assert r.status == 204
    assert r.headers["Access-Control-Allow-Origin"] == APP
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    assert "Origin" in r.headers.getall("Vary")


async def test_a_listed_origin_reads_answers_and_errors_and_others_get_no_cors_headers(
    start_chatgate: StartChatgate,
) -> None:
    gw = await start_chatgate(allow_app)
    async with gw.client(API_KEY) as http:
        ok = await http.post(
            "/api/v1/workflows/support_bot/execute",
            json={"inputs": {"user_input": "hi"}},
            headers={"Origin": APP},
        )
        await ok.read()
        other = await http.get("/api/v1/workflows", headers={"Origin": "https://evil.example.com"})
        await other.read()
        prefix = await http.get("/api/v1/workflows", headers={"Origin": APP + ".evil.example"})
        await prefix.read()
    async with gw.client(None) as anon:
        refused = await anon.get("/api/v1/workflows", headers={"Origin": APP})
        refused_body = await refused.json()
        evil_preflight = await anon.options(
            "/api/v1/workflows", headers={**PREFLIGHT, "Origin": "https://evil.example.com"}
        )
        evil_body = await evil_preflight.json()
    assert ok.status == 200
    assert ok.headers["Access-Control-Allow-Origin"] == APP
    assert "X-Rate-Limit-Remaining" in ok.headers["Access-Control-Expose-Headers"]
    assert "Origin" in ok.headers.getall("Vary")
    # The app can read why it was refused.
    assert refused.status == 401
    assert refused.headers["Access-Control-Allow-Origin"] == APP
    assert_error(refused_body, "unauthorized")
    for r in (other, prefix, evil_preflight):
        assert "Access-Control-Allow-Origin" not in r.headers
        assert "Origin" in r.headers.getall("Vary")  # caches must not reuse an answer across origins
    assert evil_preflight.status == 403
    assert "server.cors_origins" in assert_error(evil_body, "forbidden")["details"]["hint"]


async def test_without_cors_origins_no_browser_origin_is_allowed(shared_server: SharedServer) -> None:
    async with shared_server.client(shared_server.new_key()) as http:
        r = await http.get("/api/v1/workflows", headers={"Origin": APP})
        await r.read()
        preflight = await http.options("/api/v1/workflows", headers=PREFLIGHT)
        body = await preflight.json()
    assert r.status == 200
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Vary" not in r.headers
    assert preflight.status == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert_error(body, "forbidden")


@pytest.mark.parametrize(
    "origin", ["https://app.example.com/", "app.example.com", "*", "https://a.example/x"]
)
def test_an_origin_that_is_not_scheme_host_port_is_a_config_error(tmp_path: Path, origin: str) -> None:
    config = base_config(8080, tmp_path)
    config["server"]["cors_origins"] = [origin]
    with pytest.raises(ConfigError) as caught:
        parse_settings(yaml.safe_dump(config), tmp_path / "chatgate.yaml", env={})
    assert caught.value.key == "server.cors_origins.0", caught.value
    assert "is not an origin" in str(caught.value)
