"""Group commit: on SQLite, the writes that requests ask for while a batch runs share the
next transaction and its one commit.

SQLite commits one writer at a time anyway, and a commit (the write's pages appended to
the write-ahead log) with the transaction's opening costs about what a SCIM write's own
statements do. Shared, that cost is paid once per batch. Each write runs in a savepoint of
its own when there are several, so an error undoes its own write only and is raised to its
caller alone; its `before_commit` callbacks (the event outbox's flush) run at its end, in
its savepoint. Every caller returns only once the batch is committed; a failed commit is
every caller's error (nothing of the batch was kept). A write alone runs exactly as
`Database.write` runs it.

Batches are formed on the event loop: a write queues and waits; one drain task runs the
queue batch after batch. A batch of *light* writes (a caller's promise that its cost is
bounded and small: `faces.scim.api` says which) runs right on the event loop when the
writer lock is free at that moment; any other batch, or one that would have to wait for
the lock, runs in one thread-pool hop. A thread hop per write, and the hand-offs of the
interpreter lock between the loop and the threads it brings, cost more than a light write's
own statements (measured: `docs/performance.md`, session 7).

PostgreSQL: one transaction per write, in the thread pool (its writers do not queue on one
lock, and its statements wait on the network).
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from scimitar.storage.database import (
    Database,
    WriterBusy,
    forget_transaction_state,
    on_driver,
    run_before_commit,
)

T = TypeVar("T")
_SAVEPOINT = "scimitar_shared_write"


class BatchInterrupted(RuntimeError):
    """The batch a write was in stopped before its end was known (the server stopping)."""


class _SharedWrite:
    """One caller's work, and what came of it."""

    __slots__ = ("context", "error", "finished", "future", "light", "result", "work")

    def __init__(
        self, work: Callable[[Connection], Any], light: bool, future: asyncio.Future[None]
    ) -> None:
        self.work = work
        self.light = light
        self.future = future
        #: The caller's context variables, which its work sees wherever it runs.
        self.context = contextvars.copy_context()
        self.finished = False
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self, conn: Connection) -> None:
        self.result = self.context.run(self.work, conn)


class GroupCommit:
    """The writes of one database in this process, batched on its event loop."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: list[_SharedWrite] = []
        self._drainer: asyncio.Task[None] | None = None
        #: Batches run so far, inline (on the event loop) and in the thread pool.
        self.inline = 0
        self.threaded = 0

    async def run(self, work: Callable[[Connection], T], *, light: bool = False) -> T:
        """`work(conn)` in a write transaction, committed before this returns."""
        if not self.db.is_sqlite:
            return await run_in_threadpool(self._alone, work)
        loop = asyncio.get_running_loop()
        shared = _SharedWrite(work, light, loop.create_future())
        self._queue.append(shared)
        if self._drainer is None:
            # Started on the loop's next turn: requests read in this one queue behind it.
            self._drainer = loop.create_task(self._drain())
        await shared.future
        if shared.error is not None:
            raise shared.error
        if not shared.finished:
            raise BatchInterrupted("The write was interrupted before its commit was known")
        result: T = shared.result
        return result

    def _alone(self, work: Callable[[Connection], T]) -> T:
        with self.db.write() as conn:
            return work(conn)

    async def _drain(self) -> None:
        try:
            while self._queue:
                # One more turn of the loop first: the requests it has read by then join
                # this batch rather than wait through it for one of their own (measured:
                # 1.2× the create rate under load).
                await asyncio.sleep(0)
                batch, self._queue = self._queue, []
                try:
                    if all(shared.light for shared in batch) and self._commit(batch, wait=False):
                        self.inline += 1
                    else:
                        await run_in_threadpool(self._commit, batch)
                        self.threaded += 1
                finally:
                    for shared in batch:
                        if not shared.future.done():  # its caller may have been cancelled
                            shared.future.set_result(None)
        finally:
            self._drainer = None

    def _commit(self, batch: list[_SharedWrite], wait: bool = True) -> bool:
        """Run the batch in one transaction; False (nothing run) when `wait` is False and
        the writer lock is taken."""
        try:
            with self.db.write(wait=wait) as conn:
                if len(batch) == 1:  # alone: an error rolls back the transaction
                    batch[0].run(conn)
                else:
                    self._each_in_savepoint(batch, conn)
        except WriterBusy:
            return False
        except BaseException as exc:  # the commit failed, or the transaction did
            for shared in batch:
                if shared.error is None:
                    shared.error = exc
        for shared in batch:
            shared.finished = True
        return True

    @staticmethod
    def _each_in_savepoint(batch: list[_SharedWrite], conn: Connection) -> None:
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
