"""The OpenAPI 3.1 document of the admin API, built from the route table."""

from __future__ import annotations

import re
from typing import Any

from scimitar.faces.admin.endpoint import PREFIX, Endpoint
from scimitar.faces.admin.platform_schemas import PLATFORM_COMPONENTS
from scimitar.faces.admin.routes import ENDPOINTS
from scimitar.faces.admin.schemas import COMPONENTS, STRING, ref
from scimitar.faces.web.auth import SESSION_COOKIE

_PATH_PARAM = re.compile(r"{(\w+)}")
_ERRORS = {
    "400": "The body or query cannot be read (not JSON, wrong type, unknown field)",
    "401": "Missing, unknown, revoked or expired credentials",
    "403": "Not an Owner or Admin of the organization, an Owner-only action, no CSRF header, "
    "or an operator token (it acts on organizations, not inside one)",
    "404": "Not found in this organization",
    "429": "Over the API token's rate limit (`rate_limited`); `Retry-After` says when to retry",
}
_OPERATOR_ERRORS = {
    **_ERRORS,
    "403": "Not an operator token: an org's API token, console session or SCIM key",
    "404": "No organization with this slug (or nothing with this id in it)",
}
_BODY_ERRORS = {
    "413": "The body is larger than the endpoint takes",
    "415": "The body is not sent as application/json",
}
_CHANGE_ERRORS = {
    "409": "A name is taken (`conflict`) or a rule forbids the change (`policy`)",
    "422": "A value is not acceptable (`invalid`)",
}
DESCRIPTION = """\
Everything the Scimitar console does, for automation. Authenticate with
`Authorization: Bearer sat-…` (an admin API token, created in the console or with
`scimitar api-token create`; it acts as an admin of its organization), or with a console
session cookie plus the session's CSRF token in `X-CSRF-Token` on every change.
The `/orgs` endpoints are the host platform's: they take an operator token
(`Authorization: Bearer sop-…`, made with `scimitar operator-token create`) and refuse every
other credential, while an operator token is refused everywhere else.
Errors are `{"error": {"code": "...", "detail": "..."}}`.
"""


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": STRING}
        for name in _PATH_PARAM.findall(endpoint.path)
    ] + [
        {"name": p.name, "in": "query", "description": p.description, "schema": p.schema}
        for p in endpoint.query
    ]
    success: dict[str, Any] = {"description": endpoint.summary}
    if endpoint.response is not None:
        success["content"] = {"application/json": {"schema": ref(endpoint.response)}}
    base = _OPERATOR_ERRORS if endpoint.operator else _ERRORS
    errors = {
        **base,
        **(_CHANGE_ERRORS if endpoint.changes else {}),
        **(_BODY_ERRORS if endpoint.request is not None else {}),
    }
    operation: dict[str, Any] = {
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "tags": [endpoint.tag],
        "parameters": parameters,
        "responses": {
            str(endpoint.status): success,
            **{code: _error(text) for code, text in errors.items()},
        },
    }
    if endpoint.owner_only:
        operation["security"] = [{"session": []}]
    if endpoint.operator:
        operation["security"] = [{"operator": []}]
    if endpoint.request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(endpoint.request)}},
        }
    return operation


def document(server_url: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Scimitar admin API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": server_url + PREFIX}],
        "security": [{"token": []}, {"session": []}],
        "paths": paths,
        "components": {
            "schemas": {**COMPONENTS, **PLATFORM_COMPONENTS},
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer", "description": "sat-… token"},
                "operator": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "sop-… operator token (the /orgs endpoints only)",
                },
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
            },
        },
    }
