"""Who is calling the admin API: an admin API token, or a signed-in console user.

An API token belongs to one org and acts as that org's admin. A console session is its
member, read again on every request: only active Owners and Admins get through. Requests
that change something with a session cookie must also carry the session's CSRF token in
`X-CSRF-Token` (a cookie alone is never enough to act).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from starlette.requests import Request

from scimitar.domain.context import Actor, ActorKind, Tx, utc
from scimitar.domain.errors import AuthError
from scimitar.domain.identity import keys, operators, sessions
from scimitar.domain.models import Member, Org, OrgRole
from scimitar.faces.web.wire import forbidden

SESSION_COOKIE = "scimitar_session"
#: The cookie of a browser that opened a setup link (the SCIM setup page only).
SETUP_COOKIE = "scimitar_setup"
NOT_AN_ADMIN = "Only Owners and Admins of the organization can use the console and the admin API"
ORG_CREDENTIAL_EXPECTED = (
    "An operator token manages organizations (/api/v1/orgs) and cannot act inside one: "
    "this endpoint expects an org API token (sat-…) or a console session "
    "(make one for the org with POST /api/v1/orgs/{slug}/api-tokens)"
)
SETUP_SESSION_HERE = (
    "A setup link opens the SCIM setup page only; the admin API expects an org API token "
    "(sat-…) or a console sign-in"
)


@dataclass(frozen=True)
class Credentials:
    """What a request presented: a bearer token, a session cookie, a CSRF header."""

    bearer: str | None
    session: str | None
    csrf: str | None
    #: A setup link's session cookie: never a credential here, but worth a clear refusal.
    setup_session: str | None = None


@dataclass(frozen=True)
class Principal:
    org: Org
    actor: Actor
    #: The signed-in console user; None for an API token.
    member: Member | None
    token_id: str | None = None
    token_stale: bool = False
    #: A console session's cookie token, when its `last_seen` is due to be recorded.
    session_to_touch: str | None = None
    #: The org's own API rate limit, for an API token (None: the deployment's).
    rate_limit: int | None = None
    #: The org's structure version, when read with the credential (`access.catalog`).
    structure_version: int | None = None

    @property
    def is_owner(self) -> bool:
        return self.member is not None and self.member.org_role is OrgRole.OWNER


def credentials_of(request: Request) -> Credentials:
    header = request.headers.get("authorization", "").strip()
    scheme, _, token = header.partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    if header and bearer is None:
        bearer = header  # an unusable header must fail, not fall back to the cookie
    if bearer is not None:  # a bearer credential is all that is looked at: no cookie read
        return Credentials(bearer, None, None)
    return Credentials(
        None,
        request.cookies.get(SESSION_COOKIE),
        request.headers.get("x-csrf-token"),
        request.cookies.get(SETUP_COOKIE),
    )


def console_actor(member: Member) -> Actor:
    return Actor(ActorKind.CONSOLE, member.user_name, member.id)


def authenticate(tx: Tx, credentials: Credentials, *, changes: bool) -> Principal:
    """The principal of a request, with `tx.actor` set to it; `AuthError` or 403 otherwise."""
    if credentials.bearer is not None:
        principal = _token_principal(tx, credentials.bearer)
    elif credentials.session is not None:
        principal = _session_principal(tx, credentials, changes=changes)
    elif credentials.setup_session is not None:
        raise forbidden(SETUP_SESSION_HERE)
    else:
        raise AuthError(
            "Missing credentials: send 'Authorization: Bearer <admin API token>' "
            "or sign in to the console"
        )
    tx.actor = principal.actor
    return principal


def _token_principal(tx: Tx, token: str) -> Principal:
    if operators.is_operator_token(token):
        operators.authenticate(tx, token)  # an unknown or revoked one is a 401
        raise forbidden(ORG_CREDENTIAL_EXPECTED)
    org, info = keys.authenticate_api_token(tx, token)
    actor = Actor(ActorKind.API_TOKEN, f"API token {info.name!r} …{info.hint}", info.id)
    stale = info.last_used is None or (tx.now - utc(info.last_used) > keys.LAST_USED_RESOLUTION)
    return Principal(
        org,
        actor,
        None,
        info.id,
        stale,
        rate_limit=info.rate_limit,
        structure_version=info.structure_version,
    )


def _session_principal(tx: Tx, credentials: Credentials, *, changes: bool) -> Principal:
    assert credentials.session is not None
    session = sessions.find_session(tx, credentials.session)
    if not sessions.can_administer(session.member):
        raise forbidden(NOT_AN_ADMIN)
    if changes and not hmac.compare_digest(
        (credentials.csrf or "").encode(), session.csrf_token.encode()
    ):
        raise forbidden("Send the console session's CSRF token in the X-CSRF-Token header")
    touch = credentials.session if session.needs_touch(tx.now) else None
    return Principal(
        session.org, console_actor(session.member), session.member, session_to_touch=touch
    )
