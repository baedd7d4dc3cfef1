"""Organizations as the host platform sees them: listed, searched and deleted whole.

Creating and changing an org is `orgs.create_org` / `orgs.update_settings`, the same
functions the CLI and the console run; this module adds what only an operator does.

Deleting an org emits no events of the org. Its change feed, webhook endpoints, API tokens
and pending deliveries are deleted in the same transaction, so nobody could ever read or
receive them (events written first would be deleted with the rest, a step later). The
deletion is recorded instead in the operator audit trail, which outlives the org, with what
the org held; the operator that asked has its answer in the response.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select

from scimitar.domain.context import Tx, fold
from scimitar.domain.directory.organizations import org_from_row
from scimitar.domain.identity import operators
from scimitar.domain.models import Org
from scimitar.storage.tables import groups, members, orgs, projects

MAX_QUERY = 200


def list_orgs(tx: Tx, *, q: str = "", limit: int = 50, offset: int = 0) -> tuple[list[Org], int]:
    """A page of organizations by slug, and how many match; `q` is text in slug or name
    (case-insensitive)."""
    query = select(orgs)
    counted = select(func.count()).select_from(orgs)
    if q:
        # Folded in Python and matched against the lower-cased column; slugs are ASCII, and
        # for names this is the same approximation the console's org search makes.
        pattern = f"%{_escape(fold(q[:MAX_QUERY]))}%"
        condition = or_(
            orgs.c.slug.like(pattern, escape="\\"),
            func.lower(orgs.c.name).like(pattern, escape="\\"),
        )
        query, counted = query.where(condition), counted.where(condition)
    total = int(tx.conn.execute(counted).scalar_one())
    rows = tx.conn.execute(query.order_by(orgs.c.slug).limit(limit).offset(offset))
    return [org_from_row(row) for row in rows], total


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _count(tx: Tx, table: Any, org: Org) -> int:
    query = select(func.count()).select_from(table).where(table.c.org_id == org.id)
    return int(tx.conn.execute(query).scalar_one())


def delete_org(tx: Tx, org: Org) -> dict[str, Any]:
    """Delete an organization and everything in it, in this transaction; returns what it
    held (as recorded in the operator audit trail)."""
    held = {
        "name": org.name,
        "members": _count(tx, members, org),
        "projects": _count(tx, projects, org),
        "groups": _count(tx, groups, org),
    }
    # Every org-owned table refers to `orgs` with ON DELETE CASCADE (tables.py), and
    # webhook attempts go with their deliveries: one statement removes it all.
    tx.conn.execute(delete(orgs).where(orgs.c.id == org.id))
    operators.record(tx, "org.deleted", "org", org.id, org=org, detail=held)
    return held
