"""The provisioning log: an org's recent SCIM requests, secrets already redacted."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select

from scimitar.domain.context import SYSTEM_ACTOR, Tx
from scimitar.domain.identity.keys import touch_scim_key_if_stale
from scimitar.domain.models import Org
from scimitar.storage.database import Database
from scimitar.storage.limits import storable, text_limit
from scimitar.storage.prepared import driver, prepared_insert
from scimitar.storage.tables import provisioning_log

log = logging.getLogger("scimitar")


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
    dry_run: bool = False
    #: For a dry run, the events the request would have produced.
    changes: list[dict[str, Any]] | None = None


_INSERT_RETURNING_ID = prepared_insert(
    provisioning_log, exclude={"id"}, returning=provisioning_log.c.id
)
_INSERT_ENTRY = prepared_insert(provisioning_log, exclude={"id"})


def record_request(tx: Tx, entry: Entry) -> int | None:
    """Write one entry in `tx` (a write's own transaction); returns its id (events link
    to it), or None in a pipelined transaction, where reading it back would cost a round
    trip: `feed.link_request(tx, None)` links the events to it all the same."""
    db = driver(tx.conn)
    if db.pipeline is not None:
        _INSERT_ENTRY.send(db, entry.row())
        return None
    return int(_INSERT_RETURNING_ID.first(db, entry.row()).id)


def recent_requests(
    tx: Tx, org: Org, *, limit: int = 50, before: int | None = None
) -> list[LoggedRequest]:
    query = select(provisioning_log).where(provisioning_log.c.org_id == org.id)
    if before is not None:
        query = query.where(provisioning_log.c.id < before)
    rows = tx.conn.execute(query.order_by(provisioning_log.c.id.desc()).limit(limit))
    return [logged_request(r) for r in rows]


def logged_request(row: Row[Any]) -> LoggedRequest:
    return LoggedRequest(
        row.id,
        row.at,
        row.method,
        row.path,
        row.status,
        row.latency_ms,
        row.user_agent,
        row.detail,
        row.request_body,
        row.dry_run,
        row.changes,
    )


@dataclass(slots=True)
class Entry:
    """One request to record; `key_id` is the SCIM key whose `last_used` it refreshes."""

    org_id: str
    at: datetime
    method: str
    path: str
    status: int
    latency_ms: int
    user_agent: str | None
    detail: str | None
    request_body: str | None
    key_id: str | None
    dry_run: bool = False
    #: For a dry run, the events the request would have produced.
    changes: list[dict[str, Any]] | None = None

    def row(self) -> dict[str, Any]:
        """The entry's columns, cut to what they hold and with what no database stores
        replaced: the log records a refused request too."""
        return {
            "org_id": self.org_id,
            "at": self.at,
            "method": storable(self.method, _METHOD_LIMIT),
            "path": storable(self.path, 2000),
            "status": self.status,
            "latency_ms": self.latency_ms,
            "user_agent": storable(self.user_agent or "", _USER_AGENT_LIMIT) or None,
            "detail": None if self.detail is None else storable(self.detail),
            "request_body": None if self.request_body is None else storable(self.request_body),
            "dry_run": self.dry_run,
            "changes": self.changes,
        }


_METHOD_LIMIT = text_limit(provisioning_log.c.method)
_USER_AGENT_LIMIT = text_limit(provisioning_log.c.user_agent)
_INSERT_ENTRIES = _INSERT_ENTRY


class BatchedLog:
    """Records provisioning-log entries in batches, off the request path.

    A request only appends to a list; a background thread writes whatever has gathered every
    `interval` seconds in one transaction. Read requests thus never take SQLite's write lock,
    and a burst of writes costs one insert per batch. Entries not yet written when a process
    dies are lost: the log is a diagnostic record, nothing depends on it.
    """

    def __init__(self, db: Database, *, interval: float = 0.5) -> None:
        self.db = db
        self.interval = interval
        self._pending: list[Entry] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="provisioning-log", daemon=True)
        self._thread.start()

    def add(self, entry: Entry) -> None:
        with self._lock:
            self._pending.append(entry)

    def flush(self) -> None:
        with self._lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        now = datetime.now(UTC)
        with self.db.write() as conn:
            _INSERT_ENTRIES.run_many(driver(conn), [entry.row() for entry in batch])
            tx = Tx(conn, SYSTEM_ACTOR, now)
            for key_id in {e.key_id for e in batch if e.key_id}:
                touch_scim_key_if_stale(tx, key_id)

    def close(self) -> None:
        self._stopped.set()
        self._wake.set()
        self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self.interval)
            try:
                self.flush()
            except Exception:  # the log must never take the server down
                log.exception("could not write provisioning log entries")
