"""Console sign-in for Owners and Admins: argon2 password hashes and lockout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update

from scimitar.domain.context import Tx, fold, utc
from scimitar.domain.directory.people import get_member
from scimitar.domain.errors import AuthError, InvalidError, PolicyError
from scimitar.domain.identity import sessions, sso
from scimitar.domain.models import Member, Org, OrgRole
from scimitar.domain.records import audit
from scimitar.storage.tables import console_credentials, members

MIN_PASSWORD = 12
MAX_PASSWORD = 1024
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
LOCKED = "Too many failed sign-ins; try again in 15 minutes"
SSO_REQUIRED = "Admins of this organization sign in with SSO; only the Owner may use a password"
_hasher = PasswordHasher()
#: Verified against when the email is unknown, so both paths take as long.
_DUMMY_HASH = _hasher.hash("scimitar-dummy-password")


def set_password(tx: Tx, org: Org, member: Member, password: str) -> None:
    if member.org_role not in (OrgRole.OWNER, OrgRole.ADMIN) or not member.active:
        raise PolicyError("Only active Owners and Admins can sign in to the console")
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidError(f"Password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
    digest = _hasher.hash(password)
    tx.conn.execute(delete(console_credentials).where(console_credentials.c.member_id == member.id))
    tx.conn.execute(
        insert(console_credentials).values(
            member_id=member.id,
            org_id=org.id,
            password_hash=digest,
            failed_attempts=0,
            updated=tx.now,
        )
    )
    # A new password (a reset, say) signs the member out everywhere.
    sessions.end_member_sessions(tx, member)
    audit.record(tx, org.id, "member.password_set", "member", member.id)


def refuse_unknown(password: str) -> AuthError:
    """The answer for an unknown org or email, given only after checking the password against
    a dummy hash: it takes as long as a wrong password, so timing tells nothing."""
    _verify(_DUMMY_HASH, password)
    return AuthError("Wrong email or password")


def sign_in(tx: Tx, org: Org, email: str, password: str) -> Member | AuthError:
    """The signed-in member, or the `AuthError` to raise once this transaction has committed
    (the failure count must survive the failure)."""
    row = tx.conn.execute(
        select(
            members,
            console_credentials.c.password_hash,
            console_credentials.c.failed_attempts,
            console_credentials.c.locked_until,
        )
        .join(console_credentials, console_credentials.c.member_id == members.c.id)
        .where(members.c.org_id == org.id, members.c.user_name_key == fold(email))
    ).first()
    if row is None:
        return refuse_unknown(password)
    if row.locked_until is not None and utc(row.locked_until) > tx.now:
        return AuthError(LOCKED)
    if not _verify(row.password_hash, password):
        _count_failure(tx, row.id)
        return AuthError("Wrong email or password")
    if not row.active or row.org_role not in (OrgRole.OWNER.value, OrgRole.ADMIN.value):
        return AuthError("Only active Owners and Admins can sign in to the console")
    if row.org_role != OrgRole.OWNER.value and sso.is_required(tx, org):
        return AuthError(SSO_REQUIRED)
    cleared = tx.conn.execute(
        update(console_credentials)
        .where(console_credentials.c.member_id == row.id, _not_locked(tx))
        .values(failed_attempts=0, locked_until=None)
    )
    if not cleared.rowcount:  # locked by failures that raced this sign-in
        return AuthError(LOCKED)
    return get_member(tx, org, row.id)


def _not_locked(tx: Tx) -> Any:
    return console_credentials.c.locked_until.is_(None) | (
        console_credentials.c.locked_until <= tx.now
    )


def _count_failure(tx: Tx, member_id: str) -> None:
    # Counted in the database, not read-then-written: parallel wrong passwords each count
    # (the row lock serialises them), so they cannot outrun the lockout.
    failures = tx.conn.execute(
        update(console_credentials)
        .where(console_credentials.c.member_id == member_id)
        .values(failed_attempts=console_credentials.c.failed_attempts + 1)
        .returning(console_credentials.c.failed_attempts)
    ).scalar_one()
    if failures >= MAX_FAILURES:
        tx.conn.execute(
            update(console_credentials)
            .where(console_credentials.c.member_id == member_id)
            .values(failed_attempts=0, locked_until=tx.now + LOCKOUT)
        )


def _verify(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False
