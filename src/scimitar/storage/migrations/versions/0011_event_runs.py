"""event_runs: one events row may hold a run of events (`events.run`)

Revision ID: 0011_event_runs
Revises: 0010_clustered_memberships

A transaction's consecutive events that differ only in their id, resource and data (the
`group.member_removed` of a member deactivated out of 100 groups) are stored as one row: the
row's columns are the first event's, `run` lists the others' `[id, resource_id, data]`, and
they hold the sequence numbers after the row's `seq`, one each. The feed reads them back as
the events they are (`domain.events.feed`). Rows written before this migration hold one
event each (`run` is NULL), as single events still do.

Downgrade writes each run's events back as rows of their own (and points their webhook
deliveries at them) before it drops the column.
"""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0011_event_runs"
down_revision = "0010_clustered_memberships"
branch_labels = None
depends_on = None

Document = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("events", sa.Column("run", Document, nullable=True))


def downgrade() -> None:
    conn = op.get_bind()
    # As the database has them (reflected): the JSON columns read and written as documents.
    events = sa.Table("events", sa.MetaData(), autoload_with=conn)
    deliveries = sa.table("webhook_deliveries", sa.column("event_id"), sa.column("event_seq"))
    split: list[dict[str, Any]] = []
    repointed: list[dict[str, Any]] = []
    for row in conn.execute(sa.select(events).where(events.c.run.is_not(None))).mappings():
        run: list[list[Any]] | None = row["run"]
        if isinstance(run, str):  # SQLite hands the document back as text
            run = orjson.loads(run)
        for offset, (event_id, resource_id, data) in enumerate(run or (), start=1):
            seq = row["seq"] + offset
            values = {k: v for k, v in row.items() if k != "run"}
            split.append(
                {**values, "id": event_id, "seq": seq, "resource_id": resource_id, "data": data}
            )
            repointed.append({"row_id": row["id"], "seq": seq, "own_id": event_id})
    if split:  # each statement once, for all the rows (executemany)
        conn.execute(sa.insert(events), split)
    if repointed:
        conn.execute(
            sa.update(deliveries)
            .where(
                deliveries.c.event_id == sa.bindparam("row_id"),
                deliveries.c.event_seq == sa.bindparam("seq"),
            )
            .values(event_id=sa.bindparam("own_id")),
            repointed,
        )
    op.drop_column("events", "run")
