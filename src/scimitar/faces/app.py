"""The ASGI application: every face of Scimitar on one Starlette app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from scimitar.config import Settings
from scimitar.storage.database import Database


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
    database = db or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if db is None:
            database.dispose()

    database.migrate()
    routes: list[BaseRoute] = [Route("/healthz", healthz), Route("/readyz", readyz)]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.db = database
    return app
