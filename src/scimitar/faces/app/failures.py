"""Answers for what no face handled: an unexpected error (500), a database busy past its
timeout or a statement stopped at the time limit (503); a path no route takes (404, 405) is
`wayfinding`'s. Each in the face's own error body: SCIM's error JSON under `/scim`, the admin API's
`{"error": {"code", "detail"}}` elsewhere, a plain page under `/console`.

The error is answered here and not raised on: Starlette's own handler re-raises after
answering, and the server then closes the connection, so one bad request cost every request
queued behind it on that keep-alive connection.
"""

from __future__ import annotations

import html
import logging
from typing import Any

import orjson
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scimitar.faces.scim.wire import ScimResponse
from scimitar.protocol.schema import ERROR
from scimitar.storage.database import unavailable

log = logging.getLogger("scimitar")

INTERNAL = "Internal server error"
_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    500: "internal",
    503: "unavailable",
}


def error_for(
    path: str, status: int, detail: str, headers: dict[str, str] | None = None
) -> Response:
    """The error response of the face that serves `path`."""
    if path == "/scim" or path.startswith("/scim/"):
        body = {"schemas": [ERROR], "status": str(status), "detail": detail}
        return ScimResponse(body, status_code=status, headers=headers)
    if path == "/console" or path.startswith("/console/"):
        page = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{html.escape(detail)}"
        return HTMLResponse(page, status_code=status, headers=headers)
    error = {"error": {"code": _CODES.get(status, "error"), "detail": detail}}
    return Response(
        orjson.dumps(error), status_code=status, headers=headers, media_type="application/json"
    )


class AnswerFailures:
    """Answer an exception no face handled, in the face's error body, and keep serving."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:  # part of an answer is out: nothing to do but drop the connection
                raise
            response = self.answer(scope, exc)
            await response(scope, receive, send)

    @staticmethod
    def answer(scope: Scope, exc: Exception) -> Response:
        path: str = scope.get("path", "")
        method: Any = scope.get("method")
        retry = unavailable(exc)  # busy, or a statement stopped at the time limit
        if retry is not None:
            log.warning("%s on %s %s", retry, method, path)
            return error_for(path, 503, retry, {"Retry-After": "1"})
        log.exception("unhandled error on %s %s", method, path, exc_info=exc)
        return error_for(path, 500, INTERNAL)
