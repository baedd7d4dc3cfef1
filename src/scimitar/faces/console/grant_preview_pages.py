"""Grant preview: before a grant is attached to or removed from a custom group, the members
whose effective access would change, and how. Confirm posts to the group's grant actions.

The preview makes the change in a savepoint and rolls it back (domain.grant_preview), so
it is a POST: nothing is written, but it runs in a write transaction.
"""

from __future__ import annotations

from typing import Any, Literal

from scimitar.domain.access import grants, preview
from scimitar.domain.context import Tx
from scimitar.domain.directory import group_store
from scimitar.domain.errors import NotFoundError
from scimitar.domain.models import Grant
from scimitar.faces.console.grant_form import grant_options, parse_grant_choice
from scimitar.faces.console.group_pages import GROUP
from scimitar.faces.console.page import Action, Outcome, Render, View
from scimitar.faces.web.views import group_view

TEMPLATE = "grant_preview.html"


def access_text(access: dict[str, Any] | None) -> str:
    """A project access (`{role, custom_roles}`) in words; None is no access."""
    if access is None:
        return "no access"
    role = access.get("role") or "no built-in role"
    custom = access.get("custom_roles") or []
    return f"{role} + {', '.join(custom)}" if custom else role


def change_view(change: dict[str, Any]) -> dict[str, Any]:
    return {
        "member_id": change["member_id"],
        "user_name": change.get("userName") or change["member_id"],
        "project": change.get("project"),
        "before": access_text(change.get("before")),
        "after": access_text(change.get("after")),
    }


def _preview(
    view: View,
    tx: Tx,
    action: Literal["add", "remove"],
    grant: Grant | str,
    confirm: dict[str, str],
) -> Outcome:
    """`confirm` is what the Confirm button posts: `path`, `description` and, to add,
    `grant` (the form's value)."""
    org = view.session.org
    group = group_store.get_group(tx, org, view.params["group_id"])
    changes = preview.preview_grant_change(tx, org, group, grant, action)
    context = {
        "group": group_view(group, 0),
        "action": action,
        "confirm": confirm,
        "changes": [change_view(c) for c in changes],
    }
    return Render(TEMPLATE, context)


def preview_add(view: View, tx: Tx) -> Outcome:
    value = view.field("grant")
    grant = parse_grant_choice(value)
    labels = dict(grant_options(tx, view.session.org))
    path = f"/console/groups/{view.params['group_id']}/grants"
    confirm = {"path": path, "description": labels.get(value, value), "grant": value}
    return _preview(view, tx, "add", grant, confirm)


def preview_remove(view: View, tx: Tx) -> Outcome:
    group = group_store.get_group(tx, view.session.org, view.params["group_id"])
    grant_id = view.params["grant_id"]
    found = [g for g in grants.grants_of(tx, group) if g.id == grant_id]
    if not found:
        raise NotFoundError(f"Grant {grant_id} not found on this group")
    path = f"/console/groups/{group.id}/grants/{grant_id}/remove"
    confirm = {"path": path, "description": found[0].describe()}
    return _preview(view, tx, "remove", grant_id, confirm)


ACTIONS = [
    ("/console/groups/{group_id}/grants/preview", Action(preview_add, GROUP)),
    ("/console/groups/{group_id}/grants/{grant_id}/preview", Action(preview_remove, GROUP)),
]
