"""console sessions end after an hour unused: their last request's time

Revision ID: 0005_session_last_seen
Revises: 0004_inactive_members
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_session_last_seen"
down_revision = "0004_inactive_members"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.add_column(sa.Column("last_seen", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_column("last_seen")
