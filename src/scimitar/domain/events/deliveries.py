"""The delivery worker's side of the database: fan-out, claims, and attempt results.

Deliveries are created by the worker from the feed, not in the event's transaction: an
endpoint keeps a cursor (`cursor_seq`), and `fan_out` turns the events after it into one
delivery each for the subscribed types, moving the cursor in the same transaction. So the
write path pays nothing for webhooks, and since a seq is only visible once every smaller
one is, the cursor never skips an event.

Claims: a worker takes due deliveries with `SELECT … FOR UPDATE SKIP LOCKED` (PostgreSQL;
on SQLite the write lock serialises claims) and sets `locked_until` — a lease. It sends
them outside any transaction, then records each result only if it still holds the lease.
A worker that dies simply lets its lease run out, and another worker retries. N workers
never send one delivery at the same time (within the lease).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from scimitar.domain.context import Tx, new_id, utc
from scimitar.domain.events import feed
from scimitar.storage.engines import claimable
from scimitar.storage.limits import storable
from scimitar.storage.tables import (
    event_counters,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
)

EXCERPT = 500


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: the n-th failure waits about `base * 2**(n-1)`
    (at most `cap`), spread ±50 %, until `give_up_after` from the delivery's creation."""

    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=6)
    give_up_after: timedelta = timedelta(days=3)

    def delay(self, failures: int) -> timedelta:
        exponent = min(failures - 1, 40)
        raw = min(self.cap.total_seconds(), self.base.total_seconds() * 2**exponent)
        return timedelta(seconds=raw * random.uniform(0.5, 1.5))


@dataclass(frozen=True)
class Job:
    """One claimed delivery: what to send, where, and the lease that proves the claim."""

    delivery_id: str
    org_id: str
    endpoint_id: str
    url: str
    #: Sealed: `secret_for` opens it just before signing.
    sealed_secret: str
    event: dict[str, Any]
    attempts: int
    created: datetime
    lease: datetime


def _for_update(tx: Tx, query: Any, table: Any) -> Any:
    # Only `table`'s rows: locking the org's event counter would stall its event writers.
    return claimable(tx.conn, query, table)


def fan_out(tx: Tx, *, endpoints: int = 20, per_endpoint: int = 500) -> int:
    """Create the deliveries of events past each endpoint's cursor; returns how many
    events were examined (0 when every endpoint is up to date)."""
    behind = _for_update(
        tx,
        select(webhook_endpoints)
        .join(event_counters, event_counters.c.org_id == webhook_endpoints.c.org_id)
        .where(
            webhook_endpoints.c.enabled.is_(True),
            webhook_endpoints.c.cursor_seq < event_counters.c.next_seq - 1,
        )
        .order_by(webhook_endpoints.c.id)
        .limit(endpoints),
        webhook_endpoints,
    )
    examined = 0
    for endpoint in tx.conn.execute(behind).all():
        found = feed.read_feed(tx, endpoint.org_id, after=endpoint.cursor_seq, limit=per_endpoint)
        examined += len(found)
        rows = [
            {
                "id": new_id(),
                "org_id": endpoint.org_id,
                "endpoint_id": endpoint.id,
                "event_id": event.row_id,
                "event_seq": event.seq,
                "state": "pending",
                "attempts": 0,
                "next_attempt": tx.now,
                "created": tx.now,
            }
            for event in found
            if feed.matches(event.type, endpoint.event_types)
        ]
        if rows:
            tx.conn.execute(insert(webhook_deliveries), rows)
        if found:
            tx.conn.execute(
                update(webhook_endpoints)
                .where(webhook_endpoints.c.id == endpoint.id)
                .values(cursor_seq=found[-1].seq)
            )
    return examined


def claim(tx: Tx, *, limit: int, lease: timedelta) -> list[Job]:
    """Take up to `limit` due deliveries for `lease`; returns what to send."""
    due = _for_update(
        tx,
        select(webhook_deliveries.c.id)
        .where(
            webhook_deliveries.c.state == "pending",
            webhook_deliveries.c.next_attempt <= tx.now,
            (webhook_deliveries.c.locked_until.is_(None))
            | (webhook_deliveries.c.locked_until < tx.now),
        )
        .order_by(webhook_deliveries.c.next_attempt, webhook_deliveries.c.event_seq)
        .limit(limit),
        webhook_deliveries,
    )
    ids = list(tx.conn.execute(due).scalars())
    if not ids:
        return []
    until = tx.now + lease
    tx.conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id.in_(ids))
        .values(locked_until=until)
    )
    rows = tx.conn.execute(
        select(
            webhook_deliveries.c.id,
            webhook_deliveries.c.org_id,
            webhook_deliveries.c.attempts,
            webhook_deliveries.c.created,
            webhook_deliveries.c.event_id,
            webhook_deliveries.c.event_seq,
            webhook_deliveries.c.endpoint_id,
            webhook_endpoints.c.url,
            webhook_endpoints.c.secret,
        )
        .join(webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
        .where(webhook_deliveries.c.id.in_(ids))
    ).all()
    bodies = feed.events_by_row(tx, [(row.event_id, row.event_seq) for row in rows])
    return [
        Job(
            row.id,
            row.org_id,
            row.endpoint_id,
            row.url,
            row.secret,
            bodies[row.event_id, row.event_seq].to_json(),
            row.attempts,
            row.created,
            until,
        )
        for row in rows
        if (row.event_id, row.event_seq) in bodies
    ]


@dataclass(frozen=True)
class Result:
    """What one attempt got: an HTTP status, or an error before any response."""

    status: int | None
    latency_ms: int
    error: str | None = None
    response_excerpt: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def record(tx: Tx, job: Job, result: Result, policy: RetryPolicy) -> bool:
    """Log the attempt and schedule what follows. False when the lease was lost (another
    worker has the delivery now): nothing is changed then."""
    attempts = job.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "locked_until": None}
    if result.succeeded:
        values.update(state="succeeded", completed=tx.now)
    else:
        next_attempt = tx.now + policy.delay(attempts)
        if next_attempt - utc(job.created) > policy.give_up_after:
            values.update(state="failed", completed=tx.now)
        else:
            values.update(next_attempt=next_attempt)
    changed = tx.conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.id == job.delivery_id,
            webhook_deliveries.c.locked_until == job.lease,
        )
        .values(**values)
    )
    if not changed.rowcount:
        return False
    tx.conn.execute(
        insert(webhook_attempts).values(
            delivery_id=job.delivery_id,
            at=tx.now,
            status=result.status,
            latency_ms=result.latency_ms,
            # What a receiver answered is kept as far as a database can store it.
            error=storable(result.error, EXCERPT) if result.error else None,
            response_excerpt=storable(result.response_excerpt or "", EXCERPT) or None,
        )
    )
    return True


@dataclass(frozen=True)
class Backlog:
    """What the delivery workers have yet to do, for monitoring."""

    #: Events the workers have yet to examine, counted once per enabled endpoint of their
    #: org (an event is examined for each endpoint, then delivered if it is subscribed).
    unexamined: int
    #: Deliveries waiting for a (first or next) attempt.
    pending: int
    #: When the oldest pending delivery was created.
    oldest_pending: datetime | None


def backlog(tx: Tx) -> Backlog:
    """Read by index and by endpoint: cheap however many deliveries have completed."""
    unexamined = tx.conn.execute(
        select(
            func.coalesce(
                func.sum(event_counters.c.next_seq - 1 - webhook_endpoints.c.cursor_seq), 0
            )
        )
        .select_from(webhook_endpoints)
        .join(event_counters, event_counters.c.org_id == webhook_endpoints.c.org_id)
        .where(webhook_endpoints.c.enabled.is_(True))
    ).scalar_one()
    pending, oldest = tx.conn.execute(
        select(func.count(), func.min(webhook_deliveries.c.created)).where(
            webhook_deliveries.c.state == "pending"
        )
    ).one()
    return Backlog(int(unexamined), int(pending), utc(oldest) if oldest is not None else None)
