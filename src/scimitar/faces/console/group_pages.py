"""Groups: every group with its kind and size; one group's members and, for custom groups,
the grants its members receive."""

from __future__ import annotations

from typing import Any

from scimitar.domain.access import grants
from scimitar.domain.context import Tx
from scimitar.domain.directory import group_store, listings
from scimitar.domain.models import GroupKind
from scimitar.faces.console.grant_form import grant_options, parse_grant_choice
from scimitar.faces.console.page import PER_PAGE, Action, Outcome, Page, Redirect, View, pager
from scimitar.faces.web.lookups import KINDS
from scimitar.faces.web.views import grant_view, group_view, member_view


def load_groups(view: View, tx: Tx) -> dict[str, Any]:
    kind = view.arg("kind")
    wanted = GroupKind(kind) if kind in KINDS else None
    org = view.session.org
    total = listings.groups_page(tx, org, kind=wanted, text=view.arg("q"), limit=1).total
    pages = pager(total, view.page_number())
    page = listings.groups_page(
        tx, org, kind=wanted, text=view.arg("q"), limit=PER_PAGE, offset=pages["offset"]
    )
    return {
        "groups": [group_view(g, count) for g, count in page.items],
        "pager": pages,
        "kinds": KINDS,
        "filters": {"q": view.arg("q"), "kind": kind if wanted else ""},
    }


GROUPS = Page("groups.html", load_groups, "groups")


def load_group(view: View, tx: Tx) -> dict[str, Any]:
    org = view.session.org
    group = group_store.get_group(tx, org, view.params["group_id"])
    total = listings.group_members_page(tx, org, group, limit=1).total
    pages = pager(total, view.page_number())
    page = listings.group_members_page(tx, org, group, limit=PER_PAGE, offset=pages["offset"])
    custom = group.kind is GroupKind.CUSTOM
    return {
        "group": group_view(group, page.total),
        "members": [member_view(m) for m in page.items],
        "pager": pages,
        "grants": [grant_view(g) for g in grants.grants_of(tx, group)] if custom else [],
        "grant_options": grant_options(tx, org) if custom else [],
    }


GROUP = Page("group.html", load_group, "groups")


def _group_path(view: View) -> str:
    return f"/console/groups/{view.params['group_id']}"


def add_grant(view: View, tx: Tx) -> Outcome:
    grant = parse_grant_choice(view.field("grant"))
    group = group_store.get_group(tx, view.session.org, view.params["group_id"], for_update=True)
    grants.attach(tx, view.session.org, group, grant)
    return Redirect(_group_path(view), "grant-added")


def remove_grant(view: View, tx: Tx) -> Outcome:
    group = group_store.get_group(tx, view.session.org, view.params["group_id"], for_update=True)
    group_store.remove_grant(tx, view.session.org, group, view.params["grant_id"])
    return Redirect(_group_path(view), "grant-removed")


PAGES = [("/console/groups", GROUPS), ("/console/groups/{group_id}", GROUP)]
ACTIONS = [
    ("/console/groups/{group_id}/grants", Action(add_grant, GROUP)),
    ("/console/groups/{group_id}/grants/{grant_id}/remove", Action(remove_grant, GROUP)),
]
