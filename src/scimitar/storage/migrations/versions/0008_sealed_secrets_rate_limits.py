"""webhook secrets sealed at rest (a wider column); org_rate_limits (an org's own rate limits)

Revision ID: 0008_sealed_secrets_rate_limits
Revises: 0007_sso

The clear secrets already stored are sealed by every process at start-up
(`domain.sealed_secrets.seal_clear_values`), not here: sealing needs the deployment's secret
key, which a migration does not have, and the start-up step also catches a row written in
clear by an older process still running during a rolling upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_sealed_secrets_rate_limits"
down_revision = "0007_sso"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(100), type_=sa.String(512), existing_nullable=False
        )
    op.create_table(
        "org_rate_limits",
        sa.Column("org_id", sa.String(36), nullable=False),
        sa.Column("scim_per_second", sa.Integer(), nullable=True),
        sa.Column("api_per_second", sa.Integer(), nullable=True),
        sa.CheckConstraint("scim_per_second >= 0", name=op.f("ck_org_rate_limits_scim_per_second")),
        sa.CheckConstraint("api_per_second >= 0", name=op.f("ck_org_rate_limits_api_per_second")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["orgs.id"],
            name=op.f("fk_org_rate_limits_org_id_orgs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", name=op.f("pk_org_rate_limits")),
    )


def downgrade() -> None:
    op.drop_table("org_rate_limits")
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.alter_column(
            "secret", existing_type=sa.String(512), type_=sa.String(100), existing_nullable=False
        )
