"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-28 22:44:53.599535
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "orgs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "allowed_domains",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("group_prefix", sa.String(length=63), nullable=False),
        sa.Column("email_changes", sa.String(length=16), server_default="allow", nullable=False),
        sa.Column("custom_groups", sa.String(length=16), server_default="allow", nullable=False),
        sa.Column("provisioning_mode", sa.String(length=16), server_default="live", nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "custom_groups IN ('allow', 'reject')", name=op.f("ck_orgs_custom_groups")
        ),
        sa.CheckConstraint(
            "email_changes IN ('allow', 'reject')", name=op.f("ck_orgs_email_changes")
        ),
        sa.CheckConstraint(
            "provisioning_mode IN ('live', 'dry_run')", name=op.f("ck_orgs_provisioning_mode")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orgs")),
        sa.UniqueConstraint("slug", name=op.f("uq_orgs_slug")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_api_tokens_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("actor_label", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column(
            "before",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "after",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_audit_log_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_org_id", ["org_id", "id"], unique=False)

    op.create_table(
        "members",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("user_name", sa.String(length=2048), nullable=False),
        sa.Column("user_name_key", sa.String(length=2048), nullable=False),
        sa.Column("external_id", sa.String(length=2048), nullable=True),
        sa.Column("display_name", sa.String(length=2048), nullable=True),
        sa.Column("display_name_key", sa.String(length=2048), nullable=True),
        sa.Column("given_name_key", sa.String(length=2048), nullable=True),
        sa.Column("family_name_key", sa.String(length=2048), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("org_role", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "org_role IN ('Owner', 'Admin', 'Member')", name=op.f("ck_members_org_role")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_members_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_members")),
        sa.UniqueConstraint("id", name=op.f("uq_members_id")),
        sa.UniqueConstraint(
            "org_id", "user_name_key", name=op.f("uq_members_org_id_user_name_key")
        ),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_members_org_active_seq", ["org_id", "active", "seq"], unique=False
        )
        batch_op.create_index(
            "ix_members_org_display_name_key", ["org_id", "display_name_key"], unique=False
        )
        batch_op.create_index("ix_members_org_external_id", ["org_id", "external_id"], unique=False)
        batch_op.create_index(
            "ix_members_org_family_name_key", ["org_id", "family_name_key"], unique=False
        )
        batch_op.create_index(
            "ix_members_org_given_name_key", ["org_id", "given_name_key"], unique=False
        )
        batch_op.create_index("ix_members_org_seq", ["org_id", "seq"], unique=False)
        batch_op.create_index(
            "uq_members_one_owner",
            ["org_id"],
            unique=True,
            sqlite_where=sa.text("org_role = 'Owner'"),
            postgresql_where=sa.text("org_role = 'Owner'"),
        )

    op.create_table(
        "provisioning_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("request_body", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_provisioning_log_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provisioning_log")),
    )
    with op.batch_alter_table("provisioning_log", schema=None) as batch_op:
        batch_op.create_index("ix_provisioning_log_org_id", ["org_id", "id"], unique=False)

    op.create_table(
        "roles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column(
            "permissions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_roles_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("org_id", "name_key", name=op.f("uq_roles_org_id_name_key")),
    )
    op.create_table(
        "scim_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deactivated", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_scim_keys_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_scim_keys_key_hash")),
    )
    with op.batch_alter_table("scim_keys", schema=None) as batch_op:
        batch_op.create_index(
            "uq_scim_keys_one_active",
            ["org_id"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )

    op.create_table(
        "console_credentials",
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_console_credentials_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_console_credentials_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("member_id", name=op.f("pk_console_credentials")),
    )
    op.create_table(
        "member_emails",
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", sa.String(length=2048), nullable=False),
        sa.Column("value_key", sa.String(length=2048), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=True),
        sa.Column("primary", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_emails_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_member_emails_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.UniqueConstraint(
            "member_id", "position", name=op.f("uq_member_emails_member_id_position")
        ),
    )
    with op.batch_alter_table("member_emails", schema=None) as batch_op:
        batch_op.create_index(
            "ix_member_emails_org_value_key", ["org_id", "value_key"], unique=False
        )

    op.create_table(
        "projects",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("default_role_id", sa.String(length=36), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["default_role_id"], ["roles.id"], name=op.f("fk_projects_default_role_id_roles")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_projects_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("org_id", "name_key", name=op.f("uq_projects_org_id_name_key")),
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_teams_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_teams_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("project_id", "name_key", name=op.f("uq_teams_project_id_name_key")),
    )
    op.create_table(
        "direct_assignments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("role_id", sa.String(length=36), nullable=True),
        sa.Column("team_id", sa.String(length=36), nullable=True),
        sa.Column("team_role", sa.String(length=8), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(role_id IS NOT NULL AND team_id IS NULL AND team_role IS NULL) OR (role_id IS NULL AND team_id IS NOT NULL AND team_role IN ('Admin', 'Member'))",
            name=op.f("ck_direct_assignments_direct_assignments_target"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_direct_assignments_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_direct_assignments_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_direct_assignments_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id"],
            name=op.f("fk_direct_assignments_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_direct_assignments_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direct_assignments")),
    )
    with op.batch_alter_table("direct_assignments", schema=None) as batch_op:
        batch_op.create_index("ix_direct_assignments_member", ["member_id"], unique=False)

    op.create_table(
        "groups",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("display_name", sa.String(length=1024), nullable=False),
        sa.Column("display_name_key", sa.String(length=1024), nullable=False),
        sa.Column("external_id", sa.String(length=2048), nullable=True),
        sa.Column("project_id", sa.String(length=36), nullable=True),
        sa.Column("role_id", sa.String(length=36), nullable=True),
        sa.Column("team_id", sa.String(length=36), nullable=True),
        sa.Column("team_role", sa.String(length=8), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_modified", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('role', 'team', 'custom')", name=op.f("ck_groups_kind")),
        sa.CheckConstraint(
            "team_role IS NULL OR team_role IN ('Admin', 'Member')",
            name=op.f("ck_groups_team_role"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_groups_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_groups_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_groups_role_id_roles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_groups_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_groups")),
        sa.UniqueConstraint("id", name=op.f("uq_groups_id")),
        sa.UniqueConstraint(
            "org_id", "display_name_key", name=op.f("uq_groups_org_id_display_name_key")
        ),
        sa.UniqueConstraint("project_id", "role_id", name=op.f("uq_groups_project_id_role_id")),
        sa.UniqueConstraint("team_id", "team_role", name=op.f("uq_groups_team_id_team_role")),
    )
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.create_index("ix_groups_org_external_id", ["org_id", "external_id"], unique=False)
        batch_op.create_index("ix_groups_org_seq", ["org_id", "seq"], unique=False)

    op.create_table(
        "group_grants",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=36), nullable=False),
        sa.Column("role_id", sa.String(length=36), nullable=True),
        sa.Column("team_id", sa.String(length=36), nullable=True),
        sa.Column("team_role", sa.String(length=8), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(role_id IS NOT NULL AND team_id IS NULL AND team_role IS NULL) OR (role_id IS NULL AND team_id IS NOT NULL AND team_role IN ('Admin', 'Member'))",
            name=op.f("ck_group_grants_group_grants_target"),
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_grants_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_group_grants_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_group_grants_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id"],
            name=op.f("fk_group_grants_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_group_grants_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_grants")),
    )
    with op.batch_alter_table("group_grants", schema=None) as batch_op:
        batch_op.create_index("ix_group_grants_group", ["group_id"], unique=False)

    op.create_table(
        "group_members",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("added", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_group_members_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_group_members_member_id_members"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["orgs.id"], name=op.f("fk_group_members_org_id_orgs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("group_id", "member_id", name=op.f("pk_group_members")),
    )
    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.create_index("ix_group_members_member", ["member_id", "group_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("group_members", schema=None) as batch_op:
        batch_op.drop_index("ix_group_members_member")

    op.drop_table("group_members")
    with op.batch_alter_table("group_grants", schema=None) as batch_op:
        batch_op.drop_index("ix_group_grants_group")

    op.drop_table("group_grants")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_index("ix_groups_org_seq")
        batch_op.drop_index("ix_groups_org_external_id")

    op.drop_table("groups")
    with op.batch_alter_table("direct_assignments", schema=None) as batch_op:
        batch_op.drop_index("ix_direct_assignments_member")

    op.drop_table("direct_assignments")
    op.drop_table("teams")
    op.drop_table("projects")
    with op.batch_alter_table("member_emails", schema=None) as batch_op:
        batch_op.drop_index("ix_member_emails_org_value_key")

    op.drop_table("member_emails")
    op.drop_table("console_credentials")
    with op.batch_alter_table("scim_keys", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_scim_keys_one_active",
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )

    op.drop_table("scim_keys")
    op.drop_table("roles")
    with op.batch_alter_table("provisioning_log", schema=None) as batch_op:
        batch_op.drop_index("ix_provisioning_log_org_id")

    op.drop_table("provisioning_log")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_members_one_owner",
            sqlite_where=sa.text("org_role = 'Owner'"),
            postgresql_where=sa.text("org_role = 'Owner'"),
        )
        batch_op.drop_index("ix_members_org_seq")
        batch_op.drop_index("ix_members_org_given_name_key")
        batch_op.drop_index("ix_members_org_family_name_key")
        batch_op.drop_index("ix_members_org_external_id")
        batch_op.drop_index("ix_members_org_display_name_key")
        batch_op.drop_index("ix_members_org_active_seq")

    op.drop_table("members")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_org_id")

    op.drop_table("audit_log")
    op.drop_table("api_tokens")
    op.drop_table("orgs")
