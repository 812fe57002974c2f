"""The declarative route table: each endpoint is one ``@routes.operation(...)`` declaration
(method, path, operationId, tag, request and response models, error codes), which both adds
the aiohttp route and tells ``chatgate/http/openapi.py`` how to document it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

from chatgate.http import schemas

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Reply:
    """One success status: its JSON body's model (None: no body), or other media types."""

    status: int
    description: str
    model: type[BaseModel] | None = None
    media: dict[str, str] = field(default_factory=dict)  # other content types: description


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    operation_id: str
    tag: str
    summary: str
    handler: Handler
    replies: tuple[Reply, ...]
    errors: tuple[type[schemas.Shape], ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    public: bool
    description: str
    examples: tuple[tuple[str, dict[str, object]], ...]  # request body examples (name, value)


BY_HANDLER: dict[Handler, Operation] = {}


class Operations(web.RouteTableDef):
    """A module's routes (``app.router.add_routes(module.routes)``), each one documented."""

    def operation(
        self,
        method: str,
        path: str,
        *,
        operation_id: str,
        tag: str,
        summary: str,
        replies: tuple[Reply, ...],
        errors: tuple[type[schemas.Shape], ...] = (),
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        public: bool = False,
        description: str = "",
        examples: tuple[tuple[str, dict[str, object]], ...] = (),
        add_route: bool = True,  # False: routed elsewhere under configured paths (webhooks)
    ) -> Callable[[Handler], Handler]:
        def declare(handler: Handler) -> Handler:
            BY_HANDLER[handler] = Operation(
                method,
                path,
                operation_id,
                tag,
                summary,
                handler,
                replies,
                errors,
                body,
                query,
                public,
                description,
                examples,
            )
            if add_route and method == "GET":
                self.get(path, allow_head=True)(handler)  # HEAD as ever: GET's answer, no body
            elif add_route:
                self.route(method, path)(handler)
            return handler

        return declare
