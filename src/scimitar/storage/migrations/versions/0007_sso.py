"""console sign-in with the org's own IdP (OpenID Connect): connections (with the
sso_required policy) and sign-ins in flight

Revision ID: 0007_sso
Revises: 0006_operator_platform
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007_sso"
down_revision = "0006_operator_platform"
branch_labels = None
depends_on = None

UUID = sa.String(length=36)
Timestamp = sa.DateTime(timezone=True)
Document = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_id"], ["orgs.id"], name=op.f(f"fk_{table}_org_id_orgs"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "sso_connections",
        sa.Column("org_id", UUID, nullable=False),
        sa.Column("issuer", sa.String(length=2048), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret", sa.Text(), nullable=False),
        sa.Column("provider", Document, nullable=False),
        sa.Column("required", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created", Timestamp, nullable=False),
        sa.Column("last_modified", Timestamp, nullable=False),
        _org_fk("sso_connections"),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_sso_connections")),
    )
    op.create_table(
        "sso_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("org_id", UUID, nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("expires", Timestamp, nullable=False),
        _org_fk("sso_states"),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_sso_states")),
    )
    op.create_index(op.f("ix_sso_states_expires"), "sso_states", ["expires"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sso_states_expires"), table_name="sso_states")
    op.drop_table("sso_states")
    op.drop_table("sso_connections")
