"""SQLite specifics of `Database`: connections kept per thread, and the writer lock file."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations
from scimitar.domain.errors import AuthError
from scimitar.domain.identity import keys
from scimitar.storage.database import Database, unchanged_memo


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
        organizations.create_org(
            Tx(writer, CLI_ACTOR), name="Late", slug="late", owner_email="o@x.com"
        )
    with db.read(reuse=True) as conn:
        assert conn.exec_driver_sql("SELECT slug FROM orgs").scalars().all() == ["late"]
    db.dispose()


def test_the_lock_file_is_readable_by_all_and_optional(tmp_path: Path) -> None:
    """Created 0644 (a CLI run by root must not lock the server's user out); when it
    cannot be opened at all, writers still write (SQLite's busy timeout queues them)."""
    db = _migrated(tmp_path / "shared.db")
    with db.write() as conn:
        organizations.create_org(Tx(conn, CLI_ACTOR), name="A", slug="a", owner_email="o@a.com")
    assert (tmp_path / "shared.db-writer").stat().st_mode & 0o777 == 0o644
    db.dispose()
    (tmp_path / "blocked.db-writer").mkdir()  # cannot be opened as a file
    blocked = _migrated(tmp_path / "blocked.db")
    with blocked.write() as conn:
        organizations.create_org(Tx(conn, CLI_ACTOR), name="B", slug="b", owner_email="o@b.com")
    with blocked.read() as conn:
        assert conn.exec_driver_sql("SELECT slug FROM orgs").scalars().all() == ["b"]
    blocked.dispose()


def test_a_nested_point_read_takes_a_pooled_connection(tmp_path: Path) -> None:
    """The kept connection serves one read at a time: a read inside it gets its own
    connection, and the outer read keeps its snapshot."""
    db = _migrated(tmp_path / "nested.db")
    with db.read(reuse=True) as outer:
        outer_dbapi = outer.connection.dbapi_connection
        with db.read(reuse=True) as inner:
            assert inner is not outer
            assert inner.exec_driver_sql("SELECT count(*) FROM orgs").scalar() == 0
        assert outer_dbapi.in_transaction  # type: ignore[union-attr]
    db.dispose()


def test_the_unchanged_memo_lives_until_anything_is_committed(tmp_path: Path) -> None:
    """What a kept read remembers (a checked SCIM key) stays only while nothing was
    committed since: by this process's writers or by any other connection."""
    db = _migrated(tmp_path / "memo.db")
    with db.read() as pooled:
        assert unchanged_memo(pooled) is None
    with db.write() as writer:
        assert unchanged_memo(writer) is None
    with db.read(reuse=True) as conn:
        memo = unchanged_memo(conn)
        assert memo == {}
        memo["answer"] = 42
        with db.read(reuse=True) as nested:  # a pooled connection: nothing to share
            assert unchanged_memo(nested) is None
    assert unchanged_memo(conn) is None  # only inside the read
    with db.read(reuse=True) as conn:
        assert unchanged_memo(conn) == {"answer": 42}
    with db.write() as writer:
        organizations.create_org(Tx(writer, CLI_ACTOR), name="A", slug="a", owner_email="o@a.com")
    with db.read(reuse=True) as conn:
        memo = unchanged_memo(conn)
        assert memo == {}
        memo["answer"] = 43
    other = sqlite3.connect(tmp_path / "memo.db")  # as another process would
    with other:
        other.execute("UPDATE orgs SET name = 'B'")
    other.close()
    with db.read(reuse=True) as conn:
        assert unchanged_memo(conn) == {}
    db.dispose()


def test_a_reconnected_kept_connection_starts_a_new_memo(tmp_path: Path) -> None:
    """`data_version` counts per driver connection: after SQLAlchemy swaps in another one
    (an invalidated connection), an equal number must not keep the old memo (a key
    deactivated in between would still pass)."""
    db = _migrated(tmp_path / "swap.db", pool_size=1)
    with db.write() as writer:
        tx = Tx(writer, CLI_ACTOR)
        org = organizations.create_org(tx, name="A", slug="a", owner_email="o@a.com")
        key = keys.generate_scim_key(tx, org)
    with db.read(reuse=True) as conn:
        keys.authenticate_scim_key(Tx(conn, CLI_ACTOR), key)
        conn.invalidate()
    with db.write() as writer:
        keys.deactivate_scim_key(Tx(writer, CLI_ACTOR), org)
    with db.read(reuse=True) as conn, pytest.raises(AuthError):
        keys.authenticate_scim_key(Tx(conn, CLI_ACTOR), key)
    db.dispose()


class _Broke(Exception):
    pass


def _read_that_breaks(db: Database) -> Connection:
    with db.read(reuse=True) as conn:
        conn.exec_driver_sql("SELECT 1").fetchall()
        conn.invalidate()  # as after an error SQLAlchemy classes as a disconnect
        raise _Broke


def test_a_read_whose_connection_broke_leaves_the_kept_connection_usable(
    tmp_path: Path,
) -> None:
    """The read ends cleanly (not left busy, which would send every later point read to
    the pool), and the next read on the thread reconnects the kept connection."""
    db = _migrated(tmp_path / "broken.db", pool_size=2)
    with pytest.raises(_Broke):
        _read_that_breaks(db)
    kept = db._kept_connection()
    assert not kept.busy
    for _ in range(2):
        with db.read(reuse=True) as again:
            assert again is kept.conn
            assert again.exec_driver_sql("SELECT count(*) FROM orgs").scalar() == 0
    db.dispose()


def test_a_writer_waiting_for_the_lock_holds_no_connection_of_the_pool(tmp_path: Path) -> None:
    """Writers queue on the writer lock first and take a connection once it is theirs:
    eight threads waiting to write do not empty the pool that reads need."""
    db = _migrated(tmp_path / "queue.db")
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with db.write():
            holding.set()
            release.wait(5)

    def waiting() -> None:
        with db.write():
            pass

    threads = [threading.Thread(target=first)] + [
        threading.Thread(target=waiting) for _ in range(8)
    ]
    threads[0].start()
    assert holding.wait(5)
    for thread in threads[1:]:
        thread.start()
    try:
        time.sleep(0.3)  # long enough for each to reach the lock and queue there
        assert all(t.is_alive() for t in threads)
        assert db.engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    finally:
        release.set()
        for thread in threads:
            thread.join(5)
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    db.dispose()
