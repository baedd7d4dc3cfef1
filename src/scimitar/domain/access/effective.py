"""Effective access: what a member may do in each project, and why.

Computed on read from the grants that reach the member, so it can never disagree with
them: role-group memberships, team-group memberships, grants on custom groups the member
belongs to, and direct assignments. Two grants of different roles both stand; the
strongest built-in role is shown (Owner > Admin > Member > Read-Only) and custom roles add
their permissions. A team membership alone gives the project's default role.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    bindparam,
    delete,
    insert,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError

from scimitar.domain.access import changes
from scimitar.domain.access.permissions import role_permissions
from scimitar.domain.context import Tx, new_id
from scimitar.domain.errors import InvalidError, NotFoundError
from scimitar.domain.events import feed
from scimitar.domain.models import Grant, GroupKind, Member, Org, Role
from scimitar.domain.records import audit
from scimitar.storage.engines import share_locked
from scimitar.storage.lists import in_list, list_value
from scimitar.storage.prepared import Prepared, driver
from scimitar.storage.tables import (
    direct_assignments,
    group_grants,
    group_members,
    groups,
    members,
    projects,
    roles,
    teams,
)

#: How a grant reaches a member (a `Reason`'s `via`): through a group of each kind...
VIA = {
    GroupKind.ROLE.value: "role group",
    GroupKind.TEAM.value: "team group",
    GroupKind.CUSTOM.value: "custom group",
}
#: ...or assigned to them directly.
DIRECT = "direct assignment"


@dataclass(frozen=True)
class Reason:
    """One grant that reaches the member: through which group, or a direct assignment."""

    via: str  # a value of `VIA`, or `DIRECT`
    group_id: str | None
    group_name: str | None
    role: str | None
    team: str | None
    team_role: str | None


@dataclass
class ProjectAccess:
    project_id: str
    project: str
    role: str | None = None
    custom_roles: list[str] = field(default_factory=list)
    permissions: list[str] = field(default_factory=list)
    teams: dict[str, str] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)


def _grant_rows() -> Any:
    """Every grant reaching the members of the list parameter `member_ids`, one row each,
    from the four sources. The members' group memberships are read once (with their
    groups) for the three group sources."""
    memberships = (
        select(
            group_members.c.member_id,
            groups.c.id,
            groups.c.kind,
            groups.c.project_id,
            groups.c.role_id,
            groups.c.team_id,
            groups.c.team_role,
            groups.c.display_name,
        )
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(in_list(group_members.c.member_id, "member_ids"))
        .cte("memberships")
    )
    m = memberships.c

    role_groups = select(
        m.member_id,
        m.project_id,
        m.role_id,
        null().label("team_id"),
        null().label("team_role"),
        literal(VIA[GroupKind.ROLE.value]).label("via"),
        m.id.label("group_id"),
        m.display_name.label("group_name"),
    ).where(m.kind == GroupKind.ROLE.value)
    team_groups = select(
        m.member_id,
        m.project_id,
        null().label("role_id"),
        m.team_id,
        m.team_role,
        literal(VIA[GroupKind.TEAM.value]),
        m.id,
        m.display_name,
    ).where(m.kind == GroupKind.TEAM.value)
    # Grants attach to custom groups only (`group_store.add_grant`).
    custom = (
        select(
            m.member_id,
            group_grants.c.project_id,
            group_grants.c.role_id,
            group_grants.c.team_id,
            group_grants.c.team_role,
            literal(VIA[GroupKind.CUSTOM.value]),
            m.id,
            m.display_name,
        )
        .join(group_grants, group_grants.c.group_id == m.id)
        .where(m.kind == GroupKind.CUSTOM.value)
    )
    direct = select(
        direct_assignments.c.member_id,
        direct_assignments.c.project_id,
        direct_assignments.c.role_id,
        direct_assignments.c.team_id,
        direct_assignments.c.team_role,
        literal(DIRECT),
        null(),
        null(),
    ).where(in_list(direct_assignments.c.member_id, "member_ids"))
    return union_all(role_groups, team_groups, custom, direct).subquery("grants")


def _grants_query() -> Any:
    grants = _grant_rows()
    return (
        select(
            grants,
            projects.c.name.label("project"),
            projects.c.default_role_id,
            roles.c.name.label("role"),
            teams.c.name.label("team"),
        )
        .join(projects, projects.c.id == grants.c.project_id)
        .outerjoin(roles, roles.c.id == grants.c.role_id)
        .outerjoin(teams, teams.c.id == grants.c.team_id)
        # Compared as an expression, not an indexed column: each grant's project is then
        # probed by id, rather than the org's projects walked and the grants indexed.
        .where(projects.c.org_id.concat("") == bindparam("org_id"))
    )


# Prepared once (storage/prepared.py).
_GRANTS = Prepared(_grants_query())
_ROLES = Prepared(select(roles).where(roles.c.org_id == bindparam("org_id")))


def grants_reaching(tx: Tx, org: Org, member_ids: Collection[str]) -> list[Any]:
    """The grants reaching these members, in one query: each row has `member_id`,
    `project_id`, `project`, `default_role_id`, `role_id`, `role`, `team`, `team_role`,
    `via`, `group_id`, `group_name`."""
    values = {"org_id": org.id, "member_ids": list_value(member_ids)}
    return _GRANTS.all(driver(tx.conn), values)


def org_roles(tx: Tx, org: Org) -> dict[str, Role]:
    """The org's roles by id, built-in permissions included."""
    return {
        row.id: Role(
            row.id, row.org_id, row.name, row.rank, role_permissions(row.rank, row.permissions)
        )
        for row in _ROLES.all(driver(tx.conn), {"org_id": org.id})
    }


def fold_grants(
    rows: Iterable[Any], role_by_id: dict[str, Role]
) -> dict[tuple[str, str], ProjectAccess]:
    """The effective access per (member id, project id) that these grant rows give: the
    strongest built-in role, custom roles, the union of permissions, teams and reasons."""
    result: dict[tuple[str, str], ProjectAccess] = {}
    best_rank: dict[tuple[str, str], int] = {}
    permissions: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        key = (row.member_id, row.project_id)
        access = result.get(key)
        if access is None:
            access = result[key] = ProjectAccess(row.project_id, row.project)
            permissions[key] = set()
        access.reasons.append(
            Reason(row.via, row.group_id, row.group_name, row.role, row.team, row.team_role)
        )
        # A team membership alone gives the project's default role.
        role = role_by_id.get(row.role_id or row.default_role_id)
        if row.team is not None:
            current = access.teams.get(row.team)
            access.teams[row.team] = "Admin" if "Admin" in (current, row.team_role) else "Member"
        if role is None:
            continue
        permissions[key].update(role.permissions)
        if role.rank is None:
            if role.name not in access.custom_roles:
                access.custom_roles.append(role.name)
        elif role.rank > best_rank.get(key, 0):
            best_rank[key] = role.rank
            access.role = role.name
    for key, access in result.items():
        access.permissions = sorted(permissions[key])
    return result


def effective_access(tx: Tx, org: Org, member: Member) -> list[ProjectAccess]:
    """Per project the member can reach: role, permissions, teams, and every reason."""
    found = fold_grants(grants_reaching(tx, org, [member.id]), org_roles(tx, org))
    return sorted(found.values(), key=lambda a: a.project.lower())


GRANT_TARGET_GONE = "The project, role or team of this grant no longer exists"


def add_direct_assignment(tx: Tx, org: Org, member: Member, grant: Grant) -> str:
    """A console assignment of a project role or team membership to one member."""
    # Read again, locked on PostgreSQL against a concurrent deactivation (which would leave
    # an inactive member holding the assignment).
    query = share_locked(tx.conn, select(members.c.active).where(members.c.id == member.id))
    if not tx.conn.execute(query).scalar():
        raise InvalidError("Deactivated members cannot be given access")
    with changes.watch(tx, org, [member.id]):
        assignment_id = insert_grant(tx, direct_assignments, org, grant, member_id=member.id)
        audit.record(
            tx,
            org.id,
            "member.assignment_added",
            "member",
            member.id,
            after={"assignment": assignment_id},
        )
        _emit_assignment(tx, org, "member.assignment_added", member, assignment_id, grant)
    return assignment_id


def insert_grant(tx: Tx, table: Table, org: Org, grant: Grant, **owner: str) -> str:
    """A grant's row in `table` (a member's direct assignment, a custom group's grant) for
    its owner (`member_id=` or `group_id=`); its id. A project, role or team that went
    meanwhile (PostgreSQL) makes it a 404."""
    grant_id = new_id()
    try:
        tx.conn.execute(
            insert(table).values(
                id=grant_id, org_id=org.id, created=tx.now, **owner, **grant.columns()
            )
        )
    except IntegrityError:
        raise NotFoundError(GRANT_TARGET_GONE) from None
    return grant_id


def _emit_assignment(
    tx: Tx, org: Org, type: str, member: Member | str, assignment_id: str, grant: Grant
) -> None:
    member_id = member if isinstance(member, str) else member.id
    data = {
        "member_id": member_id,
        "assignment_id": assignment_id,
        "project_id": grant.project_id,
        "role_id": grant.role_id,
        "team_id": grant.team_id,
        "team_role": grant.team_role.value if grant.team_role else None,
    }
    feed.emit(tx, org.id, type, "member", member_id, member_id=member_id, data=data)


def remove_direct_assignment(tx: Tx, org: Org, member: Member, assignment_id: str) -> None:
    finish_access_watch = changes.start_watch(tx, org, [member.id])
    rows = take_assignments(
        tx,
        org,
        (direct_assignments.c.id == assignment_id) & (direct_assignments.c.member_id == member.id),
    )
    if not rows:
        finish_access_watch()
        raise NotFoundError(f"Assignment {assignment_id} not found")
    report_removed_assignments(tx, org, rows)
    finish_access_watch()


def drop_assignments(tx: Tx, org: Org, condition: ColumnElement[bool]) -> None:
    """Delete the direct assignments matching `condition` as removals (an audit entry and a
    `member.assignment_removed` event each), for what takes them away along with something
    else: a deactivation or removal, a deleted role, project or team. The caller watches
    access."""
    report_removed_assignments(tx, org, take_assignments(tx, org, condition))


def take_assignments(tx: Tx, org: Org, condition: ColumnElement[bool]) -> list[Row[Any]]:
    """Delete the direct assignments matching `condition`; report them with
    `report_removed_assignments` (a caller may want other events first)."""
    return list(
        tx.conn.execute(
            delete(direct_assignments)
            .where(direct_assignments.c.org_id == org.id, condition)
            .returning(direct_assignments)
        ).all()
    )


def report_removed_assignments(tx: Tx, org: Org, rows: list[Row[Any]]) -> None:
    for row in rows:
        audit.record(
            tx,
            org.id,
            "member.assignment_removed",
            "member",
            row.member_id,
            before={"assignment": row.id},
        )
        grant = Grant.of_row(row)
        _emit_assignment(tx, org, "member.assignment_removed", row.member_id, row.id, grant)
