"""`/members`: search, one member with effective access and why, org role, removal, and
direct assignments."""

from __future__ import annotations

from typing import Any

from scimitar.domain.access import effective, grants
from scimitar.domain.context import Tx
from scimitar.domain.directory import listings, people
from scimitar.domain.errors import InvalidError
from scimitar.domain.models import Grant, OrgRole, TeamRole
from scimitar.faces.web.auth import Principal
from scimitar.faces.web.lookups import ORG_ROLES, STATUSES, member_detail, member_filter
from scimitar.faces.web.views import grant_view, member_view, offset_page
from scimitar.faces.web.wire import ApiCall, Reply, string_field

GRANT_FIELDS = ("project_id", "role_id", "team_id", "team_role")


def list_members(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    wanted = member_filter(
        call.text("q"), call.choice("status", STATUSES), call.choice("role", ORG_ROLES)
    )
    limit = call.integer("limit", 50, low=1, high=listings.MAX_PAGE)
    offset = call.integer("offset", 0)
    page = listings.members_page(tx, who.org, wanted, limit=limit, offset=offset)
    items = [member_view(m) for m in page.items]
    return 200, offset_page("members", items, page.total, limit, offset)


def get_member(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    member = people.get_member(tx, who.org, call.params["member_id"])
    return 200, member_detail(tx, who.org, member)


def update_member(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    body = call.fields(("org_role",))
    role = string_field(body, "org_role")
    if role not in ORG_ROLES:
        raise InvalidError(f"org_role must be one of {', '.join(ORG_ROLES)}")
    member = people.get_member(tx, who.org, call.params["member_id"], for_update=True)
    updated = people.set_org_role(tx, who.org, member, OrgRole(role))
    return 200, member_detail(tx, who.org, updated)


def remove_member(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    member = people.get_member(tx, who.org, call.params["member_id"], for_update=True)
    people.remove_member(tx, who.org, member)
    return 204, None


def grant_from(body: dict[str, Any]) -> Grant:
    """A grant from `project_id` and either `role_id`, or `team_id` and `team_role`."""
    project_id = string_field(body, "project_id")
    assert project_id is not None
    team_role = string_field(body, "team_role", required=False)
    if team_role is not None and team_role not in (r.value for r in TeamRole):
        raise InvalidError("team_role must be Admin or Member")
    return Grant(
        project_id,
        string_field(body, "role_id", required=False),
        string_field(body, "team_id", required=False),
        TeamRole(team_role) if team_role else None,
    )


def add_assignment(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    grant = grant_from(call.fields(GRANT_FIELDS))
    member = people.get_member(tx, who.org, call.params["member_id"], for_update=True)
    assignment_id = grants.assign(tx, who.org, member, grant)
    [created] = [g for g in grants.assignments_of(tx, member) if g.id == assignment_id]
    return 201, grant_view(created)


def remove_assignment(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    member = people.get_member(tx, who.org, call.params["member_id"], for_update=True)
    effective.remove_direct_assignment(tx, who.org, member, call.params["assignment_id"])
    return 204, None
