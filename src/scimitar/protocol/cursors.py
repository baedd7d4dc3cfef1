"""Cursors for RFC 9865 cursor-based pagination: opaque, signed, stateless.

A cursor names where the next (or previous) page starts, for one org, one resource type and
one query (filter, sortBy, sortOrder, count). Pages in the default order are keyset pages:
a cursor holds the `seq` of the row it continues from, so rows added or removed meanwhile
never shift a page, and the last page costs what the first does. With `sortBy` a cursor
holds the page's position. The server keeps nothing: a cursor is its JSON payload and an
HMAC-SHA256 tag, base64url-encoded (RFC 3986 unreserved characters only), valid for
`CURSOR_TIMEOUT` seconds. Anything altered, forged or used elsewhere is `invalidCursor`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from scimitar.protocol import errors

#: Seconds a cursor stays valid (advertised as `pagination.cursorTimeout`).
CURSOR_TIMEOUT = 3600
_TAG_BYTES = 16


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after the row `after`, before the row `before` (keyset, by
    `seq`), or at `offset` (with sortBy)."""

    after: int | None = None
    before: int | None = None
    offset: int | None = None


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Issues and checks cursors with a server-wide secret (shared by every process)."""

    def __init__(self, secret: bytes, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._now = clock

    def _tag(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, cursor: Cursor, *, org_id: str, query: str, count: int) -> str:
        payload = orjson.dumps(
            {
                "o": org_id,
                "q": query,
                "n": count,
                "a": cursor.after,
                "b": cursor.before,
                "p": cursor.offset,
                "t": int(self._now()),
            }
        )
        return f"{_b64(payload)}.{_b64(self._tag(payload))}"

    def decode(self, token: str, *, org_id: str, query: str, count: int) -> Cursor:
        """The cursor in `token`, if this server issued it for this org and query and it
        has not expired; otherwise the RFC 9865 error that says why."""
        invalid = errors.InvalidCursor(
            "Cursor value is invalid: send an empty cursor for the first page, then the "
            "nextCursor or previousCursor of the previous response"
        )
        encoded, _, tag = token.partition(".")
        try:
            payload, given = _unb64(encoded), _unb64(tag)
        except ValueError:
            raise invalid from None
        if not hmac.compare_digest(self._tag(payload), given):
            raise invalid
        try:  # signed by us, so well-formed, unless the format changed under it
            data = orjson.loads(payload)
            cursor = Cursor(after=data["a"], before=data["b"], offset=data["p"])
            issued_for, issued_count, issued_at = (data["o"], data["q"]), data["n"], data["t"]
        except (ValueError, KeyError, TypeError):
            raise invalid from None
        if issued_for != (org_id, query):
            raise errors.InvalidCursor(
                "This cursor belongs to another query: send the filter, sortBy and sortOrder "
                "of the first request unchanged, with the cursor"
            )
        if issued_count != count:
            raise errors.InvalidCount(
                f"count must stay {issued_count}, as in the request that returned this cursor"
            )
        if self._now() - issued_at > CURSOR_TIMEOUT:
            raise errors.ExpiredCursor(
                f"Cursor has expired: cursors are valid for {CURSOR_TIMEOUT} seconds; "
                "start again with an empty cursor"
            )
        return cursor


def server_key(secret: str) -> bytes:
    """The cursor signing key derived from a server secret (never the secret itself)."""
    return hmac.new(secret.encode(), b"scimitar scim cursors", hashlib.sha256).digest()
