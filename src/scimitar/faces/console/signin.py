"""Sign-in and sign-out, and the cookies they use.

Before there is a session, the sign-in form is protected against login CSRF by a
double-submit token: a random nonce in a cookie, and its HMAC under the server's secret in
the form. A forged form cannot carry the HMAC of the victim's nonce, and a cookie planted
from a sibling domain cannot carry a valid HMAC either.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from starlette.responses import Response

from scimitar.domain.context import Tx
from scimitar.domain.directory import organizations
from scimitar.domain.errors import AuthError, NotFoundError
from scimitar.domain.identity import credentials, sessions
from scimitar.domain.models import Member
from scimitar.faces.web.auth import NOT_AN_ADMIN, SESSION_COOKIE, console_actor

SIGN_IN_COOKIE = "scimitar_sign_in"
SIGN_IN_PATH = "/console/sign-in"
BAD_CREDENTIALS = "Wrong organization, email or password"
REASONS = {
    "ended": sessions.SESSION_ENDED,
    "not-admin": NOT_AN_ADMIN,
    "signed-out": "You are signed out.",
    "setup-only": "A setup link opens the SCIM setup page only (at /console/setup); "
    "the rest of the console needs a sign-in.",
}


def form_token(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def form_token_valid(secret: str, nonce: str | None, token: str) -> bool:
    if not nonce or not token:
        return False
    return hmac.compare_digest(form_token(secret, nonce).encode(), token.encode())


@dataclass(frozen=True)
class SignInResult:
    """A session token to set as a cookie, or the reason the sign-in failed."""

    token: str | None
    error: str | None


def sign_in(tx: Tx, slug: str, email: str, password: str) -> SignInResult:
    """Check the password; the failure count is written by this transaction, so the caller
    commits it and only then reports the failure."""
    try:
        org = organizations.get_org_by_slug(tx, slug.strip().lower())
    except NotFoundError:
        outcome: Member | AuthError = credentials.refuse_unknown(password)
    else:
        outcome = credentials.sign_in(tx, org, email.strip(), password)
    if isinstance(outcome, AuthError):
        detail = BAD_CREDENTIALS if outcome.detail.startswith("Wrong") else outcome.detail
        return SignInResult(None, detail)
    tx.actor = console_actor(outcome)
    token, _ = sessions.start_session(tx, org, outcome)
    return SignInResult(token, None)


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(sessions.LIFETIME.total_seconds()),
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def set_nonce_cookie(response: Response, nonce: str, *, secure: bool) -> None:
    response.set_cookie(
        SIGN_IN_COOKIE,
        nonce,
        max_age=3600,
        path=SIGN_IN_PATH,
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="lax")
