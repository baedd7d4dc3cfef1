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
queue batch after batch. A batch of at most `MAX_INLINE` *light* writes (a caller's promise
that its cost is bounded and small: `faces.scim.api` says which) runs right on the event
loop when SQLite's writer lock is free at that moment (`Database.write(wait=False)`: the
lock file, and SQLite's own lock with no busy wait); any other batch, or one that would
have to wait for a lock, runs in one thread-pool hop. When SQLite rolls a shared
transaction back by itself (a statement stopped at the time limit, a full disk), the
failing write gets its error and the others `BatchInterrupted`: nothing of theirs was
kept, and they may be sent again (a 503). A thread hop per write, and the hand-offs of the
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
#: The most writes a batch runs on the event loop (more wait there, in a thread's batch).
MAX_INLINE = 16


class BatchInterrupted(RuntimeError):
    """Through no fault of its own, nothing of the write was kept (another write of its
    batch made the database roll the shared transaction back; the server stopped before it
    ran), or whether it was is not known (the server stopped while its batch ran in a
    thread). The client may send it again: a create that was kept after all meets its own
    userName (409), a replace or patch sets the same values."""


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
        if self._drainer is not None and self._drainer.get_loop() is not loop:
            raise RuntimeError("one GroupCommit serves one event loop at a time")
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
            await self._run_batches()
        except BaseException:
            # Cancelled: the loop is stopping. What is still queued never runs (nor runs
            # later, in another loop); its callers are told so.
            interrupted, self._queue = self._queue, []
            for shared in interrupted:
                shared.error = BatchInterrupted("The server stopped before the write ran")
                if not shared.future.done():
                    shared.future.set_result(None)
            raise
        finally:
            self._drainer = None

    async def _run_batches(self) -> None:
        while self._queue:
            # One more turn of the loop first: the requests it has read by then join this
            # batch rather than wait through it for one of their own (measured: 1.2× the
            # create rate under load).
            await asyncio.sleep(0)
            batch, self._queue = self._queue, []
            try:
                inline = len(batch) <= MAX_INLINE and all(shared.light for shared in batch)
                if inline and self._commit(batch, wait=False):
                    self.inline += 1
                else:
                    await run_in_threadpool(self._commit, batch)
                    self.threaded += 1
            finally:
                for shared in batch:
                    if not shared.future.done():  # its caller may have been cancelled
                        shared.future.set_result(None)

    def _commit(self, batch: list[_SharedWrite], wait: bool = True) -> bool:
        """Run the batch in one transaction; False (nothing run) when `wait` is False and
        the writer lock is taken."""
        begun = False
        try:
            with self.db.write(wait=wait) as conn:
                begun = True
                if len(batch) == 1:  # alone: an error rolls back the transaction
                    batch[0].run(conn)
                else:
                    self._each_in_savepoint(batch, conn)
        except BaseException as exc:  # the commit failed, or the transaction did
            if isinstance(exc, WriterBusy) and not begun:  # the lock, before anything ran
                return False
            for shared in batch:
                if shared.error is None:
                    shared.error = exc
        for shared in batch:
            shared.finished = True
        return True

    @staticmethod
    def _each_in_savepoint(batch: list[_SharedWrite], conn: Connection) -> None:
        dbapi: Any = conn.connection.dbapi_connection
        for index, shared in enumerate(batch):
            on_driver(dbapi, f"SAVEPOINT {_SAVEPOINT}")
            try:
                shared.run(conn)
                run_before_commit(conn)
            except Exception as exc:
                shared.error = exc
                if not dbapi.in_transaction:
                    # SQLite rolled the whole transaction back itself (a statement stopped
                    # at the time limit, a full disk): the other writes' work is gone too,
                    # or never ran. Theirs is a retryable error, not this write's.
                    lost = BatchInterrupted(
                        "The database undid the transaction this write shared with another "
                        "write that failed; nothing of it was kept. Send it again."
                    )
                    for other in batch[:index] + batch[index + 1 :]:
                        if other.error is None:
                            other.error = lost
                    return
                on_driver(dbapi, f"ROLLBACK TO {_SAVEPOINT}")
            finally:
                forget_transaction_state(conn)
            on_driver(dbapi, f"RELEASE {_SAVEPOINT}")
