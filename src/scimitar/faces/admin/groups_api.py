"""`/groups`: every group with its kind and size, one group's members, and grants on
custom groups."""

from __future__ import annotations

from scimitar.domain.access import grants, preview
from scimitar.domain.context import Tx
from scimitar.domain.directory import group_store, listings
from scimitar.domain.errors import InvalidError
from scimitar.domain.models import Grant, GroupKind
from scimitar.faces.admin.members_api import GRANT_FIELDS, grant_from
from scimitar.faces.web.auth import Principal
from scimitar.faces.web.lookups import KINDS
from scimitar.faces.web.views import grant_view, group_view, member_view, offset_page
from scimitar.faces.web.wire import ApiCall, Reply, string_field


def list_groups(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    kind = call.choice("kind", KINDS)
    limit = call.integer("limit", 50, low=1, high=listings.MAX_PAGE)
    offset = call.integer("offset", 0)
    page = listings.groups_page(
        tx,
        who.org,
        kind=GroupKind(kind) if kind else None,
        text=call.text("q"),
        limit=limit,
        offset=offset,
    )
    items = [group_view(group, count) for group, count in page.items]
    return 200, offset_page("groups", items, page.total, limit, offset)


def get_group(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    """The group, its grants and one page of its members (`limit`, `offset`)."""
    group = group_store.get_group(tx, who.org, call.params["group_id"])
    limit = call.integer("limit", 50, low=1, high=listings.MAX_PAGE)
    offset = call.integer("offset", 0)
    page = listings.group_members_page(tx, who.org, group, limit=limit, offset=offset)
    return 200, {
        **group_view(group, page.total),
        "grants": [grant_view(g) for g in grants.grants_of(tx, group)],
        "members": [member_view(m) for m in page.items],
        "members_page": {"total": page.total, "limit": limit, "offset": offset},
    }


def add_grant(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    grant = grant_from(call.fields(GRANT_FIELDS))
    group = group_store.get_group(tx, who.org, call.params["group_id"], for_update=True)
    grant_id = grants.attach(tx, who.org, group, grant)
    [created] = [g for g in grants.grants_of(tx, group) if g.id == grant_id]
    return 201, grant_view(created)


def remove_grant(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    group = group_store.get_group(tx, who.org, call.params["group_id"], for_update=True)
    group_store.remove_grant(tx, who.org, group, call.params["grant_id"])
    return 204, None


def preview_grant(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    """Whose access adding (`project_id`…) or removing (`grant_id`) a grant would change;
    the change is made and taken back, so it is validated exactly as the real one."""
    body = call.fields(("action", *GRANT_FIELDS, "grant_id"))
    action = body.get("action", "add")
    if action not in ("add", "remove"):
        raise InvalidError("action must be 'add' or 'remove'")
    grant: Grant | str
    if action == "remove":
        grant_id = string_field(body, "grant_id")
        assert grant_id is not None
        grant = grant_id
    else:
        grant = grant_from({k: v for k, v in body.items() if k in GRANT_FIELDS})
    group = group_store.get_group(tx, who.org, call.params["group_id"])
    return 200, {"changes": preview.preview_grant_change(tx, who.org, group, grant, action)}
