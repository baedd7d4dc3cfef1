"""`scimitar backup PATH`: a consistent copy of a SQLite database taken while servers keep
running, through SQLite's online backup API. The copy is made in one step, inside one read
transaction: in WAL mode a reader blocks no writer, and a copy made in several steps would
start over each time another process writes. PostgreSQL has its own tool for this:
`pg_dump` (see docs/deployment.md)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from scimitar.storage.database import Database


class BackupError(Exception):
    """A backup that cannot be made (nothing is written)."""


def backup(db: Database, path: str) -> None:
    if not db.is_sqlite:
        raise BackupError(
            "scimitar backup copies SQLite databases; for PostgreSQL use "
            "pg_dump --format=custom (see docs/deployment.md)"
        )
    source_file = make_url(db.url).database
    if not source_file or source_file == ":memory:":
        raise BackupError("This SQLite database is in memory; there is no file to back up")
    target = Path(path)
    if target.exists():
        raise BackupError(f"{path} exists; give a new file name")
    if not target.parent.is_dir():
        raise BackupError(f"No directory {str(target.parent)!r}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_file)
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)
        check = copy.execute("PRAGMA integrity_check").fetchone()
        if check != ("ok",):
            raise BackupError(f"The copy failed its integrity check: {check}")
        # The copy inherits WAL mode; a backup is one self-contained file.
        copy.execute("PRAGMA journal_mode=DELETE")
    except BaseException:
        copy.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        copy.close()
        source.close()
    partial.rename(target)
