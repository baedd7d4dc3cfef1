"""Webhook signatures: how Scimitar signs each delivery, and how a receiver checks it.

Every delivery carries a header

    Scimitar-Signature: t=1767225600,v1=5f0c…e1

where `t` is the Unix time of sending and `v1` the hex HMAC-SHA256, keyed with the
endpoint's signing secret, of `f"{t}.{body}"` (the raw request body, as bytes). A receiver
recomputes it and compares in constant time, and refuses old timestamps so a captured
delivery cannot be replayed later:

    from scimitar.webhooks import verify

    def handle(request):                       # in any web framework
        body = request.body                    # the raw bytes, before any JSON parsing
        header = request.headers["Scimitar-Signature"]
        if not verify(body, header, secret=os.environ["SCIMITAR_WEBHOOK_SECRET"]):
            return 400
        event = json.loads(body)               # {"id", "seq", "type", "time", "data", …}
        ...                                    # deliveries are at least once: dedupe by id
        return 200

A header may carry several `v1=` values (while a secret is being rotated); any match passes.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Scimitar-Signature"
DEFAULT_TOLERANCE = 300


def signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of `f"{timestamp}.{payload}"` under `secret`."""
    message = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    """The `Scimitar-Signature` header value for a payload sent now (or at `timestamp`)."""
    sent = int(time.time()) if timestamp is None else timestamp
    return f"t={sent},v1={signature(payload, secret, sent)}"


def verify(
    payload: bytes,
    header: str,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether `header` is a valid signature of `payload` under `secret`, made within
    `tolerance` seconds of `now` (default: the current time)."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = signature(payload, secret, timestamp)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
