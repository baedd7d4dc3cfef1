"""The admin REST API at `/api/v1` (documented at `/api/v1/openapi.json`).

Each request flows straight through: read the body (async), then in a worker thread open
one transaction, authenticate (which selects the org and the audit actor), run the domain
operation, render. Reads run in a read transaction; a token's `last_used` is then written
at most once a minute, in a transaction of its own. A long poll (the change feed's `wait`)
runs its handler again, each time in a transaction of its own (authenticated again, so a
revoked token stops), until it answers or the wait is over; no thread or transaction is
held in between.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import ASGIApp, Receive, Scope, Send

from scimitar.config import Settings
from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.errors import DomainError
from scimitar.domain.identity import keys, operators, sessions
from scimitar.faces import ALLOWED_METHODS, route_path
from scimitar.faces.admin import openapi
from scimitar.faces.admin.endpoint import PREFIX, Endpoint
from scimitar.faces.admin.events_api import MAX_WAIT, POLL_INTERVAL
from scimitar.faces.admin.platform_api import authenticate_operator
from scimitar.faces.admin.routes import ENDPOINTS
from scimitar.faces.web.auth import Credentials, authenticate, credentials_of
from scimitar.faces.web.wire import (
    ApiCall,
    ApiError,
    JsonResponse,
    Reply,
    error_response,
    from_domain,
    read_body,
    refused,
)
from scimitar.runtime.rate_limits import Face, Limiter, RateLimited
from scimitar.storage.database import Database
from scimitar.storage.limits import ValueRefused
from scimitar.storage.prepared import pipelined


class AdminApi:
    def __init__(self, db: Database, settings: Settings, limiter: Limiter | None = None) -> None:
        self.db = db
        self.settings = settings
        self.limiter = limiter or Limiter(None)

    def routes(self) -> list[BaseRoute]:
        return [
            AdminRoutes(
                [
                    ("GET", "/openapi.json", _asgi(self.openapi)),
                    *((e.method, e.path, _asgi(self.endpoint(e))) for e in ENDPOINTS),
                ]
            )
        ]

    async def openapi(self, _request: Request) -> Response:
        return JsonResponse(openapi.document(self.settings.public_url))

    def endpoint(self, endpoint: Endpoint) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            call = ApiCall(
                dict(request.path_params),
                dict(request.query_params) if request.scope["query_string"] else {},
                self.settings.public_url,
                sealer=self.settings.sealer,
                webhook_hosts=self.settings.webhook_hosts,
            )
            credentials = credentials_of(request)
            try:
                if endpoint.request is not None and not (
                    endpoint.body_optional and _no_body(request)
                ):
                    if _large(request):
                        # A stranger's large body is never read: the caller is checked
                        # first (a small one is read, then checked in the one transaction).
                        await run_in_threadpool(self._authenticate, endpoint, credentials)
                    call.body = await read_body(request)
                status, body = await self._answer(request, endpoint, call, credentials)
            except ApiError as exc:
                return error_response(exc)
            except RateLimited as exc:
                limited = error_response(ApiError(429, "rate_limited", exc.detail))
                limited.headers["Retry-After"] = str(exc.retry_after)
                return limited
            if status == 204:
                return Response(status_code=204)
            return JsonResponse(body, status_code=status, headers={"Cache-Control": "no-store"})

        return run

    async def _answer(
        self, request: Request, endpoint: Endpoint, call: ApiCall, credentials: Credentials
    ) -> Reply:
        if endpoint.wait is None:
            if endpoint.inline is not None and self.db.is_sqlite and endpoint.inline(call):
                # A few index probes on SQLite cost less than the thread pool's round trip:
                # run right here on a connection the loop keeps (as SCIM's point reads do).
                reply, touches = self._execute(endpoint, call, credentials, inline=True)
                if touches:  # a write may wait for SQLite's writer: never on the loop
                    await run_in_threadpool(self._touch, touches)
            else:
                reply = await run_in_threadpool(
                    self._execute_and_touch, endpoint, call, credentials
                )
            assert reply is not None  # only a long poll's handler may answer None
            return reply
        while True:
            reply = await run_in_threadpool(self._execute_and_touch, endpoint, call, credentials)
            if reply is not None:
                return reply
            assert call.deadline is not None
            if await request.is_disconnected():
                call.deadline = 0.0  # answer at once: nobody is waiting any more
                continue
            await asyncio.sleep(min(POLL_INTERVAL, max(0.0, call.deadline - time.monotonic())))

    @staticmethod
    def _wait(call: ApiCall, name: str) -> float:
        raw = call.query.get(name, "").strip()
        if not raw:
            return 0.0
        try:
            wait = float(raw)
        except ValueError:
            raise ApiError(400, "bad_request", f"{name} must be a number of seconds") from None
        if not 0 <= wait <= MAX_WAIT:
            raise ApiError(400, "bad_request", f"{name} must be between 0 and {MAX_WAIT} seconds")
        return wait

    def _authenticate(self, endpoint: Endpoint, credentials: Credentials) -> None:
        try:
            with self.db.read() as conn:
                tx = Tx(conn, SYSTEM_ACTOR)
                if endpoint.operator:
                    authenticate_operator(tx, credentials)
                else:
                    authenticate(tx, credentials, changes=True)
        except DomainError as exc:
            raise from_domain(exc) from None

    def _execute_and_touch(
        self, endpoint: Endpoint, call: ApiCall, credentials: Credentials
    ) -> Reply | None:
        reply, touches = self._execute(endpoint, call, credentials)
        if touches:
            self._touch(touches)
        return reply

    def _execute(
        self, endpoint: Endpoint, call: ApiCall, credentials: Credentials, *, inline: bool = False
    ) -> tuple[Reply | None, _Touches | None]:
        """Authenticate and run the handler in one transaction; domain errors become
        `ApiError`s after the rollback. Also says which credential's last use is due to be
        recorded (`_touch`, after this transaction)."""
        touches = _Touches()
        try:
            writes = endpoint.changes and not endpoint.reads_only
            with self.db.write() if writes else self.db.read(reuse=inline) as conn:
                tx = Tx(conn, SYSTEM_ACTOR)
                if endpoint.prefetch is not None and pipelined(conn):
                    digest = keys.api_token_digest(credentials.bearer)
                    if digest is not None:
                        endpoint.prefetch(call, tx, digest)
                if endpoint.operator_handler is not None:
                    operator = authenticate_operator(tx, credentials)
                    if operator.stale(tx.now):
                        touches.operator = operator.id
                    reply: Reply | None = endpoint.operator_handler(call, tx, operator)
                else:
                    who = authenticate(tx, credentials, changes=endpoint.changes)
                    # A console user is limited by their hands; a long poll counts once.
                    if who.token_id is not None and call.deadline is None:
                        self.limiter.check(Face.API, who.token_id, who.rate_limit)
                    if who.token_stale:
                        touches.api_token = who.token_id
                    touches.session = who.session_to_touch
                    if endpoint.wait is not None:
                        if call.deadline is None:  # the first run, once the caller is known
                            call.deadline = time.monotonic() + self._wait(call, endpoint.wait.name)
                        call.waiting = time.monotonic() < call.deadline
                    assert endpoint.handler is not None  # every org endpoint has one
                    reply = endpoint.handler(call, tx, who)
        except DomainError as exc:
            raise from_domain(exc) from None
        except ValueRefused as exc:
            raise refused(exc, call.params.values()) from None
        return reply, touches if touches.due else None

    def _touch(self, touches: _Touches) -> None:
        """Record, after the request's own transaction, when a credential was last used."""
        with self.db.write() as conn:
            tx = Tx(conn, SYSTEM_ACTOR)
            if touches.api_token is not None:
                keys.touch_api_token(tx, touches.api_token)
            if touches.session is not None:
                sessions.touch_session(tx, touches.session)
            if touches.operator is not None:
                operators.touch(tx, touches.operator)


@dataclass
class _Touches:
    """The credentials whose `last_used` (or `last_seen`) is due to be recorded."""

    api_token: str | None = None
    session: str | None = None
    operator: str | None = None

    @property
    def due(self) -> bool:
        return not (self.api_token is None and self.session is None and self.operator is None)


#: A path below `/api/v1` as segments; None where the pattern takes a parameter.
_Pattern = tuple[str | None, ...]
_ROUTE = "scimitar.admin_route"


class AdminRoutes(BaseRoute):
    """Every endpoint below `/api/v1`, found by method and path segments in a dictionary
    and a few comparisons, rather than by matching some sixty path patterns one after the
    other (that cost more than deciding an access check). `{name}` in a path is one
    non-empty segment, as in Starlette's routes; the first endpoint declared wins. A path
    some endpoint takes with another method answers 405 with every method it takes."""

    def __init__(self, endpoints: list[tuple[str, str, ASGIApp]]) -> None:
        #: (method, path below `/api/v1`) of every endpoint, as declared.
        self.served = [(method, path) for method, path, _app in endpoints]
        self._table: dict[tuple[str, int], list[tuple[_Pattern, tuple[str, ...], ASGIApp]]] = {}
        for method, path, app in endpoints:
            segments = path.strip("/").split("/")
            pattern = tuple(None if s.startswith("{") else s for s in segments)
            names = tuple(s.strip("{}") for s in segments if s.startswith("{"))
            self._table.setdefault((method, len(segments)), []).append((pattern, names, app))

    def _find(self, method: str, segments: list[str]) -> tuple[ASGIApp, dict[str, str]] | None:
        for pattern, names, app in self._table.get((method, len(segments)), ()):
            if all(p == s if p is not None else s for p, s in zip(pattern, segments, strict=True)):
                values = [s for p, s in zip(pattern, segments, strict=True) if p is None]
                return app, dict(zip(names, values, strict=True))
        return None

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        path = route_path(scope)
        if not path.startswith(PREFIX + "/"):
            return Match.NONE, {}
        segments = path[len(PREFIX) + 1 :].split("/")
        method = scope["method"]
        found = self._find("GET" if method == "HEAD" else method, segments)
        if found is not None:
            app, params = found
            return Match.FULL, {
                "path_params": {**scope.get("path_params", {}), **params},
                _ROUTE: app,
            }
        allowed = [m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if self._find(m, segments)]
        if not allowed:
            return Match.NONE, {}
        if "GET" in allowed:
            allowed.insert(1, "HEAD")
        return Match.PARTIAL, {_ROUTE: None, ALLOWED_METHODS: allowed}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = scope.get(_ROUTE)
        if app is None:
            raise HTTPException(405, headers={"Allow": ", ".join(scope[ALLOWED_METHODS])})
        await app(scope, receive, send)


def _asgi(endpoint: Callable[[Request], Awaitable[Response]]) -> ASGIApp:
    """An endpoint as an ASGI app: Starlette's `request_response` without its second layer
    of exception handlers per request (the app's `ExceptionMiddleware` holds the same ones,
    and an endpoint answers its own errors). With the checks parsed once, it took one
    access check on PostgreSQL from 1.05–1.07 to 1.02 lookups in process."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


def _no_body(request: Request) -> bool:
    """A request that sent no body at all (no type, nothing declared or streamed)."""
    headers = request.headers
    return "content-type" not in headers and headers.get("content-length", "0") == "0"


#: A body this large (or of undeclared length) is read only once its sender is known.
CHECKED_FIRST_BYTES = 262_144


def _large(request: Request) -> bool:
    declared = request.headers.get("content-length", "")
    if not (declared.isascii() and declared.isdigit()):
        return True
    return int(declared) > CHECKED_FIRST_BYTES
