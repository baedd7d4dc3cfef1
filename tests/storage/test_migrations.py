"""Data migrations: a database made by an older release comes out right."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import func, insert, select, update

from scimitar.domain.context import CLI_ACTOR, Tx
from scimitar.domain.directory import people
from scimitar.domain.identity import credentials
from scimitar.domain.models import OrgRole
from scimitar.storage.database import Database, _alembic_config
from scimitar.storage.tables import console_credentials, console_sessions
from scimitar.storage.tables import members as members_table
from tests.domain.helpers import make_member, make_org


def test_members_deactivated_before_0004_lose_their_role_and_sign_in(tmp_path: Path) -> None:
    """0004: an inactive member keeps no org role, password or session from before."""
    db = Database(f"sqlite:///{tmp_path}/old.db")
    config = _alembic_config()
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0003_events")
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
