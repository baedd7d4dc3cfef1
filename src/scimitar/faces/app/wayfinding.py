"""What a person or a client meets outside the faces' own routes: `/` leads to the console,
`/api/v1` answers with an index, and an unknown path or a wrong method answers in the format
of the face it was meant for (the admin API's JSON error, SCIM's Error, the console's page)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Route

from scimitar.faces import ALLOWED_METHODS
from scimitar.faces.admin.endpoint import PREFIX
from scimitar.faces.scim.wire import ScimResponse
from scimitar.faces.web.wire import ApiError, error_response
from scimitar.protocol.schema import ERROR

DOCS = "https://github.com/scimitar/scimitar#console-and-admin-api"
#: Renders the console's own not-found page (the console owns its templates).
ConsolePage = Callable[[int, str], Response]


async def root(_request: Request) -> Response:
    # The console sends a signed-out browser on to its sign-in page.
    return RedirectResponse("/console", status_code=303)


async def api_index(request: Request) -> Response:
    public = request.app.state.settings.public_url
    return JSONResponse(
        {
            "name": "Scimitar admin API",
            "version": "v1",
            "openapi": f"{public}{PREFIX}/openapi.json",
            "docs": DOCS,
            "authentication": "Authorization: Bearer <admin API token> (sat-…)",
        }
    )


def routes() -> list[BaseRoute]:
    return [Route("/", root, methods=["GET"]), Route(PREFIX, api_index, methods=["GET"])]


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (a 405's `Allow` header)."""
    found: set[str] = set()
    scope: dict[str, Any] = {**request.scope, "method": "\x00"}
    for route in request.app.router.routes:
        match, child = route.matches(scope)
        if match is Match.PARTIAL:
            found.update(child.get(ALLOWED_METHODS) or getattr(route, "methods", None) or ())
    return sorted(found)


def handler(console_page: ConsolePage) -> Callable[[Request, Exception], Response]:
    """Starlette's 404 and 405, in each face's format."""

    def answer(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        path = request.url.path
        status = exc.status_code
        headers: dict[str, str] = {}
        if status == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
            detail = f"{request.method} is not allowed on {path}"
        else:
            detail = f"Nothing at {path}"
        if path == PREFIX or path.startswith(PREFIX + "/"):
            code = "method_not_allowed" if status == 405 else "not_found"
            api_error = error_response(ApiError(status, code, detail))
            api_error.headers.update(headers)
            return api_error
        if path == "/scim" or path.startswith("/scim/"):
            body = {"schemas": [ERROR], "status": str(status), "detail": detail}
            return ScimResponse(body, status_code=status, headers=headers)
        if path == "/console" or path.startswith("/console/"):
            response = console_page(status, detail)
            response.headers.update(headers)
            return response
        return PlainTextResponse(detail, status_code=status, headers=headers)

    return answer
