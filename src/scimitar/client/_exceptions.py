"""The client's one exception tree, mapped from the API's `{"error": {"code", "detail"}}`.

ScimitarError
├── ConnectionFailed   the server could not be reached (after any retries)
├── BadRequest         400 (and other 4xx): the request cannot be read
├── Unauthorized       401: missing, unknown, revoked or expired credentials
├── Forbidden          403: a valid credential that may not do this
├── NotFound           404: not in this organization
├── Conflict           409 `conflict`: a name is taken
├── PolicyError        409 `policy`: a rule forbids it in the current state
├── Invalid            422: a value is not acceptable
├── RateLimited        429: over the rate limit; `retry_after` seconds to wait
└── ServerError        5xx: the server failed, or is busy (503: retry later)
"""

from __future__ import annotations

from typing import Any

import httpx


class ScimitarError(Exception):
    """Base of every error the client raises."""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code
        self.response = response


class ConnectionFailed(ScimitarError):
    """The server could not be reached, or the connection broke (after any retries)."""


class BadRequest(ScimitarError):
    """400, or another 4xx without a class of its own: the request cannot be read."""


class Unauthorized(ScimitarError):
    """401: credentials missing, unknown, revoked or expired."""


class Forbidden(ScimitarError):
    """403: the credential is valid but may not do this."""


class NotFound(ScimitarError):
    """404: no such thing in this organization."""


class Conflict(ScimitarError):
    """409 `conflict`: a name is already taken."""


class PolicyError(ScimitarError):
    """409 `policy`: a rule forbids the change in the current state."""


class Invalid(ScimitarError):
    """422: well-formed input whose value is not acceptable."""


class RateLimited(ScimitarError):
    """429: over the rate limit; wait `retry_after` seconds (None when not said)."""

    def __init__(
        self,
        detail: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(detail, status=status, code=code, response=response)
        self.retry_after = retry_after


class ServerError(ScimitarError):
    """5xx: the server failed, or is unavailable or busy (503: retry later)."""


_BY_STATUS: dict[int, type[ScimitarError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: Invalid,
}


def retry_after(response: httpx.Response) -> float | None:
    """The `Retry-After` header in seconds (the delay form; a date is not used)."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)


def error_for(response: httpx.Response) -> ScimitarError:
    """The exception for an error answer."""
    code, detail = _code_and_detail(response)
    status = response.status_code
    context: dict[str, Any] = {"status": status, "code": code, "response": response}
    if status == 429:
        return RateLimited(detail, retry_after=retry_after(response), **context)
    if status >= 500:
        return ServerError(detail, **context)
    if status == 409 and code == "policy":
        return PolicyError(detail, **context)
    return _BY_STATUS.get(status, BadRequest)(detail, **context)


def _code_and_detail(response: httpx.Response) -> tuple[str | None, str]:
    fallback = f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        return None, response.text[:500] or fallback
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
        return _text(error.get("code")), _text(error.get("detail")) or fallback
    if isinstance(body, dict):  # the app's own answers (503 busy, 500): {"detail": ...}
        return None, _text(body.get("detail")) or fallback
    return None, fallback


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
