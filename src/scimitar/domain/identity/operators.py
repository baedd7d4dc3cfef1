"""Operator tokens and the operator audit trail: the host platform's own credential.

An operator token (`sop-…`) belongs to the deployment, not to an org: it creates, changes
and deletes organizations and makes org credentials for them (PRODUCT.md §6). Like SCIM
keys and admin API tokens it is 256 bits of randomness, stored as its SHA-256, shown once
and compared in constant time. What operators do is written to `operator_audit`, which has
no foreign key to `orgs`, so an org's deletion stays on record after the org is gone.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update

from scimitar.domain.context import Actor, ActorKind, Tx, new_id, utc
from scimitar.domain.errors import AuthError, InvalidError, NotFoundError
from scimitar.domain.identity.keys import LAST_USED_RESOLUTION, OPERATOR_TOKEN_PREFIX, hash_secret
from scimitar.domain.models import Org
from scimitar.storage.tables import operator_audit, operator_tokens


@dataclass(frozen=True)
class OperatorToken:
    """What may be shown about an operator token: never the token itself."""

    id: str
    name: str
    hint: str
    active: bool
    created_by: str
    created: datetime
    last_used: datetime | None
    revoked: datetime | None

    @property
    def actor(self) -> Actor:
        return Actor(ActorKind.OPERATOR, f"operator token {self.name!r} …{self.hint}", self.id)

    def stale(self, now: datetime) -> bool:
        """Whether a request should record `last_used` (at most once a minute)."""
        return self.last_used is None or now - utc(self.last_used) > LAST_USED_RESOLUTION


@dataclass(frozen=True)
class OperatorAuditEntry:
    id: int
    at: datetime
    actor_kind: str
    actor_label: str
    action: str
    org_id: str | None
    org_slug: str | None
    resource_type: str
    resource_id: str | None
    detail: dict[str, Any] | None


def _token(row: Row[Any]) -> OperatorToken:
    return OperatorToken(
        row.id,
        row.name,
        row.hint,
        row.active,
        row.created_by,
        row.created,
        row.last_used,
        row.revoked,
    )


def record(
    tx: Tx,
    action: str,
    resource_type: str,
    resource_id: str | None,
    *,
    org: Org | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one entry of the operator audit trail, in the transaction of the change."""
    tx.conn.execute(
        insert(operator_audit).values(
            at=tx.now,
            actor_kind=tx.actor.kind.value,
            actor_id=tx.actor.id,
            actor_label=tx.actor.label,
            action=action,
            org_id=org.id if org else None,
            org_slug=org.slug if org else None,
            resource_type=resource_type,
            resource_id=resource_id,
            detail=detail,
        )
    )


def audit_trail(
    tx: Tx,
    *,
    limit: int = 100,
    org_slug: str | None = None,
    action: str | None = None,
    before: int | None = None,
) -> list[OperatorAuditEntry]:
    """The operator audit trail, newest first: of one org (by the slug it had), of actions
    starting with `action`, older than the entry `before`."""
    query = select(operator_audit).order_by(operator_audit.c.id.desc()).limit(limit)
    if org_slug is not None:
        query = query.where(operator_audit.c.org_slug == org_slug)
    if action:
        query = query.where(operator_audit.c.action.startswith(action, autoescape=True))
    if before is not None:
        query = query.where(operator_audit.c.id < before)
    return [
        OperatorAuditEntry(
            r.id,
            r.at,
            r.actor_kind,
            r.actor_label,
            r.action,
            r.org_id,
            r.org_slug,
            r.resource_type,
            r.resource_id,
            r.detail,
        )
        for r in tx.conn.execute(query)
    ]


def create_token(tx: Tx, name: str = "operator") -> tuple[str, OperatorToken]:
    """A new operator token; returns the secret (shown once) and what may be shown of it."""
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidError("Token name must be 1-100 characters")
    secret = OPERATOR_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = new_id()
    tx.conn.execute(
        insert(operator_tokens).values(
            id=token_id,
            name=name,
            token_hash=hash_secret(secret),
            hint=secret[-4:],
            active=True,
            created_by=tx.actor.label,
            created=tx.now,
        )
    )
    record(tx, "operator_token.created", "operator_token", token_id, detail={"name": name})
    info = OperatorToken(token_id, name, secret[-4:], True, tx.actor.label, tx.now, None, None)
    return secret, info


def list_tokens(tx: Tx) -> list[OperatorToken]:
    query = select(operator_tokens).order_by(operator_tokens.c.created, operator_tokens.c.id)
    return [_token(row) for row in tx.conn.execute(query)]


def revoke_token(tx: Tx, token_id: str) -> OperatorToken:
    """Stop an operator token at once (the row stays, for the record)."""
    result = tx.conn.execute(
        update(operator_tokens)
        .where(operator_tokens.c.id == token_id, operator_tokens.c.active.is_(True))
        .values(active=False, revoked=tx.now)
    )
    row = tx.conn.execute(select(operator_tokens).where(operator_tokens.c.id == token_id)).first()
    if row is None:
        raise NotFoundError(f"No operator token {token_id}")
    if not result.rowcount:
        raise InvalidError(f"Operator token {token_id} is already revoked")
    record(tx, "operator_token.revoked", "operator_token", token_id, detail={"name": row.name})
    return _token(row)


def is_operator_token(secret: str) -> bool:
    return secret.startswith(OPERATOR_TOKEN_PREFIX)


def authenticate(tx: Tx, secret: str) -> OperatorToken:
    """The operator token a bearer secret is; `AuthError` if unknown or revoked."""
    if not is_operator_token(secret) or len(secret) > 200:
        raise AuthError("Invalid operator token")
    digest = hash_secret(secret)
    row = tx.conn.execute(
        select(operator_tokens).where(operator_tokens.c.token_hash == digest)
    ).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest) or not row.active:
        raise AuthError("Invalid operator token")
    return _token(row)


def touch(tx: Tx, token_id: str) -> None:
    tx.conn.execute(
        update(operator_tokens).where(operator_tokens.c.id == token_id).values(last_used=tx.now)
    )
