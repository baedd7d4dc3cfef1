"""`storage.group_commit`: writes that arrive while one runs share the next transaction
(SQLite group commit), each acknowledged only once that transaction is committed, each
error its own."""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event
from sqlalchemy.exc import IntegrityError

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations
from scimitar.domain.errors import ConflictError
from scimitar.storage.database import Database, before_commit
from scimitar.storage.group_commit import GroupCommit

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
    """A first write held open until released, and writes queued behind it meanwhile."""

    def __init__(self, db: Database) -> None:
        self.group = GroupCommit(db)
        self.commits = 0
        self.results: dict[str, Any] = {}
        self._release = threading.Event()
        self._threads: list[threading.Thread] = []
        event.listen(db.engine, "commit", self._count)

    def _count(self, _conn: Any) -> None:
        self.commits += 1

    def hold_first(self) -> None:
        def held(conn: Connection) -> str:
            self._release.wait(WAITING)
            return _org("first")(conn)

        self._start("first", held)
        self._wait_for(lambda: self.group._running)

    def queue(self, name: str, work: Callable[[Connection], Any]) -> None:
        queued = len(self.group._queue)
        self._start(name, work)
        self._wait_for(lambda: len(self.group._queue) > queued)

    def finish(self) -> dict[str, Any]:
        self._release.set()
        for thread in self._threads:
            thread.join(WAITING)
        return self.results

    def _start(self, name: str, work: Callable[[Connection], Any]) -> None:
        def run() -> None:
            try:
                self.results[name] = self.group.run(work)
            except Exception as exc:
                self.results[name] = exc

        # As a thread pool does: the caller's context variables go with its call.
        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(run,))
        thread.start()
        self._threads.append(thread)

    @staticmethod
    def _wait_for(condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAITING
        while not condition():
            assert time.monotonic() < deadline
            time.sleep(0.001)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'together.db'}")
    db.migrate()
    return db


def test_a_write_is_committed_before_it_returns(db: Database) -> None:
    """On either engine: the work's result once its transaction is committed; an error
    raised by the work leaves nothing behind."""
    group = GroupCommit(db)
    org_id = group.run(_org("alone"))
    assert org_id and _slugs(db) == ["alone"]

    def failing(conn: Connection) -> None:
        _org("undone")(conn)
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        group.run(failing)
    assert _slugs(db) == ["alone"]


def test_writes_queued_behind_a_running_one_share_one_commit(sqlite_db: Database) -> None:
    batch = _Batch(sqlite_db)
    batch.hold_first()
    for slug in ("b", "c", "d"):
        batch.queue(slug, _org(slug))
    results = batch.finish()
    assert all(isinstance(results[name], str) for name in ("first", "b", "c", "d"))
    assert batch.commits == 2  # the first alone, then the three queued behind it together
    assert _slugs(sqlite_db) == ["b", "c", "d", "first"]


def _copy_of_b(conn: Connection) -> None:
    conn.exec_driver_sql("INSERT INTO orgs SELECT * FROM orgs WHERE slug = 'b'")


def test_an_error_undoes_that_write_only_and_is_raised_to_its_caller(
    sqlite_db: Database,
) -> None:
    def failing(conn: Connection) -> None:
        _org("c")(conn)
        raise ValueError("c refused")

    batch = _Batch(sqlite_db)
    batch.hold_first()
    batch.queue("b", _org("b"))
    batch.queue("c", failing)
    batch.queue("d", _org("d"))
    batch.queue("b again", _org("b"))  # sees b's row: the same transaction
    batch.queue("b copied", _copy_of_b)  # the database refuses it (the key is taken)
    results = batch.finish()
    assert isinstance(results["c"], ValueError)
    assert isinstance(results["b again"], ConflictError)
    assert isinstance(results["b copied"], IntegrityError)
    assert isinstance(results["b"], str) and isinstance(results["d"], str)
    assert _slugs(sqlite_db) == ["b", "d", "first"]


def test_a_failed_commit_fails_every_write_of_the_batch(sqlite_db: Database) -> None:
    """Nothing of the transaction is kept, so no write of it may be acknowledged."""

    def breaks_the_commit(conn: Connection) -> None:
        # A foreign key checked at the commit only: the commit fails, not the statement.
        conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
        conn.exec_driver_sql(
            "INSERT INTO group_members (group_id, member_id, org_id, added) "
            "VALUES ('no group', 'no member', 'no org', '2026-01-01 00:00:00')"
        )

    batch = _Batch(sqlite_db)
    batch.hold_first()
    batch.queue("b", _org("b"))
    batch.queue("broken", breaks_the_commit)
    batch.queue("d", _org("d"))
    results = batch.finish()
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

    batch = _Batch(sqlite_db)
    batch.hold_first()
    batch.queue("b", with_callback("b"))
    batch.queue("c", with_callback("c", fail=True))
    batch.queue("d", with_callback("d"))
    results = batch.finish()
    assert isinstance(results["c"], ValueError)
    assert ran == ["b", "d"]
    assert _slugs(sqlite_db) == ["b-callback", "d-callback", "first"]


def test_a_write_sees_its_callers_context_variables(sqlite_db: Database) -> None:
    """Whichever thread runs it (the batch's first caller runs every write of it)."""
    request: contextvars.ContextVar[str] = contextvars.ContextVar("request")
    batch = _Batch(sqlite_db)
    batch.hold_first()

    def queue(name: str) -> None:
        request.set(name)
        batch.queue(name, lambda _conn: request.get())

    for name in ("b", "c"):
        contextvars.copy_context().run(queue, name)
    results = batch.finish()
    assert (results["b"], results["c"]) == ("b", "c")
