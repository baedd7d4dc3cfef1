"""The OpenAPI 3.1 document of the admin API, built from the route table."""

from __future__ import annotations

import re
from typing import Any

from scimitar.faces.admin.auth import SESSION_COOKIE
from scimitar.faces.admin.routes import ENDPOINTS, FEED_ENDPOINTS, PREFIX, Endpoint
from scimitar.faces.admin.schemas import COMPONENTS, STRING, ref

_PATH_PARAM = re.compile(r"{(\w+)}")
_ERRORS = {
    "400": "The body or query cannot be read (not JSON, wrong type, unknown field)",
    "401": "Missing, unknown, revoked or expired credentials",
    "403": "Not an Owner or Admin of the organization, an Owner-only action, or no CSRF header",
    "404": "Not found in this organization",
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
    errors = {
        **_ERRORS,
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
    if endpoint.request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(endpoint.request)}},
        }
    return operation


def document(server_url: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in (*ENDPOINTS, *FEED_ENDPOINTS):
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Scimitar admin API", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": server_url + PREFIX}],
        "security": [{"token": []}, {"session": []}],
        "paths": paths,
        "components": {
            "schemas": COMPONENTS,
            "securitySchemes": {
                "token": {"type": "http", "scheme": "bearer", "description": "sat-… token"},
                "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
            },
        },
    }
