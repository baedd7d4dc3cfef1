"""operator platform: operator tokens, the operator audit trail, setup links and their sessions

Revision ID: 0006_operator_platform
Revises: 0005_session_last_seen
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_operator_platform"
down_revision = "0005_session_last_seen"
branch_labels = None
depends_on = None

UUID = sa.String(length=36)
Timestamp = sa.DateTime(timezone=True)
Document = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"], ["orgs.id"], name=op.f(f"fk_{table}_org_id_orgs"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "operator_tokens",
        sa.Column("id", UUID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("last_used", Timestamp, nullable=True),
        sa.Column("revoked", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_operator_tokens_token_hash")),
    )
    op.create_table(
        "operator_audit",
        sa.Column("id", Serial, autoincrement=True, nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("actor_label", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("org_id", UUID, nullable=True),
        sa.Column("org_slug", sa.String(length=63), nullable=True),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("detail", Document, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_audit")),
    )
    op.create_index("ix_operator_audit_org", "operator_audit", ["org_id", "id"])
    op.create_table(
        "setup_links",
        sa.Column("id", UUID, nullable=False),
        sa.Column("org_id", UUID, nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("expires", Timestamp, nullable=False),
        sa.Column("used", Timestamp, nullable=True),
        sa.Column("revoked", Timestamp, nullable=True),
        _org_fk("setup_links"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setup_links")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_setup_links_secret_hash")),
    )
    op.create_index("ix_setup_links_org_created", "setup_links", ["org_id", "created"])
    op.create_table(
        "setup_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("org_id", UUID, nullable=False),
        sa.Column("link_id", UUID, nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("expires", Timestamp, nullable=False),
        _org_fk("setup_sessions"),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["setup_links.id"],
            name=op.f("fk_setup_sessions_link_id_setup_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_setup_sessions")),
    )
    op.create_index("ix_setup_sessions_link", "setup_sessions", ["link_id"])
    op.create_index("ix_webhook_deliveries_event", "webhook_deliveries", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_event", table_name="webhook_deliveries")
    op.drop_table("setup_sessions")
    op.drop_table("setup_links")
    op.drop_table("operator_audit")
    op.drop_table("operator_tokens")
