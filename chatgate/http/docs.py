"""``/docs``: the OpenAPI document as a page to read (Swagger UI). Its files come from the
``swagger-ui-bundle-v2`` package and are served from here: no CDN, works offline, no key."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from aiohttp import web
from swagger_ui_bundle import swagger_ui_path

from chatgate.http import schemas
from chatgate.http.operations import Operations, Reply
from engine.errors import NotFound

routes = Operations()

ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "application/javascript",
    "favicon-32x32.png": "image/png",
}
# validatorUrl null: Swagger UI would otherwise send the document to an online validator.
PAGE = b"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>chatgate API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/api/v1/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      validatorUrl: null,
      persistAuthorization: false,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout",
    });
  </script>
</body>
</html>
"""


@cache
def _asset(name: str) -> bytes:
    return (Path(swagger_ui_path) / name).read_bytes()


@routes.operation(
    "GET",
    "/docs",
    operation_id="docsPage",
    tag="meta",
    summary="This API as a page to read and try out (no key; paste one under Authorize)",
    public=True,
    replies=(Reply(200, "the page", media={"text/html": "Swagger UI"}),),
)
async def page(request: web.Request) -> web.Response:
    return web.Response(body=PAGE, content_type="text/html")


@routes.operation(
    "GET",
    "/docs/{asset}",
    operation_id="docsAsset",
    tag="meta",
    summary="The page's files, shipped with chatgate",
    public=True,
    replies=(
        Reply(
            200,
            "the file",
            media={"text/css": "style", "application/javascript": "script", "image/png": "icon"},
        ),
    ),
    errors=(schemas.NotFoundError,),
)
async def asset(request: web.Request) -> web.Response:
    name = request.match_info["asset"]
    if name not in ASSETS:
        raise NotFound(f"no such file of the docs page: '{name}'", {"asset": name})
    return web.Response(
        body=_asset(name), content_type=ASSETS[name], headers={"Cache-Control": "public, max-age=86400"}
    )
