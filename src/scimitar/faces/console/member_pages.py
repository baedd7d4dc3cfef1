"""Members: search and filters, one member's effective access and why, org role, removal,
direct assignments."""

from __future__ import annotations

from typing import Any

from scimitar.domain.access import effective, grants
from scimitar.domain.context import Tx
from scimitar.domain.directory import listings, people
from scimitar.domain.errors import InvalidError
from scimitar.domain.models import OrgRole
from scimitar.faces.console.event_pages import recent_member_events
from scimitar.faces.console.grant_form import grant_options, parse_grant_choice
from scimitar.faces.console.page import PER_PAGE, Action, Outcome, Page, Redirect, View, pager
from scimitar.faces.web.lookups import ORG_ROLES, STATUSES, member_detail, member_filter
from scimitar.faces.web.views import member_view


def _choice(view: View, name: str, allowed: tuple[str, ...]) -> str | None:
    value = view.arg(name)
    return value if value in allowed else None


def load_members(view: View, tx: Tx) -> dict[str, Any]:
    wanted = member_filter(
        view.arg("q"), _choice(view, "status", STATUSES), _choice(view, "role", ORG_ROLES)
    )
    total = listings.members_page(tx, view.session.org, wanted, limit=1).total
    pages = pager(total, view.page_number())
    page = listings.members_page(
        tx, view.session.org, wanted, limit=PER_PAGE, offset=pages["offset"]
    )
    return {
        "members": [member_view(m) for m in page.items],
        "pager": pages,
        "statuses": STATUSES,
        "org_roles": ORG_ROLES,
        "filters": {"q": wanted.text, "status": wanted.status or "", "role": view.arg("role")},
    }


MEMBERS = Page("members.html", load_members, "members")


def load_member(view: View, tx: Tx) -> dict[str, Any]:
    org = view.session.org
    member = people.get_member(tx, org, view.params["member_id"])
    return {
        "member": member_detail(tx, org, member),
        "org_roles": [r for r in ORG_ROLES if r != OrgRole.OWNER.value],
        "grant_options": grant_options(tx, org),
    }


def load_member_page(view: View, tx: Tx) -> dict[str, Any]:
    """The member, with their newest events."""
    loaded = load_member(view, tx)
    return {**loaded, "history": recent_member_events(tx, view, loaded["member"]["id"])}


MEMBER = Page("member.html", load_member_page, "members")
REMOVE_MEMBER = Page("member_remove.html", load_member, "members")


def _member_path(view: View) -> str:
    return f"/console/members/{view.params['member_id']}"


def change_role(view: View, tx: Tx) -> Outcome:
    role = view.field("org_role")
    if role not in ORG_ROLES:
        raise InvalidError(f"Unknown org role {role!r}; choose Admin or Member")
    member = people.get_member(tx, view.session.org, view.params["member_id"], for_update=True)
    people.set_org_role(tx, view.session.org, member, OrgRole(role))
    return Redirect(_member_path(view), "role-changed")


def remove_member(view: View, tx: Tx) -> Outcome:
    member = people.get_member(tx, view.session.org, view.params["member_id"], for_update=True)
    people.remove_member(tx, view.session.org, member)
    return Redirect("/console/members", "member-removed")


def add_assignment(view: View, tx: Tx) -> Outcome:
    grant = parse_grant_choice(view.field("grant"))
    member = people.get_member(tx, view.session.org, view.params["member_id"], for_update=True)
    grants.assign(tx, view.session.org, member, grant)
    return Redirect(_member_path(view), "assignment-added")


def remove_assignment(view: View, tx: Tx) -> Outcome:
    member = people.get_member(tx, view.session.org, view.params["member_id"], for_update=True)
    effective.remove_direct_assignment(tx, view.session.org, member, view.params["assignment_id"])
    return Redirect(_member_path(view), "assignment-removed")


PAGES = [
    ("/console/members", MEMBERS),
    ("/console/members/{member_id}", MEMBER),
    ("/console/members/{member_id}/remove", REMOVE_MEMBER),
]
ACTIONS = [
    ("/console/members/{member_id}/role", Action(change_role, MEMBER)),
    ("/console/members/{member_id}/remove", Action(remove_member, REMOVE_MEMBER)),
    ("/console/members/{member_id}/assignments", Action(add_assignment, MEMBER)),
    (
        "/console/members/{member_id}/assignments/{assignment_id}/remove",
        Action(remove_assignment, MEMBER),
    ),
]
