"""SQLite specifics of `Database`: connections kept per thread, and the writer lock file."""

from __future__ import annotations

import fcntl
import gc
import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from scimitar.domain import orgs
from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.storage.database import Database, _flock


def _migrated(path: Path, **options: int) -> Database:
    db = Database(f"sqlite:///{path}", **options)
    db.migrate()
    return db


def test_a_thread_kept_connection_goes_back_to_the_pool_when_the_thread_ends(
    tmp_path: Path,
) -> None:
    """Requests served on short-lived threads (a test client, another server) must not
    each keep a pooled connection for ever: the pool would run dry and block the loop."""
    db = _migrated(tmp_path / "kept.db", pool_size=2)

    def read() -> None:
        with db.read(reuse=True) as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM orgs").scalar() == 0

    for _ in range(12):  # three times what the pool holds (2 + 2 overflow)
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
        gc.collect()
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    read()
    read()  # the same thread reuses its connection
    assert db.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    db.dispose()
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_a_read_left_open_never_serves_a_stale_snapshot(tmp_path: Path) -> None:
    db = _migrated(tmp_path / "stale.db")
    with db.read(reuse=True) as conn:
        dbapi = conn.connection.dbapi_connection
    dbapi.execute("BEGIN")  # as if a failure had left the driver in a transaction
    dbapi.execute("SELECT 1 FROM orgs").fetchall()
    with db.write() as writer:
        orgs.create_org(Tx(writer, CLI_ACTOR), name="Late", slug="late", owner_email="o@x.com")
    with db.read(reuse=True) as conn:
        assert conn.exec_driver_sql("SELECT slug FROM orgs").scalars().all() == ["late"]
    db.dispose()


def test_waiting_for_the_writer_lock_has_a_limit(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    waiter = os.open(path, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    began = time.monotonic()
    with pytest.raises(OperationalError, match="database is locked"):
        _flock(waiter, 0.2)
    assert 0.2 <= time.monotonic() - began < 2
    fcntl.flock(holder, fcntl.LOCK_UN)
    _flock(waiter, 0.2)  # free: taken at once
    os.close(holder)
    os.close(waiter)


def test_the_lock_file_is_readable_by_all_and_optional(tmp_path: Path) -> None:
    """Created 0644 (a CLI run by root must not lock the server's user out); when it
    cannot be opened at all, writers still write (SQLite's busy timeout queues them)."""
    db = _migrated(tmp_path / "shared.db")
    with db.write() as conn:
        orgs.create_org(Tx(conn, CLI_ACTOR), name="A", slug="a", owner_email="o@a.com")
    assert (tmp_path / "shared.db-writer").stat().st_mode & 0o777 == 0o644
    db.dispose()
    (tmp_path / "blocked.db-writer").mkdir()  # cannot be opened as a file
    blocked = _migrated(tmp_path / "blocked.db")
    with blocked.write() as conn:
        orgs.create_org(Tx(conn, CLI_ACTOR), name="B", slug="b", owner_email="o@b.com")
    blocked.dispose()
