"""Baseline servers the benchmarks compare chatgate against, each in its own process.

python -m benchmarks.baselines bare --port 8101
    a bare aiohttp handler that returns the execute response's JSON, doing no work
python -m benchmarks.baselines openai --port 8102 --upstream http://127.0.0.1:8001/v1
    a minimal aiohttp handler calling AsyncOpenAI().chat.completions.create with the default client
"""

from __future__ import annotations

import argparse

from aiohttp import web
from openai import AsyncOpenAI

BODY = (
    b'{"execution_id":"exec_0123456789abcdef","status":"completed","result":{"content":"(echo) hello"},'
    b'"start_time":"2026-01-01T12:00:00.000Z","end_time":"2026-01-01T12:00:00.001Z"}'
)


def bare_app() -> web.Application:
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=BODY, content_type="application/json")

    app = web.Application()
    app.router.add_post("/api/v1/workflows/{ref}/execute", handle)
    return app


def openai_app(upstream: str) -> web.Application:
    client = AsyncOpenAI(base_url=upstream, api_key="bench")

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        answer = await client.chat.completions.create(
            model="bench-model", messages=[{"role": "user", "content": body["inputs"]["user_input"]}]
        )
        return web.json_response(
            {"status": "completed", "result": {"content": answer.choices[0].message.content}}
        )

    app = web.Application()
    app.router.add_post("/api/v1/workflows/{ref}/execute", handle)
    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["bare", "openai"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", default="http://127.0.0.1:8001/v1")
    a = p.parse_args()
    app = bare_app() if a.kind == "bare" else openai_app(a.upstream)
    web.run_app(app, host="127.0.0.1", port=a.port, access_log=None, print=None, backlog=4096)


if __name__ == "__main__":
    main()
