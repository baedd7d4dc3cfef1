"""The small JSON wire shared by the feed and webhooks APIs: the admin API's callers (an
admin API token or a console session) and its error shape, `{"error": {"code", "detail"}}`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from scimitar.domain.context import Tx
from scimitar.domain.errors import DomainError
from scimitar.domain.models import Org
from scimitar.faces.admin import wire
from scimitar.faces.admin.auth import Credentials, authenticate, credentials_of
from scimitar.faces.admin.wire import ApiError, JsonResponse, error_response, from_domain, refused
from scimitar.storage.limits import ValueRefused

PREFIX = "/api/v1"
MAX_BODY = 65_536


def json_response(body: Any, status: int = 200) -> Response:
    return JsonResponse(body, status_code=status)


@dataclass(frozen=True)
class Caller:
    """What a request presented, and whether it asks for a change (a session must then
    carry its CSRF token, as in the rest of the admin API)."""

    credentials: Credentials
    changes: bool


def caller(request: Request) -> Caller:
    """An admin API token (`Authorization: Bearer sat-…`) or the console's session cookie."""
    return Caller(credentials_of(request), request.method not in ("GET", "HEAD"))


def authorize(tx: Tx, caller: Caller) -> Org:
    """The caller's org, with `tx.actor` set to the caller (as every admin API endpoint)."""
    return authenticate(tx, caller.credentials, changes=caller.changes).org


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
        except ValueRefused as exc:
            return error_response(refused(exc, request.path_params.values()))

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
    """A JSON object body, read as the rest of the admin API reads one (415, 413, 400)."""
    body = await wire.read_body(request, MAX_BODY)
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "The body must be a JSON object")
    return body
