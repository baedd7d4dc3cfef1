"""Secrets shown once across a Post/Redirect/Get: a new SCIM key, API token or webhook
signing secret travels from the action to the page it redirects to in a short-lived cookie,
sealed (AES-GCM under a key derived from the deployment secret, bound to the session and to
the kind of secret), and the page that shows it clears the cookie. A reload then finds no
cookie and says the secret was already shown; the secret is never in a URL, a log or the
database. Nothing is kept server-side, so any process may serve the redirected page."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.responses import Response

COOKIE = "scimitar_once"
PATH = "/console"
#: Long enough for the redirect to be followed; not a place to keep a secret.
MAX_AGE_SECONDS = 60
#: The URL parameter that says which kind of secret the page was redirected to show.
SHOWN = "shown"
SCIM_KEY = "scim-key"
API_TOKEN = "api-token"
WEBHOOK_SECRET = "webhook-secret"
SETUP_LINK = "setup-link"


def _cipher(secret_key: str) -> AESGCM:
    return AESGCM(hmac.new(secret_key.encode(), b"scimitar console once", "sha256").digest())


def _binding(session_token: str, kind: str) -> bytes:
    return kind.encode() + b"\x00" + hashlib.sha256(session_token.encode()).digest()


def seal(secret_key: str, session_token: str, kind: str, value: str) -> str:
    nonce = os.urandom(12)
    sealed = _cipher(secret_key).encrypt(nonce, value.encode(), _binding(session_token, kind))
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def unseal(secret_key: str, session_token: str, kind: str, sealed: str) -> str | None:
    """The value, or None when the cookie is not one this session sealed for `kind`."""
    try:
        raw = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        opened = _cipher(secret_key).decrypt(raw[:12], raw[12:], _binding(session_token, kind))
        return opened.decode()
    except (ValueError, InvalidTag, UnicodeDecodeError):
        return None


def set_cookie(response: Response, sealed: str, *, secure: bool) -> None:
    response.set_cookie(
        COOKIE,
        sealed,
        max_age=MAX_AGE_SECONDS,
        path=PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def clear_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE, path=PATH, secure=secure, httponly=True, samesite="strict")
