"""Shared fixtures: a real database per test, on SQLite and on PostgreSQL.

`SCIMITAR_TEST_DATABASES` (default `sqlite,postgresql`) picks the engines; tests that take
the `db` fixture run once per engine. PostgreSQL gets a fresh database per test session
(`SCIMITAR_TEST_PG_URL`, default the local server), migrated once and emptied between tests;
SQLite gets a fresh file per test, copied from a migrated template.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.storage.database import Database
from scimitar.storage.tables import metadata
from tests.faces.scim.harness import Scim, start
from tests.faces.scim.harness import make_org as make_scim_org

ENGINES = [
    e.strip()
    for e in os.environ.get("SCIMITAR_TEST_DATABASES", "sqlite,postgresql").split(",")
    if e.strip()
]
PG_SERVER = os.environ.get(
    "SCIMITAR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    database.migrate()
    database.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    name = f"scimitar_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_SERVER.rsplit("/", 1)[0] + "/" + name
    database = Database(url)
    database.migrate()
    database.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "scimitar.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("pg_url")
    yield url
    empty_postgresql(url)


def empty_postgresql(url: str) -> None:
    """Empty every table of a test database (for the next test)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        names = ", ".join(
            f'"{t.name}"' for t in metadata.sorted_tables if t.name != "alembic_version"
        )
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def tx(db: Database) -> Iterator[Tx]:
    """One write transaction, committed at the end of the test (for domain unit tests)."""
    with db.write() as conn:
        yield Tx(conn, CLI_ACTOR)


@pytest.fixture
def scim(db_url: str) -> Iterator[Scim]:
    """The SCIM API of a fresh org (owner owner@example.com), on SQLite and PostgreSQL."""
    client, db = start(db_url)
    with client:
        org, key = make_scim_org(db)
        yield Scim(client, db, org, key)
    db.dispose()
