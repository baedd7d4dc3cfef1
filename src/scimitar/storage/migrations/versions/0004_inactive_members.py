"""inactive members hold no org role and no console sign-in

Members deactivated before this rule kept their org role, console password and sessions.
A data migration: no schema change.

Revision ID: 0004_inactive_members
Revises: 0003_events
"""

from __future__ import annotations

from alembic import op

revision = "0004_inactive_members"
down_revision = "0003_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE members SET org_role = 'Member' WHERE active = false AND org_role <> 'Member'"
    )
    op.execute(
        "DELETE FROM console_sessions"
        " WHERE member_id IN (SELECT id FROM members WHERE active = false)"
    )
    op.execute(
        "DELETE FROM console_credentials"
        " WHERE member_id IN (SELECT id FROM members WHERE active = false)"
    )


def downgrade() -> None:
    """Nothing to restore: the roles and sign-ins removed were not to be kept."""
