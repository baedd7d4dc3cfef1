"""Projects, roles and teams, and the role and team groups Scimitar keeps in step with them.

Role group: one per project × role, `<prefix>-<Project>-<Role>`.
Team groups: two per team, `<prefix>-<Project>-<Team>-Admin` and `…-Member`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from scimitar.domain.access import changes, effective
from scimitar.domain.access.permissions import role_permissions
from scimitar.domain.context import Tx, fold, new_id
from scimitar.domain.directory import group_store
from scimitar.domain.errors import ConflictError, InvalidError, NotFoundError, PolicyError
from scimitar.domain.events import feed
from scimitar.domain.models import (
    BUILTIN_ROLES,
    Group,
    GroupKind,
    Org,
    Project,
    Role,
    Team,
    TeamRole,
)
from scimitar.domain.records import audit
from scimitar.storage.engines import lock_row
from scimitar.storage.tables import direct_assignments, group_grants, projects, roles, teams

MAX_NAME = 100


def check_name(kind: str, name: str) -> str:
    """Project, role and team names: 1-100 printable characters, no outer spaces."""
    if not name or not name.strip():
        raise InvalidError(f"{kind} name must not be empty")
    if name != name.strip():
        raise InvalidError(f"{kind} name must not start or end with a space")
    if len(name) > MAX_NAME:
        raise InvalidError(f"{kind} name must be at most {MAX_NAME} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidError(f"{kind} name must not contain control characters")
    return name


def role_group_name(org: Org, project: Project, role: Role) -> str:
    return f"{org.group_prefix}-{project.name}-{role.name}"


def team_group_name(org: Org, project: Project, team: Team, team_role: TeamRole) -> str:
    return f"{org.group_prefix}-{project.name}-{team.name}-{team_role.value}"


def _role(row: Row[Any]) -> Role:
    return Role(row.id, row.org_id, row.name, row.rank, role_permissions(row.rank, row.permissions))


def _project(row: Row[Any]) -> Project:
    return Project(row.id, row.org_id, row.name, row.default_role_id)


def _team(row: Row[Any]) -> Team:
    return Team(row.id, row.org_id, row.project_id, row.name)


# Roles


def create_builtin_roles(tx: Tx, org: Org) -> None:
    tx.conn.execute(
        insert(roles),
        [
            {
                "id": new_id(),
                "org_id": org.id,
                "name": name,
                "name_key": fold(name),
                "rank": rank,
                "permissions": [],  # declared in domain/access/permissions.py, not stored
                "created": tx.now,
            }
            for name, rank in BUILTIN_ROLES.items()
        ],
    )


def list_roles(tx: Tx, org: Org) -> list[Role]:
    query = (
        select(roles)
        .where(roles.c.org_id == org.id)
        .order_by(roles.c.rank.desc().nulls_last(), roles.c.name_key)
    )
    return [_role(row) for row in tx.conn.execute(query)]


def get_role(tx: Tx, org: Org, role_id: str) -> Role:
    row = tx.conn.execute(
        select(roles).where(roles.c.org_id == org.id, roles.c.id == role_id)
    ).first()
    if row is None:
        raise NotFoundError(f"Role {role_id} not found")
    return _role(row)


def find_role(tx: Tx, org: Org, name: str) -> Role:
    row = tx.conn.execute(
        select(roles).where(roles.c.org_id == org.id, roles.c.name_key == fold(name))
    ).first()
    if row is None:
        raise NotFoundError(f"No role named {name!r} in this organization")
    return _role(row)


def create_role(tx: Tx, org: Org, name: str, permissions: Sequence[str] = ()) -> Role:
    """A custom role; every project gains its role group."""
    check_name("Role", name)
    perms = sorted({check_name("Permission", p) for p in permissions})
    if tx.conn.execute(
        select(roles.c.id).where(roles.c.org_id == org.id, roles.c.name_key == fold(name))
    ).first():
        raise ConflictError(f"A role named {name!r} already exists")
    role_id = new_id()
    try:
        tx.conn.execute(
            insert(roles).values(
                id=role_id,
                org_id=org.id,
                name=name,
                name_key=fold(name),
                rank=None,
                permissions=perms,
                created=tx.now,
            )
        )
    except IntegrityError:
        raise ConflictError(f"A role named {name!r} already exists") from None
    role = get_role(tx, org, role_id)
    audit.record(tx, org.id, "role.created", "role", role.id, after=_role_dict(role))
    _emit(tx, org, "role.created", "role", role.id, _role_dict(role))
    for project in list_projects(tx, org):
        _create_role_group(tx, org, project, role)
    return role


def delete_role(tx: Tx, org: Org, role: Role) -> None:
    if role.builtin:
        raise PolicyError(f"The built-in role {role.name!r} cannot be deleted")
    in_use = tx.conn.execute(
        select(projects.c.name).where(projects.c.default_role_id == role.id)
    ).first()
    if in_use:
        raise PolicyError(f"Role {role.name!r} is the default role of project {in_use.name!r}")
    _lock(tx, roles, role.id)
    with changes.watch(tx, org, changes.members_reaching(tx, org, role_id=role.id)):
        _drop_access_to(tx, org, "role_id", role.id)
        for group in _groups_where(tx, org, role_id=role.id):
            group_store.erase_group(tx, org, group)
        tx.conn.execute(delete(roles).where(roles.c.id == role.id))
        audit.record(tx, org.id, "role.deleted", "role", role.id, before=_role_dict(role))
        _emit(tx, org, "role.deleted", "role", role.id, _role_dict(role))


def _role_dict(role: Role) -> dict[str, Any]:
    return {"name": role.name, "permissions": list(role.permissions), "builtin": role.builtin}


def _emit(
    tx: Tx,
    org: Org,
    type: str,
    resource_type: str,
    resource_id: str,
    data: dict[str, Any],
    changed: list[str] | None = None,
) -> None:
    feed.emit(
        tx,
        org.id,
        type,
        resource_type,
        resource_id,
        data={"id": resource_id, **data},
        changed=changed,
    )


def _project_dict(project: Project) -> dict[str, Any]:
    return {"name": project.name, "default_role_id": project.default_role_id}


# Projects


def list_projects(tx: Tx, org: Org) -> list[Project]:
    query = select(projects).where(projects.c.org_id == org.id).order_by(projects.c.name_key)
    return [_project(row) for row in tx.conn.execute(query)]


def get_project(tx: Tx, org: Org, project_id: str) -> Project:
    row = tx.conn.execute(
        select(projects).where(projects.c.org_id == org.id, projects.c.id == project_id)
    ).first()
    if row is None:
        raise NotFoundError(f"Project {project_id} not found")
    return _project(row)


def find_project(tx: Tx, org: Org, name: str) -> Project:
    row = tx.conn.execute(
        select(projects).where(projects.c.org_id == org.id, projects.c.name_key == fold(name))
    ).first()
    if row is None:
        raise NotFoundError(f"No project named {name!r} in this organization")
    return _project(row)


def create_project(tx: Tx, org: Org, name: str, *, default_role: str = "Member") -> Project:
    """A project, with one role group per role of the organization."""
    check_name("Project", name)
    role = find_role(tx, org, default_role)
    if tx.conn.execute(
        select(projects.c.id).where(projects.c.org_id == org.id, projects.c.name_key == fold(name))
    ).first():
        raise ConflictError(f"A project named {name!r} already exists")
    project_id = new_id()
    try:
        tx.conn.execute(
            insert(projects).values(
                id=project_id,
                org_id=org.id,
                name=name,
                name_key=fold(name),
                default_role_id=role.id,
                created=tx.now,
            )
        )
    except IntegrityError:
        raise ConflictError(f"A project named {name!r} already exists") from None
    project = get_project(tx, org, project_id)
    audit.record(tx, org.id, "project.created", "project", project.id, after={"name": name})
    _emit(tx, org, "project.created", "project", project.id, _project_dict(project))
    for each in list_roles(tx, org):
        _create_role_group(tx, org, project, each)
    return project


def rename_project(tx: Tx, org: Org, project: Project, name: str) -> Project:
    check_name("Project", name)
    if name == project.name:
        return project
    clash = tx.conn.execute(
        select(projects.c.id).where(
            projects.c.org_id == org.id,
            projects.c.name_key == fold(name),
            projects.c.id != project.id,
        )
    ).first()
    if clash:
        raise ConflictError(f"A project named {name!r} already exists")
    tx.conn.execute(
        update(projects).where(projects.c.id == project.id).values(name=name, name_key=fold(name))
    )
    renamed = get_project(tx, org, project.id)
    audit.record(
        tx,
        org.id,
        "project.renamed",
        "project",
        project.id,
        before={"name": project.name},
        after={"name": name},
    )
    _emit(tx, org, "project.renamed", "project", project.id, _project_dict(renamed), ["name"])
    rename_managed_groups(tx, org, project_id=project.id)
    return renamed


def set_default_role(tx: Tx, org: Org, project: Project, role_name: str) -> Project:
    role = find_role(tx, org, role_name)
    reaching = changes.members_reaching(tx, org, project_id=project.id)
    finish_access_watch = changes.start_watch(tx, org, reaching)
    tx.conn.execute(
        update(projects).where(projects.c.id == project.id).values(default_role_id=role.id)
    )
    audit.record(
        tx,
        org.id,
        "project.default_role_changed",
        "project",
        project.id,
        before={"default_role_id": project.default_role_id},
        after={"default_role_id": role.id},
    )
    updated = get_project(tx, org, project.id)
    _emit(
        tx, org, "project.updated", "project", project.id, _project_dict(updated), ["default_role"]
    )
    finish_access_watch()
    return updated


def delete_project(tx: Tx, org: Org, project: Project) -> None:
    _lock(tx, projects, project.id)
    reaching = changes.members_reaching(tx, org, project_id=project.id)
    with changes.watch(tx, org, reaching):
        _drop_access_to(tx, org, "project_id", project.id)
        for group in _groups_where(tx, org, project_id=project.id):
            group_store.erase_group(tx, org, group)
        for team in list_teams(tx, org, project):
            _forget_team(tx, org, team)
        tx.conn.execute(delete(projects).where(projects.c.id == project.id))
        audit.record(
            tx, org.id, "project.deleted", "project", project.id, before={"name": project.name}
        )
        _emit(tx, org, "project.deleted", "project", project.id, _project_dict(project))


# Teams


def list_teams(tx: Tx, org: Org, project: Project | None = None) -> list[Team]:
    query = select(teams).where(teams.c.org_id == org.id)
    if project is not None:
        query = query.where(teams.c.project_id == project.id)
    return [_team(row) for row in tx.conn.execute(query.order_by(teams.c.name_key))]


def get_team(tx: Tx, org: Org, team_id: str, *, for_update: bool = False) -> Team:
    query = select(teams).where(teams.c.org_id == org.id, teams.c.id == team_id)
    row = tx.conn.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFoundError(f"Team {team_id} not found")
    return _team(row)


def find_team(tx: Tx, org: Org, project: Project, name: str) -> Team | None:
    row = tx.conn.execute(
        select(teams).where(teams.c.project_id == project.id, teams.c.name_key == fold(name))
    ).first()
    return _team(row) if row else None


def create_team(tx: Tx, org: Org, project: Project, name: str) -> Team:
    """A team, with its Admin and Member team groups."""
    check_name("Team", name)
    if find_team(tx, org, project, name):
        raise ConflictError(f"Project {project.name!r} already has a team named {name!r}")
    team_id = new_id()
    try:
        tx.conn.execute(
            insert(teams).values(
                id=team_id,
                org_id=org.id,
                project_id=project.id,
                name=name,
                name_key=fold(name),
                created=tx.now,
            )
        )
    except IntegrityError:  # a concurrent request created it first
        raise ConflictError(f"Project {project.name!r} already has a team named {name!r}") from None
    team = get_team(tx, org, team_id)
    audit.record(
        tx, org.id, "team.created", "team", team.id, after={"name": name, "project_id": project.id}
    )
    _emit(tx, org, "team.created", "team", team.id, {"name": name, "project_id": project.id})
    for team_role in TeamRole:
        group_store.insert_group(
            tx,
            org,
            GroupKind.TEAM,
            team_group_name(org, project, team, team_role),
            project_id=project.id,
            team_id=team.id,
            team_role=team_role,
        )
    return team


def delete_team(tx: Tx, org: Org, team: Team) -> None:
    _lock(tx, teams, team.id)
    with changes.watch(tx, org, changes.members_reaching(tx, org, team_id=team.id)):
        _drop_access_to(tx, org, "team_id", team.id)
        for group in _groups_where(tx, org, team_id=team.id):
            group_store.erase_group(tx, org, group)
        _forget_team(tx, org, team)


def _forget_team(tx: Tx, org: Org, team: Team) -> None:
    """The team row, its audit entry and event; its groups and grants are gone already."""
    tx.conn.execute(delete(teams).where(teams.c.id == team.id))
    audit.record(tx, org.id, "team.deleted", "team", team.id, before={"name": team.name})
    data = {"name": team.name, "project_id": team.project_id}
    _emit(tx, org, "team.deleted", "team", team.id, data)


# Role and team groups


def _create_role_group(tx: Tx, org: Org, project: Project, role: Role) -> Group:
    return group_store.insert_group(
        tx,
        org,
        GroupKind.ROLE,
        role_group_name(org, project, role),
        project_id=project.id,
        role_id=role.id,
    )


def _lock(tx: Tx, table: Table, row_id: str) -> None:
    """Lock the row about to be deleted (PostgreSQL), before its grants and assignments are
    read: one added concurrently then waits, and fails on its foreign key, instead of being
    cascaded away unreported. (SQLite's single writer already serialises them.)"""
    lock_row(tx.conn, table, row_id)


def _drop_access_to(tx: Tx, org: Org, column: str, value: str) -> None:
    """Grants and direct assignments naming a role, project or team that goes: removed one
    by one, each with its audit entry and event (the database would cascade them silently,
    and the host product's copy would drift)."""
    group_store.drop_grants(tx, org, group_grants.c[column] == value)
    effective.drop_assignments(tx, org, direct_assignments.c[column] == value)


def _groups_where(tx: Tx, org: Org, **where: str) -> list[Group]:
    return [
        group
        for group in group_store.managed_groups(tx, org)
        if all(getattr(group, key) == value for key, value in where.items())
    ]


def managed_group_name(tx: Tx, org: Org, group: Group) -> str:
    """The name a role or team group must have now."""
    assert group.project_id is not None
    project = get_project(tx, org, group.project_id)
    if group.kind is GroupKind.ROLE:
        assert group.role_id is not None
        return role_group_name(org, project, get_role(tx, org, group.role_id))
    assert group.team_id is not None and group.team_role is not None
    return team_group_name(org, project, get_team(tx, org, group.team_id), group.team_role)


def rename_managed_groups(tx: Tx, org: Org, *, project_id: str | None = None) -> None:
    """Bring role and team group names in step after a prefix or project rename."""
    for group in group_store.managed_groups(tx, org):
        if project_id is None or group.project_id == project_id:
            group_store.update_group(
                tx, org, group, display_name=managed_group_name(tx, org, group)
            )
