"""``/api/v1/files/{file_id}``: a stored file, by its signed URL (no API key: the signature is
the permission, and it expires)."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from chatgate.http import schemas
from chatgate.http.bodies import parse_query
from chatgate.http.context import gateway
from chatgate.http.operations import Operations, Reply
from engine.errors import NotFound, Unavailable
from engine.files.store import FileStore

routes = Operations()
PREFIX = "/api/v1/files/"
# Shown in the browser: pictures a page may show; everything else is downloaded, never rendered
# on our origin (an HTML or SVG "file" would run as this site's page otherwise).
_INLINE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


def _store(request: web.Request) -> FileStore:
    store = gateway(request).files
    if store is None:
        raise Unavailable("files are not available", {"service": "files"})
    return store


@routes.operation(
    "GET",
    "/api/v1/files/{file_id}",
    operation_id="getFile",
    tag="files",
    summary="A file a workflow took in or sent out, by its signed URL (no key)",
    description="The URL comes from a file in an execution (`{id, name, mime_type, size, url}`) and "
    "works until `expires`. Answered with the file's own `Content-Type`; pictures inline, anything "
    "else as a download (`Content-Disposition: attachment`). A signature that does not match or has "
    "expired is a 403; a file deleted since (its session reset, past `files.retention_days`) a 404.",
    query=schemas.FileQuery,
    public=True,
    replies=(
        Reply(
            200, "the file's bytes", media={"application/octet-stream": "the file, in its own Content-Type"}
        ),
    ),
    errors=(schemas.InvalidRequestError, schemas.ForbiddenError, schemas.NotFoundError),
)
async def get_file(request: web.Request) -> web.Response:
    file_id = request.match_info["file_id"]
    query = parse_query(request, schemas.FileQuery)
    store = _store(request)
    store.signer.check(file_id, query.expires, query.signature)  # 403 before anything is looked up
    meta = await store.stored(file_id)
    if meta is None:
        raise NotFound(
            f"file '{file_id}' not found (deleted with its session, or expired)", {"file_id": file_id}
        )
    data = await store.read(file_id)
    shown = "inline" if meta.mime_type in _INLINE else "attachment"
    ascii_name = meta.name.encode("ascii", "replace").decode().replace('"', "'").replace("?", "_")
    return web.Response(
        body=data,
        headers={
            "Content-Type": meta.mime_type,
            "Content-Disposition": f"{shown}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(meta.name)}",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
