"""The admin API's wire: JSON in and out, one error shape, typed reading of inputs.

Every error is `{"error": {"code": ..., "detail": ...}}`. Domain errors map as:

| domain error    | status | code        | why                                                 |
| --------------- | ------ | ----------- | --------------------------------------------------- |
| NotFoundError   | 404    | not_found   | the thing is not in this organization               |
| ConflictError   | 409    | conflict    | a name is taken                                     |
| PolicyError     | 409    | policy      | a rule forbids it in the current state (the Owner   |
|                 |        |             | cannot be removed, a role in use cannot be deleted) |
| InvalidError    | 422    | invalid     | well-formed JSON whose value is not acceptable      |
| AuthError       | 401    | unauthorized| credential missing, unknown, revoked or expired     |

400 `bad_request` is for a body or query the API cannot read at all (not JSON, wrong type,
unknown field); 403 `forbidden` for a credential that is valid but not allowed (a Member, an
API token on an Owner-only action, a missing CSRF header, a credential of another kind).
The rest of the wire's statuses: 404 `not_found` and 405 `method_not_allowed` for a path or
method no endpoint takes, 413 `too_large`, 415 `unsupported_media_type`, 429
`rate_limited` (with `Retry-After`), 500 `internal`, 503 `unavailable` (a busy database or
a statement stopped at the time limit; `faces/app/failures.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from scimitar.domain.errors import (
    AuthError,
    ConflictError,
    DomainError,
    InvalidError,
    NotFoundError,
    PolicyError,
    from_refusal,
)
from scimitar.domain.events.addresses import AllowList
from scimitar.domain.identity.sealing import Sealer
from scimitar.storage.limits import ValueRefused

MAX_BODY = 1_048_576
#: What a handler returns: the HTTP status and the JSON body (None for 204).
Reply = tuple[int, Any]


class JsonResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        return orjson.dumps(content, option=orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z)


class ApiError(Exception):
    """Raised by the admin API face to answer with an error."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "detail": self.detail}}


def bad_request(detail: str) -> ApiError:
    return ApiError(400, "bad_request", detail)


def forbidden(detail: str) -> ApiError:
    return ApiError(403, "forbidden", detail)


def from_domain(error: DomainError) -> ApiError:
    if isinstance(error, NotFoundError):
        return ApiError(404, "not_found", error.detail)
    if isinstance(error, ConflictError):
        return ApiError(409, "conflict", error.detail)
    if isinstance(error, PolicyError):
        return ApiError(409, "policy", error.detail)
    if isinstance(error, AuthError):
        return ApiError(401, "unauthorized", error.detail)
    if isinstance(error, InvalidError):
        return ApiError(422, "invalid", error.detail)
    return bad_request(error.detail)


def refused(error: ValueRefused, path_values: Iterable[str]) -> ApiError:
    """A value no database takes (`storage.limits`): one to store is `invalid` (422), an id
    in the path names nothing (404), any other value looked up cannot be read (400)."""
    found = from_refusal(error, path_values)
    if isinstance(found, InvalidError) and not error.writing:
        return bad_request(error.detail)
    return from_domain(found)


def error_response(error: ApiError) -> JsonResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="scimitar-admin"'} if error.status == 401 else None
    return JsonResponse(error.body(), status_code=error.status, headers=headers)


class BodyTooLarge(Exception):
    """Raised by `read_limited` when a body is (or declares itself) larger than allowed."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Request body is larger than {limit} bytes")
        self.limit = limit


async def read_limited(request: Request, limit: int) -> bytes:
    """The raw body, read chunk by chunk and abandoned as soon as it passes `limit` (a body
    that declares a larger Content-Length is refused before any of it is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise BodyTooLarge(limit)
    return bytes(body)


async def read_body(request: Request, limit: int = MAX_BODY) -> Any:
    """The request body as JSON, of at most `limit` bytes; 415, 413 or 400 when it cannot
    be."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json")
    try:
        body = await read_limited(request, limit)
    except BodyTooLarge as exc:
        raise ApiError(413, "too_large", str(exc)) from None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"Request body is not valid JSON: {exc}") from None


@dataclass
class ApiCall:
    """One admin API request, as the handler in the worker thread sees it."""

    params: dict[str, str]
    query: dict[str, str]
    public_url: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: A long poll with time left: its handler may answer None to be run again shortly.
    waiting: bool = False
    #: When a long poll stops waiting (`time.monotonic()`); set on its first run.
    deadline: float | None = None
    #: Seals the secrets a request stores (webhook signing secrets, OIDC client secrets).
    sealer: Sealer | None = None
    #: The internal hosts webhooks may reach (`SCIMITAR_WEBHOOK_ALLOWED_HOSTS`).
    webhook_hosts: AllowList = field(default_factory=AllowList)
    #: What an endpoint's prefetch sent ahead for its handler (`Endpoint.prefetch`).
    memo: dict[str, Any] = field(default_factory=dict)

    def fields(self, allowed: tuple[str, ...]) -> dict[str, Any]:
        """The body as an object with only known fields (a typo is an error, not a no-op)."""
        if not isinstance(self.body, dict):
            raise bad_request("The request body must be a JSON object")
        unknown = sorted(set(self.body) - set(allowed))
        if unknown:
            raise bad_request(f"Unknown field {unknown[0]!r}; allowed: {', '.join(allowed)}")
        return self.body

    def text(self, name: str, *, default: str = "") -> str:
        return self.query.get(name, default).strip()

    def integer(self, name: str, default: int, *, low: int = 0, high: int = 10**12) -> int:
        found = self.optional_integer(name, low=low, high=high)
        return default if found is None else found

    def optional_integer(self, name: str, *, low: int = 0, high: int = 10**12) -> int | None:
        raw = self.query.get(name, "").strip()
        if not raw:
            return None
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not low <= int(raw) <= high:
            raise bad_request(f"Query parameter {name!r} must be an integer from {low} to {high}")
        return int(raw)

    def choice(self, name: str, allowed: tuple[str, ...]) -> str | None:
        raw = self.query.get(name, "").strip()
        if not raw:
            return None
        if raw not in allowed:
            raise bad_request(f"Query parameter {name!r} must be one of {', '.join(allowed)}")
        return raw


def string_field(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise bad_request(f"Field {name!r} is required")
        return None
    if not isinstance(value, str):
        raise bad_request(f"Field {name!r} must be a string")
    return value


def bool_field(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, bool):
        raise bad_request(f"Field {name!r} must be true or false")
    return value


def string_list_field(body: dict[str, Any], name: str) -> list[str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise bad_request(f"Field {name!r} must be a list of strings")
    return value
