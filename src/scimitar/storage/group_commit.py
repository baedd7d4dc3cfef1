"""Group commit: on SQLite, the writes that threads ask for while another one's runs share
the next transaction and its one commit.

SQLite commits one writer at a time anyway, and a commit (the write's pages appended to
the write-ahead log) with the transaction's opening costs about what a SCIM write's own
statements do. Shared, that cost is paid once per batch. Each write runs in a savepoint of
its own when there are several, so an error undoes its own write only and is raised to its
caller alone; its `before_commit` callbacks (the event outbox's flush) run at its end, in
its savepoint. Every caller returns only once the batch is committed; a failed commit is
every caller's error (nothing of the batch was kept). A write alone runs exactly as
`Database.write` runs it.

PostgreSQL: one transaction per write (its writers do not queue on one lock).
"""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection

from scimitar.storage.database import (
    Database,
    forget_transaction_state,
    on_driver,
    run_before_commit,
)

T = TypeVar("T")
_SAVEPOINT = "scimitar_shared_write"


class _SharedWrite:
    """One caller's work, and what came of it."""

    __slots__ = ("context", "done", "error", "result", "work")

    def __init__(self, work: Callable[[Connection], Any]) -> None:
        self.work = work
        #: The caller's context variables, which its work sees in whichever thread runs it.
        self.context = contextvars.copy_context()
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self, conn: Connection) -> None:
        self.result = self.context.run(self.work, conn)


class GroupCommit:
    """The writes of one database in this process. The first caller to find no batch
    running runs every write queued by then while the others wait; then the next caller
    whose write is still queued takes its turn."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._changed = threading.Condition(threading.Lock())
        self._queue: list[_SharedWrite] = []
        self._running = False

    def run(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` in a write transaction, committed before this returns."""
        if not self.db.is_sqlite:
            with self.db.write() as conn:
                return work(conn)
        if self._pid != os.getpid():  # a forked child: its parent's batch is not its own
            self._reset()
        shared = _SharedWrite(work)
        with self._changed:
            self._queue.append(shared)
            while self._running and not shared.done:
                self._changed.wait()
            batch: list[_SharedWrite] = []
            if not shared.done:
                self._running = True
                batch, self._queue = self._queue, []
        if batch:
            try:
                self._commit(batch)
            finally:
                with self._changed:
                    for each in batch:
                        each.done = True
                    self._running = False
                    self._changed.notify_all()
        if shared.error is not None:
            raise shared.error
        result: T = shared.result
        return result

    def _commit(self, batch: list[_SharedWrite]) -> None:
        try:
            with self.db.write() as conn:
                if len(batch) == 1:  # alone: an error rolls back the transaction
                    batch[0].run(conn)
                    return
                dbapi = conn.connection.dbapi_connection
                for shared in batch:
                    on_driver(dbapi, f"SAVEPOINT {_SAVEPOINT}")
                    try:
                        shared.run(conn)
                        run_before_commit(conn)
                    except Exception as exc:
                        shared.error = exc
                        on_driver(dbapi, f"ROLLBACK TO {_SAVEPOINT}")
                    finally:
                        forget_transaction_state(conn)
                    on_driver(dbapi, f"RELEASE {_SAVEPOINT}")
        except BaseException as exc:  # the commit failed, or the transaction did
            for shared in batch:
                if shared.error is None:
                    shared.error = exc
