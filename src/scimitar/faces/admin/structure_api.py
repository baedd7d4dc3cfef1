"""`/projects`, `/roles`, `/teams`: the org's structure, created only here and in the
console and CLI, never over SCIM."""

from __future__ import annotations

from scimitar.domain.context import Tx
from scimitar.domain.directory import structure
from scimitar.domain.models import Org
from scimitar.faces.web.auth import Principal
from scimitar.faces.web.lookups import body_project, named_role, role_names
from scimitar.faces.web.views import project_view, role_view, team_view
from scimitar.faces.web.wire import (
    ApiCall,
    Reply,
    bad_request,
    string_field,
    string_list_field,
)


def list_projects(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    names = role_names(tx, who.org)
    teams = structure.list_teams(tx, who.org)
    projects = [project_view(p, names, teams) for p in structure.list_projects(tx, who.org)]
    return 200, {"projects": projects}


def _project_reply(tx: Tx, org: Org, project_id: str, status: int = 200) -> Reply:
    project = structure.get_project(tx, org, project_id)
    return status, project_view(
        project, role_names(tx, org), structure.list_teams(tx, org, project)
    )


def create_project(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    body = call.fields(("name", "default_role"))
    name = string_field(body, "name")
    assert name is not None
    default_role = named_role(
        tx, who.org, string_field(body, "default_role", required=False) or "Member"
    )
    project = structure.create_project(tx, who.org, name, default_role=default_role.name)
    return _project_reply(tx, who.org, project.id, 201)


def get_project(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    return _project_reply(tx, who.org, call.params["project_id"])


def update_project(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    """Rename and/or change the default role (a role name), in one transaction."""
    body = call.fields(("name", "default_role"))
    project = structure.get_project(tx, who.org, call.params["project_id"])
    name = string_field(body, "name", required=False)
    if name is not None:
        project = structure.rename_project(tx, who.org, project, name)
    default_role = string_field(body, "default_role", required=False)
    if default_role is not None:
        role = named_role(tx, who.org, default_role)
        project = structure.set_default_role(tx, who.org, project, role.name)
    return _project_reply(tx, who.org, project.id)


def delete_project(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    project = structure.get_project(tx, who.org, call.params["project_id"])
    structure.delete_project(tx, who.org, project)
    return 204, None


def list_roles(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    return 200, {"roles": [role_view(r) for r in structure.list_roles(tx, who.org)]}


def create_role(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    body = call.fields(("name", "permissions"))
    name = string_field(body, "name")
    assert name is not None
    permissions = string_list_field(body, "permissions") or []
    return 201, role_view(structure.create_role(tx, who.org, name, permissions))


def delete_role(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    role = structure.get_role(tx, who.org, call.params["role_id"])
    structure.delete_role(tx, who.org, role)
    return 204, None


def list_teams(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    project_id = call.text("project_id")
    project = structure.get_project(tx, who.org, project_id) if project_id else None
    return 200, {"teams": [team_view(t) for t in structure.list_teams(tx, who.org, project)]}


def create_team(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    body = call.fields(("project_id", "name"))
    project_id = string_field(body, "project_id")
    name = string_field(body, "name")
    if project_id is None or name is None:
        raise bad_request("Fields 'project_id' and 'name' are required")
    project = body_project(tx, who.org, project_id)
    return 201, team_view(structure.create_team(tx, who.org, project, name))


def delete_team(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    team = structure.get_team(tx, who.org, call.params["team_id"])
    structure.delete_team(tx, who.org, team)
    return 204, None
