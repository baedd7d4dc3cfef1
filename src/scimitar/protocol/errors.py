"""SCIM errors (RFC 7644 §3.12): one exception tree, rendered to the wire in one place.

ScimError (500)
├── BadRequest (400)
│   ├── InvalidFilter         scimType invalidFilter
│   ├── InvalidCursor         scimType invalidCursor (RFC 9865)
│   ├── ExpiredCursor         scimType expiredCursor (RFC 9865)
│   ├── InvalidCount          scimType invalidCount (RFC 9865)
│   ├── TooMany               scimType tooMany
│   ├── InvalidSyntax         scimType invalidSyntax
│   ├── InvalidPath           scimType invalidPath
│   ├── NoTarget              scimType noTarget
│   ├── InvalidValue          scimType invalidValue
│   ├── MutabilityViolation   scimType mutability
│   └── InvalidVersion        scimType invalidVers
├── Unauthorized (401)
├── Forbidden (403)
├── NotFound (404)
├── MethodNotAllowed (405)
├── Conflict (409)            scimType uniqueness
├── PreconditionFailed (412)
├── PayloadTooLarge (413)
├── UnsupportedMediaType (415)
├── NotImplementedFeature (501)
└── Unavailable (503)
"""

from __future__ import annotations

from typing import Any, ClassVar

from scimitar.protocol.schema import ERROR


class ScimError(Exception):
    """Base of every error that is answered as a SCIM Error response."""

    status: ClassVar[int] = 500
    scim_type: ClassVar[str | None] = None

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def to_scim(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "schemas": [ERROR],
            "detail": self.detail,
            "status": str(self.status),
        }
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body


class BadRequest(ScimError):
    """The request is malformed in a way no more specific scimType describes."""

    status = 400


class InvalidFilter(BadRequest):
    """A filter cannot be parsed, or names an attribute the server does not know."""

    scim_type = "invalidFilter"


class InvalidCursor(BadRequest):
    """RFC 9865 §2.1: a cursor the server did not issue, or issued for another query."""

    scim_type = "invalidCursor"


class ExpiredCursor(BadRequest):
    """RFC 9865 §2.1: a cursor older than the advertised `cursorTimeout`."""

    scim_type = "expiredCursor"


class InvalidCount(BadRequest):
    """RFC 9865 §2.1: a cursor page asked with another `count` than the first page."""

    scim_type = "invalidCount"


class TooMany(BadRequest):
    """A query would return more results than the server allows."""

    scim_type = "tooMany"


class InvalidSyntax(BadRequest):
    """The request body cannot be parsed or does not follow the message schema."""

    scim_type = "invalidSyntax"


class InvalidPath(BadRequest):
    """A PATCH path is malformed or names an unknown attribute."""

    scim_type = "invalidPath"


class NoTarget(BadRequest):
    """A PATCH path with a value filter matched nothing where a match is required."""

    scim_type = "noTarget"


class InvalidValue(BadRequest):
    """A value has the wrong type, is missing where required, or is not allowed."""

    scim_type = "invalidValue"


class MutabilityViolation(BadRequest):
    """The request tries to change an attribute that may not be changed."""

    scim_type = "mutability"


class InvalidVersion(BadRequest):
    """The request names a SCIM protocol version the server does not support."""

    scim_type = "invalidVers"


class Unauthorized(ScimError):
    """The request has no valid bearer credential."""

    status = 401


class Unavailable(ScimError):
    """The server cannot take the request now (the database is busy); retrying will do."""

    status = 503


class Forbidden(ScimError):
    """The credential is valid but may not do this."""

    status = 403


class NotFound(ScimError):
    """The resource or endpoint does not exist (for this organization)."""

    status = 404


class MethodNotAllowed(ScimError):
    """The endpoint exists but does not support the HTTP method."""

    status = 405


class Conflict(ScimError):
    """A unique attribute (userName, displayName) is already taken."""

    status = 409
    scim_type = "uniqueness"


class PreconditionFailed(ScimError):
    """`If-Match` names a version other than the resource's current one."""

    status = 412


class PayloadTooLarge(ScimError):
    """The request body is larger than the server accepts."""

    status = 413


class UnsupportedMediaType(ScimError):
    """The request body is not JSON."""

    status = 415


class TooManyRequests(ScimError):
    """The SCIM key is over its rate limit (RFC 6585 §4), answered as RFC 7644 §3.12 says."""

    status = 429


class NotImplementedFeature(ScimError):
    """An optional SCIM feature the server does not offer (e.g. /Bulk, /Me)."""

    status = 501
