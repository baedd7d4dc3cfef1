"""org_structure: a per-org counter the database moves on whenever what access decisions read
of the org's structure changes; an index of custom groups' grants by project

Revision ID: 0009_org_structure
Revises: 0008_sealed_secrets_rate_limits

The counter is moved by triggers, not by the application: no write path (the domain, a
migration, an operator's SQL) can change a project, role, team, group or grant without it.
A group's own bookkeeping (its version, members, attributes) does not move it; only the
columns that say what the group grants, and its name, shown in the reasons of a decision.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_org_structure"
down_revision = "0008_sealed_secrets_rate_limits"
branch_labels = None
depends_on = None

#: (table, the columns whose update counts; None: any update)
WATCHED: list[tuple[str, str | None]] = [
    ("projects", None),
    ("roles", None),
    ("teams", None),
    ("groups", "kind, display_name, project_id, role_id, team_id, team_role"),
    ("group_grants", None),
]


def _sqlite_triggers() -> None:
    for table, columns in WATCHED:
        for event, row in (("INSERT", "NEW"), ("DELETE", "OLD"), ("UPDATE", "NEW")):
            what = f"UPDATE OF {columns}" if event == "UPDATE" and columns else event
            # Names from WATCHED above, no values.
            bump = f"UPDATE org_structure SET version = version + 1 WHERE org_id = {row}.org_id"  # noqa: S608
            op.execute(
                f"CREATE TRIGGER org_structure_{table}_{event.lower()} AFTER {what} ON {table} "
                f"BEGIN {bump}; END"
            )
    op.execute(
        "CREATE TRIGGER org_structure_orgs_insert AFTER INSERT ON orgs "
        "BEGIN INSERT INTO org_structure (org_id, version) VALUES (NEW.id, 0); END"
    )


def _postgresql_triggers() -> None:
    op.execute(
        """
        CREATE FUNCTION org_structure_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          UPDATE org_structure SET version = version + 1
           WHERE org_id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.org_id ELSE NEW.org_id END);
          RETURN NULL;
        END $$
        """
    )
    op.execute(
        """
        CREATE FUNCTION org_structure_created() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          INSERT INTO org_structure (org_id, version) VALUES (NEW.id, 0);
          RETURN NULL;
        END $$
        """
    )
    for table, columns in WATCHED:
        update = f"UPDATE OF {columns}" if columns else "UPDATE"
        op.execute(
            f"CREATE TRIGGER org_structure_{table} AFTER INSERT OR DELETE OR {update} "
            f"ON {table} FOR EACH ROW EXECUTE FUNCTION org_structure_changed()"
        )
    op.execute(
        "CREATE TRIGGER org_structure_orgs AFTER INSERT ON orgs "
        "FOR EACH ROW EXECUTE FUNCTION org_structure_created()"
    )


def upgrade() -> None:
    op.create_table(
        "org_structure",
        sa.Column("org_id", sa.String(36), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_org_structure_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_org_structure")),
    )
    op.execute("INSERT INTO org_structure (org_id, version) SELECT id, 0 FROM orgs")
    op.create_index("ix_group_grants_project", "group_grants", ["project_id"])
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers()
    else:
        _postgresql_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, _columns in WATCHED:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER org_structure_{table}_{event}")
        op.execute("DROP TRIGGER org_structure_orgs_insert")
    else:
        for table, _columns in WATCHED:
            op.execute(f"DROP TRIGGER org_structure_{table} ON {table}")
        op.execute("DROP TRIGGER org_structure_orgs ON orgs")
        op.execute("DROP FUNCTION org_structure_changed()")
        op.execute("DROP FUNCTION org_structure_created()")
    op.drop_index("ix_group_grants_project", table_name="group_grants")
    op.drop_table("org_structure")
