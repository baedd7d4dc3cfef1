"""SQLite: group memberships stored in their primary key's order (a WITHOUT ROWID table)

Revision ID: 0010_clustered_memberships
Revises: 0009_org_structure

A rowid table keeps each membership twice, once as the row and once in the primary-key index
`(group_id, member_id)`. A person's memberships lie on as many pages of each as they have
groups, so a deactivation out of 100 groups dirtied ~200 pages of the two, all written to the
write-ahead log at its commit. Clustered on the key, the row is the index entry: half the
pages, and a group's members read off one B-tree. PostgreSQL is unchanged.
"""

from __future__ import annotations

from alembic import op

revision = "0010_clustered_memberships"
down_revision = "0009_org_structure"
branch_labels = None
depends_on = None

_COLUMNS = "group_id, member_id, org_id, added"


def _rebuild(rowid: bool) -> None:
    kind = "" if rowid else " WITHOUT ROWID"
    op.execute(
        f"""
        CREATE TABLE group_members_new (
            group_id VARCHAR(36) NOT NULL,
            member_id VARCHAR(36) NOT NULL,
            org_id VARCHAR(36) NOT NULL,
            added DATETIME NOT NULL,
            CONSTRAINT pk_group_members PRIMARY KEY (group_id, member_id),
            CONSTRAINT fk_group_members_group_id_groups FOREIGN KEY(group_id)
                REFERENCES groups (id) ON DELETE CASCADE,
            CONSTRAINT fk_group_members_member_id_members FOREIGN KEY(member_id)
                REFERENCES members (id) ON DELETE CASCADE,
            CONSTRAINT fk_group_members_org_id_orgs FOREIGN KEY(org_id)
                REFERENCES orgs (id) ON DELETE CASCADE
        ){kind}
        """
    )
    op.execute(f"INSERT INTO group_members_new ({_COLUMNS}) SELECT {_COLUMNS} FROM group_members")  # noqa: S608
    op.execute("DROP TABLE group_members")
    op.execute("ALTER TABLE group_members_new RENAME TO group_members")
    op.execute("CREATE INDEX ix_group_members_member ON group_members (member_id, group_id)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(rowid=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild(rowid=True)
