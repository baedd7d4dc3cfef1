"""PostgreSQL transactions in few round trips (`storage.postgres`) lose nothing for it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import bindparam, create_engine, func, select, text
from sqlalchemy.exc import IntegrityError

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import organizations
from scimitar.storage.database import Database
from scimitar.storage.prepared import Prepared, driver, prepared_insert
from scimitar.storage.tables import orgs, provisioning_log

_ORG_NAME = Prepared(select(orgs.c.name).where(orgs.c.id == bindparam("org_id")))


@pytest.fixture
def pg(db: Database) -> Database:
    if db.is_sqlite:
        pytest.skip("PostgreSQL connections")
    return db


def _org(db: Database) -> str:
    with db.write() as conn:
        org = organizations.create_org(
            Tx(conn, CLI_ACTOR), name="Acme", slug="acme", domains=(), owner_email="o@ex.com"
        )
    return org.id


def test_a_connection_the_server_dropped_is_replaced_without_a_ping(pg: Database) -> None:
    """A pooled connection terminated by the server is replaced when checked out."""
    org_id = _org(pg)
    with pg.read() as conn:
        assert _ORG_NAME.first(driver(conn), {"org_id": org_id}).name == "Acme"
    admin = create_engine(pg.url)
    with admin.connect() as conn:
        terminated = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    admin.dispose()
    assert terminated
    time.sleep(0.2)  # the server's goodbye reaches the idle socket
    with pg.read() as conn:
        assert _ORG_NAME.first(driver(conn), {"org_id": org_id}).name == "Acme"
    with pg.write() as conn:
        assert conn.execute(select(func.count()).select_from(orgs)).scalar() == 1


def test_prepared_statements_outlive_read_transactions(pg: Database) -> None:
    """Reads end without a ROLLBACK, so the connection keeps its prepared statements."""
    org_id = _org(pg)
    for _ in range(8):  # psycopg prepares a statement on its fifth use
        with pg.read() as conn:
            _ORG_NAME.first(driver(conn), {"org_id": org_id})
    for _ in range(3):
        with pg.read() as conn:
            prepared = conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
            assert prepared, "the read before this one threw the prepared statements away"


_LOG = prepared_insert(provisioning_log, exclude={"id"})


def test_an_error_of_a_statement_sent_with_the_commit_fails_the_whole_transaction(
    pg: Database,
) -> None:
    """A sent statement that fails makes the commit fail, and nothing of it is kept."""
    org_id = _org(pg)
    row = {
        "org_id": org_id,
        "at": None,  # NOT NULL: refused when the commit sends it
        "method": "GET",
        "path": "/",
        "status": 200,
        "latency_ms": 1,
        "user_agent": None,
        "detail": None,
        "request_body": None,
        "dry_run": False,
        "changes": None,
    }

    def change_and_log() -> None:
        with pg.write() as conn:
            conn.execute(orgs.update().where(orgs.c.id == org_id).values(name="Changed"))
            _LOG.send(driver(conn), row)

    with pytest.raises(IntegrityError):
        change_and_log()
    with pg.read() as conn:
        assert _ORG_NAME.first(driver(conn), {"org_id": org_id}).name == "Acme"
        assert conn.execute(select(func.count()).select_from(provisioning_log)).scalar() == 0
