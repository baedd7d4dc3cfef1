"""Console sign-in with the org's own IdP (OpenID Connect): the org's connection, the
sign-ins in flight, and who a verified email signs in.

A sign-in in flight is a row (state, nonce, PKCE verifier), so any process behind a load
balancer can finish what another started; it is bound to the browser that started it by
the SHA-256 of a random value in a short-lived cookie, and it is used once. The client
secret is sealed (domain/identity/sealing.py) under the deployment's key, in the context of its org.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from scimitar.domain.context import Tx, fold, utc
from scimitar.domain.directory import organizations, people
from scimitar.domain.errors import InvalidError, NotFoundError, PolicyError
from scimitar.domain.identity.oidc import Provider, authorization_url
from scimitar.domain.identity.sealed_secrets import sso_context
from scimitar.domain.identity.sealing import Sealer, SealError
from scimitar.domain.models import Member, Org, OrgRole
from scimitar.domain.records import audit
from scimitar.storage.tables import member_emails, sso_connections, sso_states
from scimitar.storage.tables import orgs as orgs_table

#: How long a browser has to come back from the IdP.
STATE_LIFETIME = timedelta(minutes=10)
CALLBACK_PATH = "/console/sso/callback"
NO_CONNECTION = "{name} has not connected an identity provider for console sign-in"
SECRET_UNREADABLE = (
    "The stored client secret cannot be read (was the server's secret key changed?): "
    "the Owner must save the SSO connection again"
)


class SignInRefused(Exception):
    """A sign-in through the IdP that must not sign anyone in; `detail` says why."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Connection:
    org_id: str
    issuer: str
    client_id: str
    provider: Provider
    created: datetime
    last_modified: datetime


@dataclass(frozen=True)
class Pending:
    """A sign-in in flight, claimed by its callback."""

    org: Org
    nonce: str
    code_verifier: str
    test: bool


def redirect_uri(public_url: str) -> str:
    return public_url.rstrip("/") + CALLBACK_PATH


def get_connection(tx: Tx, org: Org) -> Connection | None:
    row = tx.conn.execute(select(sso_connections).where(sso_connections.c.org_id == org.id)).first()
    if row is None:
        return None
    return Connection(
        row.org_id,
        row.issuer,
        row.client_id,
        Provider.of_document(dict(row.provider)),
        utc(row.created),
        utc(row.last_modified),
    )


def client_secret(tx: Tx, org: Org, sealer: Sealer) -> str | None:
    """The connection's client secret; None when it does not open (the deployment's secret
    key changed): the Owner must save the connection again."""
    row = tx.conn.execute(
        select(sso_connections.c.client_secret).where(sso_connections.c.org_id == org.id)
    ).first()
    if row is None:
        raise NotFoundError(NO_CONNECTION.format(name=org.name))
    try:
        return sealer.unseal(row.client_secret, context=sso_context(org.id))
    except SealError:
        return None


def _check_client(client_id: str, client_secret: str | None) -> None:
    if not client_id.strip() or len(client_id) > 255:
        raise InvalidError("The client ID must be 1 to 255 characters (from your IdP's app)")
    if client_secret is not None and not 1 <= len(client_secret) <= 1000:
        raise InvalidError("The client secret must be 1 to 1000 characters (from your IdP's app)")


def set_connection(
    tx: Tx,
    org: Org,
    provider: Provider,
    *,
    client_id: str,
    client_secret: str | None,
    sealer: Sealer,
) -> Connection:
    """Connect (or reconnect) the org's IdP; `provider` comes from `oidc.discover`. Without a
    `client_secret`, an existing connection keeps its secret."""
    _check_client(client_id, client_secret)
    existing = get_connection(tx, org)
    if client_secret is None and existing is None:
        raise InvalidError("The client secret is required (from your IdP's app)")
    values: dict[str, Any] = {
        "issuer": provider.issuer,
        "client_id": client_id.strip(),
        "provider": provider.document(),
        "last_modified": tx.now,
    }
    if client_secret is not None:
        sealed = sealer.seal(client_secret, context=sso_context(org.id))
        values["client_secret"] = sealed
    if existing is None:
        tx.conn.execute(insert(sso_connections).values(org_id=org.id, created=tx.now, **values))
    else:
        tx.conn.execute(
            update(sso_connections).where(sso_connections.c.org_id == org.id).values(**values)
        )
    after = {"issuer": provider.issuer, "client_id": client_id.strip()}
    if client_secret is not None:
        after["client_secret"] = "(changed)"
    before = (
        None if existing is None else {"issuer": existing.issuer, "client_id": existing.client_id}
    )
    action = "sso.connected" if existing is None else "sso.updated"
    audit.record(tx, org.id, action, "org", org.id, before=before, after=after)
    connection = get_connection(tx, org)
    assert connection is not None
    return connection


def delete_connection(tx: Tx, org: Org) -> None:
    if get_connection(tx, org) is None:
        raise NotFoundError(NO_CONNECTION.format(name=org.name))
    if is_required(tx, org):
        raise PolicyError("SSO is required for Admins: turn sso_required off before disconnecting")
    tx.conn.execute(delete(sso_states).where(sso_states.c.org_id == org.id))
    tx.conn.execute(delete(sso_connections).where(sso_connections.c.org_id == org.id))
    audit.record(tx, org.id, "sso.disconnected", "org", org.id)


def is_required(tx: Tx, org: Org) -> bool:
    """The org's `sso_required` policy: Admins may not sign in with a password."""
    query = select(sso_connections.c.required).where(sso_connections.c.org_id == org.id)
    return bool(tx.conn.execute(query).scalar_one_or_none())


def set_required(tx: Tx, org: Org, required: bool) -> None:
    if required == is_required(tx, org):
        return
    if get_connection(tx, org) is None:
        raise PolicyError("Connect your identity provider (PUT /api/v1/sso) before requiring SSO")
    tx.conn.execute(
        update(sso_connections)
        .where(sso_connections.c.org_id == org.id)
        .values(required=required, last_modified=tx.now)
    )
    audit.record(
        tx,
        org.id,
        "org.updated",
        "org",
        org.id,
        before={"sso_required": not required},
        after={"sso_required": required},
    )


def org_for_sign_in(tx: Tx, slug: str, email: str) -> Org:
    """The org a "Sign in with SSO" form means: by slug, else by the email's domain when
    exactly one org with a connection allows that domain."""
    slug = slug.strip().lower()
    if slug:
        try:
            return organizations.get_org_by_slug(tx, slug)
        except NotFoundError:
            raise SignInRefused(f"No organization with the short name {slug!r}") from None
    _, at, domain = email.strip().lower().rpartition("@")
    if not at or not domain:
        raise SignInRefused("Enter your organization's short name or your work email")
    rows = tx.conn.execute(
        select(orgs_table).join(sso_connections, sso_connections.c.org_id == orgs_table.c.id)
    )
    found = [
        o for o in (organizations.org_from_row(r) for r in rows) if domain in o.allowed_domains
    ]
    if len(found) != 1:
        raise SignInRefused(
            f"No single organization signs in people from {domain} with SSO; "
            "enter your organization's short name"
        )
    return found[0]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def begin_sign_in(tx: Tx, org: Org, *, public_url: str, test: bool = False) -> tuple[str, str]:
    """Start a sign-in: the IdP URL to send the browser to, and the value for the browser's
    cookie that binds the sign-in to it."""
    connection = get_connection(tx, org)
    if connection is None:
        raise SignInRefused(NO_CONNECTION.format(name=org.name))
    state, nonce, browser = (secrets.token_urlsafe(32) for _ in range(3))
    code_verifier = secrets.token_urlsafe(64)  # 86 characters (RFC 7636: 43 to 128)
    tx.conn.execute(delete(sso_states).where(sso_states.c.expires < tx.now))
    tx.conn.execute(
        insert(sso_states).values(
            state_hash=_digest(state),
            org_id=org.id,
            browser_hash=_digest(browser),
            nonce=nonce,
            code_verifier=code_verifier,
            test=test,
            expires=tx.now + STATE_LIFETIME,
        )
    )
    url = authorization_url(
        connection.provider,
        client_id=connection.client_id,
        redirect_uri=redirect_uri(public_url),
        state=state,
        nonce=nonce,
        code_verifier=code_verifier,
    )
    return url, browser


def claim_sign_in(tx: Tx, state: str, browser: str | None) -> Pending | SignInRefused:
    """The sign-in `state` names, used up by this transaction whatever the outcome (so the
    caller commits, then raises the refusal): refused when it is unknown, used, expired, or
    was started in another browser."""
    if not state or len(state) > 200:
        return SignInRefused("The identity provider's answer carries no sign-in state; start again")
    key = _digest(state)
    row = tx.conn.execute(select(sso_states).where(sso_states.c.state_hash == key)).first()
    # The delete decides between two callbacks racing with one state: one of them wins.
    claimed = tx.conn.execute(delete(sso_states).where(sso_states.c.state_hash == key)).rowcount
    if row is None or not claimed:
        return SignInRefused(
            "This sign-in was already used or is unknown; start again from the sign-in page"
        )
    if utc(row.expires) <= tx.now:
        return SignInRefused("This sign-in took more than 10 minutes; start again")
    if not browser or not hmac.compare_digest(_digest(browser), row.browser_hash):
        return SignInRefused(
            "This sign-in was started in another browser (or its cookie was lost); "
            "start again in this browser"
        )
    return Pending(
        organizations.get_org(tx, row.org_id), row.nonce, row.code_verifier, bool(row.test)
    )


def member_for_claims(tx: Tx, org: Org, claims: dict[str, Any]) -> Member:
    """The active Owner or Admin whose userName (else email) is the token's verified email."""
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        raise SignInRefused(
            "The identity provider sent no email address: allow the 'email' scope and claim "
            "for this app"
        )
    verified = claims.get("email_verified", True)
    if verified is not True and verified != "true":
        raise SignInRefused(f"Your identity provider says {email} is not verified")
    member = people.find_member(tx, org, email) or _member_by_email(tx, org, email)
    if member is None:
        raise SignInRefused(f"{email} is not a member of {org.name}")
    if not member.active:
        raise SignInRefused(f"{email} is deactivated in {org.name}")
    if member.org_role not in (OrgRole.OWNER, OrgRole.ADMIN):
        raise SignInRefused(
            f"{email} is a {member.org_role.value} of {org.name}: only Owners and Admins can "
            "use the console"
        )
    return member


def _member_by_email(tx: Tx, org: Org, email: str) -> Member | None:
    ids = tx.conn.execute(
        select(member_emails.c.member_id)
        .where(member_emails.c.org_id == org.id, member_emails.c.value_key == fold(email))
        .distinct()
    ).all()
    # An address two members share names nobody in particular.
    if len(ids) != 1:
        return None
    return people.get_member(tx, org, ids[0].member_id)
