"""The ASGI application: every face of Scimitar on one Starlette app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from scimitar.config import Settings
from scimitar.domain.records.provisioning import BatchedLog
from scimitar.faces.admin.api import AdminApi
from scimitar.faces.app import wayfinding
from scimitar.faces.app.failures import AnswerFailures
from scimitar.faces.console.console import Console
from scimitar.faces.scim.api import ScimApi
from scimitar.runtime import collector
from scimitar.runtime.metrics import Metrics, RequestMetrics
from scimitar.runtime.rate_limits import limiter_for
from scimitar.storage.database import Database


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
    database = db or settings.database(
        background_checkpoints=True, statement_timeout_ms=settings.statement_timeout_ms
    )
    database.migrate()
    settings = settings.with_sealer(database)
    limiter = limiter_for(settings, database)
    request_log = BatchedLog(database)
    metrics = Metrics(database, settings.metrics_token)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        request_log.close()
        limiter.close()
        if db is None:
            database.dispose()

    console = Console(database, settings)
    routes: list[BaseRoute] = [
        *wayfinding.routes(),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics.endpoint),
        *ScimApi(database, settings, request_log, limiter).routes(),
        *AdminApi(database, settings, limiter).routes(),
        *console.routes(),
    ]
    unknown = wayfinding.handler(console.not_found_page)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(RequestMetrics, metrics=metrics, log_requests=settings.access_log),
            Middleware(AnswerFailures),
            Middleware(_TrailingSlash),
        ],
        exception_handlers={404: unknown, 405: unknown},
    )
    app.state.settings = settings
    app.state.db = database
    app.state.request_log = request_log
    return app


def create_served_app(settings: Settings | None = None) -> Starlette:
    """The app of a `scimitar serve` process (also uvicorn's factory for each process of
    `--workers N`: then built from the environment), with the garbage collector set for
    serving (`runtime.collector`)."""
    app = create_app(settings)
    collector.set_for_serving()
    return app
