"""`access.changed` events: whenever a member's effective access in a project changes.

Effective access is computed from the grants (domain.access), so a change can come from
anywhere: a group membership, a grant on a custom group, a direct assignment, a deleted
role, team or project, a deactivation. Each such operation wraps its change in
`watch(tx, org, member_ids)` naming the members it may affect; the watch computes their
access before and after — set-based, a chunk of members per query — and emits one
`access.changed` per (member, project) that differs.

Watches nest: an inner watch adds its members (with their state as it is at that moment)
to the outermost one, which alone emits, after the whole operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, union, union_all

from scimitar.domain.context import Tx
from scimitar.domain.events import feed
from scimitar.domain.models import Group, GroupKind, Org
from scimitar.storage.database import transaction_state
from scimitar.storage.tables import (
    direct_assignments,
    group_grants,
    group_members,
    groups,
    projects,
    roles,
)

#: Members per snapshot query: bound parameters stay well under the engines' limits.
CHUNK = 500


@dataclass(frozen=True)
class AccessState:
    """What a member may do in one project: the strongest built-in role, custom roles."""

    role: str | None
    custom_roles: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"role": self.role, "custom_roles": list(self.custom_roles)}


#: (member id, project id) → state; a pair that is absent has no access.
Snapshot = dict[tuple[str, str], AccessState]


@dataclass(frozen=True)
class AccessChange:
    member_id: str
    project_id: str
    project: str
    before: AccessState | None
    after: AccessState | None

    def to_json(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "project_id": self.project_id,
            "project": self.project,
            "before": self.before.to_json() if self.before else None,
            "after": self.after.to_json() if self.after else None,
        }


def _grant_sources(chunk: Sequence[str]) -> Any:
    """Every grant reaching the members of `chunk`: (member, project, role or None, via)."""
    managed = (
        select(
            group_members.c.member_id,
            groups.c.project_id,
            groups.c.role_id,  # None for team groups: the project's default role
        )
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(
            group_members.c.member_id.in_(chunk),
            groups.c.kind.in_([GroupKind.ROLE.value, GroupKind.TEAM.value]),
        )
    )
    custom = (
        select(group_members.c.member_id, group_grants.c.project_id, group_grants.c.role_id)
        .join(group_grants, group_grants.c.group_id == group_members.c.group_id)
        .where(group_members.c.member_id.in_(chunk))
    )
    direct = select(
        direct_assignments.c.member_id,
        direct_assignments.c.project_id,
        direct_assignments.c.role_id,
    ).where(direct_assignments.c.member_id.in_(chunk))
    return union_all(managed, custom, direct).subquery("reaching")


def snapshot(tx: Tx, org: Org, member_ids: Iterable[str]) -> Snapshot:
    """The effective access of each given member in each project they can reach."""
    ids = list(dict.fromkeys(member_ids))
    if not ids:
        return {}
    role_rows = {
        row.id: row
        for row in tx.conn.execute(
            select(roles.c.id, roles.c.name, roles.c.rank).where(roles.c.org_id == org.id)
        )
    }
    found: dict[tuple[str, str], tuple[int, str | None, set[str]]] = {}
    for start in range(0, len(ids), CHUNK):
        reaching = _grant_sources(ids[start : start + CHUNK])
        rows = tx.conn.execute(
            select(
                reaching.c.member_id,
                reaching.c.project_id,
                reaching.c.role_id,
                projects.c.default_role_id,
            )
            .join(projects, projects.c.id == reaching.c.project_id)
            .where(projects.c.org_id == org.id)
        )
        for member_id, project_id, role_id, default_role_id in rows:
            role = role_rows.get(role_id or default_role_id)
            rank, best, custom = found.get((member_id, project_id), (0, None, set()))
            if role is not None and role.rank is None:
                custom.add(role.name)
            elif role is not None and role.rank > rank:
                rank, best = role.rank, role.name
            found[(member_id, project_id)] = (rank, best, custom)
    return {
        key: AccessState(best, tuple(sorted(custom))) for key, (_, best, custom) in found.items()
    }


def diff(before: Snapshot, after: Snapshot) -> list[tuple[str, str]]:
    """The (member, project) pairs whose access differs, in a stable order."""
    return sorted(key for key in {*before, *after} if before.get(key) != after.get(key))


def _project_names(tx: Tx, project_ids: Iterable[str]) -> dict[str, str]:
    wanted = list(set(project_ids))
    names: dict[str, str] = {}
    for start in range(0, len(wanted), CHUNK):
        rows = tx.conn.execute(
            select(projects.c.id, projects.c.name).where(
                projects.c.id.in_(wanted[start : start + CHUNK])
            )
        )
        names.update({row.id: row.name for row in rows})
    return names


def emit_changes(tx: Tx, org: Org, changes: Iterable[AccessChange]) -> None:
    for change in changes:
        feed.emit(
            tx,
            org.id,
            "access.changed",
            "member",
            change.member_id,
            member_id=change.member_id,
            data=change.to_json(),
        )


class _Watch:
    def __init__(self) -> None:
        self.before: Snapshot = {}
        self.members: set[str] = set()
        self.project_names: dict[str, str] = {}

    def extend(self, tx: Tx, org: Org, member_ids: Iterable[str]) -> None:
        new = [m for m in dict.fromkeys(member_ids) if m not in self.members]
        if not new:
            return
        self.members.update(new)
        before = snapshot(tx, org, new)
        self.before.update(before)
        # Named now: a project the operation deletes can no longer be looked up after.
        self.project_names.update(
            _project_names(tx, {p for _, p in before} - self.project_names.keys())
        )

    def changes(self, tx: Tx, org: Org) -> list[AccessChange]:
        after = snapshot(tx, org, self.members)
        keys = diff(self.before, after)
        self.project_names.update(
            _project_names(tx, {p for _, p in keys} - self.project_names.keys())
        )
        return [
            AccessChange(
                m, p, self.project_names.get(p, ""), self.before.get((m, p)), after.get((m, p))
            )
            for m, p in keys
        ]


def start_watch(tx: Tx, org: Org, member_ids: Iterable[str]) -> Callable[[], None]:
    """Begin watching members; call the returned function once the change is done. For
    operations where a `with watch(…)` block does not fit."""
    state = transaction_state(tx.conn)
    outer: _Watch | None = state.get("access_watch")
    if outer is not None:
        outer.extend(tx, org, member_ids)
        return _nothing
    current = state["access_watch"] = _Watch()
    current.extend(tx, org, member_ids)

    def finish() -> None:
        state.pop("access_watch", None)
        emit_changes(tx, org, current.changes(tx, org))

    return finish


def _nothing() -> None:
    return None


@contextmanager
def watch(tx: Tx, org: Org, member_ids: Iterable[str]) -> Iterator[None]:
    """Emit `access.changed` for the given members whose access the block changes."""
    state = transaction_state(tx.conn)
    outer = state.get("access_watch")
    finish = start_watch(tx, org, member_ids)
    try:
        yield
    except BaseException:
        if outer is None:
            state.pop("access_watch", None)
        raise
    finish()


def members_of(tx: Tx, group: Group) -> list[str]:
    """The members of a group whose membership gives access: every role and team group,
    a custom group only when it has grants."""
    if not grants_on_group(tx, group):
        return []
    query = select(group_members.c.member_id).where(group_members.c.group_id == group.id)
    return list(tx.conn.execute(query).scalars())


def grants_on_group(tx: Tx, group: Group) -> bool:
    """Whether membership of this group gives access at all."""
    if group.kind is not GroupKind.CUSTOM:
        return True
    found = tx.conn.execute(
        select(group_grants.c.id).where(group_grants.c.group_id == group.id).limit(1)
    ).first()
    return found is not None


def members_reaching(
    tx: Tx,
    org: Org,
    *,
    project_id: str | None = None,
    role_id: str | None = None,
    team_id: str | None = None,
) -> list[str]:
    """Members with any grant that names this project, role or team (through any group or
    a direct assignment): the members a structural change may affect."""

    def where(table: Any) -> list[Any]:
        conditions = [table.c.org_id == org.id]
        for column, value in (
            ("project_id", project_id),
            ("role_id", role_id),
            ("team_id", team_id),
        ):
            if value is not None:
                conditions.append(table.c[column] == value)
        return conditions

    via_groups = (
        select(group_members.c.member_id)
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(*where(groups))
    )
    via_grants = (
        select(group_members.c.member_id)
        .join(group_grants, group_grants.c.group_id == group_members.c.group_id)
        .where(*where(group_grants))
    )
    direct = select(direct_assignments.c.member_id).where(*where(direct_assignments))
    return list(tx.conn.execute(union(via_groups, via_grants, direct)).scalars())
