"""One HTTP request straight through the ASGI app, in process (no server, no socket): what
the benchmarks use to time a request's own cost."""

from __future__ import annotations

import asyncio
from typing import Any


async def call(app: Any, method: str, path: str, body: bytes = b"", *, key: str = "") -> int:
    """Send `method path` (query string included) with `body` and the bearer `key`; the
    status of the answer."""
    path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"authorization", f"Bearer {key}".encode()),
            (
                b"content-type",
                b"application/json" if path.startswith("/api/") else b"application/scim+json",
            ),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        raise AssertionError

    status: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]
