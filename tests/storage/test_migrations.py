"""Data migrations: a database made by an older release comes out right."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import delete, func, insert, select, text, update

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import group_store, people
from scimitar.domain.events import feed, webhooks
from scimitar.domain.events.addresses import AllowList
from scimitar.domain.identity import credentials
from scimitar.domain.identity.sealed_secrets import deployment_sealer
from scimitar.domain.models import GroupKind, OrgRole
from scimitar.storage.database import Database, _alembic_config
from scimitar.storage.tables import (
    console_credentials,
    console_sessions,
    group_members,
    webhook_deliveries,
)
from scimitar.storage.tables import members as members_table
from tests.domain.helpers import make_member, make_org


def _database_at(tmp_path: Path, revision: str) -> Database:
    """A SQLite database as the release with this newest migration left it."""
    db = Database(f"sqlite:///{tmp_path}/old.db")
    config = _alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    return db


@contextmanager
def _events_of_today(db: Database) -> Iterator[None]:
    """Today's domain code, used to fill an older database, writes today's `events` (the
    `run` column of 0011): the column is there while it does, and gone again after."""
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE events ADD COLUMN run JSON"))
    yield
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE events DROP COLUMN run"))


def _migrate(db: Database, revision: str, *, down: bool = False) -> None:
    with db.engine.begin() as conn:
        config = _alembic_config()
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def test_members_deactivated_before_0004_lose_their_role_and_sign_in(tmp_path: Path) -> None:
    """0004: an inactive member keeps no org role, password or session from before."""
    db = _database_at(tmp_path, "0003_events")
    with _events_of_today(db), db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = make_org(tx)
        admin = people.set_org_role(
            tx, org, make_member(tx, org, "ada@acme.example.com"), OrgRole.ADMIN
        )
        credentials.set_password(tx, org, admin, "correct horse battery")
        # A session as 0003 stored it (no last_seen yet).
        conn.execute(
            insert(console_sessions).values(
                token_hash="0" * 64,
                org_id=org.id,
                member_id=admin.id,
                csrf_token="c" * 32,
                created=tx.now,
                expires=tx.now + timedelta(hours=12),
            )
        )
        # Deactivated the way the old release did it: the row only.
        conn.execute(
            update(members_table).where(members_table.c.id == admin.id).values(active=False)
        )
    db.migrate()
    with db.read() as conn:
        tx = Tx(conn, CLI_ACTOR)
        assert people.get_member(tx, org, admin.id).org_role is OrgRole.MEMBER
        for table in (console_credentials, console_sessions):
            count = select(func.count()).select_from(table).where(table.c.member_id == admin.id)
            assert conn.execute(count).scalar() == 0
    db.dispose()


def test_memberships_survive_0010_clustering_them_on_sqlite(tmp_path: Path) -> None:
    """0010: SQLite's `group_members` becomes a WITHOUT ROWID table, every membership kept
    (and read back by group and by member); downgrading gives the rowid table back."""
    db = _database_at(tmp_path, "0009_org_structure")
    with _events_of_today(db), db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = make_org(tx)
        ada = make_member(tx, org, "ada@acme.example.com")
        bob = make_member(tx, org, "bob@acme.example.com")
        staff = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Staff")
        group_store.add_members(tx, org, staff, [ada.id, bob.id])
        ops = group_store.insert_group(tx, org, GroupKind.CUSTOM, "Ops")
        group_store.add_members(tx, org, ops, [ada.id])

    def table_sql() -> str:
        with db.read() as conn:
            found = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'group_members'")
            ).scalar_one()
            index = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE name = 'ix_group_members_member'")
            ).scalar_one()
            assert "(member_id, group_id)" in str(index)  # the index by member came back too
            return str(found)

    assert "WITHOUT ROWID" not in table_sql()
    _migrate(db, "0010_clustered_memberships")
    assert "WITHOUT ROWID" in table_sql()
    with db.read() as conn:
        tx = Tx(conn, CLI_ACTOR)
        assert {g.display_name for g in group_store.groups_of(tx, ada.id)} == {
            "Staff",
            "Ops",
        }
        rows = conn.execute(
            select(group_members.c.member_id).where(group_members.c.group_id == staff.id)
        ).scalars()
        assert set(rows) == {ada.id, bob.id}
    # The rebuilt table's foreign keys still cascade: a member erased leaves no membership.
    with db.write() as conn:
        conn.execute(delete(members_table).where(members_table.c.id == bob.id))
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(group_members)).scalar() == 2
    _migrate(db, "0009_org_structure", down=True)
    assert "WITHOUT ROWID" not in table_sql()
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(group_members)).scalar() == 2
    db.dispose()


def test_event_runs_come_apart_when_0011_is_downgraded(tmp_path: Path) -> None:
    """0011 downgraded: each event of a run becomes a row of its own, with its id and number,
    and a webhook delivery of one of them is pointed at that row; upgraded again, the feed
    reads the very same events."""
    db = Database(f"sqlite:///{tmp_path}/runs.db")
    db.migrate()
    seal = deployment_sealer(db, None)
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        org = make_org(tx)
        ada = make_member(tx, org, "ada@acme.example.com")
        for name in ("Staff", "Ops", "Web"):
            group = group_store.insert_group(tx, org, GroupKind.CUSTOM, name)
            group_store.add_members(tx, org, group, [ada.id])
        endpoint, _ = webhooks.create_endpoint(
            tx, org, "http://127.0.0.1:9/", ["*"], sealer=seal, allow=AllowList.parse("127.0.0.1")
        )
    with db.write() as conn:
        tx = Tx(conn, CLI_ACTOR)
        people.set_active(tx, org, people.get_member(tx, org, ada.id), False)

    def read() -> list[feed.Event]:
        with db.read() as conn:
            return feed.read_feed(Tx(conn, CLI_ACTOR), org.id, limit=1000)

    before = read()
    removed = [e for e in before if e.type == "group.member_removed"]
    assert len(removed) == 3 and {e.row_id for e in removed} == {removed[0].id}
    middle = removed[1]
    with db.write() as conn:
        conn.execute(
            insert(webhook_deliveries).values(
                id="d-1",
                org_id=org.id,
                endpoint_id=endpoint.id,
                event_id=middle.row_id,
                event_seq=middle.seq,
                state="pending",
                attempts=0,
                next_attempt=middle.at,
                created=middle.at,
            )
        )
    _migrate(db, "0010_clustered_memberships", down=True)
    with db.read() as conn:
        rows = conn.execute(
            text("SELECT id, seq FROM events WHERE type = 'group.member_removed' ORDER BY seq")
        ).all()
        assert [(row.id, row.seq) for row in rows] == [(e.id, e.seq) for e in removed]
        pointed = conn.execute(text("SELECT event_id FROM webhook_deliveries")).scalar_one()
        assert pointed == middle.id
    _migrate(db, "head")
    after = read()
    assert [(e.id, e.seq, e.type, e.at, e.resource_id, e.data) for e in after] == [
        (e.id, e.seq, e.type, e.at, e.resource_id, e.data) for e in before
    ]
    db.dispose()
