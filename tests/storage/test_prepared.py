"""Prepared statements run on the driver cursor but convert values as SQLAlchemy does."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from scimitar.domain.context import Tx, new_id
from scimitar.domain.directory.people import find_member
from scimitar.storage.database import Database
from scimitar.storage.prepared import Prepared, driver, prepared_insert
from scimitar.storage.tables import members, orgs, provisioning_log
from tests.domain.helpers import make_member, make_org

MEMBER_BY_KEY = Prepared(
    select(members).where(
        members.c.org_id == bindparam("org_id"), members.c.user_name_key == bindparam("key")
    )
)


def test_rows_convert_as_sqlalchemy_converts_them(tx: Tx) -> None:
    org = make_org(tx)
    make_member(tx, org, "Zoë@example.com", active=False, title="Ü")
    wanted = tx.conn.execute(
        select(members).where(members.c.user_name_key == "zoë@example.com")
    ).one()
    got = MEMBER_BY_KEY.first(driver(tx.conn), {"org_id": org.id, "key": "zoë@example.com"})
    assert got._asdict() == wanted._asdict()
    assert got.active is False and isinstance(got.attributes, dict)
    assert isinstance(got.created, datetime)
    org_row = Prepared(select(orgs)).first(driver(tx.conn))
    assert org_row._asdict() == tx.conn.execute(select(orgs)).one()._asdict()


def test_plain_tuples_only_where_nothing_needs_converting(tx: Tx) -> None:
    """`tuples`: the driver's rows by position, for statements whose columns need no
    conversion. On SQLite one whose do (a flag, the JSON attributes, timestamps) is refused
    before it runs; psycopg converts those itself."""
    org = make_org(tx)
    ada = make_member(tx, org, "ada@example.com")
    plain = Prepared(
        select(members.c.id, members.c.user_name).where(
            members.c.org_id == org.id, members.c.user_name_key == "ada@example.com"
        )
    )
    assert plain.tuples(driver(tx.conn)) == [(ada.id, "ada@example.com")]
    values = {"org_id": org.id, "key": "ada@example.com"}
    if tx.conn.dialect.name == "sqlite":
        with pytest.raises(TypeError, match="converter"):
            MEMBER_BY_KEY.tuples(driver(tx.conn), values)
    else:
        [row] = MEMBER_BY_KEY.tuples(driver(tx.conn), values)
        assert row == tuple(MEMBER_BY_KEY.first(driver(tx.conn), values))


def test_no_row(tx: Tx) -> None:
    org = make_org(tx)
    assert MEMBER_BY_KEY.first(driver(tx.conn), {"org_id": org.id, "key": "nobody"}) is None
    assert MEMBER_BY_KEY.all(driver(tx.conn), {"org_id": org.id, "key": "nobody"}) == []


def test_inserts_and_updates_convert_their_parameters(tx: Tx) -> None:
    org = make_org(tx)
    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    insert_entry = prepared_insert(
        provisioning_log, "org_id", "at", "method", "path", "status", "latency_ms", "changes"
    )
    entries = [
        {
            "org_id": org.id,
            "at": at + timedelta(seconds=n),
            "method": "GET",
            "path": f"/scim/Users/{n}",
            "status": 200,
            "latency_ms": n,
            "changes": [{"n": n, "ü": True}],
        }
        for n in range(3)
    ]
    insert_entry.run(driver(tx.conn), entries[0])
    insert_entry.run_many(driver(tx.conn), entries[1:])
    rows = tx.conn.execute(select(provisioning_log).order_by(provisioning_log.c.id)).all()
    assert [r.path for r in rows] == ["/scim/Users/0", "/scim/Users/1", "/scim/Users/2"]
    assert rows[2].changes == [{"n": 2, "ü": True}]
    assert rows[1].dry_run is False  # the server default of an omitted column
    stored = rows[0].at if rows[0].at.tzinfo else rows[0].at.replace(tzinfo=UTC)
    assert stored == at
    rename = Prepared(
        update(provisioning_log)
        .where(provisioning_log.c.status == bindparam("status"))
        .values(method=bindparam("method"))
    )
    assert rename.run(driver(tx.conn), {"status": 200, "method": "PUT"}) == 3
    assert rename.run(driver(tx.conn), {"status": 404, "method": "PUT"}) == 0


def test_a_missing_parameter_is_an_error_not_a_null(tx: Tx) -> None:
    org = make_org(tx)
    with pytest.raises(KeyError):
        MEMBER_BY_KEY.first(driver(tx.conn), {"org_id": org.id})


def test_bound_values_are_defaults(tx: Tx) -> None:
    org = make_org(tx)
    owner = find_member(tx, org, f"owner@{org.slug}.example.com")
    assert owner is not None
    by_role = Prepared(
        select(members.c.id).where(
            members.c.org_id == bindparam("org_id"), members.c.org_role == "Owner"
        )
    )
    assert [r.id for r in by_role.all(driver(tx.conn), {"org_id": org.id})] == [owner.id]
    assert by_role.all(driver(tx.conn), {"org_id": new_id()}) == []


def test_one_statement_on_several_engines(db: Database, tmp_path: Path) -> None:
    """A prepared statement keeps one compiled form per engine's dialect, so engines of
    either kind, created and disposed in any order, each get their own SQL."""
    count_orgs = Prepared(select(func.count().label("n")).select_from(orgs))
    for round_ in range(3):
        other = Database(f"sqlite:///{tmp_path}/other{round_}.db")
        other.migrate()
        for database in (db, other, db):
            with database.read() as conn:
                assert count_orgs.first(driver(conn)).n == 0
        other.dispose()
        del other
        gc.collect()


def test_a_failed_statement_never_shows_its_values(db: Database) -> None:
    """Error messages reach logs: they name the statement, never the values (people's
    addresses, webhook secrets), whichever way the statement ran."""
    statement = insert(orgs).values(id=bindparam("id"))
    with pytest.raises(IntegrityError) as prepared_error, db.write() as conn:
        Prepared(statement).run(driver(conn), {"id": "secret-value-123"})
    with pytest.raises(IntegrityError) as core_error, db.write() as conn:
        conn.execute(statement, {"id": "secret-value-123"})
    for error in (prepared_error.value, core_error.value):
        assert "INSERT INTO orgs" in str(error) and "parameters hidden" in str(error)
        # PostgreSQL's own DETAIL line may still quote the row: the server's log formatter
        # drops it (tests/runtime/test_logs.py).
        assert "secret-value-123" not in str(error).split("DETAIL")[0]
