"""The small JSON wire shared by the feed and webhooks APIs: admin-API-token auth and the
admin API's error shape, `{"error": {"code", "detail"}}`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from scimitar.domain import keys, orgs
from scimitar.domain.context import Actor, ActorKind, Tx
from scimitar.domain.errors import DomainError
from scimitar.domain.models import Org
from scimitar.faces.admin.wire import (
    ApiError,
    BodyTooLarge,
    JsonResponse,
    error_response,
    from_domain,
    read_limited,
)

PREFIX = "/api/v1"
MAX_BODY = 65_536


def json_response(body: Any, status: int = 200) -> Response:
    return JsonResponse(body, status_code=status)


def bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401, "unauthorized", "Missing credentials: send 'Authorization: Bearer <API token>'"
        )
    return token.strip()


def token_actor(tx: Tx, token: str) -> Org:
    """The org an admin API token belongs to; sets `tx.actor` to the token."""
    org_id, info = keys.authenticate_api_token(tx, token)
    tx.actor = Actor(ActorKind.API_TOKEN, f"API token {info.name!r} …{info.hint}", info.id)
    return orgs.get_org(tx, org_id)


Handler = Callable[[Request], Awaitable[Response]]


def guarded(handler: Handler) -> Handler:
    """Turn problems and domain errors into JSON error responses."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)
        except DomainError as exc:
            return error_response(from_domain(exc))

    return run


def int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "bad_request", f"{name} must be an integer") from None
    if not low <= value <= high:
        raise ApiError(400, "bad_request", f"{name} must be between {low} and {high}")
    return value


async def read_body(request: Request) -> dict[str, Any]:
    try:
        raw = await read_limited(request, MAX_BODY)
    except BodyTooLarge as exc:
        raise ApiError(413, "too_large", str(exc)) from None
    try:
        body = orjson.loads(raw or b"{}")
    except orjson.JSONDecodeError:
        raise ApiError(400, "bad_request", "The body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "The body must be a JSON object")
    return body
