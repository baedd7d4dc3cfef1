"""Projects, roles and teams: create, rename, delete (after a confirmation), default role,
custom roles with permissions."""

from __future__ import annotations

from typing import Any

from scimitar.domain.context import Tx
from scimitar.domain.directory import structure
from scimitar.faces.console.page import Action, Outcome, Page, Redirect, View
from scimitar.faces.web.lookups import body_project, named_role, role_names
from scimitar.faces.web.views import project_view, role_view

NAME_REQUIRED = "{} name must not be empty"


def load_structure(view: View, tx: Tx) -> dict[str, Any]:
    org = view.session.org
    roles = structure.list_roles(tx, org)
    teams = structure.list_teams(tx, org)
    names = role_names(tx, org)
    return {
        "projects": [project_view(p, names, teams) for p in structure.list_projects(tx, org)],
        "roles": [role_view(r) for r in roles],
    }


PROJECTS = Page("projects.html", load_structure, "projects")


def _confirm(title: str, message: str, action: str, button: str) -> dict[str, Any]:
    return {"title": title, "message": message, "action": action, "button": button}


def load_project_delete(view: View, tx: Tx) -> dict[str, Any]:
    project = structure.get_project(tx, view.session.org, view.params["project_id"])
    message = (
        f"Delete project {project.name!r}? Its teams, its role and team groups and every grant "
        "in it are deleted too, and members lose the access they had through them. Your "
        "identity provider will see the groups disappear on its next import."
    )
    action = f"/console/projects/{project.id}/delete"
    return _confirm(f"Delete {project.name}", message, action, "Delete project")


def load_role_delete(view: View, tx: Tx) -> dict[str, Any]:
    role = structure.get_role(tx, view.session.org, view.params["role_id"])
    message = (
        f"Delete role {role.name!r}? Its role group in every project is deleted, and members "
        "lose the access they had through it."
    )
    return _confirm(f"Delete {role.name}", message, f"/console/roles/{role.id}/delete", "Delete")


def load_team_delete(view: View, tx: Tx) -> dict[str, Any]:
    team = structure.get_team(tx, view.session.org, view.params["team_id"])
    message = f"Delete team {team.name!r} and its Admin and Member team groups?"
    return _confirm(f"Delete {team.name}", message, f"/console/teams/{team.id}/delete", "Delete")


CONFIRM_PROJECT = Page("confirm.html", load_project_delete, "projects")
CONFIRM_ROLE = Page("confirm.html", load_role_delete, "projects")
CONFIRM_TEAM = Page("confirm.html", load_team_delete, "projects")


def create_project(view: View, tx: Tx) -> Outcome:
    name = view.field("name", required=NAME_REQUIRED.format("Project"))
    default_role = named_role(tx, view.session.org, view.field("default_role") or "Member")
    structure.create_project(tx, view.session.org, name, default_role=default_role.name)
    return Redirect("/console/projects", "project-created")


def save_project(view: View, tx: Tx) -> Outcome:
    org = view.session.org
    project = structure.get_project(tx, org, view.params["project_id"])
    project = structure.rename_project(
        tx, org, project, view.field("name", required=NAME_REQUIRED.format("Project"))
    )
    default_role = view.field("default_role")
    if default_role and default_role != role_names(tx, org).get(project.default_role_id):
        structure.set_default_role(tx, org, project, named_role(tx, org, default_role).name)
    return Redirect("/console/projects", "project-saved")


def delete_project(view: View, tx: Tx) -> Outcome:
    project = structure.get_project(tx, view.session.org, view.params["project_id"])
    structure.delete_project(tx, view.session.org, project)
    return Redirect("/console/projects", "project-deleted")


def create_role(view: View, tx: Tx) -> Outcome:
    name = view.field("name", required=NAME_REQUIRED.format("Role"))
    permissions = [p.strip() for p in view.field("permissions").replace(",", "\n").splitlines()]
    structure.create_role(tx, view.session.org, name, [p for p in permissions if p])
    return Redirect("/console/projects", "role-created")


def delete_role(view: View, tx: Tx) -> Outcome:
    role = structure.get_role(tx, view.session.org, view.params["role_id"])
    structure.delete_role(tx, view.session.org, role)
    return Redirect("/console/projects", "role-deleted")


def create_team(view: View, tx: Tx) -> Outcome:
    project = body_project(tx, view.session.org, view.field("project_id"))
    name = view.field("name", required=NAME_REQUIRED.format("Team"))
    structure.create_team(tx, view.session.org, project, name)
    return Redirect("/console/projects", "team-created")


def delete_team(view: View, tx: Tx) -> Outcome:
    team = structure.get_team(tx, view.session.org, view.params["team_id"])
    structure.delete_team(tx, view.session.org, team)
    return Redirect("/console/projects", "team-deleted")


PAGES = [
    ("/console/projects", PROJECTS),
    ("/console/projects/{project_id}/delete", CONFIRM_PROJECT),
    ("/console/roles/{role_id}/delete", CONFIRM_ROLE),
    ("/console/teams/{team_id}/delete", CONFIRM_TEAM),
]
ACTIONS = [
    ("/console/projects", Action(create_project, PROJECTS)),
    ("/console/projects/{project_id}", Action(save_project, PROJECTS)),
    ("/console/projects/{project_id}/delete", Action(delete_project, PROJECTS)),
    ("/console/roles", Action(create_role, PROJECTS)),
    ("/console/roles/{role_id}/delete", Action(delete_role, PROJECTS)),
    ("/console/teams", Action(create_team, PROJECTS)),
    ("/console/teams/{team_id}/delete", Action(delete_team, PROJECTS)),
]
