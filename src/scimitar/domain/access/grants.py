"""Grants as an org admin gives them: checked against the org's projects, roles and teams,
refused when already there, and listed with names rather than ids.

A grant is a project role (`role_id`) or a team membership (`team_id` + `team_role`). It is
attached to a custom group (every member of the group receives it) or given to one member
directly (a console assignment).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, select

from scimitar.domain.access import effective
from scimitar.domain.context import Tx
from scimitar.domain.directory import group_store, structure
from scimitar.domain.errors import ConflictError, InvalidError, NotFoundError
from scimitar.domain.models import Grant, Group, Member, Org
from scimitar.storage.tables import direct_assignments, group_grants, projects, roles, teams


@dataclass(frozen=True)
class NamedGrant:
    id: str
    project_id: str
    project: str
    role_id: str | None
    role: str | None
    team_id: str | None
    team: str | None
    team_role: str | None

    def describe(self) -> str:
        if self.team is not None:
            return f"{self.project}: team {self.team} ({self.team_role})"
        return f"{self.project}: {self.role}"


def check_grant(tx: Tx, org: Org, grant: Grant) -> Grant:
    """The grant, once its project, role and team are known to belong to this org."""
    if (grant.role_id is None) == (grant.team_id is None):
        raise InvalidError("A grant names either a role, or a team and a team role")
    if grant.team_id is not None and grant.team_role is None:
        raise InvalidError("A team grant needs a team role (Admin or Member)")
    try:
        project = structure.get_project(tx, org, grant.project_id)
        if grant.role_id is not None:
            structure.get_role(tx, org, grant.role_id)
        if grant.team_id is not None:
            team = structure.get_team(tx, org, grant.team_id)
            if team.project_id != project.id:
                raise InvalidError(f"Team {team.name!r} is not in project {project.name!r}")
    except NotFoundError as exc:
        raise InvalidError(exc.detail) from None
    return grant


def _same(table: Table, grant: Grant) -> Any:
    return (
        (table.c.project_id == grant.project_id)
        & (table.c.role_id.is_(None) if grant.role_id is None else table.c.role_id == grant.role_id)
        & (table.c.team_id.is_(None) if grant.team_id is None else table.c.team_id == grant.team_id)
        & (
            table.c.team_role.is_(None)
            if grant.team_role is None
            else table.c.team_role == grant.team_role.value
        )
    )


def assign(tx: Tx, org: Org, member: Member, grant: Grant) -> str:
    """Give one member a grant directly; returns the assignment id."""
    check_grant(tx, org, grant)
    exists = tx.conn.execute(
        select(direct_assignments.c.id).where(
            direct_assignments.c.member_id == member.id, _same(direct_assignments, grant)
        )
    ).first()
    if exists:
        raise ConflictError(f"{member.user_name} already has this assignment")
    return effective.add_direct_assignment(tx, org, member, grant)


def attach(tx: Tx, org: Org, group: Group, grant: Grant) -> str:
    """Attach a grant to a custom group; returns the grant id."""
    check_grant(tx, org, grant)
    exists = tx.conn.execute(
        select(group_grants.c.id).where(
            group_grants.c.group_id == group.id, _same(group_grants, grant)
        )
    ).first()
    if exists:
        raise ConflictError(f"Group {group.display_name!r} already has this grant")
    return group_store.add_grant(tx, org, group, grant)


def _named(tx: Tx, table: Table, condition: Any) -> list[NamedGrant]:
    query = (
        select(
            table.c.id,
            table.c.project_id,
            projects.c.name.label("project"),
            table.c.role_id,
            roles.c.name.label("role"),
            table.c.team_id,
            teams.c.name.label("team"),
            table.c.team_role,
        )
        .join(projects, projects.c.id == table.c.project_id)
        .outerjoin(roles, roles.c.id == table.c.role_id)
        .outerjoin(teams, teams.c.id == table.c.team_id)
        .where(condition)
        .order_by(projects.c.name_key, table.c.created)
    )
    return [NamedGrant(*row) for row in tx.conn.execute(query)]


def assignments_of(tx: Tx, member: Member) -> list[NamedGrant]:
    return _named(tx, direct_assignments, direct_assignments.c.member_id == member.id)


def grants_of(tx: Tx, group: Group) -> list[NamedGrant]:
    return _named(tx, group_grants, group_grants.c.group_id == group.id)
