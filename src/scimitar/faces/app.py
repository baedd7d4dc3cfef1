"""The ASGI application: every face of Scimitar on one Starlette app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from scimitar.config import Settings
from scimitar.domain.provisioning_log import BatchedLog
from scimitar.faces import events_api, wayfinding
from scimitar.faces.admin.api import AdminApi
from scimitar.faces.console.console import Console
from scimitar.faces.metrics import Metrics, RequestMetrics
from scimitar.faces.scim.api import ScimApi
from scimitar.faces.scim.wire import ScimResponse
from scimitar.protocol.schema import ERROR
from scimitar.storage.database import BUSY, Database, database_busy

log = logging.getLogger("scimitar")


async def server_error(request: Request, exc: Exception) -> Response:
    """A bug must still answer in the client's format, never as a plain-text page; a
    database busy past its timeout is a 503 to retry, in every face."""
    if database_busy(exc):
        log.warning("database busy on %s %s", request.method, request.url.path)
        status, detail = 503, BUSY
    else:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        status, detail = 500, "Internal server error"
    if request.url.path.startswith("/scim"):
        body = {"schemas": [ERROR], "status": str(status), "detail": detail}
        return ScimResponse(body, status_code=status)
    return JSONResponse({"detail": detail}, status_code=status)


class _TrailingSlash:
    """`/scim/Users/` is `/scim/Users` (Microsoft's reference tests send the slash)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/scim/") and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/")}
        await self.app(scope, receive, send)


async def healthz(_request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    db: Database = request.app.state.db
    if db.ping():
        return JSONResponse({"status": "ready"})
    return JSONResponse({"status": "unavailable", "detail": "database unreachable"}, 503)


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Starlette:
    """Build the app; migrates the database on start-up."""
    settings = settings or Settings.from_env()
    database = db or Database(settings.database_url, background_checkpoints=True)
    database.migrate()
    request_log = BatchedLog(database)
    metrics = Metrics(database, settings.metrics_token)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        request_log.close()
        if db is None:
            database.dispose()

    console = Console(database, settings)
    routes: list[BaseRoute] = [
        *wayfinding.routes(),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics.endpoint),
        *ScimApi(database, settings, request_log).routes(),
        *events_api.routes(database, settings),
        *AdminApi(database, settings).routes(),
        *console.routes(),
    ]
    unknown = wayfinding.handler(console.not_found_page)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(RequestMetrics, metrics=metrics, log_requests=settings.access_log),
            Middleware(_TrailingSlash),
        ],
        exception_handlers={Exception: server_error, 404: unknown, 405: unknown},
    )
    app.state.settings = settings
    app.state.db = database
    app.state.request_log = request_log
    return app
