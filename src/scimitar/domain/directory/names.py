"""What a person calls an org's things: names by id, for pages people read (the ids stay
in the API and the feed, for machines). Things deleted since are simply not found."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Table, func, select

from scimitar.domain.context import Tx
from scimitar.storage.tables import groups, members, projects, roles, teams

Ref = tuple[str, str]
CHUNK = 500
_NAMED: dict[str, tuple[Table, ColumnElement[str]]] = {
    "member": (members, func.coalesce(members.c.display_name, members.c.user_name)),
    "group": (groups, groups.c.display_name),
    "project": (projects, projects.c.name),
    "role": (roles, roles.c.name),
    "team": (teams, teams.c.name),
}


def names_of(tx: Tx, org_id: str, refs: Iterable[tuple[str | None, str | None]]) -> dict[Ref, str]:
    """The name of each (resource type, id) that is one of the org's members, groups,
    projects, roles or teams; other refs are left out."""
    wanted: dict[str, set[str]] = {}
    for kind, resource_id in refs:
        if kind in _NAMED and resource_id:
            wanted.setdefault(kind, set()).add(resource_id)
    found: dict[Ref, str] = {}
    for kind, ids in wanted.items():
        table, name = _NAMED[kind]
        ordered = sorted(ids)
        for start in range(0, len(ordered), CHUNK):
            query = select(table.c.id, name).where(
                table.c.org_id == org_id, table.c.id.in_(ordered[start : start + CHUNK])
            )
            found.update({(kind, row[0]): row[1] for row in tx.conn.execute(query)})
    return found
