"""Values a request names, read the same way by the admin API and the console: the
choices a filter offers, and objects named in a body (an unknown one is a bad value, 422,
not a missing URL, 404)."""

from __future__ import annotations

from typing import Any

from scimitar.domain.access import effective, grants
from scimitar.domain.context import ActorKind, Tx
from scimitar.domain.directory import group_store, listings, structure
from scimitar.domain.errors import InvalidError, NotFoundError
from scimitar.domain.models import GroupKind, Member, Org, OrgRole, Project, Role
from scimitar.faces.web.views import access_view, grant_view, member_view

STATUSES = ("active", "deactivated")
ORG_ROLES = tuple(role.value for role in OrgRole)
KINDS = tuple(kind.value for kind in GroupKind)
ACTOR_KINDS = tuple(kind.value for kind in ActorKind)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def member_filter(text: str, status: str | None, role: str | None) -> listings.MemberFilter:
    return listings.MemberFilter(text, status, OrgRole(role) if role else None)


def member_detail(tx: Tx, org: Org, member: Member) -> dict[str, Any]:
    """A member with their effective access (and why), groups and direct assignments."""
    return {
        **member_view(member),
        "access": [access_view(a) for a in effective.effective_access(tx, org, member)],
        "groups": [
            {"id": g.id, "display_name": g.display_name, "kind": g.kind.value}
            for g in group_store.groups_of(tx, member.id)
        ],
        "assignments": [grant_view(g) for g in grants.assignments_of(tx, member)],
    }


def named_role(tx: Tx, org: Org, name: str) -> Role:
    """A role named in a request body: unknown is a bad value (422), not a missing URL (404)."""
    try:
        return structure.find_role(tx, org, name)
    except NotFoundError as exc:
        raise InvalidError(exc.detail) from None


def body_project(tx: Tx, org: Org, project_id: str) -> Project:
    try:
        return structure.get_project(tx, org, project_id)
    except NotFoundError as exc:
        raise InvalidError(exc.detail) from None


def role_names(tx: Tx, org: Org) -> dict[str, str]:
    return {role.id: role.name for role in structure.list_roles(tx, org)}
