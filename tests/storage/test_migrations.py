"""Data migrations: a database made by an older release comes out right."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import delete, func, insert, select, text, update

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import group_store, people
from scimitar.domain.identity import credentials
from scimitar.domain.models import GroupKind, OrgRole
from scimitar.storage.database import Database, _alembic_config
from scimitar.storage.tables import console_credentials, console_sessions, group_members
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


def test_members_deactivated_before_0004_lose_their_role_and_sign_in(tmp_path: Path) -> None:
    """0004: an inactive member keeps no org role, password or session from before."""
    db = _database_at(tmp_path, "0003_events")
    with db.write() as conn:
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
    with db.write() as conn:
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
    db.migrate()
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
    with db.engine.begin() as conn:
        config = _alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0009_org_structure")
    assert "WITHOUT ROWID" not in table_sql()
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(group_members)).scalar() == 2
    db.dispose()
