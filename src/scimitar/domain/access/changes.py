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

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, literal_column, or_, select, union, union_all

from scimitar.domain.context import Tx
from scimitar.domain.events import feed
from scimitar.domain.models import Group, GroupKind, Org
from scimitar.storage.database import transaction_state
from scimitar.storage.prepared import Prepared, driver
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


def _reaching(members: Any) -> Any:
    """Every grant reaching the members `members` selects (a `member_id` condition): one
    row per (member, project, role) with the project's name and the role's name and rank
    (the project's default role for a team group). Built once per shape, at import."""
    managed = (
        select(
            group_members.c.member_id,
            groups.c.project_id,
            groups.c.role_id,  # None for team groups: the project's default role
        )
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(
            members(group_members.c.member_id),
            # Role and team groups (the kinds that grant by themselves), as one literal
            # comparison: a prepared statement takes no expanding IN list.
            or_(
                groups.c.kind == literal_column(f"'{GroupKind.ROLE.value}'"),
                groups.c.kind == literal_column(f"'{GroupKind.TEAM.value}'"),
            ),
        )
    )
    custom = (
        select(group_members.c.member_id, group_grants.c.project_id, group_grants.c.role_id)
        .join(group_grants, group_grants.c.group_id == group_members.c.group_id)
        .where(members(group_members.c.member_id))
    )
    direct = select(
        direct_assignments.c.member_id,
        direct_assignments.c.project_id,
        direct_assignments.c.role_id,
    ).where(members(direct_assignments.c.member_id))
    reaching = union_all(managed, custom, direct).subquery("reaching")
    role_id = func.coalesce(reaching.c.role_id, projects.c.default_role_id)
    return (
        select(
            reaching.c.member_id,
            reaching.c.project_id,
            projects.c.name.label("project_name"),
            roles.c.name.label("role_name"),
            roles.c.rank.label("role_rank"),
        )
        .join(projects, projects.c.id == reaching.c.project_id)
        .outerjoin(roles, (roles.c.id == role_id) & (roles.c.org_id == projects.c.org_id))
        .where(projects.c.org_id == bindparam("org_id"))
    )


_REACHING_ONE = Prepared(_reaching(lambda column: column == bindparam("member_id")))
_REACHING_MANY = _reaching(lambda column: column.in_(bindparam("ids", expanding=True)))


def _states(rows: Iterable[Any]) -> tuple[Snapshot, dict[str, str]]:
    """The access each (member, project) adds up to, and the projects' names."""
    found: dict[tuple[str, str], tuple[int, str | None, set[str]]] = {}
    names: dict[str, str] = {}
    for member_id, project_id, project_name, role_name, role_rank in rows:
        names[project_id] = project_name
        rank, best, custom = found.get((member_id, project_id), (0, None, set()))
        if role_name is not None and role_rank is None:
            custom.add(role_name)
        elif role_name is not None and role_rank > rank:
            rank, best = role_rank, role_name
        found[(member_id, project_id)] = (rank, best, custom)
    states = {
        key: AccessState(best, tuple(sorted(custom))) for key, (_, best, custom) in found.items()
    }
    return states, names


def _snapshot_later(
    tx: Tx, org: Org, member_ids: Iterable[str]
) -> Callable[[], tuple[Snapshot, dict[str, str]]]:
    """`snapshot` with the projects' names; for one member, sent now and read when the
    function returned is called (`Prepared.later`)."""
    ids = list(dict.fromkeys(member_ids))
    if len(ids) == 1:
        rows = _REACHING_ONE.later(driver(tx.conn), {"member_id": ids[0], "org_id": org.id})
        return lambda: _states(rows())
    found: list[Any] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found.extend(tx.conn.execute(_REACHING_MANY, {"ids": chunk, "org_id": org.id}).all())
    return lambda: _states(found)


def snapshot(tx: Tx, org: Org, member_ids: Iterable[str]) -> Snapshot:
    """The effective access of each given member in each project they can reach."""
    return _snapshot_later(tx, org, member_ids)()[0]


def diff(before: Snapshot, after: Snapshot) -> list[tuple[str, str]]:
    """The (member, project) pairs whose access differs, in a stable order."""
    return sorted(key for key in {*before, *after} if before.get(key) != after.get(key))


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
        self._pending: list[Callable[[], tuple[Snapshot, dict[str, str]]]] = []

    def extend(self, tx: Tx, org: Org, member_ids: Iterable[str]) -> None:
        new = [m for m in dict.fromkeys(member_ids) if m not in self.members]
        if not new:
            return
        self.members.update(new)
        # Read when first needed: for one member, the statement travels with the change's
        # own (the server runs it first). Project names are read with it: a project the
        # operation deletes can no longer be looked up after.
        self._pending.append(_snapshot_later(tx, org, new))

    def _settle(self) -> None:
        for pending in self._pending:
            before, names = pending()
            self.before.update(before)
            self.project_names.update(names)
        self._pending.clear()

    def changes(self, tx: Tx, org: Org, *, none_after: bool = False) -> list[AccessChange]:
        """`none_after`: the watched members can reach nothing any more (they left the
        organization in this transaction): nothing to read again."""
        # The state after is sent before the state before is read: both answers then come
        # back in one round trip (pipelined), after the change's own statements.
        after_later = None if none_after else _snapshot_later(tx, org, self.members)
        self._settle()
        after: Snapshot = {}
        if after_later is not None:
            after, names = after_later()
            self.project_names.update(names)
        keys = diff(self.before, after)
        return [
            AccessChange(
                m, p, self.project_names.get(p, ""), self.before.get((m, p)), after.get((m, p))
            )
            for m, p in keys
        ]


def start_watch(
    tx: Tx, org: Org, member_ids: Iterable[str], *, leaving: bool = False
) -> Callable[[], None]:
    """Begin watching members; call the returned function once the change is done. For
    operations where a `with watch(…)` block does not fit. `leaving`: the change takes the
    members out of the organization (every membership and assignment gone), so their access
    afterwards is known to be none."""
    state = transaction_state(tx.conn)
    outer: _Watch | None = state.get("access_watch")
    if outer is not None:
        outer.extend(tx, org, member_ids)
        return _nothing
    current = state["access_watch"] = _Watch()
    current.extend(tx, org, member_ids)

    def finish() -> None:
        state.pop("access_watch", None)
        emit_changes(tx, org, current.changes(tx, org, none_after=leaving))

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
