"""Console sessions, and the secrets the server shares between its processes.

A session lives in the database, so any Scimitar process behind a load balancer can serve
it and sign-out ends it everywhere at once. The cookie carries a 256-bit random token and
the table keeps only its SHA-256 (as for keys). Each session has its own CSRF token for the
console's forms. The member is read again on every request, so a removed, deactivated or
demoted admin loses the console at once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from scimitar.domain.context import SYSTEM_ACTOR, Tx, utc
from scimitar.domain.directory import organizations, people
from scimitar.domain.errors import AuthError, NotFoundError
from scimitar.domain.identity.keys import hash_secret
from scimitar.domain.models import Member, Org, OrgRole
from scimitar.domain.records import audit
from scimitar.storage.database import Database
from scimitar.storage.tables import console_sessions, server_secrets

LIFETIME = timedelta(hours=12)
#: A session unused this long ends (whatever its lifetime left).
IDLE_TIMEOUT = timedelta(hours=1)
#: How stale `last_seen` may get before a request records it again (one write a minute at
#: most per session, not one per click).
TOUCH_AFTER = timedelta(minutes=1)
SESSION_ENDED = "Your session has ended; sign in again"


@dataclass(frozen=True)
class Session:
    """A signed-in console user: the org, the member as they are now, the form token."""

    org: Org
    member: Member
    csrf_token: str
    expires: datetime
    last_seen: datetime

    def needs_touch(self, now: datetime) -> bool:
        """Whether this request should record itself (`touch_session`)."""
        return now - self.last_seen >= TOUCH_AFTER


def can_administer(member: Member) -> bool:
    """Whether a member may use the console and the admin API (active Owners and Admins)."""
    return member.active and member.org_role in (OrgRole.OWNER, OrgRole.ADMIN)


def start_session(
    tx: Tx, org: Org, member: Member, *, via: str | None = None
) -> tuple[str, Session]:
    """Sign a member in; returns the cookie token (shown to the browser only) and the session.
    `via` names a way in other than the password (audited)."""
    token = secrets.token_urlsafe(32)
    csrf_token = secrets.token_urlsafe(32)
    expires = tx.now + LIFETIME
    # Housekeeping: the member's expired sessions go when a new one starts.
    tx.conn.execute(
        delete(console_sessions).where(
            console_sessions.c.member_id == member.id, console_sessions.c.expires < tx.now
        )
    )
    tx.conn.execute(
        insert(console_sessions).values(
            token_hash=hash_secret(token),
            org_id=org.id,
            member_id=member.id,
            csrf_token=csrf_token,
            created=tx.now,
            expires=expires,
            last_seen=tx.now,
        )
    )
    after = {"via": via} if via else None
    audit.record(tx, org.id, "console.signed_in", "member", member.id, after=after)
    return token, Session(org, member, csrf_token, expires, tx.now)


def find_session(tx: Tx, token: str) -> Session:
    """The session a cookie token belongs to; `AuthError` when unknown, expired, or unused
    for `IDLE_TIMEOUT`."""
    if not token or len(token) > 200:
        raise AuthError(SESSION_ENDED)
    row = tx.conn.execute(
        select(console_sessions).where(console_sessions.c.token_hash == hash_secret(token))
    ).first()
    if row is None or utc(row.expires) <= tx.now:
        raise AuthError(SESSION_ENDED)
    last_seen = utc(row.last_seen if row.last_seen is not None else row.created)
    if tx.now - last_seen >= IDLE_TIMEOUT:
        raise AuthError(SESSION_ENDED)
    try:
        org = organizations.get_org(tx, row.org_id)
        member = people.get_member(tx, org, row.member_id)
    except NotFoundError:
        raise AuthError(SESSION_ENDED) from None
    return Session(org, member, row.csrf_token, utc(row.expires), last_seen)


def touch_session(tx: Tx, token: str) -> None:
    """Record that the session was used now (its idle time starts again)."""
    tx.conn.execute(
        update(console_sessions)
        .where(console_sessions.c.token_hash == hash_secret(token))
        .values(last_seen=tx.now)
    )


def end_session(tx: Tx, token: str) -> None:
    """Sign out: the session stops working in every process at once."""
    digest = hash_secret(token)
    row = tx.conn.execute(
        select(console_sessions.c.org_id, console_sessions.c.member_id).where(
            console_sessions.c.token_hash == digest
        )
    ).first()
    if row is None:
        return
    tx.conn.execute(delete(console_sessions).where(console_sessions.c.token_hash == digest))
    audit.record(tx, row.org_id, "console.signed_out", "member", row.member_id)


def end_member_sessions(tx: Tx, member: Member) -> None:
    """End every console session of a member, in every process at once."""
    tx.conn.execute(delete(console_sessions).where(console_sessions.c.member_id == member.id))


def shared_secret(tx: Tx, name: str) -> str:
    """A server-wide secret, generated on first use and stored so that all processes agree."""
    query = select(server_secrets.c.value).where(server_secrets.c.name == name)
    value = tx.conn.execute(query).scalar_one_or_none()
    if value is not None:
        return str(value)
    try:
        # A savepoint, so that losing the race to another process leaves this
        # transaction usable (PostgreSQL aborts a transaction on a failed insert).
        with tx.conn.begin_nested():
            tx.conn.execute(
                insert(server_secrets).values(
                    name=name, value=secrets.token_urlsafe(48), created=tx.now
                )
            )
    except IntegrityError:
        pass
    return str(tx.conn.execute(query).scalar_one())


def deployment_secret(db: Database, configured: str | None, name: str) -> str:
    """`configured` (`SCIMITAR_SECRET_KEY`) when set, else the secret stored as `name`:
    made once, shared by every process of the deployment through the database."""
    if configured is not None:
        return configured
    with db.write() as conn:
        return shared_secret(Tx(conn, SYSTEM_ACTOR), name)
