"""`/audit-log` and `/provisioning-log`: newest first, paged with `before=<id>`."""

from __future__ import annotations

from scimitar.domain.context import Tx
from scimitar.domain.directory import listings
from scimitar.faces.web.auth import Principal
from scimitar.faces.web.lookups import ACTOR_KINDS, METHODS
from scimitar.faces.web.views import audit_view, cursor_page, request_view
from scimitar.faces.web.wire import ApiCall, Reply, bad_request


def audit_log(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    limit = call.integer("limit", 50, low=1, high=listings.MAX_PAGE)
    entries = listings.audit_entries(
        tx,
        who.org,
        action=call.text("action"),
        actor_kind=call.choice("actor_kind", ACTOR_KINDS) or "",
        resource_type=call.text("resource_type"),
        resource_id=call.text("resource_id"),
        before=call.optional_integer("before"),
        limit=limit + 1,
    )
    return 200, cursor_page([audit_view(e) for e in entries], limit)


def status_class(raw: str) -> int | None:
    """`4xx` (or `4`) means every 4xx answer."""
    if not raw:
        return None
    digit = raw.lower().removesuffix("xx")
    if digit not in ("1", "2", "3", "4", "5"):
        raise bad_request("Query parameter 'status' must be one of 2xx, 3xx, 4xx, 5xx")
    return int(digit)


def provisioning_log(call: ApiCall, tx: Tx, who: Principal) -> Reply:
    limit = call.integer("limit", 50, low=1, high=listings.MAX_PAGE)
    entries = listings.provisioning_entries(
        tx,
        who.org,
        method=call.choice("method", METHODS) or "",
        status_class=status_class(call.text("status")),
        path=call.text("path"),
        before=call.optional_integer("before"),
        limit=limit + 1,
    )
    return 200, cursor_page([request_view(e) for e in entries], limit)
