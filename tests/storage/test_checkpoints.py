"""SQLite's write-ahead log is copied back into the database file by a background thread
when a server asks for it, and by the committing writer otherwise."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations
from scimitar.storage.database import Database


def _orgs_in_main_file(path: Path, copy: Path) -> int:
    """Orgs that the database file alone holds (without its -wal): what was checkpointed."""
    shutil.copy(path, copy)
    with sqlite3.connect(copy) as conn:
        return int(conn.execute("SELECT count(*) FROM orgs").fetchone()[0])


def _migrated(url: str, **options: bool) -> Database:
    db = Database(url, **options)
    db.migrate()
    raw = db.engine.raw_connection()  # the schema itself into the file, to start even
    raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
    raw.close()
    return db


def _create_orgs(db: Database, count: int) -> None:
    for n in range(count):
        with db.write() as conn:
            organizations.create_org(
                Tx(conn, CLI_ACTOR), name=f"Org {n}", slug=f"org-{n}", owner_email=f"o{n}@x.com"
            )


def test_background_thread_checkpoints_the_log(tmp_path: Path) -> None:
    path = tmp_path / "server.db"
    db = _migrated(f"sqlite:///{path}", background_checkpoints=True)
    _create_orgs(db, 5)
    deadline = time.monotonic() + 5
    while _orgs_in_main_file(path, tmp_path / "copy.db") < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _orgs_in_main_file(path, tmp_path / "copy.db") == 5
    db.dispose()
    assert not any(t.name == "sqlite-checkpoint" for t in threading.enumerate())


def test_without_it_small_commits_stay_in_the_log(tmp_path: Path) -> None:
    """The control: SQLite's own checkpoint waits for 1 000 pages of log."""
    path = tmp_path / "cli.db"
    db = _migrated(f"sqlite:///{path}")
    _create_orgs(db, 5)
    time.sleep(0.5)
    assert _orgs_in_main_file(path, tmp_path / "copy.db") == 0
    db.dispose()
