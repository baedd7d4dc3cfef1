"""Processes starting at once on a fresh database migrate it once: the others wait for the
migration lock (PostgreSQL: an advisory lock; SQLite: the writer lock and an immediate
transaction), then find the schema current."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from scimitar.storage.database import Database
from tests.conftest import ENGINES, PG_SERVER

STARTERS = 4


def _start(url: str, barrier: object, failures: object) -> None:
    database = Database(url)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        database.migrate()
    except Exception as exc:
        failures.put(f"{type(exc).__name__}: {exc}")  # type: ignore[attr-defined]
    finally:
        database.dispose()


@pytest.fixture(params=ENGINES)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    name = f"scimitar_fresh_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_SERVER.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_processes_starting_at_once_migrate_once(fresh_url: str) -> None:
    """Several processes migrating one fresh database at once all succeed, and the
    database ends with one alembic_version row at the newest revision."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(STARTERS)
    failures = context.Queue()
    starters = [
        context.Process(target=_start, args=(fresh_url, barrier, failures)) for _ in range(STARTERS)
    ]
    for process in starters:
        process.start()
    for process in starters:
        process.join(120)
    errors = []
    while not failures.empty():
        errors.append(failures.get())
    assert errors == []
    assert [p.exitcode for p in starters] == [0] * STARTERS
    engine = create_engine(Database(fresh_url).url)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).all()
    engine.dispose()
    assert len(versions) == 1
