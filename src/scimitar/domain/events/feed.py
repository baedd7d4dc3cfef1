"""The change feed: every domain change becomes an event in the transaction of the change.

A transactional outbox. `emit` queues the event on the transaction; just before the
transaction commits, the queued events get their per-org sequence numbers and are
written (`flush`). A change that fails or is rolled back leaves no event behind.

Sequence numbers come from the org's `event_counters` row, moved past the transaction's
events (`next_seq = next_seq + n`, an upsert) in the same transaction. Its row lock is
held until the commit, so the org's event writers take turns: a number is never handed out
twice, a rolled-back transaction gives its numbers back, and the feed is readable in
order — once `seq` N is visible, every smaller one is too. Taking that lock last, just
before the commit, keeps it short and means a transaction never waits for a row lock
while holding it.

Events that differ only in their id, resource and data are stored as one row, a run
(`storage.event_rows`); every read here gives them back as the events they are.

See docs/events.md for every event type and its JSON schema.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, or_, select, union_all

from scimitar.domain.context import Tx, new_ordered_id, new_ordered_ids
from scimitar.domain.models import Org
from scimitar.storage.database import before_commit, transaction_state, writes_event_runs
from scimitar.storage.event_rows import write_events
from scimitar.storage.prepared import driver
from scimitar.storage.tables import event_counters, events

#: The feed's page size ceiling.
MAX_LIMIT = 1000


@dataclass(slots=True)
class PendingEvent:
    """An event queued on its transaction, not yet numbered."""

    id: str
    org_id: str
    type: str
    at: datetime
    actor: dict[str, Any]
    resource_type: str
    resource_id: str | None
    resource_version: int | None
    member_id: str | None
    data: dict[str, Any]
    changed: list[str] | None

    def summary(self) -> dict[str, Any]:
        """What a dry run reports: the event as it would have been, without a `seq`."""
        body = {
            "type": self.type,
            "resource": {
                "type": self.resource_type,
                "id": self.resource_id,
                "version": self.resource_version,
            },
            "data": self.data,
        }
        if self.changed is not None:
            body["changed"] = self.changed
        return body


@dataclass
class _Outbox:
    pending: list[PendingEvent] = field(default_factory=list)
    request_id: int | None = None
    #: Linked to a provisioning-log entry (`request_id` None: the one just written).
    linked: bool = False


@dataclass(frozen=True)
class Event:
    """One event of the feed, as stored."""

    id: str
    org_id: str
    seq: int
    type: str
    at: datetime
    actor: dict[str, Any]
    resource_type: str
    resource_id: str | None
    resource_version: int | None
    member_id: str | None
    data: dict[str, Any]
    changed: list[str] | None
    request_id: int | None
    #: The id of the events row that holds it: its own, or its run's first event's
    #: (`storage.event_rows`). What a webhook delivery refers to it by.
    row_id: str

    def to_json(self) -> dict[str, Any]:
        """The wire form of the feed and of webhook deliveries."""
        body: dict[str, Any] = {
            "id": self.id,
            "seq": self.seq,
            "type": self.type,
            "time": _iso(self.at),
            "org_id": self.org_id,
            "actor": self.actor,
            "resource": {
                "type": self.resource_type,
                "id": self.resource_id,
                "version": self.resource_version,
            },
            "data": self.data,
        }
        if self.changed is not None:
            body["changed"] = self.changed
        if self.request_id is not None:
            body["request_id"] = self.request_id
        return body


def _iso(at: datetime) -> str:
    # SQLite hands back naive datetimes; everything stored is UTC.
    text = at.isoformat()
    return text + "Z" if at.tzinfo is None else text.replace("+00:00", "Z")


def _outbox(tx: Tx) -> _Outbox:
    state = transaction_state(tx.conn)
    outbox: _Outbox | None = state.get("events")
    if outbox is None:
        outbox = state["events"] = _Outbox()
        before_commit(tx.conn, _flush_connection)
    return outbox


def emit(
    tx: Tx,
    org_id: str,
    type: str,
    resource_type: str,
    resource_id: str | None,
    *,
    data: dict[str, Any],
    version: int | None = None,
    member_id: str | None = None,
    changed: Sequence[str] | None = None,
) -> None:
    """Queue one event on the transaction of the change it describes."""
    _outbox(tx).pending.append(
        PendingEvent(
            id=new_ordered_id(),
            org_id=org_id,
            type=type,
            at=tx.now,
            actor=_actor(tx),
            resource_type=resource_type,
            resource_id=resource_id,
            resource_version=version,
            member_id=member_id,
            data=data,
            changed=list(changed) if changed is not None else None,
        )
    )


def _actor(tx: Tx) -> dict[str, Any]:
    """Who made the change, as an event records them."""
    return {"kind": tx.actor.kind.value, "id": tx.actor.id, "label": tx.actor.label}


def emit_each(
    tx: Tx,
    org_id: str,
    type: str,
    resource_type: str,
    items: Iterable[tuple[str | None, str | None, dict[str, Any]]],
) -> None:
    """Queue one event per `(resource_id, member_id, data)` of `items`, all of one type and
    without a version (a group's membership changes): `emit`'s work done once, not per
    event, for a deactivation out of a hundred groups or a group add of a thousand."""
    items = list(items)
    if not items:  # no outbox opened for nothing (a deactivation out of no group)
        return
    actor = _actor(tx)
    at = tx.now
    _outbox(tx).pending.extend(
        PendingEvent(
            id=event_id,
            org_id=org_id,
            type=type,
            at=at,
            actor=actor,
            resource_type=resource_type,
            resource_id=resource_id,
            resource_version=None,
            member_id=member_id,
            data=data,
            changed=None,
        )
        for event_id, (resource_id, member_id, data) in zip(
            new_ordered_ids(len(items)), items, strict=True
        )
    )


def pending(tx: Tx) -> list[PendingEvent]:
    """The events this transaction has queued and not yet written."""
    state = transaction_state(tx.conn)
    outbox: _Outbox | None = state.get("events")
    return list(outbox.pending) if outbox else []


def mark(tx: Tx) -> int:
    """A position in this transaction's queue, for `take_since`."""
    return len(_outbox(tx).pending)


def take_since(tx: Tx, position: int) -> list[PendingEvent]:
    """Remove and return the events queued since `mark` (for a change that is undone)."""
    outbox = _outbox(tx)
    taken, outbox.pending = outbox.pending[position:], outbox.pending[:position]
    return taken


def link_request(tx: Tx, request_id: int | None) -> None:
    """Mark every event of this transaction as produced by a provisioning-log entry: the
    one with this id, or (None) the one this transaction wrote last, its id not read back
    (`provisioning.record_request` in a pipelined transaction)."""
    outbox = _outbox(tx)
    outbox.request_id, outbox.linked = request_id, True


def flush(tx: Tx) -> None:
    """Number and write the queued events now (otherwise done just before the commit)."""
    _flush_connection(tx.conn)


def _flush_connection(conn: Connection) -> None:
    outbox: _Outbox | None = transaction_state(conn).get("events")
    if outbox is None or not outbox.pending:
        return
    queued, outbox.pending = outbox.pending, []
    by_org: dict[str, list[PendingEvent]] = {}
    for event in queued:
        by_org.setdefault(event.org_id, []).append(event)
    db = driver(conn)
    of_last_logged = outbox.request_id is None and outbox.linked
    runs = writes_event_runs(conn)
    # Counter rows are locked in one global order, so two transactions never deadlock.
    # `write_events` moves the counter and writes the events (runs as one row each); on
    # PostgreSQL it reads nothing back, so the whole flush travels with the COMMIT.
    for org_id in sorted(by_org):
        rows = [
            [
                e.id,
                e.type,
                e.at,
                e.actor["kind"],
                e.actor["id"],
                e.actor["label"],
                e.resource_type,
                e.resource_id,
                e.resource_version,
                e.member_id,
                e.data,
                e.changed,
            ]
            for e in by_org[org_id]
        ]
        write_events(db, org_id, rows, outbox.request_id, runs=runs, of_last_logged=of_last_logged)


def stored_events(row: Row[Any]) -> list[Event]:
    """The events an events row holds: its own, then its run's, numbered on from its `seq`
    (`storage.event_rows`)."""
    actor = {"kind": row.actor_kind, "id": row.actor_id, "label": row.actor_label}
    first = Event(
        id=row.id,
        org_id=row.org_id,
        seq=row.seq,
        type=row.type,
        at=row.at,
        actor=actor,
        resource_type=row.resource_type,
        resource_id=row.resource_id,
        resource_version=row.resource_version,
        member_id=row.member_id,
        data=row.data,
        changed=row.changed,
        request_id=row.request_id,
        row_id=row.id,
    )
    if not row.run:
        return [first]
    return [first] + [
        replace(first, id=event_id, seq=row.seq + offset, resource_id=resource_id, data=data)
        for offset, (event_id, resource_id, data) in enumerate(row.run, start=1)
    ]


def event_id_in_row(row_id: str, row_seq: int, run: list[Any] | None, seq: int) -> str:
    """The id of event `seq` of the events row `row_id` (whose `seq` and `run` are given)."""
    if seq == row_seq or not run:
        return row_id
    event_id: str = run[seq - row_seq - 1][0]
    return event_id


def _expanded(rows: Iterable[Row[Any]]) -> list[Event]:
    return [event for row in rows for event in stored_events(row)]


def _first(rows: Iterable[Row[Any]], limit: int, after: int = 0) -> list[Event]:
    """The first `limit` events with `seq > after` that rows in `seq` order hold: rows are
    read (their runs decoded) only until there are enough."""
    found: list[Event] = []
    for row in rows:
        found.extend(e for e in stored_events(row) if e.seq > after)
        if len(found) >= limit:
            break
    return found[:limit]


# Reading the feed


def read_feed(
    tx: Tx,
    org_id: str,
    *,
    after: int = 0,
    limit: int = 100,
    types: Iterable[str] = (),
) -> list[Event]:
    """The org's events with `seq > after`, in order. `types` filters by type; a type
    ending in `.*` matches a whole family (`member.*`)."""
    limit = max(1, min(limit, MAX_LIMIT))
    condition = _type_condition(types)
    later = select(events).where(events.c.org_id == org_id, events.c.seq > after)
    if condition is not None:
        later = later.where(condition)
    query: Any = later.order_by(events.c.seq).limit(limit)
    if after > 0:
        # The run that holds `after` may hold later events too: its row comes before.
        holder = (
            select(func.max(events.c.seq))
            .where(events.c.org_id == org_id, events.c.seq <= after)
            .scalar_subquery()
        )
        straddling = select(events).where(
            events.c.org_id == org_id, events.c.seq == holder, events.c.run.is_not(None)
        )
        if condition is not None:
            straddling = straddling.where(condition)
        query = union_all(straddling, select(query.subquery())).order_by("seq")
    return _first(tx.conn.execute(query), limit, after)


def _type_condition(types: Iterable[str]) -> Any:
    wanted = [t for t in types if t and t != "*"]
    if not wanted:
        return None
    exact = [t for t in wanted if not t.endswith(".*")]
    families = [t[:-1] for t in wanted if t.endswith(".*")]
    clauses: list[Any] = [events.c.type.in_(exact)] if exact else []
    clauses += [events.c.type.startswith(prefix, autoescape=True) for prefix in families]
    return or_(*clauses)


def events_by_row(tx: Tx, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], Event]:
    """Events by `(row_id, seq)`: the id of the events row that holds each (`Event.row_id`,
    what a webhook delivery keeps) and its number."""
    found: dict[tuple[str, int], Event] = {}
    wanted = list(dict.fromkeys(row_id for row_id, _seq in keys))
    for start in range(0, len(wanted), 500):
        rows = tx.conn.execute(select(events).where(events.c.id.in_(wanted[start : start + 500])))
        found.update({(e.row_id, e.seq): e for e in _expanded(rows)})
    return found


def last_seq(tx: Tx, org_id: str) -> int:
    """The newest sequence number the org has handed out (0 before its first event)."""
    value = tx.conn.execute(
        select(event_counters.c.next_seq).where(event_counters.c.org_id == org_id)
    ).scalar()
    return int(value) - 1 if value is not None else 0


def matches(event_type: str, subscribed: Iterable[str]) -> bool:
    """Whether a subscription (`*`, exact types, `family.*`) covers an event type."""
    for pattern in subscribed:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


# Diagnostics


def member_history(tx: Tx, org: Org, member_id: str, *, limit: int = 200) -> list[Event]:
    """A member's committed events, oldest first: their own changes, their group
    memberships and their effective access."""
    query = (
        select(events)
        .where(events.c.org_id == org.id, events.c.member_id == member_id)
        .order_by(events.c.seq)
        .limit(limit)
    )
    return _first(tx.conn.execute(query), limit)


def events_of_request(tx: Tx, org: Org, request_id: int) -> list[Event]:
    """The events a provisioning-log entry produced, in order."""
    query = (
        select(events)
        .where(events.c.org_id == org.id, events.c.request_id == request_id)
        .order_by(events.c.seq)
    )
    return _expanded(tx.conn.execute(query))
