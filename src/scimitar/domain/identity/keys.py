"""SCIM keys and admin API tokens: shown once, stored as a hash, checked in constant time.

Both are 256-bit random secrets, so a fast hash (SHA-256) is as strong as a slow one here:
there is nothing to brute-force. Lookup is by the hash (indexed); the final comparison
uses `hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from scimitar.domain.context import Tx, new_id, utc
from scimitar.domain.directory.organizations import org_from_row
from scimitar.domain.errors import AuthError, ConflictError, InvalidError, NotFoundError
from scimitar.domain.events import feed
from scimitar.domain.models import Org
from scimitar.domain.records import audit
from scimitar.storage.database import remembered
from scimitar.storage.prepared import Prepared, driver
from scimitar.storage.tables import api_tokens, org_rate_limits, org_structure, orgs, scim_keys

SCIM_KEY_PREFIX = "scim-"
API_TOKEN_PREFIX = "sat-"
#: The host platform's operator tokens (domain/identity/operators.py), named here to refuse them.
OPERATOR_TOKEN_PREFIX = "sop-"
#: Each credential kind is refused where it does not belong, saying which one does.
WRONG_FOR_ADMIN_API = (
    "A SCIM key is for /scim only (the identity provider's); the admin API takes an admin "
    "API token (sat-…, from the console's Settings or `scimitar api-token create`)"
)
#: `last_used` is written at most this often, so that reads stay reads.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key: never the key itself."""

    id: str
    hint: str
    active: bool
    created_by: str
    created: datetime
    last_used: datetime | None
    deactivated: datetime | None
    #: The org's own SCIM rate limit (requests per second), read with the key; None: the
    #: deployment's.
    rate_limit: int | None = None


@dataclass(frozen=True)
class TokenInfo:
    id: str
    name: str
    hint: str
    active: bool
    created_by: str
    created: datetime
    last_used: datetime | None
    #: The org's own API rate limit (requests per second), read with the token.
    rate_limit: int | None = None
    #: The org's structure version (`access.catalog`), read with the token: an access
    #: decision then needs no statement of its own to learn it.
    structure_version: int | None = None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def _hint(secret: str) -> str:
    return secret[-4:]


def _key_info(row: Row[Any]) -> KeyInfo:
    return KeyInfo(
        row.id, row.hint, row.active, row.created_by, row.created, row.last_used, row.deactivated
    )


def scim_key_status(tx: Tx, org: Org) -> KeyInfo | None:
    """The org's active key, or else its most recent one."""
    row = tx.conn.execute(
        select(scim_keys)
        .where(scim_keys.c.org_id == org.id)
        .order_by(scim_keys.c.active.desc(), scim_keys.c.created.desc())
        .limit(1)
    ).first()
    return _key_info(row) if row else None


def generate_scim_key(tx: Tx, org: Org) -> str:
    """A new SCIM key for an org that has none active. Returns the key: shown once."""
    active = tx.conn.execute(
        select(scim_keys.c.id).where(scim_keys.c.org_id == org.id, scim_keys.c.active.is_(True))
    ).first()
    if active:
        raise ConflictError(
            f"Organization {org.slug!r} already has an active SCIM key; regenerate it instead"
        )
    return _insert_key(tx, org, "scim_key.generated")


def _insert_key(tx: Tx, org: Org, action: str) -> str:
    key = _new_secret(SCIM_KEY_PREFIX)
    key_id = new_id()
    try:
        tx.conn.execute(
            insert(scim_keys).values(
                id=key_id,
                org_id=org.id,
                key_hash=hash_secret(key),
                hint=_hint(key),
                active=True,
                created_by=tx.actor.label,
                created=tx.now,
            )
        )
    except IntegrityError:  # one active key per org: a concurrent click got there first
        raise ConflictError(
            f"Another request just generated a SCIM key for {org.slug!r}; reload to see it"
        ) from None
    audit.record(tx, org.id, action, "scim_key", key_id, after={"hint": _hint(key)})
    data = {"id": key_id, "hint": _hint(key), "active": True}
    feed.emit(tx, org.id, action, "scim_key", key_id, data=data)
    return key


def deactivate_scim_key(tx: Tx, org: Org) -> KeyInfo:
    row = tx.conn.execute(
        select(scim_keys).where(scim_keys.c.org_id == org.id, scim_keys.c.active.is_(True))
    ).first()
    if row is None:
        raise NotFoundError(f"Organization {org.slug!r} has no active SCIM key")
    tx.conn.execute(
        update(scim_keys).where(scim_keys.c.id == row.id).values(active=False, deactivated=tx.now)
    )
    audit.record(tx, org.id, "scim_key.deactivated", "scim_key", row.id, before={"hint": row.hint})
    data = {"id": row.id, "hint": row.hint, "active": False}
    feed.emit(tx, org.id, "scim_key.deactivated", "scim_key", row.id, data=data)
    info = scim_key_status(tx, org)
    assert info is not None
    return info


def regenerate_scim_key(tx: Tx, org: Org) -> str:
    """Deactivate the current key (if any) and generate a new one, in one transaction."""
    tx.conn.execute(
        update(scim_keys)
        .where(scim_keys.c.org_id == org.id, scim_keys.c.active.is_(True))
        .values(active=False, deactivated=tx.now)
    )
    return _insert_key(tx, org, "scim_key.regenerated")


# Every SCIM request runs it: the key and its org in one prepared statement.
_KEY_AND_ORG = Prepared(
    select(
        scim_keys.c.id.label("key_id"),
        scim_keys.c.key_hash,
        scim_keys.c.hint,
        scim_keys.c.active,
        scim_keys.c.created_by,
        scim_keys.c.created.label("key_created"),
        scim_keys.c.last_used,
        scim_keys.c.deactivated,
        *(column for column in orgs.c),
        org_rate_limits.c.scim_per_second,
    )
    .join(orgs, orgs.c.id == scim_keys.c.org_id)
    .outerjoin(org_rate_limits, org_rate_limits.c.org_id == orgs.c.id)
    .where(scim_keys.c.key_hash == bindparam("digest"))
)


def _not_a_scim_key(credential: str) -> str:
    """Why a credential that is not a SCIM key is refused, naming what it looks like."""
    expected = (
        "/scim takes the organization's SCIM key (scim-…, from the console's SCIM setup page "
        "or `scimitar scim-key generate`)"
    )
    if credential.startswith(OPERATOR_TOKEN_PREFIX):
        return f"An operator token (sop-…) is not a SCIM key: {expected}"
    if credential.startswith(API_TOKEN_PREFIX):
        return f"An admin API token (sat-…) is not a SCIM key: {expected}"
    return "Invalid SCIM key"


def scim_key_digest(key: str) -> str | None:
    """What a SCIM key is looked up by; None for what cannot be one."""
    if not key.startswith(SCIM_KEY_PREFIX) or len(key) > 200:
        return None
    return hash_secret(key)


def authenticate_scim_key(tx: Tx, key: str) -> tuple[Org, KeyInfo]:
    """The org a SCIM key belongs to; `AuthError` if it is unknown or deactivated."""
    digest = scim_key_digest(key)
    if digest is None:
        raise AuthError(_not_a_scim_key(key))
    # Between commits, a key checked once on this connection needs no second look.
    return remembered(tx.conn, ("scim key", digest), lambda: _scim_key(tx, digest))


def _scim_key(tx: Tx, digest: str) -> tuple[Org, KeyInfo]:
    row = _KEY_AND_ORG.first(driver(tx.conn), {"digest": digest})
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        raise AuthError("Invalid SCIM key")
    if not row.active:
        raise AuthError("This SCIM key has been deactivated")
    info = KeyInfo(
        row.key_id,
        row.hint,
        row.active,
        row.created_by,
        row.key_created,
        row.last_used,
        row.deactivated,
        row.scim_per_second,
    )
    return org_from_row(row), info


_TOUCH_KEY = Prepared(
    update(scim_keys)
    .where(
        scim_keys.c.id == bindparam("key_id"),
        (scim_keys.c.last_used.is_(None)) | (scim_keys.c.last_used < bindparam("stale")),
    )
    .values(last_used=bindparam("now"))
)


def touch_scim_key_if_stale(tx: Tx, key: str | KeyInfo) -> None:
    """Record that a key was used, at most once per `LAST_USED_RESOLUTION`. Given the
    `KeyInfo` read when the request was authenticated, a fresh key costs no statement."""
    stale = tx.now - LAST_USED_RESOLUTION
    if isinstance(key, KeyInfo):
        if key.last_used is not None and utc(key.last_used) >= stale:
            return
        key = key.id
    _TOUCH_KEY.send(driver(tx.conn), {"key_id": key, "stale": stale, "now": tx.now})


# Admin API tokens


def create_api_token(tx: Tx, org: Org, name: str = "api") -> tuple[str, TokenInfo]:
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidError("Token name must be 1-100 characters")
    token = _new_secret(API_TOKEN_PREFIX)
    token_id = new_id()
    tx.conn.execute(
        insert(api_tokens).values(
            id=token_id,
            org_id=org.id,
            name=name,
            token_hash=hash_secret(token),
            hint=_hint(token),
            active=True,
            created_by=tx.actor.label,
            created=tx.now,
        )
    )
    audit.record(tx, org.id, "api_token.created", "api_token", token_id, after={"name": name})
    data = {"id": token_id, "name": name, "hint": _hint(token), "active": True}
    feed.emit(tx, org.id, "api_token.created", "api_token", token_id, data=data)
    return token, TokenInfo(token_id, name, _hint(token), True, tx.actor.label, tx.now, None)


def touch_api_token(tx: Tx, token_id: str) -> None:
    tx.conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(last_used=tx.now))


def list_api_tokens(tx: Tx, org: Org) -> list[TokenInfo]:
    rows = tx.conn.execute(
        select(api_tokens).where(api_tokens.c.org_id == org.id).order_by(api_tokens.c.created)
    )
    return [
        TokenInfo(r.id, r.name, r.hint, r.active, r.created_by, r.created, r.last_used)
        for r in rows
    ]


def revoke_api_token(tx: Tx, org: Org, token_id: str) -> None:
    result = tx.conn.execute(
        update(api_tokens)
        .where(api_tokens.c.org_id == org.id, api_tokens.c.id == token_id)
        .values(active=False)
    )
    if not result.rowcount:
        raise NotFoundError(f"API token {token_id} not found")
    audit.record(tx, org.id, "api_token.revoked", "api_token", token_id)
    data = {"id": token_id, "active": False}
    feed.emit(tx, org.id, "api_token.revoked", "api_token", token_id, data=data)


# Every admin API request with a token runs it: the token and its org in one statement.
_TOKEN_AND_ORG = Prepared(
    select(
        api_tokens.c.id.label("token_id"),
        api_tokens.c.token_hash,
        api_tokens.c.name.label("token_name"),
        api_tokens.c.hint,
        api_tokens.c.active,
        api_tokens.c.created_by,
        api_tokens.c.created.label("token_created"),
        api_tokens.c.last_used,
        *(column for column in orgs.c),
        org_rate_limits.c.api_per_second,
        org_structure.c.version.label("structure_version"),
    )
    .join(orgs, orgs.c.id == api_tokens.c.org_id)
    .outerjoin(org_rate_limits, org_rate_limits.c.org_id == orgs.c.id)
    .outerjoin(org_structure, org_structure.c.org_id == orgs.c.id)
    .where(api_tokens.c.token_hash == bindparam("digest"))
)


def api_token_digest(token: str | None) -> str | None:
    """What an admin API token is looked up by; None for what cannot be one."""
    if token is None or not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
        return None
    return hash_secret(token)


def authenticate_api_token(tx: Tx, token: str) -> tuple[Org, TokenInfo]:
    """The org an admin API token belongs to; `AuthError` if it is unknown or revoked."""
    if token.startswith(SCIM_KEY_PREFIX):
        raise AuthError(WRONG_FOR_ADMIN_API)
    digest = api_token_digest(token)
    if digest is None:
        raise AuthError("Invalid API token")
    # Between commits, a token checked once on this connection needs no second look (a
    # revocation is a commit, which clears the memo).
    return remembered(tx.conn, ("api token", digest), lambda: _api_token(tx, digest))


def _api_token(tx: Tx, digest: str) -> tuple[Org, TokenInfo]:
    row = _TOKEN_AND_ORG.first(driver(tx.conn), {"digest": digest})
    if row is None or not hmac.compare_digest(row.token_hash, digest) or not row.active:
        raise AuthError("Invalid API token")
    info = TokenInfo(
        row.token_id,
        row.token_name,
        row.hint,
        row.active,
        row.created_by,
        row.token_created,
        row.last_used,
        row.api_per_second,
        row.structure_version,
    )
    return org_from_row(row), info
