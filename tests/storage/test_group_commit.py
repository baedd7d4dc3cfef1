"""`storage.group_commit`: writes that arrive while one runs share the next transaction
(SQLite group commit), each acknowledged only once that transaction is committed, each
error its own."""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.exc import IntegrityError

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations
from scimitar.domain.errors import ConflictError
from scimitar.storage.database import Database, WriterBusy, before_commit
from scimitar.storage.group_commit import MAX_INLINE, BatchInterrupted, GroupCommit

WAITING = 5.0


def _org(slug: str) -> Callable[[Connection], str]:
    def work(conn: Connection) -> str:
        tx = Tx(conn, CLI_ACTOR)
        return organizations.create_org(
            tx, name=slug.title(), slug=slug, owner_email=f"o@{slug}.com"
        ).id

    return work


def _slugs(db: Database) -> list[str]:
    with db.read() as conn:
        return sorted(conn.exec_driver_sql("SELECT slug FROM orgs").scalars())


class _Batch:
    """A first write held open (in the thread pool) until released, and writes queued behind
    it meanwhile; run in one event loop (`scenario`)."""

    def __init__(self, db: Database) -> None:
        self.group = GroupCommit(db)
        self.commits = 0
        self.results: dict[str, Any] = {}
        self._started = threading.Event()
        self._release = threading.Event()
        self._tasks: list[asyncio.Task[None]] = []
        event.listen(db.engine, "commit", self._count)

    def _count(self, _conn: Any) -> None:
        self.commits += 1

    async def hold_first(self) -> None:
        def held(conn: Connection) -> str:
            self._started.set()
            self._release.wait(WAITING)
            return _org("first")(conn)

        self.start("first", held)
        await _until(self._started.is_set)

    async def queue(
        self, name: str, work: Callable[[Connection], Any], light: bool = False
    ) -> None:
        queued = len(self.group._queue)
        self.start(name, work, light)
        await _until(lambda: len(self.group._queue) > queued)

    async def finish(self) -> dict[str, Any]:
        self._release.set()
        await asyncio.wait_for(asyncio.gather(*self._tasks), WAITING)
        return self.results

    def start(self, name: str, work: Callable[[Connection], Any], light: bool = False) -> None:
        async def run() -> None:
            try:
                self.results[name] = await self.group.run(work, light=light)
            except Exception as exc:
                self.results[name] = exc

        self._tasks.append(asyncio.get_running_loop().create_task(run()))


async def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAITING
    while not condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.001)


def scenario(db: Database, steps: Callable[[_Batch], Awaitable[None]]) -> dict[str, Any]:
    """`steps` against a batch held open, then everything released: each write's result."""

    async def run() -> dict[str, Any]:
        batch = _Batch(db)
        await batch.hold_first()
        await steps(batch)
        return await batch.finish()

    return asyncio.run(run())


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'together.db'}")
    db.migrate()
    return db


def test_a_write_is_committed_before_it_returns(db: Database) -> None:
    """On either engine: the work's result once its transaction is committed; an error
    raised by the work leaves nothing behind."""
    group = GroupCommit(db)

    def failing(conn: Connection) -> None:
        _org("undone")(conn)
        raise ValueError("refused")

    async def run() -> None:
        for light in (False, True):
            slug = "alone-on-the-loop" if light else "alone-in-a-thread"
            org_id = await group.run(_org(slug), light=light)
            assert org_id and slug in _slugs(db)
            with pytest.raises(ValueError, match="refused"):
                await group.run(failing, light=light)
            assert "undone" not in _slugs(db)

    asyncio.run(run())
    assert _slugs(db) == ["alone-in-a-thread", "alone-on-the-loop"]


def test_writes_queued_behind_a_running_one_share_one_commit(sqlite_db: Database) -> None:
    batch_seen: list[_Batch] = []

    async def steps(batch: _Batch) -> None:
        batch_seen.append(batch)
        for slug in ("b", "c", "d"):
            await batch.queue(slug, _org(slug))

    results = scenario(sqlite_db, steps)
    assert all(isinstance(results[name], str) for name in ("first", "b", "c", "d"))
    assert batch_seen[0].commits == 2  # the first alone, then the three queued behind it
    assert _slugs(sqlite_db) == ["b", "c", "d", "first"]


def _copy_of_b(conn: Connection) -> None:
    conn.exec_driver_sql("INSERT INTO orgs SELECT * FROM orgs WHERE slug = 'b'")


@pytest.mark.parametrize("light", [False, True], ids=["in a thread", "on the event loop"])
def test_an_error_undoes_that_write_only_and_is_raised_to_its_caller(
    sqlite_db: Database, light: bool
) -> None:
    def failing(conn: Connection) -> None:
        _org("c")(conn)
        raise ValueError("c refused")

    async def steps(batch: _Batch) -> None:
        await batch.queue("b", _org("b"), light)
        await batch.queue("c", failing, light)
        await batch.queue("d", _org("d"), light)
        await batch.queue("b again", _org("b"), light)  # sees b's row: the same transaction
        await batch.queue("b copied", _copy_of_b, light)  # refused: the key is taken

    results = scenario(sqlite_db, steps)
    assert isinstance(results["c"], ValueError)
    assert isinstance(results["b again"], ConflictError)
    assert isinstance(results["b copied"], IntegrityError)
    assert isinstance(results["b"], str) and isinstance(results["d"], str)
    assert _slugs(sqlite_db) == ["b", "d", "first"]


@pytest.mark.parametrize("light", [False, True], ids=["in a thread", "on the event loop"])
def test_a_failed_commit_fails_every_write_of_the_batch(sqlite_db: Database, light: bool) -> None:
    """Nothing of the transaction is kept, so no write of it may be acknowledged."""

    def breaks_the_commit(conn: Connection) -> None:
        # A foreign key checked at the commit only: the commit fails, not the statement.
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        conn.exec_driver_sql(
            "INSERT INTO group_members (group_id, member_id, org_id, added) "
            "VALUES ('no group', 'no member', 'no org', '2026-01-01 00:00:00')"
        )

    async def steps(batch: _Batch) -> None:
        await batch.queue("b", _org("b"), light)
        await batch.queue("broken", breaks_the_commit, light)
        await batch.queue("d", _org("d"), light)

    results = scenario(sqlite_db, steps)
    assert isinstance(results["first"], str)
    for name in ("b", "broken", "d"):
        assert isinstance(results[name], IntegrityError), name
    assert _slugs(sqlite_db) == ["first"]


def test_each_write_runs_its_own_callbacks_in_its_own_savepoint(sqlite_db: Database) -> None:
    """`before_commit` callbacks (the event outbox's flush) run at the end of their own
    write, never for a write that failed, and what they write is undone with it."""
    ran: list[str] = []

    def with_callback(slug: str, fail: bool = False) -> Callable[[Connection], None]:
        def work(conn: Connection) -> None:
            def callback(inner: Connection) -> None:
                ran.append(slug)
                _org(f"{slug}-callback")(inner)

            before_commit(conn, callback)
            if fail:
                raise ValueError(slug)

        return work

    async def steps(batch: _Batch) -> None:
        await batch.queue("b", with_callback("b"))
        await batch.queue("c", with_callback("c", fail=True))
        await batch.queue("d", with_callback("d"))

    results = scenario(sqlite_db, steps)
    assert isinstance(results["c"], ValueError)
    assert ran == ["b", "d"]
    assert _slugs(sqlite_db) == ["b-callback", "d-callback", "first"]


@pytest.mark.parametrize("light", [False, True], ids=["in a thread", "on the event loop"])
def test_a_write_sees_its_callers_context_variables(sqlite_db: Database, light: bool) -> None:
    """Wherever it runs (one batch runs the work of many callers)."""
    request: contextvars.ContextVar[str] = contextvars.ContextVar("request")

    async def steps(batch: _Batch) -> None:
        for name in ("b", "c"):
            request.set(name)  # the task started next copies the context as it is
            await batch.queue(name, lambda _conn: request.get(), light)
        request.set("changed later")

    results = scenario(sqlite_db, steps)
    assert (results["b"], results["c"]) == ("b", "c")


def test_light_batches_run_on_the_event_loop_and_others_in_a_thread(sqlite_db: Database) -> None:
    """A batch runs on the loop only when every write in it is light; each write learns
    which thread ran it."""
    group = GroupCommit(sqlite_db)

    def thread_name(_conn: Connection) -> str:
        return threading.current_thread().name

    async def run() -> tuple[list[bool], list[bool]]:
        here = threading.current_thread().name
        alone = await asyncio.gather(*(group.run(thread_name, light=True) for _ in range(3)))
        mixed = await asyncio.gather(
            group.run(thread_name, light=True), group.run(thread_name, light=False)
        )
        return [name == here for name in alone], [name == here for name in mixed]

    on_the_loop, mixed_on_the_loop = asyncio.run(run())
    assert on_the_loop == [True, True, True] and (group.inline, group.threaded) == (1, 1)
    assert mixed_on_the_loop == [False, False]


async def _light_write_waiting_while(group: GroupCommit, release: Callable[[], object]) -> str:
    """A light write sent while another writer holds the database: still waiting after
    100 ms in which the event loop kept turning; then the other writer lets go (`release`)
    and the write's result."""
    write = asyncio.ensure_future(group.run(_org("mine"), light=True))
    for _ in range(50):
        await asyncio.sleep(0.002)  # the loop turns: the write does not block it
    assert not write.done()
    release()
    return await asyncio.wait_for(write, WAITING)


def test_a_light_batch_does_not_wait_on_the_loop_for_another_writer(tmp_path: Path) -> None:
    """Another writer (here another process's, as `serve --workers 2` or the CLI would be:
    a second `Database` of the same file) holds the writer lock: the light batch does not
    block the event loop waiting for it, but waits in a thread, and commits after it."""
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    db, other = Database(url), Database(url)
    db.migrate()
    group = GroupCommit(db)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with other.write() as conn:
            _org("other")(conn)
            holding.set()
            release.wait(WAITING)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(WAITING)

    async def run() -> str:
        return await _light_write_waiting_while(group, release.set)

    try:
        assert asyncio.run(run())
    finally:
        release.set()
        holder.join(WAITING)
    assert (group.inline, group.threaded) == (0, 1)
    assert _slugs(db) == ["mine", "other"]
    # And a write that must not wait is refused while the other process writes.
    with pytest.raises(WriterBusy), other.write(), db.write(wait=False):
        pass


def test_writes_still_queued_when_the_loop_stops_never_run(sqlite_db: Database) -> None:
    """The drain task cancelled (the server stopping) while a batch runs in a thread: the
    writes queued behind it are answered `BatchInterrupted` and never run, not even by the
    next loop's first batch; the running batch's callers are told that its outcome is not
    known (it commits in its thread); the next loop's writes run as usual."""
    holder: list[_Batch] = []

    async def steps(batch: _Batch) -> None:
        holder.append(batch)
        await batch.queue("b", _org("b"))
        drainer = batch.group._drainer
        assert drainer is not None
        drainer.cancel()

    results = scenario(sqlite_db, steps)
    assert isinstance(results["b"], BatchInterrupted)
    # The batch in the thread goes on to its commit; its caller was told it cannot know.
    assert isinstance(results["first"], BatchInterrupted)
    asyncio.run(_until(lambda: "first" in _slugs(sqlite_db)))
    group = holder[0].group
    assert group._queue == [] and group._drainer is None
    assert asyncio.run(group.run(_org("c"), light=True))
    assert _slugs(sqlite_db) == ["c", "first"]


def test_a_light_batch_gives_way_to_a_writer_outside_the_lock_file(tmp_path: Path) -> None:
    """A program that writes without the lock file (SQLite's own lock only): the light batch
    does not wait in SQLite's busy handler on the event loop (its connection's busy timeout
    is zero); it runs in a thread once the other program commits."""
    path = tmp_path / "outside.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    group = GroupCommit(db)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def run() -> str:
        return await _light_write_waiting_while(group, lambda: other.execute("COMMIT"))

    try:
        assert asyncio.run(run())
    finally:
        other.close()
    assert (group.inline, group.threaded) == (0, 1)
    assert _slugs(db) == ["mine"]


@pytest.mark.parametrize(("count", "where"), [(MAX_INLINE, (1, 1)), (MAX_INLINE + 1, (0, 2))])
def test_at_most_max_inline_writes_run_on_the_event_loop(
    sqlite_db: Database, count: int, where: tuple[int, int]
) -> None:
    """However many light writes wait, no more than `MAX_INLINE` hold the loop at once."""
    holder: list[_Batch] = []

    async def steps(batch: _Batch) -> None:
        holder.append(batch)
        for i in range(count):
            await batch.queue(f"w{i}", _org(f"w{i}"), light=True)

    results = scenario(sqlite_db, steps)
    assert all(isinstance(results[f"w{i}"], str) for i in range(count))
    group = holder[0].group
    assert (group.inline, group.threaded) == where  # the held first batch: in a thread


def test_when_the_database_undoes_the_shared_transaction_the_others_may_retry(
    sqlite_db: Database,
) -> None:
    """A write whose failure makes SQLite roll the whole transaction back (as a statement
    stopped at the time limit or a full disk does; here a ROLLBACK on the driver): its own
    error for it, `BatchInterrupted` for the others of its batch, done before or not yet
    run; nothing of the batch is kept."""

    def undoes_everything(conn: Connection) -> None:
        _org("c")(conn)
        conn.connection.dbapi_connection.execute("ROLLBACK")  # type: ignore[union-attr]
        raise ValueError("c failed, and the transaction with it")

    async def steps(batch: _Batch) -> None:
        await batch.queue("b", _org("b"))
        await batch.queue("c", undoes_everything)
        await batch.queue("d", _org("d"))

    results = scenario(sqlite_db, steps)
    assert isinstance(results["c"], ValueError)
    assert isinstance(results["b"], BatchInterrupted)
    assert isinstance(results["d"], BatchInterrupted)
    assert _slugs(sqlite_db) == ["first"]
