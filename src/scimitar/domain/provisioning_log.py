"""The provisioning log: an org's recent SCIM requests, secrets already redacted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select

from scimitar.domain.context import Tx
from scimitar.domain.models import Org
from scimitar.storage.tables import provisioning_log


@dataclass(frozen=True)
class LoggedRequest:
    id: int
    at: datetime
    method: str
    path: str
    status: int
    latency_ms: int
    user_agent: str | None
    detail: str | None
    request_body: str | None


def record_request(
    tx: Tx,
    org_id: str,
    *,
    method: str,
    path: str,
    status: int,
    latency_ms: int,
    user_agent: str | None,
    detail: str | None,
    request_body: str | None,
) -> None:
    tx.conn.execute(
        insert(provisioning_log).values(
            org_id=org_id,
            at=tx.now,
            method=method,
            path=path[:2000],
            status=status,
            latency_ms=latency_ms,
            user_agent=(user_agent or "")[:300] or None,
            detail=detail,
            request_body=request_body,
        )
    )


def recent_requests(
    tx: Tx, org: Org, *, limit: int = 50, before: int | None = None
) -> list[LoggedRequest]:
    query = select(provisioning_log).where(provisioning_log.c.org_id == org.id)
    if before is not None:
        query = query.where(provisioning_log.c.id < before)
    rows = tx.conn.execute(query.order_by(provisioning_log.c.id.desc()).limit(limit))
    return [
        LoggedRequest(
            r.id,
            r.at,
            r.method,
            r.path,
            r.status,
            r.latency_ms,
            r.user_agent,
            r.detail,
            r.request_body,
        )
        for r in rows
    ]
