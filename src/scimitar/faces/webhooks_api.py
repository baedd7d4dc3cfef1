"""`/api/v1/webhooks`: an org's endpoints, their delivery log, and re-send.

POST   /api/v1/webhooks                      {"url", "events"} → 201 with id and secret (once)
GET    /api/v1/webhooks                      the endpoints (never their secrets)
GET    /api/v1/webhooks/{id}                 one endpoint
PATCH  /api/v1/webhooks/{id}                 {"url"?, "events"?, "enabled"?}
DELETE /api/v1/webhooks/{id}                 → 204
GET    /api/v1/webhooks/{id}/deliveries      newest first, each with its attempts
POST   /api/v1/webhook-deliveries/{id}/resend
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from scimitar.config import Settings
from scimitar.domain import webhooks
from scimitar.domain.context import Actor, ActorKind, Tx
from scimitar.domain.models import Org
from scimitar.domain.sealing import Sealer
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

Work = Callable[[Tx, Org], tuple[int, Any]]
_FIELDS = {"url", "events", "enabled"}


class WebhooksApi:
    def __init__(self, db: Database, sealer: Sealer) -> None:
        self.db = db
        self.sealer = sealer

    def _run(self, token: Caller, work: Work, *, write: bool) -> Response:
        with self.db.write() if write else self.db.read() as conn:
            tx = Tx(conn, Actor(ActorKind.API_TOKEN, "API token"))
            status, body = work(tx, authorize(tx, token))
        return json_response(body, status)

    async def _call(self, request: Request, work: Work, *, write: bool = False) -> Response:
        token = caller(request)
        return await run_in_threadpool(self._run, token, work, write=write)

    def _authenticate(self, token: Caller) -> None:
        with self.db.read() as conn:
            authorize(Tx(conn, Actor(ActorKind.API_TOKEN, "API token")), token)

    async def _body(self, request: Request, allowed: set[str]) -> dict[str, Any]:
        """The JSON body, read only once the token is known to be good."""
        await run_in_threadpool(self._authenticate, caller(request))
        return _only(await read_body(request), allowed)

    async def create(self, request: Request) -> Response:
        body = await self._body(request, {"url", "events"})
        if "url" not in body:
            raise ApiError(422, "invalid", "url is required")

        def work(tx: Tx, org: Org) -> tuple[int, Any]:
            endpoint, secret = webhooks.create_endpoint(
                tx, org, body["url"], body.get("events", ["*"]), sealer=self.sealer
            )
            return 201, {**endpoint.to_json(), "secret": secret}

        return await self._call(request, work, write=True)

    async def list(self, request: Request) -> Response:
        def work(tx: Tx, org: Org) -> tuple[int, Any]:
            return 200, {"webhooks": [e.to_json() for e in webhooks.list_endpoints(tx, org)]}

        return await self._call(request, work)

    async def get(self, request: Request) -> Response:
        endpoint_id = request.path_params["endpoint_id"]

        def work(tx: Tx, org: Org) -> tuple[int, Any]:
            return 200, webhooks.get_endpoint(tx, org, endpoint_id).to_json()

        return await self._call(request, work)

    async def update(self, request: Request) -> Response:
        endpoint_id = request.path_params["endpoint_id"]
        body = await self._body(request, _FIELDS)
        enabled = body.get("enabled")
        if enabled is not None and not isinstance(enabled, bool):
            raise ApiError(400, "bad_request", "enabled must be true or false")

        def work(tx: Tx, org: Org) -> tuple[int, Any]:
            endpoint = webhooks.get_endpoint(tx, org, endpoint_id)
            updated = webhooks.update_endpoint(
                tx,
                org,
                endpoint,
                url=body.get("url"),
                event_types=body.get("events"),
                enabled=enabled,
            )
            return 200, updated.to_json()

        return await self._call(request, work, write=True)

    async def delete(self, request: Request) -> Response:
        endpoint_id = request.path_params["endpoint_id"]

        def work(tx: Tx, org: Org) -> tuple[int, Any]:
            webhooks.delete_endpoint(tx, org, webhooks.get_endpoint(tx, org, endpoint_id))
            return 204, None

        return await self._call(request, work, write=True)

    async def deliveries(self, request: Request) -> Response:
        endpoint_id = request.path_params["endpoint_id"]

        def work(tx: Tx, org: Org) -> tuple[int, Any]:
            limit = int_param(request, "limit", 50, 1, 500)  # read once the caller is known
            state = request.query_params.get("state")
            if state not in (None, "pending", "succeeded", "failed"):
                raise ApiError(400, "bad_request", "state must be pending, succeeded or failed")
            endpoint = webhooks.get_endpoint(tx, org, endpoint_id)
            found = webhooks.list_deliveries(tx, org, endpoint, limit=limit, state=state)
            return 200, {"deliveries": [d.to_json() for d in found]}

        return await self._call(request, work)

    async def resend(self, request: Request) -> Response:
        delivery_id = request.path_params["delivery_id"]

        def work(tx: Tx, org: Org) -> tuple[int, Any]:
            delivery = webhooks.get_delivery(tx, org, delivery_id)
            return 202, webhooks.resend(tx, org, delivery).to_json()

        return await self._call(request, work, write=True)


def _only(body: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ApiError(400, "bad_request", f"Unknown field {unknown[0]!r}")
    return body


def routes(db: Database, settings: Settings) -> list[BaseRoute]:
    api = WebhooksApi(db, settings.sealer)
    one = PREFIX + "/webhooks/{endpoint_id}"
    return [
        Route(PREFIX + "/webhooks", guarded(api.create), methods=["POST"]),
        Route(PREFIX + "/webhooks", guarded(api.list), methods=["GET"]),
        Route(one, guarded(api.get), methods=["GET"]),
        Route(one, guarded(api.update), methods=["PATCH"]),
        Route(one, guarded(api.delete), methods=["DELETE"]),
        Route(one + "/deliveries", guarded(api.deliveries), methods=["GET"]),
        Route(
            PREFIX + "/webhook-deliveries/{delivery_id}/resend",
            guarded(api.resend),
            methods=["POST"],
        ),
    ]
