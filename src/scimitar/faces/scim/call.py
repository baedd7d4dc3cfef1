"""What a SCIM handler receives and returns (no Starlette objects cross threads)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scimitar.faces.scim.render import etag
from scimitar.protocol import errors
from scimitar.protocol.cursors import CursorCodec


@dataclass
class Call:
    """One SCIM request: query parameter and header names lower-cased."""

    method: str
    path: str
    base: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: Any = None
    #: What was already worked out from the request (a parsed list request), so that
    #: deciding how to run it and running it parse it once.
    memo: dict[str, Any] = field(default_factory=dict)
    #: Issues and checks RFC 9865 cursors (the server's signing key).
    cursors: CursorCodec | None = None


@dataclass
class Outcome:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Already in the provisioning log (a write, logged in its own transaction).
    logged: bool = False


def check_if_match(call: Call, version: int) -> None:
    """`If-Match` is honoured when sent (RFC 7644 §3.14), never required."""
    wanted = call.headers.get("if-match")
    if wanted is None or wanted.strip() == "*":
        return
    tags = {tag.strip() for tag in wanted.split(",")}
    current = etag(version)
    if current not in tags and current.removeprefix("W/") not in tags:
        raise errors.PreconditionFailed(
            f"The resource is at version {current}, not {wanted}; read it again and retry"
        )


def not_modified(call: Call, version: int) -> bool:
    wanted = call.headers.get("if-none-match")
    return wanted is not None and etag(version) in {t.strip() for t in wanted.split(",")}
