"""Setup links: a one-time, expiring URL that opens an org's SCIM setup page for the
customer's IT admin, who has no account (WorkOS's Admin Portal link, self-hosted).

Only the SHA-256 of a link's 256-bit secret is stored. Opening the link spends it (one
conditional UPDATE, so two browsers racing for it cannot both win) and starts a setup
session: a cookie token (hashed in `setup_sessions`) that the console accepts on the SCIM
setup page only. A spent, expired or revoked link says which, and to ask for a new one.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, delete, insert, select, update

from scimitar.domain.context import Actor, ActorKind, Tx, new_id, utc
from scimitar.domain.directory import organizations
from scimitar.domain.errors import AuthError, InvalidError, NotFoundError
from scimitar.domain.identity.keys import hash_secret
from scimitar.domain.models import Org
from scimitar.domain.records import audit
from scimitar.storage.tables import setup_links, setup_sessions

DEFAULT_LIFETIME = timedelta(days=7)
MIN_LIFETIME = timedelta(minutes=5)
MAX_LIFETIME = timedelta(days=30)
#: How long the browser that opened a link may use the setup page.
SESSION_LIFETIME = timedelta(hours=4)
_ID = re.compile(r"[0-9a-f-]{36}")
SETUP_SESSION_ENDED = (
    "This setup session has ended; ask the person who sent you the link for a new one"
)


class LinkState(StrEnum):
    ACTIVE = "active"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class SetupLink:
    """What may be shown about a link: never its secret."""

    id: str
    org_id: str
    created_by: str
    created: datetime
    expires: datetime
    used: datetime | None
    revoked: datetime | None

    def state(self, now: datetime) -> LinkState:
        if self.revoked is not None:
            return LinkState.REVOKED
        if self.used is not None:
            return LinkState.USED
        if utc(self.expires) <= now:
            return LinkState.EXPIRED
        return LinkState.ACTIVE

    @property
    def actor(self) -> Actor:
        return Actor(ActorKind.SETUP_LINK, f"setup link made by {self.created_by}", self.id)


@dataclass(frozen=True)
class SetupSession:
    """A browser that opened a setup link: one org's SCIM setup page, nothing else."""

    org: Org
    link: SetupLink
    csrf_token: str
    expires: datetime


def _link(row: Row[Any]) -> SetupLink:
    return SetupLink(
        row.id, row.org_id, row.created_by, row.created, row.expires, row.used, row.revoked
    )


def lifetime(seconds: int | None) -> timedelta:
    """The lifetime asked for (`expires_in`), within bounds."""
    if seconds is None:
        return DEFAULT_LIFETIME
    wanted = timedelta(seconds=seconds)
    if not MIN_LIFETIME <= wanted <= MAX_LIFETIME:
        raise InvalidError(
            f"expires_in must be between {int(MIN_LIFETIME.total_seconds())} and "
            f"{int(MAX_LIFETIME.total_seconds())} seconds (5 minutes to 30 days)"
        )
    return wanted


def create_link(tx: Tx, org: Org, expires_in: int | None = None) -> tuple[str, SetupLink]:
    """A new setup link of the org; returns its secret (for the URL, shown once) and it."""
    expires = tx.now + lifetime(expires_in)
    secret = secrets.token_urlsafe(32)
    link = SetupLink(new_id(), org.id, tx.actor.label, tx.now, expires, None, None)
    tx.conn.execute(
        insert(setup_links).values(
            id=link.id,
            org_id=org.id,
            secret_hash=hash_secret(secret),
            created_by=link.created_by,
            created=link.created,
            expires=link.expires,
        )
    )
    after = {"expires": expires.isoformat()}
    audit.record(tx, org.id, "setup_link.created", "setup_link", link.id, after=after)
    return secret, link


def list_links(tx: Tx, org: Org) -> list[SetupLink]:
    """The org's setup links, newest first."""
    query = (
        select(setup_links)
        .where(setup_links.c.org_id == org.id)
        .order_by(setup_links.c.created.desc(), setup_links.c.id)
    )
    return [_link(row) for row in tx.conn.execute(query)]


def revoke_link(tx: Tx, org: Org, link_id: str) -> None:
    """Stop a link: unopened, it no longer opens; opened, its setup session ends."""
    if not _ID.fullmatch(link_id):  # not an id at all (PostgreSQL would refuse a NUL)
        raise NotFoundError(f"Setup link {link_id!r} not found")
    result = tx.conn.execute(
        update(setup_links)
        .where(setup_links.c.org_id == org.id, setup_links.c.id == link_id)
        .values(revoked=tx.now)
    )
    if not result.rowcount:
        raise NotFoundError(f"Setup link {link_id} not found")
    tx.conn.execute(delete(setup_sessions).where(setup_sessions.c.link_id == link_id))
    audit.record(tx, org.id, "setup_link.revoked", "setup_link", link_id)


def find_link(tx: Tx, secret: str) -> SetupLink | None:
    if not secret or len(secret) > 200:
        return None
    row = tx.conn.execute(
        select(setup_links).where(setup_links.c.secret_hash == hash_secret(secret))
    ).first()
    return _link(row) if row else None


def open_link(tx: Tx, secret: str) -> tuple[str, SetupSession] | LinkState | None:
    """Spend a link and start its setup session (cookie token, session). A link that cannot
    be opened gives its state (used, expired, revoked); an unknown secret gives None."""
    link = find_link(tx, secret)
    if link is None:
        return None
    spent = tx.conn.execute(
        update(setup_links)
        .where(
            setup_links.c.id == link.id,
            setup_links.c.used.is_(None),
            setup_links.c.revoked.is_(None),
            setup_links.c.expires > tx.now,
        )
        .values(used=tx.now)
    )
    if not spent.rowcount:
        again = find_link(tx, secret)  # another browser may have just spent it
        state = (again or link).state(tx.now)
        return LinkState.USED if state is LinkState.ACTIVE else state
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = tx.now + SESSION_LIFETIME
    tx.conn.execute(
        insert(setup_sessions).values(
            token_hash=hash_secret(token),
            org_id=link.org_id,
            link_id=link.id,
            csrf_token=csrf,
            created=tx.now,
            expires=expires,
        )
    )
    tx.actor = link.actor
    audit.record(tx, link.org_id, "setup_link.used", "setup_link", link.id)
    org = organizations.get_org(tx, link.org_id)
    used = SetupLink(
        link.id, link.org_id, link.created_by, link.created, link.expires, tx.now, None
    )
    return token, SetupSession(org, used, csrf, expires)


def find_session(tx: Tx, token: str) -> SetupSession:
    """The setup session of a cookie token; `AuthError` when unknown, ended or revoked."""
    if not token or len(token) > 200:
        raise AuthError(SETUP_SESSION_ENDED)
    row = tx.conn.execute(
        select(
            setup_links,
            setup_sessions.c.csrf_token,
            setup_sessions.c.expires.label("session_expires"),
        )
        .join(setup_links, setup_links.c.id == setup_sessions.c.link_id)
        .where(setup_sessions.c.token_hash == hash_secret(token))
    ).first()
    if row is None or utc(row.session_expires) <= tx.now or row.revoked is not None:
        raise AuthError(SETUP_SESSION_ENDED)
    org = organizations.get_org(tx, row.org_id)
    return SetupSession(org, _link(row), row.csrf_token, utc(row.session_expires))
