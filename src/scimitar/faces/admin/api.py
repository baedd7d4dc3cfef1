"""The admin REST API at `/api/v1` (documented at `/api/v1/openapi.json`).

Each request flows straight through: read the body (async), then in a worker thread open
one transaction, authenticate (which selects the org and the audit actor), run the domain
operation, render. Reads run in a read transaction; a token's `last_used` is then written
at most once a minute, in a transaction of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from scimitar.config import Settings
from scimitar.domain import keys, sessions
from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.errors import DomainError
from scimitar.faces.admin import openapi
from scimitar.faces.admin.auth import Credentials, authenticate, credentials_of
from scimitar.faces.admin.routes import ENDPOINTS, PREFIX, Endpoint
from scimitar.faces.admin.wire import (
    ApiCall,
    ApiError,
    JsonResponse,
    Reply,
    error_response,
    from_domain,
    read_body,
    refused,
)
from scimitar.storage.database import Database
from scimitar.storage.limits import ValueRefused


class AdminApi:
    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    def routes(self) -> list[BaseRoute]:
        # Plain routes, not a Mount: other faces add their own routes under /api/v1.
        return [
            Route(PREFIX + "/openapi.json", self.openapi, methods=["GET"]),
            *(Route(PREFIX + e.path, self.endpoint(e), methods=[e.method]) for e in ENDPOINTS),
        ]

    async def openapi(self, _request: Request) -> Response:
        return JsonResponse(openapi.document(self.settings.public_url))

    def endpoint(self, endpoint: Endpoint) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            call = ApiCall(
                dict(request.path_params),
                dict(request.query_params),
                self.settings.public_url,
            )
            try:
                if endpoint.request is not None:
                    call.body = await read_body(request)
                status, body = await run_in_threadpool(
                    self._execute, endpoint, call, credentials_of(request)
                )
            except ApiError as exc:
                return error_response(exc)
            if status == 204:
                return Response(status_code=204)
            return JsonResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

        return run

    def _execute(self, endpoint: Endpoint, call: ApiCall, credentials: Credentials) -> Reply:
        """Authenticate and run the handler in one transaction; domain errors become
        `ApiError`s after the rollback."""
        token_to_touch: str | None = None
        session_to_touch: str | None = None
        try:
            with self.db.write() if endpoint.changes else self.db.read() as conn:
                tx = Tx(conn, SYSTEM_ACTOR)
                who = authenticate(tx, credentials, changes=endpoint.changes)
                if who.token_stale:
                    token_to_touch = who.token_id
                session_to_touch = who.session_to_touch
                assert endpoint.handler is not None  # ENDPOINTS all have one
                reply = endpoint.handler(call, tx, who)
        except DomainError as exc:
            raise from_domain(exc) from None
        except ValueRefused as exc:
            raise refused(exc, call.params.values()) from None
        if token_to_touch is not None or session_to_touch is not None:
            with self.db.write() as conn:
                tx = Tx(conn, SYSTEM_ACTOR)
                if token_to_touch is not None:
                    keys.touch_api_token(tx, token_to_touch)
                if session_to_touch is not None:
                    sessions.touch_session(tx, session_to_touch)
        return reply
