"""The SCIM 2.0 service provider: `/scim` and `/scim/v2` (RFC 7644).

Each request flows straight through: read the body (async), then open one transaction,
authenticate the key (which selects the org), run the domain operation, render; finally
record the request in the org's provisioning log. Reads run in the thread pool, or on the
event loop when they are point reads on SQLite; writes queue for a shared transaction
(`storage.group_commit`), which runs on the event loop when all its writes are light (a
user's, with a small body) and SQLite's writer lock is free, else in the thread pool.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URLPath
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

from scimitar.config import Settings
from scimitar.domain.context import Actor, ActorKind, Tx
from scimitar.domain.errors import AuthError, DomainError, from_refusal
from scimitar.domain.events import feed
from scimitar.domain.events.rehearsal import rehearse
from scimitar.domain.identity import keys, sessions
from scimitar.domain.models import Org, ProvisioningMode
from scimitar.domain.records.provisioning import BatchedLog, Entry, record_request
from scimitar.faces import route_path
from scimitar.faces.scim import discovery, groups_api, users_api
from scimitar.faces.scim.call import Call, Outcome
from scimitar.faces.scim.wire import (
    ScimResponse,
    bearer_token,
    error_response,
    read_json,
    redact,
    to_scim_error,
)
from scimitar.protocol import errors
from scimitar.protocol.cursors import CursorCodec, server_key
from scimitar.protocol.errors import ScimError
from scimitar.protocol.listing import list_response
from scimitar.runtime.rate_limits import Face, Limiter, RateLimited
from scimitar.storage.database import Database, unavailable
from scimitar.storage.group_commit import BatchInterrupted, GroupCommit
from scimitar.storage.limits import ValueRefused
from scimitar.storage.prepared import pipelined

MAX_LOGGED_BODY = 8192
#: The largest body (its declared `Content-Length`) of a write that may run on the event
#: loop (`ScimApi.endpoint`'s `light`): an Okta or Entra user is under 2 KB.
LIGHT_BODY = 16 * 1024
_SECRET_WORDS = re.compile(rb"password|secret|token", re.IGNORECASE)


Handler = Callable[[Call, Tx, Org], Outcome]
#: Sends a read's statements by the digest of the request's SCIM key (see `endpoint`).
Prefetch = Callable[[Call, Tx, str], None]
#: A SCIM endpoint: the request's scope and body stream, and the path's parameters.
Endpoint = Callable[[Scope, Receive, dict[str, str]], Awaitable[Response]]


def _refusal(refused: ValueRefused, call: Call) -> ScimError:
    """A value no database takes (`storage.limits`): looked up by a filter, an invalid
    filter; else as every face answers it (an id in the path: not found; sent: invalid)."""
    body_filter = call.body.get("filter") if isinstance(call.body, dict) else None
    if not refused.writing and (call.query.get("filter") or body_filter):
        return errors.InvalidFilter(f"The filter compares with a value that {refused.reason}")
    return to_scim_error(from_refusal(refused, call.params.values()))


class ScimRoute(BaseRoute):
    """`/scim/…` and `/scim/v2/…`, dispatched by `ScimApi` in one dictionary lookup rather
    than by matching two dozen path patterns twice over (once per prefix)."""

    def __init__(self, api: ScimApi) -> None:
        self.api = api

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            path = route_path(scope)
            if path == "/scim" or path.startswith("/scim/"):
                return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.api(scope, receive, send)


class ScimApi:
    def __init__(
        self, db: Database, settings: Settings, log: BatchedLog, limiter: Limiter | None = None
    ) -> None:
        self.db = db
        self.writes = GroupCommit(db)
        self.settings = settings
        self.log = log
        self.limiter = limiter or Limiter(None)
        secret = sessions.deployment_secret(db, settings.secret_key, "scim-cursors")
        self.cursors = CursorCodec(server_key(secret))
        self._table()

    def routes(self) -> list[BaseRoute]:
        return [ScimRoute(self)]

    def _table(self) -> None:
        """The endpoints by method and path below the prefix; `{…}` is one path segment."""
        endpoints: list[tuple[str, str, Endpoint]] = [
            (
                "GET",
                "Users",
                self.endpoint(
                    users_api.list_users,
                    inline=users_api.USERS.reads_one,
                    prefetch=users_api.prefetch_list_users,
                ),
            ),
            ("POST", "Users", self.endpoint(users_api.create_user, write=True, light=True)),
            ("POST", "Users/.search", self.endpoint(users_api.search_users, body=True)),
            (
                "GET",
                "Users/{id}",
                self.endpoint(
                    users_api.get_user,
                    inline=users_api.USERS.reads_one,
                    prefetch=users_api.prefetch_get_user,
                ),
            ),
            ("PUT", "Users/{id}", self.endpoint(users_api.replace_user, write=True, light=True)),
            ("PATCH", "Users/{id}", self.endpoint(users_api.patch_user, write=True, light=True)),
            (
                "DELETE",
                "Users/{id}",
                self.endpoint(users_api.delete_user, write=True, body=False, light=True),
            ),
            (
                "GET",
                "Groups",
                self.endpoint(groups_api.list_groups, inline=groups_api.GROUPS.reads_one),
            ),
            ("POST", "Groups", self.endpoint(groups_api.create_group, write=True)),
            ("POST", "Groups/.search", self.endpoint(groups_api.search_groups, body=True)),
            (
                "GET",
                "Groups/{id}",
                self.endpoint(groups_api.get_group, inline=groups_api.GROUPS.reads_one),
            ),
            ("PUT", "Groups/{id}", self.endpoint(groups_api.replace_group, write=True)),
            (
                "PATCH",
                "Groups/{id}",
                self.endpoint(
                    groups_api.patch_group, write=True, prefetch=groups_api.prefetch_patch_group
                ),
            ),
            (
                "DELETE",
                "Groups/{id}",
                self.endpoint(groups_api.delete_group, write=True, body=False),
            ),
            ("GET", "ServiceProviderConfig", self.discovery(self._spc)),
            ("GET", "ResourceTypes", self.discovery(self._resource_types)),
            ("GET", "ResourceTypes/{name}", self.discovery(self._resource_type)),
            ("GET", "Schemas", self.discovery(self._schemas)),
            ("GET", "Schemas/{urn}", self.discovery(self._schema)),
            ("POST", ".search", self.endpoint(users_api.search_root, body=True)),
        ]
        self._exact: dict[tuple[str, str], Endpoint] = {}
        self._by_segment: dict[tuple[str, str], tuple[Endpoint, str]] = {}
        for method, pattern, endpoint in endpoints:
            name, _, parameter = pattern.partition("/")
            if parameter.startswith("{"):
                self._by_segment[(method, name)] = (endpoint, parameter.strip("{}"))
            else:
                self._exact[(method, pattern)] = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Dispatch a request below `/scim` or `/scim/v2` (what `ScimRoute` matched)."""
        path = route_path(scope)
        rest = path.removeprefix("/scim/v2") if path.startswith("/scim/v2/") else path[5:]
        rest = rest.removeprefix("/")
        method = scope["method"]
        wanted = "GET" if method == "HEAD" else method
        endpoint = self._exact.get((wanted, rest))
        params: dict[str, str] = {}
        if endpoint is None:
            name, _, segment = rest.partition("/")
            found = self._by_segment.get((wanted, name)) if segment and "/" not in segment else None
            if found is not None:
                endpoint, params = found[0], {found[1]: segment}
            else:
                endpoint, params = self.unknown, {"rest": rest}
        response = await endpoint(scope, receive, params)
        await response(scope, receive, send)

    def _base(self, path: str) -> str:
        prefix = "/scim/v2" if path.startswith("/scim/v2") else "/scim"
        return self.settings.public_url + prefix

    # Discovery: readable without a key (they describe the server, not an org).

    def discovery(self, build: Callable[[dict[str, str], str], Any]) -> Endpoint:
        async def endpoint(scope: Scope, _receive: Receive, params: dict[str, str]) -> Response:
            try:
                return ScimResponse(build(params, self._base(scope["path"])))
            except ScimError as exc:
                return error_response(exc)

        return endpoint

    @staticmethod
    def _spc(_params: dict[str, str], base: str) -> Any:
        return discovery.service_provider_config(base)

    @staticmethod
    def _resource_types(_params: dict[str, str], base: str) -> Any:
        return _all(discovery.resource_types(base))

    @staticmethod
    def _resource_type(params: dict[str, str], base: str) -> Any:
        found = discovery.resource_type(params["name"])
        if found is None:
            raise errors.NotFound(f"Resource type {params['name']!r} not found")
        return found.to_scim(base)

    @staticmethod
    def _schemas(_params: dict[str, str], base: str) -> Any:
        return _all(discovery.schemas(base))

    @staticmethod
    def _schema(params: dict[str, str], base: str) -> Any:
        found = discovery.schema(params["urn"])
        if found is None:
            raise errors.NotFound(f"Schema {params['urn']!r} not found")
        return found.to_scim(base)

    async def unknown(self, scope: Scope, _receive: Receive, params: dict[str, str]) -> Response:
        method, path = scope["method"], scope["path"]
        segments = params["rest"].split("/")
        name = segments[0]
        if len(segments) > 2:
            return error_response(errors.NotFound(f"No SCIM endpoint at {path}"))
        if name in ("Bulk", "Me"):
            return error_response(errors.NotImplementedFeature(f"/{name} is not supported"))
        allowed = self._allowed(params["rest"])
        if not allowed:
            return error_response(errors.NotFound(f"No SCIM endpoint at {path}"))
        where = (
            f"/{name}" if name in ("ServiceProviderConfig", "ResourceTypes", "Schemas") else path
        )
        response = error_response(errors.MethodNotAllowed(f"{method} is not allowed on {where}"))
        response.headers["Allow"] = ", ".join(allowed)
        return response

    def _allowed(self, rest: str) -> list[str]:
        """The methods some endpoint takes at `rest` (RFC 9110 §15.5.6: a 405 says them)."""
        name, _, segment = rest.partition("/")
        methods = {method for method, pattern in self._exact if pattern == rest}
        if segment and "/" not in segment:
            methods |= {method for method, named in self._by_segment if named == name}
        if "GET" in methods:
            methods.add("HEAD")
        order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
        return [method for method in order if method in methods]

    # Resource endpoints

    def endpoint(
        self,
        handler: Handler,
        *,
        write: bool = False,
        body: bool | None = None,
        inline: Callable[[Call], bool] | None = None,
        prefetch: Prefetch | None = None,
        light: bool = False,
    ) -> Endpoint:
        """`inline` tells which requests are cheap enough to run on the event loop rather
        than in the thread pool (SQLite only: PostgreSQL reads wait on the network).
        `light`: a write whose cost is bounded and small when its body is (`LIGHT_BODY`),
        which may run on the event loop (`storage.group_commit`): a user's writes, whose
        work grows with the user's own memberships at most (a group's writes can touch
        every member of the group).
        `prefetch` sends a read's statements before the key is checked, to travel with the
        key's statement (pipelined transactions: PostgreSQL)."""
        wants_body = write if body is None else body

        async def run(scope: Scope, receive: Receive, params: dict[str, str]) -> Response:
            started = time.perf_counter()
            path: str = scope["path"]
            query = scope["query_string"].decode("latin-1")
            # Straight from the ASGI scope: header names arrive lower-cased; parameter names
            # are case-insensitive in practice (`startindex`, `Filter`).
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            call = Call(
                scope["method"],
                f"{path}?{query}" if query else path,
                self._base(path),
                params,
                {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)},
                headers,
                cursors=self.cursors,
            )
            key = bearer_token(headers.get("authorization"))
            try:
                if wants_body:
                    call.body = await read_json(
                        Request(scope, receive), self.settings.max_body_bytes
                    )
                if write:
                    light_now = light and (not wants_body or _declared_small(headers))
                    outcome, org_id, key_id = await self._execute_write(
                        handler, call, key, started, prefetch, light_now
                    )
                elif inline is not None and self.db.is_sqlite and inline(call):
                    # A point read on SQLite (tens of µs in the database) costs several
                    # times more as a thread-pool round trip than run right here.
                    outcome, org_id, key_id = self._execute(
                        handler, call, key, started, inline=True
                    )
                else:
                    outcome, org_id, key_id = await run_in_threadpool(
                        self._execute, handler, call, key, started, prefetch=prefetch
                    )
            except ScimError as exc:
                outcome, org_id, key_id = Outcome(exc.status, exc), None, None
            if org_id is not None and not outcome.logged:
                elapsed = time.perf_counter() - started
                self.log.add(self._entry(org_id, key_id, call, outcome, elapsed))
            return self._respond(outcome)

        return run

    def _respond(self, outcome: Outcome) -> Response:
        if isinstance(outcome.body, ScimError):
            response = error_response(outcome.body)
            response.headers.update(outcome.headers)
            return response
        return ScimResponse(outcome.body, status_code=outcome.status, headers=outcome.headers)

    async def _execute_write(
        self,
        handler: Handler,
        call: Call,
        key: str | None,
        started: float,
        prefetch: Prefetch | None,
        light: bool,
    ) -> tuple[Outcome, str | None, str | None]:
        """Authenticate and run a write handler in a write transaction, which it may share
        with concurrent writes (SQLite: `storage.group_commit`); errors become outcomes. Its
        outcome is answered once that transaction is committed."""
        who = _Who()
        work = partial(self._authorized, handler, call, key, True, started, prefetch, who)
        try:
            outcome = await self.writes.run(work, light=light)
        except Exception as exc:
            return self._failed(exc, call, who)
        return outcome, who.org_id, who.key_id

    def _execute(
        self,
        handler: Handler,
        call: Call,
        key: str | None,
        started: float = 0.0,
        *,
        inline: bool = False,
        prefetch: Prefetch | None = None,
    ) -> tuple[Outcome, str | None, str | None]:
        """Authenticate and run a read handler in one transaction; errors become outcomes."""
        who = _Who()
        try:
            with self.db.read(reuse=inline) as conn:
                outcome = self._authorized(handler, call, key, False, started, prefetch, who, conn)
        except Exception as exc:
            return self._failed(exc, call, who)
        return outcome, who.org_id, who.key_id

    @staticmethod
    def _failed(exc: Exception, call: Call, who: _Who) -> tuple[Outcome, str | None, str | None]:
        """The outcome of a request whose handler raised `exc`; raised again if it is not
        one a client is answered (a bug: a 500)."""
        if isinstance(exc, AuthError):
            return Outcome(401, errors.Unauthorized(exc.detail)), None, None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
            return Outcome(429, errors.TooManyRequests(exc.detail), headers), None, None
        if isinstance(exc, DomainError):
            error = to_scim_error(exc)
            return Outcome(error.status, error), who.org_id, who.key_id
        if isinstance(exc, ScimError):
            return Outcome(exc.status, exc), who.org_id, who.key_id
        if isinstance(exc, ValueRefused):
            refused = _refusal(exc, call)
            return Outcome(refused.status, refused), who.org_id, who.key_id
        if isinstance(exc, OperationalError):
            detail = unavailable(exc)  # busy, or stopped at the statement time limit
            if detail is not None:  # answered here so that the request is logged
                busy = errors.Unavailable(detail)
                return Outcome(busy.status, busy), who.org_id, who.key_id
        if isinstance(exc, BatchInterrupted):  # nothing of it kept, through no fault of its
            lost = errors.Unavailable(str(exc))
            return Outcome(lost.status, lost), who.org_id, who.key_id
        raise exc

    def _authorized(
        self,
        handler: Handler,
        call: Call,
        key: str | None,
        write: bool,
        started: float,
        prefetch: Prefetch | None,
        who: _Who,
        conn: Connection,
    ) -> Outcome:
        """The handler's outcome, run in `conn`'s transaction once the key checks out."""
        tx = Tx(conn, Actor(ActorKind.SCIM_KEY, "SCIM key"))
        if key is None:
            raise errors.Unauthorized(
                "Missing credentials: send 'Authorization: Bearer <SCIM key>'"
            )
        if prefetch is not None and pipelined(conn):
            _prefetch(prefetch, call, tx, key)
        org, info = keys.authenticate_scim_key(tx, key)
        # Before any work; its refusal is not logged (a flood would fill the log).
        self.limiter.check(Face.SCIM, info.id, info.rate_limit)
        who.org_id, who.key_id = org.id, info.id
        tx.actor = Actor(ActorKind.SCIM_KEY, f"SCIM key …{info.hint}", info.id)
        if write:
            return self._write(handler, call, tx, org, info, started)
        return handler(call, tx, org)

    def _write(
        self, handler: Handler, call: Call, tx: Tx, org: Org, key: keys.KeyInfo, started: float
    ) -> Outcome:
        """Run a write and log it in its own transaction, so the entry and the events it
        produced commit together and link up. In dry-run mode the change is made in a
        savepoint and undone; the entry keeps the events it would have produced."""
        dry_run = org.provisioning_mode is ProvisioningMode.DRY_RUN
        with rehearse(tx, undo=dry_run) as rehearsal:
            outcome = handler(call, tx, org)
        would = [e.summary() for e in rehearsal.events] if dry_run else None
        entry = self._entry(org.id, tx.actor.id, call, outcome, time.perf_counter() - started)
        entry_id = record_request(tx, replace(entry, at=tx.now, dry_run=dry_run, changes=would))
        feed.link_request(tx, entry_id)  # None: the entry just written, its id not read back
        keys.touch_scim_key_if_stale(tx, key)
        outcome.logged = True
        return outcome

    @staticmethod
    def _logged_body(call: Call) -> str | None:
        if call.body is None:
            return None
        raw = orjson.dumps(call.body)
        # Walking a 10 000-member body in Python to redact it costs more than the write it
        # logs; only a body that names a secret anywhere needs the walk.
        if _SECRET_WORDS.search(raw):
            raw = orjson.dumps(redact(call.body))
        return raw[:MAX_LOGGED_BODY].decode(errors="ignore")

    def _entry(
        self, org_id: str, key_id: str | None, call: Call, outcome: Outcome, elapsed: float
    ) -> Entry:
        """The provisioning-log entry of a request."""
        return Entry(
            org_id=org_id,
            at=datetime.now(UTC),
            method=call.method,
            path=call.path,
            status=outcome.status,
            latency_ms=round(elapsed * 1000),
            user_agent=call.headers.get("user-agent"),
            detail=outcome.body.detail if isinstance(outcome.body, ScimError) else None,
            request_body=self._logged_body(call),
            key_id=key_id,
        )


class _Who:
    """The org and key a request turned out to act for, once its key checked out (its
    outcome is logged for them, an error's too)."""

    __slots__ = ("key_id", "org_id")

    def __init__(self) -> None:
        self.org_id: str | None = None
        self.key_id: str | None = None


def _declared_small(headers: dict[str, str]) -> bool:
    """The body declared no larger than `LIGHT_BODY` (a body sent in chunks declares none)."""
    declared = headers.get("content-length", "")
    return declared.isascii() and declared.isdigit() and int(declared) <= LIGHT_BODY


def _prefetch(prefetch: Prefetch, call: Call, tx: Tx, key: str) -> None:
    digest = keys.scim_key_digest(key)
    if digest is None:
        return
    # A request the handler will refuse is refused there, after the key is checked.
    with suppress(ScimError):
        prefetch(call, tx, digest)


def _all(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """Every resource on one page (the discovery lists are short)."""
    return list_response(len(resources), 1, resources)
