"""The SCIM wire: JSON bodies in, `application/scim+json` out, errors as RFC 7644 §3.12."""

from __future__ import annotations

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
)
from scimitar.protocol import errors
from scimitar.protocol.errors import ScimError

MEDIA_TYPE = "application/scim+json"
MAX_DEPTH = 32
_JSON_TYPES = ("application/scim+json", "application/json")


class ScimResponse(Response):
    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        if content is None:
            return b""
        return orjson.dumps(content)


def error_response(error: ScimError) -> ScimResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if error.status == 401 else None
    return ScimResponse(error.to_scim(), status_code=error.status, headers=headers)


def to_scim_error(error: DomainError) -> ScimError:
    """The SCIM error for a broken domain rule."""
    if isinstance(error, NotFoundError):
        return errors.NotFound(error.detail)
    if isinstance(error, ConflictError):
        return errors.Conflict(error.detail)
    if isinstance(error, PolicyError):
        return errors.MutabilityViolation(error.detail)
    if isinstance(error, AuthError):
        return errors.Unauthorized(error.detail)
    if isinstance(error, InvalidError):
        return errors.InvalidValue(error.detail)
    return errors.BadRequest(error.detail)


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a JSON value, stopping early past `limit`."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


async def read_json(request: Request, max_bytes: int) -> Any:
    """The request body as JSON; 413, 415 or 400 `invalidSyntax` when it cannot be."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type not in _JSON_TYPES:
        raise errors.UnsupportedMediaType(
            f"Content-Type {content_type!r} is not supported; send application/scim+json"
        )
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.isascii()
        and declared.isdigit()
        and int(declared) > max_bytes
    ):
        raise errors.PayloadTooLarge(f"Request body is larger than {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_bytes:
            raise errors.PayloadTooLarge(f"Request body is larger than {max_bytes} bytes")
    if not body.strip():
        raise errors.InvalidSyntax("Request body is empty; a JSON object is required")
    try:
        value = orjson.loads(bytes(body))
    except orjson.JSONDecodeError as exc:
        raise errors.InvalidSyntax(f"Request body is not valid JSON: {exc}") from None
    if _depth(value, MAX_DEPTH) > MAX_DEPTH:
        raise errors.InvalidSyntax(f"Request body is nested more than {MAX_DEPTH} levels deep")
    return value


def bearer_token(header: str | None) -> str | None:
    """The key in an `Authorization` header's value."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() == "bearer":
        return token.strip() or None
    # Some clients paste the key without the scheme.
    return header.strip() if header.strip().startswith("scim-") else None


_SECRET_NAMES = ("password", "secret", "token")


def _is_secret_name(key: str) -> bool:
    """`password`, `Password`, `urn:…:User:password`, `name.password`: the last segment."""
    last = key.lower().rsplit(":", 1)[-1].rsplit(".", 1)[-1]
    return last in _SECRET_NAMES


def redact(value: Any) -> Any:
    """A copy of a request body safe to log: passwords and secrets replaced, whatever the
    case or qualification of the key (PATCH keys are case-insensitive and may be URNs)."""
    if isinstance(value, dict):
        # A PATCH operation that targets a secret carries it in `value`.
        path = next((v for k, v in value.items() if k.lower() == "path"), "")
        secret_op = isinstance(path, str) and _is_secret_name(path.split("[")[0])
        return {
            k: "[redacted]"
            if _is_secret_name(k) or (secret_op and k.lower() == "value")
            else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
