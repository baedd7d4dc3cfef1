"""The change feed over HTTP: `GET /api/v1/events`, member history, request diagnostics.

Authenticated as the rest of the admin API (an admin API token, `Authorization: Bearer sat-…`,
or a console session), which selects the org. The feed is read in order and resumed with
`after=<the last seq seen>`; `wait=N`
long-polls: when nothing is newer, the request sleeps between short reads (each its own
transaction, in the thread pool) for up to N seconds, so a consumer sees a change within
about `POLL_INTERVAL` of its commit without holding a thread or a transaction meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from scimitar.config import Settings
from scimitar.domain import events, grant_preview, groups, members
from scimitar.domain.context import Actor, ActorKind, Tx
from scimitar.domain.models import Grant, Org, TeamRole
from scimitar.faces import webhooks_api
from scimitar.faces.admin.wire import ApiError
from scimitar.faces.json_api import (
    PREFIX,
    Caller,
    authorize,
    caller,
    guarded,
    int_param,
    json_response,
    read_body,
)
from scimitar.storage.database import Database

POLL_INTERVAL = 0.2
MAX_WAIT = 60.0


class FeedApi:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _org(self, token: Caller) -> Org:
        with self.db.read() as conn:
            return authorize(Tx(conn, Actor(ActorKind.API_TOKEN, "API token")), token)

    def _page(self, org_id: str, after: int, limit: int, types: list[str]) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            tx = Tx(conn, Actor(ActorKind.API_TOKEN, "API token"))
            return [
                e.to_json()
                for e in events.read_feed(tx, org_id, after=after, limit=limit, types=types)
            ]

    async def list_events(self, request: Request) -> Response:
        org = await run_in_threadpool(self._org, caller(request))  # before reading anything
        after = int_param(request, "after", 0, 0, 2**62)
        limit = int_param(request, "limit", 100, 1, events.MAX_LIMIT)
        wait = _wait_param(request)
        types = [t.strip() for t in request.query_params.get("types", "").split(",") if t.strip()]
        deadline = time.monotonic() + wait
        while True:
            found = await run_in_threadpool(self._page, org.id, after, limit, types)
            if found or time.monotonic() >= deadline or await request.is_disconnected():
                break
            await asyncio.sleep(min(POLL_INTERVAL, max(0.0, deadline - time.monotonic())))
        next_after = found[-1]["seq"] if found else after
        return json_response({"events": found, "next_after": next_after})

    def _history(self, token: Caller, member_id: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            tx = Tx(conn, Actor(ActorKind.API_TOKEN, "API token"))
            org = authorize(tx, token)
            members.get_member(tx, org, member_id)
            return [e.to_json() for e in events.member_history(tx, org, member_id)]

    async def member_events(self, request: Request) -> Response:
        found = await run_in_threadpool(
            self._history, caller(request), request.path_params["member_id"]
        )
        return json_response({"events": found})

    def _request_events(self, token: Caller, raw_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            tx = Tx(conn, Actor(ActorKind.API_TOKEN, "API token"))
            org = authorize(tx, token)
            # An id past the column's range is no entry (and would overflow SQLite's integers).
            if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
                raise ApiError(404, "not_found", "No such provisioning-log entry")
            entry_id = int(raw_id)
            found = events.events_of_request(tx, org, entry_id)
            return {"request_id": entry_id, "events": [e.to_json() for e in found]}

    async def request_events(self, request: Request) -> Response:
        body = await run_in_threadpool(
            self._request_events, caller(request), request.path_params["entry_id"]
        )
        return json_response(body)

    def _preview(self, token: Caller, group_id: str, body: dict[str, Any]) -> dict[str, Any]:
        action = body.get("action", "add")
        if action not in ("add", "remove"):
            raise ApiError(400, "bad_request", "action must be 'add' or 'remove'")
        # A write transaction, because the preview makes the change and then undoes it.
        with self.db.write(rollback=True) as conn:
            tx = Tx(conn, Actor(ActorKind.API_TOKEN, "API token"))
            org = authorize(tx, token)
            group = groups.get_group(tx, org, group_id)
            changes = grant_preview.preview_grant_change(tx, org, group, _grant(body), action)
        return {"changes": changes}

    async def preview_grant(self, request: Request) -> Response:
        token = caller(request)
        await run_in_threadpool(self._org, token)  # a stranger's body is never read
        body = await read_body(request)
        result = await run_in_threadpool(
            self._preview, token, request.path_params["group_id"], body
        )
        return json_response(result)


def _grant(body: dict[str, Any]) -> Grant | str:
    """A grant id (to remove) or a new grant (to add), from a preview request."""
    if isinstance(body.get("grant_id"), str):
        return str(body["grant_id"])
    project_id = body.get("project_id")
    if not isinstance(project_id, str):
        raise ApiError(400, "bad_request", "project_id (or grant_id) is required")
    role_id, team_id = body.get("role_id"), body.get("team_id")
    for name, value in (("role_id", role_id), ("team_id", team_id)):
        if value is not None and not isinstance(value, str):
            raise ApiError(400, "bad_request", f"{name} must be a string")
    team_role = body.get("team_role")
    if team_role is not None and team_role not in tuple(r.value for r in TeamRole):
        raise ApiError(400, "bad_request", "team_role must be 'Admin' or 'Member'")
    return Grant(project_id, role_id, team_id, TeamRole(team_role) if team_role else None)


def _wait_param(request: Request) -> float:
    raw = request.query_params.get("wait")
    if not raw:
        return 0.0
    try:
        wait = float(raw)
    except ValueError:
        raise ApiError(400, "bad_request", "wait must be a number of seconds") from None
    if not 0 <= wait <= MAX_WAIT:
        raise ApiError(400, "bad_request", f"wait must be between 0 and {MAX_WAIT:g} seconds")
    return wait


def routes(db: Database, settings: Settings) -> list[BaseRoute]:
    """The feed's and the webhooks' routes, to mount on the app."""
    feed = FeedApi(db)
    return [
        Route(PREFIX + "/events", guarded(feed.list_events), methods=["GET"]),
        Route(PREFIX + "/members/{member_id}/events", guarded(feed.member_events), methods=["GET"]),
        Route(
            PREFIX + "/provisioning-log/{entry_id}/events",
            guarded(feed.request_events),
            methods=["GET"],
        ),
        Route(
            PREFIX + "/groups/{group_id}/grants/preview",
            guarded(feed.preview_grant),
            methods=["POST"],
        ),
        *webhooks_api.routes(db, settings),
    ]
