"""Grant preview: which members' effective access a grant change on a custom group would
change, and how — shown before an admin attaches or removes the grant.

The change is rehearsed (`events.rehearsal`): made for real and taken back, keeping the
`access.changed` events it would have produced. Nothing is left behind, not even in the
transaction's outbox.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import select

from scimitar.domain.access import grants
from scimitar.domain.context import Tx
from scimitar.domain.directory import group_store
from scimitar.domain.errors import InvalidError
from scimitar.domain.events.rehearsal import rehearse
from scimitar.domain.models import Grant, Group, GroupKind, Org
from scimitar.storage.tables import members

CHUNK = 500


def preview_grant_change(
    tx: Tx,
    org: Org,
    group: Group,
    grant: Grant | str,
    action: Literal["add", "remove"],
) -> list[dict[str, Any]]:
    """One entry per (member, project) whose access would change: `member_id`, `userName`,
    `project_id`, `project`, `before` and `after` (`{"role", "custom_roles"}` or None).
    `grant` is the new grant to add, or the id of the grant to remove."""
    if group.kind is not GroupKind.CUSTOM:
        raise InvalidError("Grants can only be attached to custom groups")
    with rehearse(tx) as rehearsal:
        if action == "add":
            if not isinstance(grant, Grant):
                raise InvalidError("Adding a grant needs the grant, not an id")
            grants.attach(tx, org, group, grant)
        else:
            grant_id = grant if isinstance(grant, str) else None
            if grant_id is None:
                raise InvalidError("Removing a grant needs its id")
            group_store.remove_grant(tx, org, group, grant_id)
    changes = [dict(e.data) for e in rehearsal.events if e.type == "access.changed"]
    names = _user_names(tx, org, [c["member_id"] for c in changes])
    return [{**c, "userName": names.get(c["member_id"])} for c in changes]


def _user_names(tx: Tx, org: Org, member_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(member_ids), CHUNK):
        rows = tx.conn.execute(
            select(members.c.id, members.c.user_name).where(
                members.c.org_id == org.id, members.c.id.in_(member_ids[start : start + CHUNK])
            )
        )
        found.update({row.id: row.user_name for row in rows})
    return found
